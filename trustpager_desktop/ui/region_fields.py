"""The country, time zone and sending-hour controls, shared by the first-run assistant and
Settings so both ask the same way: lists to choose from, not codes to type."""

from __future__ import annotations

import functools
import zoneinfo

import phonenumbers
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QSpinBox


@functools.cache
def countries() -> tuple[tuple[str, str], ...]:
    """(region code, "Name (+1)") for every region phone numbers know, sorted by name."""
    rows = []
    for code in phonenumbers.SUPPORTED_REGIONS:
        territory = QLocale.codeToTerritory(code)
        name = (
            QLocale.territoryToString(territory)
            if territory != QLocale.Country.AnyTerritory
            else code
        )
        calling = phonenumbers.country_code_for_region(code)
        rows.append((code, f"{name} (+{calling})"))
    return tuple(sorted(rows, key=lambda row: row[1].casefold()))


@functools.cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


class CountryCombo(QComboBox):
    """Every country by name with its calling code; ``code()`` is the ISO region code."""

    def __init__(self, code: str = "US") -> None:
        super().__init__()
        self.setAccessibleName("Country for phone numbers")
        for region, label in countries():
            self.addItem(label, region)
        self.set_code(code)

    def set_code(self, code: str) -> None:
        self.setCurrentIndex(max(self.findData((code or "").upper()), 0))

    def code(self) -> str:
        return str(self.currentData())


class TimeZoneCombo(QComboBox):
    """Every IANA time zone; typing any part of a name ("york") narrows the list."""

    def __init__(self, zone: str = "") -> None:
        super().__init__()
        self.setAccessibleName("Business time zone")
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItems(list(time_zones()))
        completer = self.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCurrentText(zone)

    def zone(self) -> str:
        return self.currentText().strip()


class HourSpin(QSpinBox):
    """An hour of the day, 0 to 24, shown as '08:00' (the format of every time shown)."""

    def __init__(self, value: int) -> None:
        super().__init__()
        self.setRange(0, 24)
        self.setSuffix(":00")
        self.setValue(value)

    def textFromValue(self, value: int) -> str:  # noqa: N802 - Qt API
        return f"{value:02d}"


def hour_spin(value: int) -> QSpinBox:
    return HourSpin(value)
