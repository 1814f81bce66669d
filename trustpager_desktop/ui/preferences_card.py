"""The Communication Preferences card: the SMS opt-out toggle, its status line, and Save.

Nothing reaches the database until Save. Turning the opt-out off asks how
consent was obtained (``ReconsentDialog``); cancelling leaves the contact opted out.
"""

from __future__ import annotations

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

from trustpager_desktop.core import consent, contacts, preferences
from trustpager_desktop.core.contacts import ContactView
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.common import (
    OK_COLOUR,
    WARNING_COLOUR,
    Card,
    bold,
    coloured,
    field_error_label,
    plain_label,
)


class ReconsentDialog(QDialog):
    """Asks how the contact agreed to texts again: a method and a note, both required."""

    def __init__(self, contact_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record re-consent")
        self.setMinimumWidth(440)
        intro = plain_label(
            f"{contact_name} opted out of SMS. Before texting them again, record how they "
            "agreed to receive texts.",
            wrap=True,
        )
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
    dirty_changed = Signal(bool)

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__("Communication Preferences", parent)
        self._services = services
        self._contact: ContactView | None = None
        self.toggle = QCheckBox("Opted out of SMS (do not text)")
        self.toggle.setAccessibleName("SMS opt-out")
        self.toggle.setAccessibleDescription(
            "When ticked, automations will not text this contact. Press Save to apply."
        )
        self.toggle.toggled.connect(self._on_toggled)
        self.status = bold(plain_label(wrap=True))
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
        self.body.addWidget(self.status)
        self.body.addLayout(row)
        self.body.addWidget(self.error)

    # -- state ------------------------------------------------------------------------

    def load(self, contact: ContactView) -> None:
        """Show a contact's saved state; any unsaved toggle is dropped."""
        self._contact = contact
        self.toggle.blockSignals(True)
        self.toggle.setChecked(contact.sms_opted_out)
        self.toggle.blockSignals(False)
        self.status.setText(contact.status_line)
        coloured(self.status, WARNING_COLOUR if contact.sms_opted_out else OK_COLOUR)
        self.error.setVisible(False)
        self._show_dirty()

    def is_dirty(self) -> bool:
        return self._contact is not None and self.toggle.isChecked() != self._contact.sms_opted_out

    def discard(self) -> None:
        if self._contact is not None:
            self.load(self._contact)

    def _on_toggled(self, _checked: bool) -> None:
        self._show_dirty()

    def _show_dirty(self) -> None:
        dirty = self.is_dirty()
        self.unsaved.setVisible(dirty)
        self.save_button.setEnabled(dirty)
        self.dirty_changed.emit(dirty)

    # -- saving -----------------------------------------------------------------------

    def save(self) -> bool:
        """Apply the toggle now. Returns True when the database changed (or nothing was due)."""
        if not self.is_dirty() or self._contact is None:
            return True
        if self.toggle.isChecked():
            return self._apply(lambda session: self._opt_out(session))
        answer = self.ask_reconsent(self._contact.display_name)
        if answer is None:
            self.discard()  # Cancel: the contact stays opted out
            return False
        method, note = answer
        return self._apply(lambda session: self._re_consent(session, method, note))

    def ask_reconsent(self, contact_name: str) -> tuple[str, str] | None:
        """Run the re-consent dialog; (method, note) or None when cancelled."""
        dialog = ReconsentDialog(contact_name, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.chosen()

    def _opt_out(self, session) -> None:  # type: ignore[no-untyped-def]
        s = self._services
        preferences.opt_out_by_hand(session, self._contact.id, actor=s.actor, clock=s.clock)  # type: ignore[union-attr]

    def _re_consent(self, session, method: str, note: str) -> None:  # type: ignore[no-untyped-def]
        s = self._services
        preferences.re_consent_by_hand(
            session,
            self._contact.id,  # type: ignore[union-attr]
            method=method,
            note=note,
            actor=s.actor,
            clock=s.clock,
        )

    def _apply(self, change) -> bool:  # type: ignore[no-untyped-def]
        s = self._services
        try:
            with s.db.write() as session:
                change(session)
        except UserInputError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return False
        with s.db.read() as session:
            fresh = contacts.get_contact(session, self._contact.id, s.settings.default_country)  # type: ignore[union-attr]
        self.load(fresh)
        self.saved.emit()
        return True
