"""The Communication Preferences card: the SMS opt-out toggle, the consent state, and Save.

The state shown is ``core.consent``'s one state (the one the automation rule enforces):
opted out and how, opted out through another contact or an earlier opt-out of the
number, held while a reply waits for review, or re-consent waiting for the customer's
START. Nothing reaches the database until Save. Turning the opt-out on asks whether to
send a confirmation text (default: no); turning it off asks how consent was obtained
(``ReconsentDialog``, which says when Twilio will keep refusing texts until START);
cancelling leaves the contact opted out.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import consent
from trustpager_desktop.core.consent import ConsentState, ConsentStatus
from trustpager_desktop.core.contacts import ContactView
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.ui.common import (
    WARNING_COLOUR,
    Card,
    bold,
    coloured,
    field_error_label,
    plain_label,
)
from trustpager_desktop.ui.consent_view import (
    ask_default_no,
    record_line,
    show_state,
    status_text,
)
from trustpager_desktop.ui.runner import BackgroundTask, failure_sentence
from trustpager_desktop.usecases.consent import ConsentChange, ConsentService, ReConsent
from trustpager_desktop.usecases.result import Outcome

TWILIO_BLOCK_WARNING = (
    "This number opted out with a STOP-type reply, so Twilio will keep refusing texts to it "
    "until the customer texts START, whatever is recorded here. Until then the card shows "
    "\u201cRe-consent recorded; waiting for the customer's START reply\u201d and "
    "automations skip this number."
)
# Opt-outs that belong to the number, not this contact: the toggle shows them ticked.
_NUMBER_LEVEL = (ConsentStatus.NUMBER_OPTED_OUT, ConsentStatus.NUMBER_SUPPRESSED)


class ReconsentDialog(QDialog):
    """Asks how the contact agreed to texts again: a method and a note, both required."""

    def __init__(
        self, contact_name: str, parent: QWidget | None = None, *, twilio_blocks: bool = False
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record re-consent")
        self.setMinimumWidth(440)
        intro = plain_label(
            f"{contact_name} opted out of SMS. Before texting them again, record how they "
            "agreed to receive texts.",
            wrap=True,
        )
        self.twilio_warning = coloured(bold(plain_label(TWILIO_BLOCK_WARNING, wrap=True)),
                                       WARNING_COLOUR)  # fmt: skip
        self.twilio_warning.setVisible(twilio_blocks)
        self.method = QComboBox()
        self.method.setAccessibleName("How consent was obtained")
        self.method.addItem("Choose…", "")
        for key, label in consent.RECONSENT_METHODS.items():
            self.method.addItem(label, key)
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Re-consent note")
        self.note.setPlaceholderText("e.g. Asked on the phone on 26 Nov to get reminders again")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(90)
        self.error = field_error_label()
        form = QFormLayout()
        form.addRow("How", self.method)
        form.addRow("Note", self.note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record re-consent")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.twilio_warning)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def chosen(self) -> tuple[str, str]:
        return self.method.currentData() or "", self.note.toPlainText()

    def try_accept(self) -> None:
        """Accept only when core agrees the method and note are enough."""
        method, note = self.chosen()
        try:
            consent.validate_reconsent(method, note)
        except UserInputError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return
        self.accept()


class CommunicationPreferencesCard(Card):
    saved = Signal()  # the contact's consent changed in the database
    save_finished = Signal(bool)  # a save asked for ended: True when saved (or nothing due)
    dirty_changed = Signal(bool)

    def __init__(self, service: ConsentService, parent: QWidget | None = None) -> None:
        super().__init__("Communication Preferences", parent)
        self._service = service
        self._contact: ContactView | None = None
        self._saving: BackgroundTask | None = None  # the consent write under way
        self._toggle_allowed = True  # off while the number is opted out through another contact
        self.toggle = QCheckBox("Opted out of SMS (do not text)")
        self.toggle.setAccessibleName("SMS opt-out")
        self.toggle.setAccessibleDescription(
            "When ticked, automations will not text this contact. Press Save to apply."
        )
        self.toggle.toggled.connect(self._on_toggled)
        # Per-purpose preferences: shown only once the business keeps a second purpose.
        self.purposes_box = QWidget()
        self.purposes_box.setAccessibleName("SMS purposes")
        self._purposes_layout = QVBoxLayout(self.purposes_box)
        self._purposes_layout.setContentsMargins(20, 0, 0, 0)
        self._purposes_layout.setSpacing(2)
        self.purpose_checks: dict[str, QCheckBox] = {}
        self.purposes_box.setVisible(False)
        self.state_label = bold(plain_label(wrap=True))
        self.state_label.setAccessibleName("SMS consent state")
        self.status = plain_label(wrap=True, selectable=True)
        self.record_label = plain_label(wrap=True, selectable=True)
        self.record_label.setAccessibleName("Opt-in consent record")
        self.unsaved = coloured(plain_label("Unsaved change: press Save to apply"), WARNING_COLOUR)
        self.unsaved.setVisible(False)
        self.save_button = QPushButton("Save")
        self.save_button.setAccessibleName("Save communication preferences")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.error = field_error_label()
        row = QHBoxLayout()
        row.addWidget(self.unsaved)
        row.addStretch(1)
        row.addWidget(self.save_button)
        self.body.addWidget(self.toggle)
        self.body.addWidget(self.purposes_box)
        self.body.addWidget(self.state_label)
        self.body.addWidget(self.status)
        self.body.addWidget(self.record_label)
        self.body.addLayout(row)
        self.body.addWidget(self.error)

    # -- state ------------------------------------------------------------------------

    def load(self, contact: ContactView) -> None:
        """Show a contact's saved state; any unsaved toggle is dropped (but not while it is
        being saved: the answer of that save shows the state then)."""
        if self.saving:
            return
        self._contact = contact
        state = contact.consent
        self.toggle.blockSignals(True)
        self.toggle.setChecked(self._saved_ticked())
        self.toggle.blockSignals(False)
        through = state.status is ConsentStatus.NUMBER_OPTED_OUT
        self.toggle.setEnabled(not through)
        self._toggle_allowed = not through
        self.toggle.setToolTip(
            f"The number is opted out through {state.via or 'another contact'}: record "
            "re-consent on that contact's page." if through else ""
        )  # fmt: skip
        show_state(self.state_label, state)
        detail = status_text(state)
        # The bold state line already says "Subscribed"; repeat nothing, show only news.
        self.status.setText("" if detail == state.label else detail)
        self.status.setVisible(detail != state.label)
        zone = self._service.zone
        self.record_label.setText(record_line(state, zone))
        self.record_label.setToolTip(state.record.full(zone) if state.record else "")
        self._load_purposes(contact)
        self.error.setVisible(False)
        self._show_dirty()

    def _load_purposes(self, contact: ContactView) -> None:
        """One checkbox per purpose ('Marketing texts'), ticked when allowed; hidden while
        the business keeps one purpose (the opt-out toggle says it all then)."""
        purposes = self._service.purposes
        if list(self.purpose_checks) != list(purposes):
            for check in self.purpose_checks.values():
                check.deleteLater()
            self.purpose_checks = {}
            for purpose in purposes:
                check = QCheckBox(f"{purpose} texts")
                check.setAccessibleName(f"Allow {purpose} texts")
                check.toggled.connect(self._on_toggled)
                self._purposes_layout.addWidget(check)
                self.purpose_checks[purpose] = check
        declined = {p.casefold() for p in contact.declined_purposes}
        for purpose, check in self.purpose_checks.items():
            check.blockSignals(True)
            check.setChecked(purpose.casefold() not in declined)
            check.blockSignals(False)
        self.purposes_box.setVisible(len(purposes) > 1)
        self._enable_purposes()

    def _enable_purposes(self) -> None:
        """An SMS opt-out covers every purpose: the boxes are read-only while it applies
        (and all of them while a save runs)."""
        opted_out = self.toggle.isChecked()
        for check in self.purpose_checks.values():
            check.setEnabled(not opted_out and not self.saving)
            check.setToolTip("Opted out of SMS: no purpose is texted." if opted_out else
                             "Untick to stop automations of this purpose texting them.")  # fmt: skip

    def declined_choice(self) -> list[str]:
        """The purposes unticked on the card."""
        return [p for p, check in self.purpose_checks.items() if not check.isChecked()]

    def _purposes_dirty(self) -> bool:
        if self._contact is None or not self.purpose_checks:
            return False
        saved = {p.casefold() for p in self._contact.declined_purposes}
        shown = {p.casefold() for p in self.purpose_checks}
        return {p.casefold() for p in self.declined_choice()} != saved & shown

    def _saved_ticked(self) -> bool:
        contact = self._contact
        if contact is None:
            return False
        return contact.sms_opted_out or contact.consent.status in _NUMBER_LEVEL

    @property
    def state(self) -> ConsentState | None:
        """The consent state shown (the one the automation rule enforces)."""
        return self._contact.consent if self._contact else None

    def _toggle_dirty(self) -> bool:
        return self._contact is not None and self.toggle.isChecked() != self._saved_ticked()

    def is_dirty(self) -> bool:
        return self._toggle_dirty() or self._purposes_dirty()

    def discard(self) -> None:
        if self._contact is not None and not self.saving:
            self.load(self._contact)

    def _on_toggled(self, _checked: bool) -> None:
        self._enable_purposes()
        self._show_dirty()

    def _show_dirty(self) -> None:
        dirty = self.is_dirty()
        self.unsaved.setVisible(dirty and not self.saving)
        self.save_button.setEnabled(dirty and not self.saving)
        self.dirty_changed.emit(dirty)

    # -- saving -----------------------------------------------------------------------

    @property
    def saving(self) -> bool:
        return self._saving is not None

    def save(self) -> bool:
        """Ask what the change needs (a confirmation text? how was consent obtained?), then
        write it off the GUI thread; ``save_finished`` tells how it ended. Returns False
        when a save is already under way or the re-consent was cancelled."""
        if self.saving:
            return False
        if not self.is_dirty() or self._contact is None:
            self.save_finished.emit(True)
            return True
        declined = tuple(self.declined_choice()) if self._purposes_dirty() else None
        change = ConsentChange(declined=declined)
        if self._toggle_dirty() and self.toggle.isChecked():
            confirm = self._offer_confirmation() and self.ask_confirmation(
                self._contact.display_name
            )
            change = replace(change, opt_out=True, send_confirmation=confirm)
        elif self._toggle_dirty():
            answer = self.ask_reconsent(self._contact.display_name)
            if answer is None:
                self.discard()  # Cancel: the contact stays opted out
                self.save_finished.emit(False)
                return False
            change = replace(change, re_consent=ReConsent(*answer))
        self._apply(change)
        return True

    def ask_reconsent(self, contact_name: str) -> tuple[str, str] | None:
        """Run the re-consent dialog; (method, note) or None when cancelled. It warns when
        Twilio will keep refusing the number until the customer's START."""
        state = self.state
        dialog = ReconsentDialog(contact_name, self,
                                 twilio_blocks=bool(state and state.provider_refuses))  # fmt: skip
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.chosen()

    def _offer_confirmation(self) -> bool:
        """Ask about a confirmation text only where one could go: the setting is on, the
        contact has a number, and Twilio is not blocking it (it confirmed itself)."""
        state = self.state
        if state is None or state.status is ConsentStatus.NO_NUMBER or state.provider_refuses:
            return False
        return self._service.confirmation_offered

    def ask_confirmation(self, contact_name: str) -> bool:
        """Send the one opt-out confirmation text? Default answer: No."""
        return ask_default_no(
            self,
            "Send a confirmation text?",
            f"Send {contact_name} one text confirming the opt-out?\n\n"
            "It says they are unsubscribed and how to resubscribe, nothing else, and goes "
            "out within 5 minutes. Choose No if they did not ask by text or phone.",
            "Send confirmation",
            "No text",
        )

    def _apply(self, change: ConsentChange) -> None:
        """Write ``change`` on the runner; the toggle, the purposes and Save are off and
        the button says "Saving…" until the answer is in."""
        service, contact_id = self._service, self._contact.id  # type: ignore[union-attr]
        task = BackgroundTask(lambda _progress: service.save(contact_id, change), self)
        task.finished.connect(self._saved)
        task.errored.connect(lambda error: self._saved(Outcome.failure(failure_sentence(error))))
        self._saving = task
        self.error.setVisible(False)
        self._show_saving()
        task.start()

    def _show_saving(self) -> None:
        saving = self.saving
        self.toggle.setEnabled(self._toggle_allowed and not saving)
        self.save_button.setText("Saving…" if saving else "Save")
        self._enable_purposes()
        self._show_dirty()

    def _saved(self, outcome: Outcome[ContactView]) -> None:
        self._saving = None
        self._show_saving()
        if not outcome.ok:  # refused (nothing changed), or the contact deleted meanwhile
            self.error.setText(outcome.message)
            self.error.setVisible(True)
            self.save_finished.emit(False)
            return
        self.load(outcome.unwrap())
        self.saved.emit()
        self.save_finished.emit(True)
