"""The contact fields form shared by the New/Edit dialog and the contact page's Details card."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLineEdit, QVBoxLayout, QWidget

from trustpager_desktop.core.contacts import ContactInput, ContactView
from trustpager_desktop.ui.common import field_error_label

CONTACT_FIELDS = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("tags", "Tags (comma separated)"),
]


def contact_values(contact: ContactView | None) -> dict[str, str]:
    """The editable values of a contact as typed (phone as the user wrote it)."""
    if contact is None:
        return {}
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": contact.company,
        "email": contact.email,
        "phone": contact.phone_raw,
        "tags": contact.tags,
    }


class ContactForm(QWidget):
    """One line editor per field with the reason shown under a refused field."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editors: dict[str, QLineEdit] = {}
        self.errors = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(12)
        for name, label in CONTACT_FIELDS:
            editor = QLineEdit()
            editor.setAccessibleName(label)
            editor.textEdited.connect(lambda _t: self.edited.emit())
            error = field_error_label()
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(editor)
            column.addWidget(error)
            form.addRow(label, column)
            self.editors[name], self.errors[name] = editor, error
        self.editors["phone"].setPlaceholderText("(415) 555-0101 or +44 20 7946 0000")

    def set_values(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self.editors[name].setText(value)
            self.editors[name].setCursorPosition(0)  # a long value shows its beginning
        self.clear_errors()

    def values(self) -> dict[str, str]:
        return {name: editor.text() for name, editor in self.editors.items()}

    def contact_input(self) -> ContactInput:
        return ContactInput(**self.values())

    def clear_errors(self) -> None:
        for error in self.errors.values():
            error.setVisible(False)

    def show_error(self, field: str | None, message: str) -> None:
        """Show ``message`` under ``field`` (first name when the field is unknown) and focus it."""
        name = field if field in self.errors else "first_name"
        self.errors[name].setText(message)
        self.errors[name].setVisible(True)
        self.editors[name].setFocus()
