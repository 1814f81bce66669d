"""The schedule part of the automation editor: when an automation enrols contacts by
itself (days and a time, or every so often), whom it enrols, and the same in words.

A schedule is the JSON ``core.schedules`` reads. What the simple controls cannot show
(a cron schedule with a day of month, say) is kept and shown as JSON, never lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QTimeEdit,
    QWidget,
)

from trustpager_desktop.core import schedules
from trustpager_desktop.core.automations import validate_schedule
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import ERROR_COLOUR, TextField, coloured, plain_label

MODES = (
    ("none", "By hand only (no schedule)"),
    ("cron", "On chosen days at a time"),
    ("interval", "Every so often"),
    ("custom", "Custom (JSON)"),
)
AUDIENCES = (
    ("all", "Every contact"),
    ("tag", "Contacts with the tag"),
    ("stage", "Contacts with an opportunity at stage"),
)
INTERVAL_UNITS = (("hours", "hours"), ("days", "days"), ("weeks", "weeks"), ("minutes", "minutes"))
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ScheduleEditor(QGroupBox):
    """``schedule()`` gives the JSON (or None) or raises UserInputError with the reason;
    ``changed`` fires on every edit. ``zone`` and ``now`` give the words and the next run."""

    changed = Signal()

    def __init__(
        self,
        zone: Callable[[], str],
        now: Callable[[], datetime],
        stages: Callable[[], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Schedule", parent)
        self._zone, self._now, self._stages = zone, now, stages
        self.mode = QComboBox()
        self.mode.setAccessibleName("When the automation enrols contacts")
        for key, label in MODES:
            self.mode.addItem(label, key)
        self.days = [QCheckBox(label) for label in DAY_LABELS]
        self.time = QTimeEdit(QTime(9, 0))
        self.time.setDisplayFormat("HH:mm")
        self.time.setAccessibleName("Time of day")
        self.every = QSpinBox()
        self.every.setRange(1, 1000)
        self.every.setAccessibleName("Every how many")
        self.unit = QComboBox()
        for key, label in INTERVAL_UNITS:
            self.unit.addItem(label, key)
        self.json = TextField()
        self.json.setPlaceholderText('{"trigger": "cron", "day": "1", "hour": 9, "audience": ...}')
        self.json.setMaximumHeight(70)
        self.audience = QComboBox()
        self.audience.setAccessibleName("Whom it enrols")
        for key, label in AUDIENCES:
            self.audience.addItem(label, key)
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("e.g. vip")
        self.tag.setAccessibleName("Tag")
        self.stage = QComboBox()
        self.stage.setEditable(True)
        self.stage.setAccessibleName("Opportunity stage")
        self.summary = plain_label(wrap=True)
        self.error = coloured(plain_label(wrap=True), ERROR_COLOUR)
        self.error.setVisible(False)
        self._build()
        self._connect()
        self.set_schedule(None)

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        day_row = QWidget()
        days = QHBoxLayout(day_row)
        days.setContentsMargins(0, 0, 0, 0)
        days.setSpacing(4)
        for box in self.days:
            days.addWidget(box)
        days.addStretch(1)
        cron = QWidget()
        cron_form = QFormLayout(cron)
        cron_form.setContentsMargins(0, 0, 0, 0)
        cron_form.addRow("Days", day_row)
        cron_form.addRow("At", self.time)
        interval = QWidget()
        row = QHBoxLayout(interval)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(plain_label("Every"))
        row.addWidget(self.every)
        row.addWidget(self.unit)
        row.addStretch(1)
        self.pages = QStackedWidget()
        for page in (QWidget(), cron, interval, self.json):
            self.pages.addWidget(page)
        self.who = QStackedWidget()
        for page in (QWidget(), self.tag, self.stage):
            self.who.addWidget(page)
        audience = QWidget()
        audience_row = QHBoxLayout(audience)
        audience_row.setContentsMargins(0, 0, 0, 0)
        audience_row.addWidget(self.audience)
        audience_row.addWidget(self.who, 1)
        self.audience_row = audience
        form = QFormLayout(self)
        form.addRow("Runs", self.mode)
        form.addRow(self.pages)
        form.addRow("Enrols", audience)
        form.addRow(self.summary)
        form.addRow(self.error)

    def _connect(self) -> None:
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.audience.currentIndexChanged.connect(self._audience_changed)
        for box in self.days:
            box.toggled.connect(self._edited)
        for signal in (
            self.time.timeChanged,
            self.every.valueChanged,
            self.unit.currentIndexChanged,
            self.json.textChanged,
            self.tag.textChanged,
            self.stage.currentTextChanged,
        ):
            signal.connect(self._edited)

    def _mode_changed(self) -> None:
        key = self.mode.currentData()
        self.pages.setCurrentIndex([k for k, _ in MODES].index(key))
        self.pages.setVisible(key != "none")
        # Custom JSON carries its own audience; "by hand" has none.
        self.audience_row.setEnabled(key in ("cron", "interval"))
        self._edited()

    def _audience_changed(self) -> None:
        self.who.setCurrentIndex([k for k, _ in AUDIENCES].index(self.audience.currentData()))
        self._edited()

    def _edited(self) -> None:
        self._show_words()
        self.changed.emit()

    # -- values ------------------------------------------------------------------------

    def set_schedule(self, schedule: dict[str, Any] | None) -> None:
        """Show ``schedule`` (None: by hand only) in the simplest controls that hold it all."""
        widgets = [self, self.mode, self.audience, *self.days, self.time, self.every,
                   self.unit, self.json, self.tag, self.stage]  # fmt: skip
        blocked = [w.blockSignals(True) for w in widgets]
        self.stage.clear()
        self.stage.addItems(self._stages())
        self._set_audience((schedule or {}).get("audience") or {"all": True})
        self.json.setPlainText(json.dumps(schedule, indent=1) if schedule else "")
        mode = self._mode_for(schedule)
        self.mode.setCurrentIndex([k for k, _ in MODES].index(mode))
        for widget, was in zip(widgets, blocked, strict=True):
            widget.blockSignals(was)
        self._mode_changed()
        self._audience_changed()
        self.error.setVisible(False)

    def _mode_for(self, schedule: dict[str, Any] | None) -> str:
        if not schedule:
            return "none"
        simple = schedules.simple_cron(schedule)
        if simple is not None:
            days, hour, minute = simple
            for name, box in zip(schedules.DAYS, self.days, strict=True):
                box.setChecked(name in days)
            self.time.setTime(QTime(hour, minute))
            return "cron"
        interval = self._simple_interval(schedule)
        if interval is not None:
            amount, unit = interval
            self.every.setValue(amount)
            self.unit.setCurrentIndex(self.unit.findData(unit))
            return "interval"
        return "custom"

    @staticmethod
    def _simple_interval(schedule: dict[str, Any]) -> tuple[int, str] | None:
        if schedule.get("trigger") != "interval":
            return None
        given = {k: v for k, v in schedule.items() if k in schedules.INTERVAL_FIELDS and v}
        if len(given) != 1:
            return None
        ((unit, amount),) = given.items()
        return (amount, unit) if isinstance(amount, int) and 1 <= amount <= 1000 else None

    def _set_audience(self, audience: dict[str, Any]) -> None:
        if audience.get("tag"):
            self.audience.setCurrentIndex(1)
            self.tag.setText(str(audience["tag"]))
        elif audience.get("stage"):
            self.audience.setCurrentIndex(2)
            self.stage.setCurrentText(str(audience["stage"]))
        else:
            self.audience.setCurrentIndex(0)

    def _audience_json(self) -> dict[str, Any]:
        key = self.audience.currentData()
        if key == "tag":
            tag = self.tag.text().strip().lower()
            if not tag:
                raise UserInputError("Enter the tag whose contacts the schedule enrols.")
            return {"tag": tag}
        if key == "stage":
            stage = self.stage.currentText().strip()
            if not stage:
                raise UserInputError("Choose the opportunity stage whose contacts it enrols.")
            return {"stage": stage}
        return {"all": True}

    def schedule(self) -> dict[str, Any] | None:
        """The schedule as JSON, checked by core. Raises UserInputError with the reason."""
        mode = self.mode.currentData()
        if mode == "none":
            return None
        if mode == "custom":
            try:
                value = json.loads(self.json.toPlainText() or "null")
            except ValueError as exc:
                raise UserInputError(f"The schedule is not valid JSON: {exc}.") from exc
            return validate_schedule(value)
        if mode == "cron":
            days = [d for d, box in zip(schedules.DAYS, self.days, strict=True) if box.isChecked()]
            if not days:
                raise UserInputError("Tick at least one day for the schedule.")
            time = self.time.time()
            value = {"trigger": "cron", "day_of_week": schedules.days_spec(days),
                     "hour": time.hour(), "minute": time.minute()}  # fmt: skip
        else:
            value = {"trigger": "interval", self.unit.currentData(): self.every.value()}
        value["audience"] = self._audience_json()
        return validate_schedule(value)

    def check(self) -> bool:
        """Show the reason under the schedule when it is not valid; True when it is."""
        try:
            self.schedule()
        except UserInputError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return False
        self.error.setVisible(False)
        return True

    def _show_words(self) -> None:
        try:
            value = self.schedule()
        except UserInputError as exc:
            self.summary.setText(f"Not a usable schedule yet: {exc}")
            return
        self.error.setVisible(False)
        zone = self._zone()
        words = schedules.describe_schedule(value, zone)
        upcoming = schedules.next_fire_time(value, zone, self._now())
        if upcoming is not None:
            words += f" Next run: {format_time(upcoming, zone)}."
        self.summary.setText(words)
