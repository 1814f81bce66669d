"""The contact browser: a paged table model over ``core.contacts.search_contacts``,
search as you type, and the New / Edit / Delete contact dialog."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import contacts
from trustpager_desktop.core.consent import ConsentState, Severity
from trustpager_desktop.core.contacts import ContactInput, ContactRow
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui import consent_view
from trustpager_desktop.ui.common import EmptyState, ask_yes_no, heading, plain_label
from trustpager_desktop.ui.contact_form import ContactForm, contact_values
from trustpager_desktop.ui.table_models import PagedTableModel
from trustpager_desktop.ui.theme import Tone, tone_colour
from trustpager_desktop.usecases.contacts import ContactsService

Index = QModelIndex | QPersistentModelIndex

SEARCH_DELAY_MS = 250  # wait for a pause in typing before asking the database
SEARCH_COUNT_CAP = 10_000  # a search's count label stops at "10,000+ contacts found"

COLUMNS = [
    ("Name", "name"),
    ("Phone", "phone"),
    ("Email", "email"),
    ("Company", "company"),
    ("SMS", "sms"),
]
NAME_COLUMN = 0
SMS_COLUMN = 4
OPTED_OUT_TEXT = "Opted out"
SUBSCRIBED_TEXT = "Subscribed"
NO_CONTACTS_TEXT = "No contacts yet. Add one with New contact… or bring a list in with Import…."
SEARCH_HINT = "Search looks in names, emails, companies and any part of a phone number."


def no_match_text(query: str) -> str:
    """The empty table's sentence for a search that found nobody."""
    return f"No contacts match “{query}”.\n{SEARCH_HINT}"


def count_text(total: int, *, searching: bool) -> str:
    """'1 contact', '100,000 contacts', '12 contacts found', '10,000+ contacts found'."""
    noun = "contact" if total == 1 else "contacts"
    if searching and total > SEARCH_COUNT_CAP:
        return f"{SEARCH_COUNT_CAP:,}+ contacts found"
    return f"{total:,} {noun}" + (" found" if searching else "")


class ContactTableModel(PagedTableModel):
    """Contacts a page at a time; search and sort run in the database, so 100,000
    contacts cost one page of memory until scrolled."""

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._query = ""
        self.no_consent = False  # the "No consent on record" filter
        self._sort = "name"
        self._descending = False
        self.reload()

    @property
    def query(self) -> str:
        return self._query

    def set_query(self, query: str) -> None:
        self._query = query.strip()
        self.reload()

    def set_no_consent(self, on: bool) -> None:
        self.no_consent = on
        self.reload()

    def contact_id(self, row: int) -> int:
        return self._rows[row].id

    def row_of(self, contact_id: int) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.id == contact_id), None)

    def read_rows(self, offset: int, limit: int) -> list[ContactRow]:
        settings = self._services.settings
        with self._services.db.read(snapshot=False) as session:  # no BEGIN/ROLLBACK to pay
            return contacts.search_contacts(
                session,
                self._query,
                offset=offset,
                limit=limit,
                sort=self._sort,
                descending=self._descending,
                default_region=settings.default_country,
                settings=settings,
                no_consent=self.no_consent,
            )

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, column)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole and column != SMS_COLUMN:
            return self._text(row, column) or None  # a long name or email, in full
        if column == SMS_COLUMN and row.consent is not None:
            return self._sms_style(row.consent, role)
        return None

    @staticmethod
    def _text(row: ContactRow, column: int) -> str:
        if column == SMS_COLUMN:  # the one consent state, as the automation rule sees it
            if row.consent is None:
                return OPTED_OUT_TEXT if row.sms_opted_out else SUBSCRIBED_TEXT
            return consent_view.short_label(row.consent)
        return [row.name, row.phone_display, row.email, row.company][column]

    @staticmethod
    def _sms_style(state: ConsentState, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return consent_view.tooltip(state)
        if state.severity not in (Severity.BLOCKED, Severity.WARNING):
            return None
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole:
            return tone_colour(Tone.WARNING)  # readable on this palette, light or dark
        if role == Qt.ItemDataRole.DecorationRole:
            from PySide6.QtWidgets import QApplication

            icon = (QStyle.StandardPixmap.SP_MessageBoxWarning if state.severity is
                    Severity.BLOCKED else QStyle.StandardPixmap.SP_MessageBoxInformation)  # fmt: skip
            return QApplication.style().standardIcon(icon)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        key, descending = COLUMNS[column][1], order == Qt.SortOrder.DescendingOrder
        if (key, descending) == (self._sort, self._descending) and self._rows:
            return  # the view announcing the sort it starts with: the page is already right
        self._sort, self._descending = key, descending
        self.reload()


class ContactDialog(QDialog):
    """New or edit contact. Core validates; a refused field shows the reason beside it
    and nothing is saved."""

    def __init__(
        self, services: AppServices, contact_id: int | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._services = services
        self.contact_id = contact_id
        self.setWindowTitle("Edit contact" if contact_id else "New contact")
        self.setMinimumWidth(420)
        self.form = ContactForm()
        self.editors, self.errors = self.form.editors, self.form.errors
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(buttons)
        if contact_id is not None:
            self._fill(contact_id)

    def _fill(self, contact_id: int) -> None:
        with self._services.db.read() as s:
            view = contacts.get_contact(s, contact_id, self._services.settings.default_country)
        self.form.set_values(contact_values(view, self._services.settings.business_timezone))

    def contact_input(self) -> ContactInput:
        return self.form.contact_input()

    def save(self) -> bool:
        """Save through core; on a refused value show why beside the field and stay open."""
        self.form.clear_errors()
        data = self.contact_input()
        if not confirm_number(self, self._services, data.phone, self.contact_id):
            return False
        service = ContactsService(self._services)
        if self.contact_id is None:
            outcome = service.create(data)
        else:
            outcome = service.update(self.contact_id, data)
        if not outcome.ok:  # a refused value (beside its field), or deleted meanwhile
            self.show_error(outcome.field, outcome.message)
            return False
        self.contact_id = outcome.unwrap()
        self.accept()
        return True

    def show_error(self, field: str | None, message: str) -> None:
        """Show why beside the field, growing the dialog so no line of it is cut off."""
        self.form.show_error(field, message)
        self.layout().activate()
        self.resize(self.width(), max(self.height(), self.heightForWidth(self.width())))


def confirm_number(
    parent: QWidget, services: AppServices, phone: str, contact_id: int | None
) -> bool:
    """Before saving a contact onto a number that is opted out, suppressed, blocked by
    Twilio or held, say so and ask. True when it is fine to save."""
    warning = ContactsService(services).number_warning(phone, contact_id)
    return warning is None or ask_number_warning(parent, warning)


def ask_number_warning(parent: QWidget, warning: str) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "This number is opted out",
        f"{warning}\n\nSave the contact with this number anyway?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    return box.exec() == QMessageBox.StandardButton.Save


class ContactBrowser(QWidget):
    """Search box, buttons and the contact table."""

    contact_activated = Signal(int)  # open this contact's page
    search_applied = Signal(str)  # the query the table now shows
    contacts_changed = Signal()

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.model = ContactTableModel(services, self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.apply_search)
        self._build()
        self._update_count()

    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, email, company or phone (Ctrl+F)")
        self.search.setAccessibleName("Search contacts")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _text: self._timer.start())
        self.search.returnPressed.connect(self.go_to_results)
        self.search.installEventFilter(self)  # Down arrow: to the results
        self.new_button = QPushButton("New contact…")
        self.edit_button = QPushButton("Edit…")
        self.delete_button = QPushButton("Delete…")
        self.enroll_button = QPushButton("Enrol…")
        self.enroll_button.setToolTip("Enrol the selected contacts in an automation")
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add contacts from a CSV file")
        self.enroll_button.clicked.connect(self.enroll_selected)
        self.import_button.clicked.connect(self.import_contacts)
        self.new_button.clicked.connect(self.new_contact)
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.count_label = plain_label()
        self.no_consent_filter = QCheckBox("No consent on record")
        self.no_consent_filter.setAccessibleName("Show only contacts with no consent on record")
        self.no_consent_filter.setToolTip(
            "Show only contacts without an opt-in consent record (when and how they agreed)"
        )
        self.no_consent_filter.toggled.connect(self._filter_no_consent)

        top = QHBoxLayout()
        top.addWidget(heading("Contacts", 4))
        top.addStretch(1)
        top.addWidget(self.no_consent_filter)
        top.addSpacing(12)
        top.addWidget(self.count_label)
        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        for button in (
            self.new_button,
            self.edit_button,
            self.delete_button,
            self.enroll_button,
            self.import_button,
        ):
            tools.addWidget(button)

        self.table = QTableView()
        self.table.setModel(self.model)
        # Indicator first: enabling sorting then asks for the order the model already has.
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        # Every column, the SMS one above all, in view at 1024 px; email takes what is left.
        for column, width in enumerate((200, 130, 240, 150, 110)):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._activate)
        self.table.activated.connect(self._activate)
        self.table.setAccessibleName("Contacts")
        self.empty_state = EmptyState(self.table, NO_CONTACTS_TEXT)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self._update_buttons()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)

    # -- search ---------------------------------------------------------------------

    def apply_search(self) -> None:
        """Run the search box's text against the database now (the debounce timer calls this)."""
        self._timer.stop()
        self.model.set_query(self.search.text())
        self._update_count()
        query = self.model.query
        self.empty_state.set_text(self._empty_text())
        self.search_applied.emit(query)

    def _filter_no_consent(self, on: bool) -> None:
        self.model.set_no_consent(on)
        self._update_count()
        self.empty_state.set_text(self._empty_text())

    def _empty_text(self) -> str:
        query = self.model.query
        if self.model.no_consent:
            return ("Every contact " + (f"matching “{query}” " if query else "") +
                    "has consent on record.")  # fmt: skip
        return no_match_text(query) if query else NO_CONTACTS_TEXT

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def go_to_results(self) -> None:
        """Enter or Down in the search box: search now (no waiting for the pause in typing),
        then move to the first result, so the keyboard alone can find and open a contact."""
        if self._timer.isActive() or self.model.query != self.search.text().strip():
            self.apply_search()
        if self.model.rowCount() == 0:
            return  # the empty state says why; stay in the box to change the search
        self.table.setFocus(Qt.FocusReason.TabFocusReason)
        if not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
        ):
            self.go_to_results()
            return True
        return super().eventFilter(watched, event)

    def _update_buttons(self, *_: object) -> None:
        """Edit and Delete need one contact, Enrol at least one: off with nothing selected."""
        count = len(self.table.selectionModel().selectedRows())
        for button, ok in (
            (self.edit_button, count == 1),
            (self.delete_button, count == 1),
            (self.enroll_button, count >= 1),
        ):
            button.setEnabled(ok)
        hint = "" if count else " (select a contact first)"
        self.edit_button.setToolTip("Edit the selected contact" + hint)
        self.delete_button.setToolTip("Delete the selected contact" + hint)
        self.enroll_button.setToolTip("Enrol the selected contacts in an automation" + hint)

    def _update_count(self) -> None:
        s = self._services
        query = self.model.query
        # A search counts no further than SEARCH_COUNT_CAP: "10,000+ found" says enough,
        # and counting every match of a common word would cost more than the search.
        searching = bool(query) or self.model.no_consent
        cap = SEARCH_COUNT_CAP + 1 if searching else None
        with s.db.read(snapshot=False) as session:
            total = contacts.count_contacts(session, query, s.settings.default_country, cap=cap,
                                            no_consent=self.model.no_consent)  # fmt: skip
        self.count_label.setText(count_text(total, searching=searching))

    def refresh(self) -> None:
        """Re-read the current page after something changed elsewhere."""
        self.model.reload()
        self._update_count()

    # -- actions --------------------------------------------------------------------

    def selected_contact_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.contact_id(rows[0].row()) if rows else None

    def selected_contact_ids(self) -> list[int]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.contact_id(row) for row in rows]

    def enroll_selected(self) -> None:
        """Enrol the selected contacts in an automation (the Auto Queue checks opt-outs at send time)."""
        from trustpager_desktop.ui.automations_page import EnrollDialog
        from trustpager_desktop.usecases.automations import AutomationsService

        contact_ids = self.selected_contact_ids()
        if not contact_ids:  # the button is off then; a shortcut or a stale click lands here
            return
        EnrollDialog(AutomationsService(self._services), contact_ids, self).exec()

    def import_contacts(self) -> None:
        from trustpager_desktop.ui.import_dialog import ImportContactsDialog

        dialog = ImportContactsDialog(self._services, self)
        dialog.imported.connect(lambda _report: self._after_change())
        dialog.exec()

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.contact_activated.emit(self.model.contact_id(index.row()))

    def new_contact(self) -> None:
        dialog = ContactDialog(self._services, parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._after_change()
            if dialog.contact_id is not None:
                self.show_contact_in_list(dialog.contact_id)

    def show_contact_in_list(self, contact_id: int) -> None:
        """Select a contact in the table; when the current search hides it, clear the search
        first (a contact just saved must not seem to vanish)."""
        row = self.model.row_of(contact_id)
        if row is None and self.model.query:
            self.search.clear()  # starts the typing timer; apply_search stops it
            self.apply_search()
            row = self.model.row_of(contact_id)
        pages = 0
        while row is None and self.model.canFetchMore(QModelIndex()) and pages < 50:
            self.model.fetchMore(QModelIndex())  # it sorts further down than the first page
            row, pages = self.model.row_of(contact_id), pages + 1
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def edit_selected(self) -> None:
        contact_id = self.selected_contact_id()
        if contact_id is None:
            return
        dialog = ContactDialog(self._services, contact_id, parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._after_change()

    def delete_selected(self) -> None:
        contact_id = self.selected_contact_id()
        if contact_id is None:
            return
        name = self.model.data(self.model.index(self.table.currentIndex().row(), 0))
        if not self.confirm_delete(name):
            return
        outcome = ContactsService(self._services).delete(contact_id)
        if not outcome.ok and not outcome.gone:  # gone: deleted elsewhere; the refresh shows it
            QMessageBox.warning(
                self, "Delete contact", f"{name} was not deleted: {outcome.message}"
            )
        self._after_change()

    def confirm_delete(self, name: str) -> bool:
        """Ask before deleting. Tests replace this method."""
        return ask_yes_no(
            self,
            "Delete contact",
            f"Delete {name}?\n\nTheir consent history and activity log entries are kept, "
            "and an opt-out stays attached to their number.",
        )

    def _after_change(self) -> None:
        self.refresh()
        self.contacts_changed.emit()
