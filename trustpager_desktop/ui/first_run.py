"""The first-run assistant: Twilio or sandbox, then country, time zone and quiet hours,
then the name this person shows under in the log (kept on this computer only).

On Finish its settings service (usecases.settings) saves the settings, puts the auth
token in the keyring (never in the database), adds demo data in sandbox mode, and the
window runs with the new settings. Nothing is written before Finish; an invalid value
keeps the assistant open with the reason shown.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import zoneinfo
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimeZone, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from trustpager_desktop import APP_NAME
from trustpager_desktop.core import local_settings
from trustpager_desktop.core.credentials import ENV_API_BASE
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.settings import AppSettings, check_settings
from trustpager_desktop.providers.base import ProviderError
from trustpager_desktop.ui.common import ERROR_COLOUR, OK_COLOUR, coloured, plain_label
from trustpager_desktop.ui.region_fields import CountryCombo, TimeZoneCombo, hour_spin
from trustpager_desktop.ui.runner import BackgroundTask, failure_sentence, run_in_background
from trustpager_desktop.usecases.result import Outcome
from trustpager_desktop.usecases.settings import SettingsService

log = logging.getLogger("trustpager.first_run")

# Builds the provider "Test connection" talks to: (account_sid, token, sender) -> provider.
ProviderFactory = Callable[[str, str, str], object]


def _twilio_provider(sid: str, token: str, sender: str) -> object:
    from trustpager_desktop.providers.twilio_provider import TwilioProvider

    return TwilioProvider(sid, token, sender, api_base=os.environ.get(ENV_API_BASE) or None)


def system_timezone(fallback: str) -> str:
    """The computer's IANA time zone name, or ``fallback`` if it has none we know."""
    name = bytes(QTimeZone.systemTimeZoneId().data()).decode(errors="ignore")
    return name if name in zoneinfo.available_timezones() else fallback


def _error_label() -> QLabel:
    """Where the assistant says what to fix: red and bold, so it reads as an error."""
    label = coloured(plain_label(wrap=True), ERROR_COLOUR)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class _ConnectionTest(QObject):
    """Runs provider.test_connection() on the background runner; reports through ``finished``."""

    finished = Signal(bool, str)

    def start(self, factory: ProviderFactory, sid: str, token: str, sender: str) -> None:
        self._task = run_in_background(
            lambda: factory(sid, token, sender).test_connection(),  # type: ignore[attr-defined]
            lambda message: self.finished.emit(True, str(message)),
            self._failed,
        )

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, ValueError):
            self.finished.emit(False, str(exc))
        elif isinstance(exc, ProviderError):
            self.finished.emit(False, exc.reason)
        else:  # any surprise becomes a message, not a crash
            log.error("the Twilio connection test failed unexpectedly", exc_info=exc)
            self.finished.emit(False, f"The test could not run ({type(exc).__name__}).")


class ProviderPage(QWizardPage):
    """Page 1: use Twilio (with credentials and a connection test) or the sandbox."""

    def __init__(self, provider_factory: ProviderFactory, settings: AppSettings) -> None:
        super().__init__()
        self.setTitle("How should TrustPager send texts?")
        self.setSubTitle("You can change this later in Settings.")
        self._factory = provider_factory
        self.sandbox_radio = QRadioButton("Start in sandbox mode with demo data")
        self.twilio_radio = QRadioButton("Use my Twilio account")
        group = QButtonGroup(self)
        group.addButton(self.sandbox_radio)
        group.addButton(self.twilio_radio)
        self.sandbox_radio.setChecked(True)
        sandbox_note = plain_label(
            wrap=True,
            text="No text leaves this computer. A demo business with 50 contacts is added so "
            "you can try everything safely.",
        )
        sandbox_note.setIndent(24)

        self.sid_edit = QLineEdit(settings.twilio_account_sid)
        self.sid_edit.setPlaceholderText("AC followed by 32 letters and digits")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("kept in the system keyring, never in the database")
        self.sender_edit = QLineEdit(settings.twilio_sender)
        self.sender_edit.setPlaceholderText("+14155550100 or a Messaging Service SID (MG…)")
        self.test_button = QPushButton("Test connection")
        self.test_result = plain_label(wrap=True)
        self.test_result.setObjectName("testResult")
        self.twilio_box = QGroupBox("Twilio account")
        form = QFormLayout(self.twilio_box)
        form.addRow("Account SID", self.sid_edit)
        form.addRow("Auth Token", self.token_edit)
        form.addRow("Sending number", self.sender_edit)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow(test_row)
        self.error_label = _error_label()

        layout = QVBoxLayout(self)
        layout.addWidget(self.sandbox_radio)
        layout.addWidget(sandbox_note)
        layout.addSpacing(8)
        layout.addWidget(self.twilio_radio)
        layout.addWidget(self.twilio_box)
        layout.addWidget(self.error_label)
        layout.addStretch(1)

        self._tester = _ConnectionTest(self)
        self._tester.finished.connect(self._show_test_result)
        self.test_button.clicked.connect(self.test_connection)
        self.twilio_radio.toggled.connect(self._update_enabled)
        self._update_enabled()

    @property
    def use_twilio(self) -> bool:
        return self.twilio_radio.isChecked()

    def credentials(self) -> tuple[str, str, str]:
        return (
            self.sid_edit.text().strip(),
            self.token_edit.text().strip(),
            self.sender_edit.text().strip(),
        )

    def _update_enabled(self) -> None:
        self.twilio_box.setEnabled(self.use_twilio)
        self.error_label.clear()

    @Slot()
    def test_connection(self) -> None:
        """Check the credentials with Twilio off the GUI thread; the result shows beside."""
        problem = self.problem()
        if problem:
            self._show_test_result(False, problem)
            return
        self.test_button.setEnabled(False)
        self.test_result.setText("Checking with Twilio…")
        self._tester.start(self._factory, *self.credentials())

    @Slot(bool, str)
    def _show_test_result(self, ok: bool, message: str) -> None:
        self.test_button.setEnabled(True)
        coloured(self.test_result, OK_COLOUR if ok else ERROR_COLOUR)
        self.test_result.setText(("✔ " if ok else "✘ ") + message)

    def problem(self) -> str:
        """Why the Twilio details cannot be used, or "" when they look right."""
        sid, token, sender = self.credentials()
        if not (sid.startswith("AC") and len(sid) == 34):
            return "A Twilio Account SID starts with AC and has 34 characters."
        if not token:
            return "Enter the Auth Token from the Twilio console."
        if not (sender.startswith("+") or sender.startswith("MG")):
            return (
                "The sending number must be in +E.164 form (e.g. +14155550100) "
                "or a Messaging Service SID (MG…)."
            )
        return ""

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        problem = self.problem() if self.use_twilio else ""
        self.error_label.setText(problem)
        return not problem


class RegionPage(QWizardPage):
    """Page 2: default country for phone numbers, business time zone, quiet hours."""

    def __init__(self, settings: AppSettings) -> None:
        super().__init__()
        self.setTitle("Where is your business?")
        self.setSubTitle(
            "Phone numbers typed without a country code are read as numbers of this country; "
            "automated texts go out only inside the sending hours."
        )
        self.country_combo = CountryCombo(settings.default_country)
        self.timezone_combo = TimeZoneCombo(system_timezone(settings.business_timezone))
        self.quiet_start = hour_spin(settings.quiet_hours_start)
        self.quiet_end = hour_spin(settings.quiet_hours_end)
        hours = QWidget()
        row = QHBoxLayout(hours)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("from"))
        row.addWidget(self.quiet_start)
        row.addWidget(QLabel("until"))
        row.addWidget(self.quiet_end)
        row.addWidget(plain_label(wrap=True, text="in each recipient's local time"), 1)

        self.error_label = _error_label()
        form = QFormLayout(self)
        form.addRow("Country for phone numbers", self.country_combo)
        form.addRow("Business time zone", self.timezone_combo)
        form.addRow("Send automated texts", hours)
        form.addRow(self.error_label)

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        """Quiet hours and the rest are checked here, beside the fields, before moving on."""
        wizard = self.wizard()
        if not isinstance(wizard, FirstRunWizard):
            return True
        try:
            check_settings(wizard.chosen_settings())
        except UserInputError as exc:
            self.error_label.setText(str(exc))
            return False
        self.error_label.clear()
        return True

    def set_country(self, code: str) -> None:
        self.country_combo.set_code(code)

    def country(self) -> str:
        return self.country_combo.code()


class NamePage(QWizardPage):
    """Last page (or the only one on a desktop joining a database already set up): the
    name this person shows under in the activity log, kept on this computer only."""

    def __init__(self, user_name: str) -> None:
        super().__init__()
        self.setTitle("Who is using this computer?")
        self.setSubTitle(
            "Everything you do is recorded in the activity log under this name: opt-outs, "
            "re-consents, review decisions, texts you send."
        )
        self.name_edit = QLineEdit(user_name)
        self.name_edit.setMaxLength(local_settings.NAME_MAX)
        self.name_edit.setPlaceholderText(local_settings.default_name())
        self.name_edit.setAccessibleName("Your name")
        note = plain_label(
            "Kept on this computer, for you only (not in the shared database), so each "
            "person on each computer shows as themselves. Left empty, you show as "
            f"'{local_settings.default_name()}'. You can change it in Settings.",
            wrap=True,
        )
        self.error_label = _error_label()
        self.status_label = plain_label(wrap=True)  # "Saving…" while Finish stores it all
        form = QFormLayout(self)
        form.addRow("Your name", self.name_edit)
        form.addRow(note)
        form.addRow(self.error_label)
        form.addRow(self.status_label)

    def name(self) -> str:
        """The cleaned name ("" for the default); raises UserInputError."""
        return local_settings.clean_name(self.name_edit.text())

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        try:
            self.name()
        except UserInputError as exc:
            self.error_label.setText(str(exc))
            return False
        self.error_label.clear()
        return True


SAVING = "Saving your settings…"
SETTING_UP = "Saving your settings and adding the demo business…"


class FirstRunWizard(QWizard):
    """The assistant. ``completed`` is emitted after everything is saved and reloaded.

    Finish saves on the background runner (settings, demo data, name, token): the name
    page says so and the buttons are off until it is in; a refusal (``refused(message)``)
    is shown on the name page with everything as typed, and Finish can be pressed again.

    ``name_only``: just the name page, for a desktop joining a database whose first run
    was done on another desktop (or before names were kept per computer)."""

    completed = Signal()
    refused = Signal(str)

    def __init__(
        self,
        service: SettingsService,
        *,
        provider_factory: ProviderFactory = _twilio_provider,
        name_only: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.name_only = name_only
        self._saving: BackgroundTask | None = None
        self.setWindowTitle(f"Welcome to {APP_NAME}")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        settings = service.current()
        self.provider_page = ProviderPage(provider_factory, settings)
        self.region_page = RegionPage(settings)
        self.name_page = NamePage(service.user_name())
        if not name_only:
            self.addPage(self.provider_page)
            self.addPage(self.region_page)
        self.addPage(self.name_page)
        self.resize(640, 480)

    def chosen_settings(self) -> AppSettings:
        """The settings the assistant will save (first_run_done set)."""
        page, region = self.provider_page, self.region_page
        sid, _token, sender = page.credentials()
        changes: dict[str, object] = {
            "first_run_done": True,
            "provider_mode": "twilio" if page.use_twilio else "sandbox",
            "default_country": region.country(),
            "business_timezone": region.timezone_combo.zone(),
            "quiet_hours_start": region.quiet_start.value(),
            "quiet_hours_end": region.quiet_end.value(),
        }
        if page.use_twilio:
            changes.update(twilio_account_sid=sid, twilio_sender=sender)
        return dataclasses.replace(self.service.current(), **changes)  # type: ignore[arg-type]

    @property
    def is_saving(self) -> bool:
        return self._saving is not None

    def apply(self) -> BackgroundTask | None:
        """Start saving everything in the background; None when the name is refused (said
        beside it, nothing saved) or a save is already on its way."""
        if self._saving is not None:
            return None
        try:
            self.name_page.name()  # refused here, beside the field, before anything is saved
        except UserInputError as exc:
            self._refuse(str(exc))
            return None
        self.name_page.error_label.clear()
        self._saving = run_in_background(self._save_work(), self._saved, self._save_failed)
        self._saving.setParent(self)  # an assistant destroyed meanwhile drops the answer
        self._set_saving(True)
        return self._saving

    def _save_work(self) -> Callable[[], Outcome[str]]:
        """What Finish stores, taken from the pages now (the pool thread touches no widget)."""
        service, typed_name = self.service, self.name_page.name_edit.text()
        if self.name_only:
            return lambda: service.set_user_name(typed_name)
        chosen = self.chosen_settings()
        token = self.provider_page.credentials()[1] if self.provider_page.use_twilio else ""
        return lambda: service.finish_first_run(chosen, user_name=typed_name, token=token)

    def _set_saving(self, saving: bool) -> None:
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton,
                      QWizard.WizardButton.CancelButton):  # fmt: skip
            button = self.button(which)
            if button is not None:
                button.setEnabled(not saving)
        self.name_page.name_edit.setEnabled(not saving)
        demo = not self.name_only and not self.provider_page.use_twilio
        self.name_page.status_label.setText((SETTING_UP if demo else SAVING) if saving else "")

    def _saved(self, outcome: Outcome[str]) -> None:
        self._saving = None
        self._set_saving(False)
        if not outcome.ok:
            self._refuse(outcome.message)
            return
        if not self.name_only and outcome.value == "session":
            log.warning("no system keyring: the Twilio Auth Token is kept for this session only")
        super().accept()
        self.completed.emit()

    def _save_failed(self, error: Exception) -> None:
        self._saving = None
        self._set_saving(False)
        self._refuse(failure_sentence(error))

    def _refuse(self, message: str) -> None:
        self.name_page.error_label.setText(message)
        self.refused.emit(message)

    def accept(self) -> None:
        """Finish: save in the background; the assistant closes once everything is in."""
        self.apply()

    def reject(self) -> None:
        """Cancel (and Esc, and closing it) waits while Finish is saving: leaving then
        would start the window before the settings it runs with are in."""
        if self._saving is None:
            super().reject()


def needs_first_run(service: SettingsService) -> bool:
    """The database was never set up, or this desktop was never asked its name."""
    return service.needs_first_run()


def run_first_run(service: SettingsService, parent: QWidget | None = None) -> bool:
    """Show the assistant modally if the first run is not done (or, on a desktop joining
    a database set up elsewhere, ask only the name); True if it was completed.

    Cancelling leaves first_run_done off (and the name unasked), so the assistant comes
    back next start.
    """
    if not service.needs_first_run():
        return False
    name_only = service.current().first_run_done
    wizard = FirstRunWizard(service, name_only=name_only, parent=parent)
    return wizard.exec() == QWizard.DialogCode.Accepted
