"""The contact fields form shared by the New/Edit dialog and the contact page's Details card."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from trustpager_desktop.core import opt_in
from trustpager_desktop.core.contacts import ContactInput, ContactView
from trustpager_desktop.core.timefmt import business_zone
from trustpager_desktop.ui.common import field_error_label

CONTACT_FIELDS = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("tags", "Tags (comma separated)"),
]
# The opt-in consent record: when and how the contact agreed to texts (issue 15).
CONSENT_FIELDS = [
    ("consent_date", "Consent date"),
    ("consent_source", "Consent source"),
    ("consent_evidence", "Consent evidence"),
]
CONSENT_KEYS = ("consent_date", "consent_source", "consent_method", "consent_evidence")
_INPUT_DATE = "%Y-%m-%d %H:%M"


def contact_values(contact: ContactView | None, zone: str = "UTC") -> dict[str, str]:
    """The editable values of a contact as typed (phone as the user wrote it; the consent
    date in the business ``zone``)."""
    if contact is None:
        return {}
    record = contact.record
    at = record.at.astimezone(business_zone(zone)).strftime(_INPUT_DATE) if record.at else ""
    return {
        "consent_date": at,
        "consent_source": record.source,
        "consent_method": record.method or "",
        "consent_evidence": record.evidence,
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
            self._add_line_edit(form, name, label)
        self.editors["phone"].setPlaceholderText("(415) 555-0101 or +44 20 7946 0000")
        self._add_consent_fields(form)
        self._loaded: dict[str, str] = {}

    def _add_consent_fields(self, form: QFormLayout) -> None:
        """Consent date, source, method and evidence, after the contact fields."""
        for name, label in CONSENT_FIELDS:
            self._add_line_edit(form, name, label)
            if name == "consent_source":
                self.method = QComboBox()
                self.method.setAccessibleName("Consent method")
                self.method.addItem("(not recorded)", "")
                for key, text in opt_in.METHODS.items():
                    self.method.addItem(text, key)
                self.method.activated.connect(lambda _i: self.edited.emit())
                self._add_row(form, "consent_method", "Consent method", self.method)
        self.editors["consent_date"].setPlaceholderText("2026-03-15 or 2026-03-15 14:30")
        self.editors["consent_source"].setPlaceholderText("web form, spring promo")
        self.editors["consent_evidence"].setPlaceholderText("note or file reference")

    def _add_line_edit(self, form: QFormLayout, name: str, label: str) -> None:
        editor = QLineEdit()
        editor.setAccessibleName(label)
        editor.textEdited.connect(lambda _t: self.edited.emit())
        self.editors[name] = editor
        self._add_row(form, name, label, editor)

    def _add_row(self, form: QFormLayout, name: str, label: str, editor: QWidget) -> None:
        """``editor`` with its error line under it (shown when a save refuses the field)."""
        self.errors[name] = field_error_label()
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(editor)
        column.addWidget(self.errors[name])
        form.addRow(label, column)

    def set_values(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name == "consent_method":
                self.method.setCurrentIndex(max(self.method.findData(value), 0))
                continue
            self.editors[name].setText(value)
            self.editors[name].setCursorPosition(0)  # a long value shows its beginning
        self._loaded = self.values()
        self.clear_errors()

    def values(self) -> dict[str, str]:
        values = {name: editor.text() for name, editor in self.editors.items()}
        values["consent_method"] = self.method.currentData() or ""
        return values

    def contact_input(self) -> ContactInput:
        """The typed contact; the consent record only when one of its fields changed (so
        editing a name never rewrites the record's time)."""
        values = self.values()
        record = {k: values.pop(k) for k in CONSENT_KEYS}
        changed = any(record[k] != self._loaded.get(k, "") for k in CONSENT_KEYS)
        consent = None
        if changed:
            consent = opt_in.ConsentInput(record["consent_source"], record["consent_date"],
                                          record["consent_method"], record["consent_evidence"])  # fmt: skip
        return ContactInput(**values, consent=consent)

    def clear_errors(self) -> None:
        for error in self.errors.values():
            error.setVisible(False)

    def show_error(self, field: str | None, message: str) -> None:
        """Show ``message`` under ``field`` (first name when the field is unknown) and focus it."""
        name = field if field in self.errors else "first_name"
        self.errors[name].setText(message)
        self.errors[name].setVisible(True)
        (self.method if name == "consent_method" else self.editors[name]).setFocus()
