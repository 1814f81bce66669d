"""Settings: every AppSettings field, grouped. Core validates on Save; a refused value
is shown beside its field and nothing is stored. The Twilio auth token goes to the
token store (system keyring, or this session only), never to the database, and is
never shown back.

Settings another desktop saves are shown here as soon as this window runs with them,
unless the form has unsaved edits: then a banner says so and offers Reload, and nothing
typed is overwritten."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import local_settings
from trustpager_desktop.core import settings as core_settings
from trustpager_desktop.core.replies import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.ui.common import (
    ERROR_COLOUR,
    OK_COLOUR,
    WARNING_COLOUR,
    bold,
    coloured,
    field_error_label,
    heading,
    plain_label,
)
from trustpager_desktop.ui.region_fields import CountryCombo, TimeZoneCombo, hour_spin
from trustpager_desktop.ui.runner import BackgroundTask, failure_sentence, run_in_background
from trustpager_desktop.ui.theme import Tone
from trustpager_desktop.usecases.result import Outcome
from trustpager_desktop.usecases.settings import SavedSettings, SettingsService, SettingsView

MODE_LABELS = {
    "auto": "Automatic: Twilio when set up, otherwise the sandbox",
    "sandbox": "Sandbox: never send real texts",
    "twilio": "Twilio",
}
TOKEN_SAVED_HINT = "A token is saved (hidden). Type a new one to replace it."
CHANGED_ELSEWHERE = "Settings were changed on another desktop."
KEYRING_NOTE = "The token is kept in the system keyring, not in the database."
HOLD_OFF_WARNING = (
    "Holding is off: automation texts go to numbers whose reply may be an opt-out. If it was "
    "one, each of those texts breaks the law (up to $1,500 per text)."
)


def _locked(words: frozenset[str]) -> str:
    return "Always (Twilio and FCC, cannot be removed): " + ", ".join(
        sorted(w.upper() for w in words)
    )


SAVING = "Saving…"


class SettingsPage(QWidget):
    """Save runs on the background runner (the token to the keyring, the settings to the
    database, then the window runs with them): "Saving…" with the form and Save off until
    it is in; ``settings_saved`` on success, then ``save_finished(ok)`` either way."""

    settings_saved = Signal()
    save_finished = Signal(bool)  # a save came back (True: stored)
    connection_tested = Signal(str)  # the sentence shown

    def __init__(self, service: SettingsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._job: BackgroundTask | None = None
        self._saving: BackgroundTask | None = None
        self.errors: dict[str, QLabel] = {}
        self._shown: tuple[object, ...] = ()  # the form as last loaded (see has_unsaved_edits)
        self._build()
        self.load()

    # -- layout ----------------------------------------------------------------------

    def _row(self, form: QFormLayout, label: str, widget: QWidget, field: str) -> None:
        error = field_error_label()
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(error)
        form.addRow(label, column)
        widget.setAccessibleName(label)
        self.errors[field] = error

    def _group(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        return box, form

    def _build(self) -> None:
        twilio, f = self._group("Twilio")
        self.mode = QComboBox()
        for key, label in MODE_LABELS.items():
            self.mode.addItem(label, key)
        self._row(f, "Sending mode", self.mode, "provider_mode")
        self.account_sid = QLineEdit()
        self.account_sid.setPlaceholderText("AC…")
        self._row(f, "Account SID", self.account_sid, "twilio_account_sid")
        self.auth_token = QLineEdit()
        self.auth_token.setEchoMode(QLineEdit.EchoMode.Password)
        self._row(f, "Auth Token", self.auth_token, "auth_token")
        self.session_only = QCheckBox("Keep the token for this session only (not in the keyring)")
        f.addRow("", self.session_only)
        self.keyring_note = plain_label(wrap=True)
        f.addRow("", self.keyring_note)
        self.sender = QLineEdit()
        self.sender.setPlaceholderText("+14155550100 or MG… (Messaging Service SID)")
        self._row(f, "Sending number", self.sender, "twilio_sender")
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = plain_label(wrap=True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        f.addRow("", test_row)
        f.addRow("", plain_label("Test connection checks the saved settings.", wrap=True))

        phones, f = self._group("Phone numbers")
        self.country = CountryCombo()  # the same lists as the first-run assistant
        self._row(f, "Default country", self.country, "default_country")

        autos, f = self._group("Automations")
        self.timezone = TimeZoneCombo()
        self._row(f, "Business time zone", self.timezone, "business_timezone")
        self.quiet_start = hour_spin(8)
        self.quiet_end = hour_spin(21)
        hours = QHBoxLayout()
        hours.addWidget(plain_label("from"))
        hours.addWidget(self.quiet_start)
        hours.addWidget(plain_label("until"))
        hours.addWidget(self.quiet_end)
        hours.addStretch(1)
        hours_box = QWidget()
        hours_box.setLayout(hours)
        hours.setContentsMargins(0, 0, 0, 0)
        self._row(f, "Texts allowed (recipient's time)", hours_box, "quiet_hours_start")
        self.stale = _spin(1, 24 * 14, " hours")
        self._row(f, "Skip a send missed by more than", self.stale, "stale_limit_hours")

        self.frequency_cap = _spin(0, core_settings.MAX_TEXTS_PER_DAY, " texts")
        self.frequency_cap.setSpecialValueText("No limit")
        self._row(f, "At most, per contact in 24 hours", self.frequency_cap,
                  "automation_texts_per_day")  # fmt: skip
        self.need_consent = QCheckBox("Automations text only contacts with consent on record")
        self.need_consent.setToolTip(
            "Contacts without an opt-in consent record (date or source) are skipped with "
            "the reason “no consent on record”. Manual texts are not affected."
        )
        f.addRow("", self.need_consent)
        self.purposes = QLineEdit()
        self.purposes.setPlaceholderText("e.g. Marketing; Reminders")
        self.purposes.setToolTip(
            "Each automation serves one purpose; a contact can decline a purpose on their "
            "Communication Preferences card and keep the others. An SMS opt-out covers all."
        )
        self._row(f, "SMS purposes (; between)", self.purposes, "sms_purposes")

        inbox, f = self._group("Inbox")
        self.poll = _spin(5, 3600, " seconds")
        self._row(f, "Check the inbox every", self.poll, "poll_interval_seconds")
        self.look_back = _spin(1, 400, " days")
        self.look_back.setToolTip(
            "How far back the first check reads, and a check after the inbox went unread "
            "for more than a day (a computer off over a weekend)."
        )
        self._row(f, "First check reads back", self.look_back, "inbox_look_back_days")
        self.start_review = QCheckBox("START replies need review before re-subscribing")
        f.addRow("", self.start_review)
        consent_box = self._build_consent()

        you, f = self._group("You (this computer only)")
        self.user_name = QLineEdit()
        self.user_name.setMaxLength(local_settings.NAME_MAX)
        self._row(f, "Your name (shown in the activity log)", self.user_name, "user_name")
        f.addRow("", plain_label(
            "Kept on this computer for you, not in the shared database: each person on "
            "each computer shows under their own name.", wrap=True))  # fmt: skip

        self.save_button = QPushButton("Save settings")
        self.save_button.setAccessibleName("Save settings")
        self.save_button.clicked.connect(self.save)
        self.result = plain_label(wrap=True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.result, 1)
        bottom.addWidget(self.save_button)

        content = self.form_area = QWidget()  # off as a whole while a save runs
        column = QVBoxLayout(content)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(12)
        column.addWidget(heading("Settings", 4))
        column.addWidget(self._build_banner())
        for box in (twilio, phones, autos, inbox, consent_box, you):
            column.addWidget(box)
        column.addStretch(1)
        content.setMaximumWidth(760)
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        area.setWidget(content)
        # Save stays in view below the scrolling form, whatever the window height.
        bottom.setContentsMargins(16, 6, 16, 10)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(area, 1)
        layout.addLayout(bottom)

    def _build_banner(self) -> QWidget:
        """'Settings were changed on another desktop' with Reload: shown instead of
        overwriting unsaved edits."""
        self.banner = QWidget()
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(0, 0, 0, 0)
        self.banner_text = coloured(bold(plain_label(CHANGED_ELSEWHERE, wrap=True)),
                                    WARNING_COLOUR)  # fmt: skip
        self.reload_button = QPushButton("Reload")
        self.reload_button.setAccessibleName("Reload the settings saved on another desktop")
        self.reload_button.setToolTip("Show the saved settings; what you typed here is dropped.")
        self.reload_button.clicked.connect(self.load)
        row.addWidget(self.banner_text, 1)
        row.addWidget(self.reload_button)
        self.banner.setVisible(False)
        return self.banner

    def _build_consent(self) -> QGroupBox:
        """Holds while a reply waits for review, keyword lists, the confirmation text."""
        box, f = self._group("Opt-outs")
        self.hold = QCheckBox("Hold automation texts while a reply waits for review")
        self.hold.toggled.connect(lambda on: self.hold_warning.setVisible(not on))
        f.addRow("", self.hold)
        self.hold_warning = coloured(plain_label(HOLD_OFF_WARNING, wrap=True), WARNING_COLOUR)
        f.addRow("", self.hold_warning)
        self.opt_out_words = QLineEdit()
        self.opt_in_words = QLineEdit()
        self.help_words = QLineEdit()
        for editor, field, label, locked, example in (
            (self.opt_out_words, "extra_opt_out_keywords", "Opt-out words", OPT_OUT_KEYWORDS,
             "PARAR, ALTO"),
            (self.opt_in_words, "extra_opt_in_keywords", "Opt-in words", OPT_IN_KEYWORDS, "ALTA"),
            (self.help_words, "extra_help_keywords", "Help words", HELP_KEYWORDS, "AYUDA"),
        ):  # fmt: skip
            editor.setPlaceholderText(f"Comma separated, e.g. {example}")
            self._row(f, f"{label}, also", editor, field)
            f.addRow("", plain_label(_locked(locked), wrap=True))
        f.addRow("", plain_label(
            "A reply that is exactly one of these words (any case, accents and punctuation "
            "ignored) acts at once; longer wording goes to Needs review.", wrap=True))  # fmt: skip
        self.confirm = QCheckBox("Send one confirmation text per opt-out Twilio did not confirm")
        f.addRow("", self.confirm)
        self.business_name = QLineEdit()
        self.business_name.setPlaceholderText("e.g. Harbor Dental (shown as {business})")
        self._row(f, "Business name", self.business_name, "business_name")
        self.confirmation_text = _text_box()
        self._row(f, "Confirmation text", self.confirmation_text, "confirmation_text")
        self.confirmation_text_es = _text_box()
        self._row(f, "Spanish confirmation", self.confirmation_text_es, "confirmation_text_es")
        f.addRow("", plain_label(
            "Sent within 5 minutes of the request, never with marketing or links; staff "
            "opt-outs ask first. Twilio confirms its own STOP-type keywords itself.", wrap=True))  # fmt: skip
        return box

    # -- data ------------------------------------------------------------------------

    def load(self) -> None:
        """Show the settings in use; the token field stays empty (it is never shown back)."""
        self.show_view(self._service.view())

    def show_view(self, view: SettingsView) -> None:
        st = view.settings
        self.mode.setCurrentIndex(max(0, self.mode.findData(st.provider_mode)))
        self.account_sid.setText(st.twilio_account_sid)
        self.auth_token.clear()
        self.auth_token.setPlaceholderText(TOKEN_SAVED_HINT if view.token_stored else "")
        self.sender.setText(st.twilio_sender)
        self.country.set_code(st.default_country)
        self.timezone.setCurrentText(st.business_timezone)
        self.quiet_start.setValue(st.quiet_hours_start)
        self.quiet_end.setValue(st.quiet_hours_end)
        self.stale.setValue(st.stale_limit_hours)
        self.poll.setValue(st.poll_interval_seconds)
        self.look_back.setValue(st.inbox_look_back_days)
        self.start_review.setChecked(st.start_replies_need_review)
        self.user_name.setText(view.user_name)
        self.user_name.setPlaceholderText(local_settings.default_name())
        self.frequency_cap.setValue(st.automation_texts_per_day)
        self.need_consent.setChecked(st.automations_need_consent)
        self.purposes.setText("; ".join(st.purposes))
        self.hold.setChecked(st.hold_while_pending)
        self.hold_warning.setVisible(not st.hold_while_pending)
        self.opt_out_words.setText(st.extra_opt_out_keywords)
        self.opt_in_words.setText(st.extra_opt_in_keywords)
        self.help_words.setText(st.extra_help_keywords)
        self.confirm.setChecked(st.confirm_opt_outs)
        self.business_name.setText(st.business_name)
        self.confirmation_text.setPlainText(st.confirmation_text)
        self.confirmation_text_es.setPlainText(st.confirmation_text_es)
        # Else why not the keyring (none, or one that keeps secrets as plain text).
        self.keyring_note.setText(view.keyring_problem or KEYRING_NOTE)
        for error in self.errors.values():
            error.setVisible(False)
        self.banner.setVisible(False)
        self._shown = self._form()

    def _form(self) -> tuple[object, ...]:
        """Everything a person can type here, as the widgets hold it now."""
        return (self._form_settings(AppSettings()), self.user_name.text(), self.auth_token.text())

    def has_unsaved_edits(self) -> bool:
        """Something was typed or changed since the settings were last shown."""
        return self._form() != self._shown

    def changed_elsewhere(self) -> None:
        """Another desktop saved settings and this window now runs with them: show them,
        or, over unsaved edits, the banner (Reload shows them, dropping the edits)."""
        if self._saving is not None:
            # Most likely this save's own commit, seen by the change watcher before the
            # save came back; either way the form shows what the window runs with once
            # the save is in.
            return
        if self.has_unsaved_edits():
            self.banner.setVisible(True)
        else:
            self.load()

    def edited_settings(self) -> AppSettings:
        return self._form_settings(self._service.current())

    def _form_settings(self, base: AppSettings) -> AppSettings:
        return dataclasses.replace(
            base,
            provider_mode=self.mode.currentData(),
            twilio_account_sid=self.account_sid.text().strip(),
            twilio_sender=self.sender.text().strip(),
            default_country=self.country.code(),
            business_timezone=self.timezone.zone(),
            quiet_hours_start=self.quiet_start.value(),
            quiet_hours_end=self.quiet_end.value(),
            stale_limit_hours=self.stale.value(),
            poll_interval_seconds=self.poll.value(),
            inbox_look_back_days=self.look_back.value(),
            start_replies_need_review=self.start_review.isChecked(),
            automation_texts_per_day=self.frequency_cap.value(),
            hold_while_pending=self.hold.isChecked(),
            automations_need_consent=self.need_consent.isChecked(),
            sms_purposes=self.purposes.text().strip(),
            extra_opt_out_keywords=self.opt_out_words.text().strip(),
            extra_opt_in_keywords=self.opt_in_words.text().strip(),
            extra_help_keywords=self.help_words.text().strip(),
            confirm_opt_outs=self.confirm.isChecked(),
            business_name=self.business_name.text().strip(),
            confirmation_text=self.confirmation_text.toPlainText().strip(),
            confirmation_text_es=self.confirmation_text_es.toPlainText().strip(),
        )

    @property
    def is_saving(self) -> bool:
        return self._saving is not None

    def save(self) -> bool:
        """Validate and store the form, the name, and the token if one was typed, in the
        background; the window runs with the new settings once it is in. False when a
        save is already on its way."""
        if self._saving is not None:
            return False
        for error in self.errors.values():
            error.setVisible(False)
        service, settings = self._service, self.edited_settings()
        user_name, session_only = self.user_name.text(), self.session_only.isChecked()
        token = self.auth_token.text().strip()  # only ever handed to the service

        def store() -> Outcome[SavedSettings]:
            return service.save(settings, user_name=user_name, token=token,
                                session_only=session_only)  # fmt: skip

        self._saving = run_in_background(store, self._saved, self._save_failed)
        self._saving.setParent(self)  # a page destroyed meanwhile drops the answer
        self._set_saving(True)
        return True

    def _set_saving(self, saving: bool) -> None:
        for widget in (self.form_area, self.save_button, self.reload_button):
            widget.setEnabled(not saving)
        if saving:
            coloured(self.result, Tone.NORMAL)
            self.result.setText(SAVING)

    def _saved(self, outcome: Outcome[SavedSettings]) -> None:
        self._saving = None
        self._set_saving(False)
        if not outcome.ok:
            self._refuse(outcome.field or "default_country", outcome.message)
            self.save_finished.emit(False)
            return
        self.load()
        self._show_saved(outcome.unwrap())
        self.settings_saved.emit()
        self.save_finished.emit(True)

    def _save_failed(self, error: Exception) -> None:
        self._saving = None
        self._set_saving(False)
        coloured(self.result, ERROR_COLOUR)
        self.result.setText("Not saved: " + failure_sentence(error))
        self.save_finished.emit(False)

    def _show_saved(self, saved: SavedSettings) -> None:
        message = "Settings saved."
        if saved.token_kept == "keyring":
            message += " The auth token is in the system keyring."
        elif saved.token_kept == "session":
            message += " The auth token is kept for this session only."
        if saved.warning:  # e.g. "Twilio ... missing": saved, not working yet
            message += " " + saved.warning
        coloured(self.result, WARNING_COLOUR if saved.warning else OK_COLOUR)
        self.result.setText(message)

    def _refuse(self, field: str, message: str) -> bool:
        label = self.errors.get(field) or self.errors["default_country"]
        label.setText(message)
        label.setVisible(True)
        coloured(self.result, ERROR_COLOUR)
        self.result.setText("Not saved: " + message)
        return False

    # -- connection test -------------------------------------------------------------

    def test_connection(self) -> None:
        """Ask the provider in use to check its credentials, off the GUI thread."""
        if self._job is not None:
            return
        self.test_button.setEnabled(False)
        self.test_result.setText("Testing…")
        self._job = run_in_background(self._service.test_connection, self._tested,
                                      self._test_failed)  # fmt: skip

    def _tested(self, outcome: Outcome[str]) -> None:
        if outcome.ok:
            self._show_test(outcome.unwrap(), OK_COLOUR)
        else:
            self._show_test(f"Connection failed: {outcome.message}", ERROR_COLOUR)

    def _test_failed(self, error: Exception) -> None:
        self._show_test(f"Connection failed: {error}", ERROR_COLOUR)

    def _show_test(self, text: str, colour) -> None:  # type: ignore[no-untyped-def]
        self._job = None
        self.test_button.setEnabled(True)
        coloured(self.test_result, colour)
        self.test_result.setText(text)
        self.connection_tested.emit(text)


def _text_box() -> QPlainTextEdit:
    """Two lines for a short text (a confirmation), Tab moving on as in a line editor."""
    box = QPlainTextEdit()
    box.setTabChangesFocus(True)
    box.setFixedHeight(box.fontMetrics().lineSpacing() * 3 + 12)
    return box


def _spin(low: int, high: int, suffix: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSuffix(suffix)
    return box
