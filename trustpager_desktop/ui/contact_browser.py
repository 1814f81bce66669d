"""The contact browser: a paged table model over ``core.contacts.search_contacts``,
search as you type, and the New / Edit / Delete contact dialog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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

from trustpager_desktop.core.consent import ConsentState, Severity
from trustpager_desktop.core.contacts import ContactInput, ContactRow, ContactView
from trustpager_desktop.ui import consent_view
from trustpager_desktop.ui.common import EmptyState, ask_yes_no, heading, plain_label
from trustpager_desktop.ui.contact_form import ContactForm, contact_values
from trustpager_desktop.ui.runner import BackgroundTask, failure_sentence, wait_until
from trustpager_desktop.ui.table_models import Page, PagedTableModel
from trustpager_desktop.ui.theme import Tone, tone_colour
from trustpager_desktop.usecases import contacts as contacts_usecase
from trustpager_desktop.usecases.contacts import (
    ContactSearch,
    ContactsService,
)
from trustpager_desktop.usecases.result import Outcome

Index = QModelIndex | QPersistentModelIndex

SEARCH_DELAY_MS = 250  # wait for a pause in typing before asking the database
LOADING_TEXT = "Loading contacts…"

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


def count_text(total: int, *, searching: bool, cap: int | None = None) -> str:
    """'1 contact', '100,000 contacts', '12 contacts found', '10,000+ contacts found'."""
    noun = "contact" if total == 1 else "contacts"
    cap = contacts_usecase.SEARCH_COUNT_CAP if cap is None else cap
    if searching and total > cap:
        return f"{cap:,}+ contacts found"
    return f"{total:,} {noun}" + (" found" if searching else "")


class ContactTableModel(PagedTableModel):
    """Contacts a page at a time; search and sort run in the database, so 100,000
    contacts cost one page of memory until scrolled.

    Every read runs on the background runner, never on the GUI thread. A new search (or
    sort, or filter) keeps the rows on screen until its first page is in, then shows it
    at once with its count (``loaded``); the latest search wins, so a search overtaken
    by another is never painted. Scrolling asks for one more page at a time: no further
    page is offered while one is on its way, and its rows are inserted when it arrives."""

    loaded = Signal()  # the latest search's first page and count are on screen
    page_arrived = Signal()  # a further page's rows were inserted (or it came up empty)
    failed = Signal(str)  # a read failed: why, in words

    headers = tuple(label for label, _key in COLUMNS)

    def __init__(self, service: ContactsService, parent: QWidget | None = None) -> None:
        super().__init__(ContactSearch(), parent)
        self._service = service
        self.total: int | None = None  # how many match the search shown (None: not yet)
        self.first_page_shown.connect(self.loaded)
        self.further_page_shown.connect(lambda _count: self.page_arrived.emit())
        self.read_failed.connect(self.failed)
        self.reload()

    @property
    def query(self) -> str:
        """The search asked for last (the rows show it once ``is_loading`` is False)."""
        return self._query.query

    @property
    def no_consent(self) -> bool:
        return self._query.no_consent

    @property
    def search(self) -> ContactSearch:
        return self._query

    @property
    def shown_search(self) -> ContactSearch | None:
        """The search whose rows are on screen."""
        return self._shown_query

    def set_query(self, query: str) -> None:
        self._want(replace(self._query, query=query.strip()))

    def set_no_consent(self, on: bool) -> None:
        self._want(replace(self._query, no_consent=on))

    def first_page_reader(self, query: ContactSearch) -> Callable[[], Page]:
        service, limit = self._service, self.PAGE_SIZE

        def read() -> Page:
            first = service.first_page(query, limit)
            return Page.at_offset(first.rows, 0, limit, extra=first.total)

        return read

    def further_page_reader(self, query: ContactSearch, after: int) -> Callable[[], Page]:
        service, limit = self._service, self.PAGE_SIZE
        return lambda: Page.at_offset(service.rows(query, after, limit), after, limit)

    def first_page_taken(self, page: Page) -> None:
        self.total = page.extra

    def contact_id(self, row: int) -> int:
        return self._rows[row].id

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
        if (key, descending) == (self._query.sort, self._query.descending):
            return  # the view announcing the sort it starts with: that read is under way
        self._want(replace(self._query, sort=key, descending=descending))


class ContactSaver(QObject):
    """Saves a contact off the GUI thread in three steps: the number's opt-out warning is
    read in the background, asked about on the GUI thread (Save or Cancel), then the
    create or update runs in the background. ``finished`` carries the Outcome, or None
    when the user cancelled at the warning. One save at a time.

    A child of the widget that saves: when that widget is destroyed mid-save the write
    still completes on its pool thread and only its result is dropped."""

    finished = Signal(object)  # Outcome[int] | None (cancelled at the warning)

    def __init__(self, owner: QWidget, service: ContactsService) -> None:
        super().__init__(owner)
        self._owner, self._service = owner, service
        self._task: BackgroundTask | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, data: ContactInput, contact_id: int | None) -> bool:
        """Begin saving ``data`` (a new contact when ``contact_id`` is None); False when
        a save is already under way."""
        if self._task is not None:
            return False
        service = self._service
        self._run(lambda: service.number_warning(data.phone, contact_id),
                  lambda warning: self._checked(warning, data, contact_id))  # fmt: skip
        return True

    def _checked(self, warning: str | None, data: ContactInput, contact_id: int | None) -> None:
        if warning is not None and not ask_number_warning(self._owner, warning):
            self._done(None)
            return
        service = self._service
        if contact_id is None:
            self._run(lambda: service.create(data), self._done)
        else:
            self._run(lambda: service.update(contact_id, data), self._done)

    def _run(self, work: Callable[[], Any], then: Callable[[Any], None]) -> None:
        task = BackgroundTask(lambda _progress: work(), self)
        task.finished.connect(then)
        task.errored.connect(self._failed)
        self._task = task
        task.start()

    def _failed(self, error: Exception) -> None:
        self._done(Outcome.failure(failure_sentence(error)))

    def _done(self, outcome: Outcome[int] | None) -> None:
        self._task = None
        self.finished.emit(outcome)


class ContactDialog(QDialog):
    """New or edit contact. Core validates; a refused field shows the reason beside it
    and nothing is saved. The save runs off the GUI thread; meanwhile the form and the
    buttons are off and Save says "Saving…"."""

    save_finished = Signal(bool)  # a save asked for ended: True when the contact was saved

    def __init__(
        self,
        service: ContactsService,
        contact_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self.contact_id = contact_id
        self.setWindowTitle("Edit contact" if contact_id else "New contact")
        self.setMinimumWidth(420)
        self.form = ContactForm()
        self.editors, self.errors = self.form.editors, self.form.errors
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self._saver = ContactSaver(self, service)
        self._saver.finished.connect(self._saved)
        self._filling: BackgroundTask | None = None  # the contact to edit, being read
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.buttons)
        if contact_id is not None:
            self._fill(contact_id)

    def _fill(self, contact_id: int) -> None:
        """Read the contact off the GUI thread; the form and Save are off until it is in."""
        service = self._service
        task = BackgroundTask(lambda _progress: service.contact(contact_id), self)
        task.finished.connect(self._filled)
        task.errored.connect(lambda error: self._filled(Outcome.failure(failure_sentence(error))))
        self._filling = task
        self.form.setEnabled(False)
        self.save_button.setEnabled(False)
        task.start()

    @property
    def is_loading(self) -> bool:
        """The contact to edit is still being read."""
        return self._filling is not None

    def _filled(self, outcome: Outcome[ContactView]) -> None:
        self._filling = None
        self.form.setEnabled(True)
        self.save_button.setEnabled(True)
        if outcome.ok:
            self.form.set_values(contact_values(outcome.unwrap(), self._service.zone))
            self.form.editors["first_name"].setFocus()
        else:  # deleted meanwhile (perhaps on another desktop): say so; saving says so too
            self.show_error(None, outcome.message)

    def contact_input(self) -> ContactInput:
        return self.form.contact_input()

    @property
    def saving(self) -> bool:
        return self._saver.running

    def save(self) -> bool:
        """Start saving through core (``save_finished`` tells how it ended): a refused
        value shows why beside the field and the dialog stays open. False when a save
        is already under way (or the contact to edit is not read yet)."""
        if self.is_loading or not self._saver.start(self.contact_input(), self.contact_id):
            return False
        self.form.clear_errors()
        self._show_saving(True)
        return True

    def _show_saving(self, saving: bool) -> None:
        self.form.setEnabled(not saving)
        self.buttons.setEnabled(not saving)
        self.save_button.setText("Saving…" if saving else "Save")

    def _saved(self, outcome: Outcome[int] | None) -> None:
        self._show_saving(False)
        if outcome is None:  # cancelled at the opted-out warning: nothing saved
            self.save_finished.emit(False)
            return
        if not outcome.ok:  # a refused value (beside its field), or deleted meanwhile
            self.show_error(outcome.field, outcome.message)
            self.save_finished.emit(False)
            return
        self.contact_id = outcome.unwrap()
        self.accept()
        self.save_finished.emit(True)

    def reject(self) -> None:
        """Escape or Cancel while saving: stay until the save is in (it cannot be undone)."""
        if not self.saving:
            super().reject()

    def show_error(self, field: str | None, message: str) -> None:
        """Show why beside the field, growing the dialog so no line of it is cut off."""
        self.form.show_error(field, message)
        self.layout().activate()
        self.resize(self.width(), max(self.height(), self.heightForWidth(self.width())))


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
    """Search box, buttons and the contact table. Every read runs on the background
    runner: the rows and their count arrive together, the latest search winning."""

    contact_activated = Signal(int)  # open this contact's page
    search_applied = Signal(str)  # the query the table now shows (its answer is in)
    contacts_changed = Signal()
    enrol_requested = Signal(list)  # contact ids: the window opens the enrol dialog
    import_requested = Signal()  # the window opens the import dialog
    delete_finished = Signal(bool)  # a delete asked for ended: True when it deleted

    def __init__(self, service: ContactsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._results_wanted = False  # Enter or Down pressed before the answer was in
        self._to_select: tuple[int, int] | None = None  # (contact id, pages read for it)
        self._deleting: BackgroundTask | None = None  # the delete under way
        self.model = ContactTableModel(service, self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.apply_search)
        self._build()
        self.model.loaded.connect(self._answer_in)
        self.model.page_arrived.connect(self._select_wanted)
        self.model.failed.connect(self._read_failed)

    @property
    def is_loading(self) -> bool:
        """A search's answer (or a further page) is on its way, or a delete runs (the rows
        are read again once it is in)."""
        return self.model.is_loading or self.deleting

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the rows asked for are on screen (``--screenshot``)."""
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, email, company or phone (Ctrl+F)")
        self.search.setAccessibleName("Search contacts")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._typed)
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
        self.count_label = plain_label(LOADING_TEXT)
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
        self.empty_state = EmptyState(self.table, LOADING_TEXT)
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

    def _typed(self, _text: str) -> None:
        self._results_wanted = False  # typing on: Enter pressed before no longer applies
        self._timer.start()

    def apply_search(self) -> None:
        """Ask for the search box's text now (the debounce timer calls this); the table,
        the count and ``search_applied`` follow once the answer is in."""
        self._timer.stop()
        self.model.set_query(self.search.text())

    def _filter_no_consent(self, on: bool) -> None:
        self.model.set_no_consent(on)

    def _answer_in(self) -> None:
        """The latest search's rows and count are in: show what they say."""
        search = self.model.shown_search
        if search is None:
            return
        self.count_label.setText(count_text(self.model.total or 0, searching=search.searching))
        self.empty_state.set_text(self._empty_text())
        self.search_applied.emit(search.query)
        if self._results_wanted:
            self._results_wanted = False
            self._move_to_results()
        self._select_wanted()

    def _read_failed(self, message: str) -> None:
        self.count_label.setText("Contacts could not be read")
        self.count_label.setToolTip(message)
        if self.model.rowCount() == 0:
            self.empty_state.set_text(f"The contacts could not be read: {message}")

    def _empty_text(self) -> str:
        query, no_consent = self.model.query, self.model.no_consent
        if no_consent:
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
        if self.model.is_loading:
            self._results_wanted = True  # once the answer is in
            return
        self._move_to_results()

    def _move_to_results(self) -> None:
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
        deleting = self.deleting  # the contact going away is not edited nor deleted twice
        self.delete_button.setText("Deleting…" if deleting else "Delete…")
        for button, ok in (
            (self.edit_button, count == 1 and not deleting),
            (self.delete_button, count == 1 and not deleting),
            (self.enroll_button, count >= 1),
        ):
            button.setEnabled(ok)
        hint = "" if count else " (select a contact first)"
        self.edit_button.setToolTip("Edit the selected contact" + hint)
        self.delete_button.setToolTip("Delete the selected contact" + hint)
        self.enroll_button.setToolTip("Enrol the selected contacts in an automation" + hint)

    def refresh(self) -> None:
        """Re-read the current search (rows and count) after something changed elsewhere."""
        self.model.reload()

    # -- actions --------------------------------------------------------------------

    def selected_contact_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.contact_id(rows[0].row()) if rows else None

    def selected_contact_ids(self) -> list[int]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.contact_id(row) for row in rows]

    def enroll_selected(self) -> None:
        """Enrol the selected contacts in an automation (the Auto Queue checks opt-outs at
        send time). The automations screen's dialog: the window opens it."""
        contact_ids = self.selected_contact_ids()
        if not contact_ids:  # the button is off then; a shortcut or a stale click lands here
            return
        self.enrol_requested.emit(contact_ids)

    def import_contacts(self) -> None:
        """Ask the window for the import dialog; ``imported`` then refreshes the list."""
        self.import_requested.emit()

    def imported(self) -> None:
        self._after_change()

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.contact_activated.emit(self.model.contact_id(index.row()))

    def new_contact(self) -> None:
        dialog = ContactDialog(self._service, parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._after_change()
            if dialog.contact_id is not None:
                self.show_contact_in_list(dialog.contact_id)

    def show_contact_in_list(self, contact_id: int) -> None:
        """Select a contact in the table once the rows are in; when the current search
        hides it, clear the search first (a contact just saved must not seem to vanish)."""
        self._to_select = (contact_id, 0)
        self._select_wanted()

    def _select_wanted(self) -> None:
        """One step towards the contact to select, each time an answer is in: select it,
        or clear the search hiding it, or read one more page (it sorts further down)."""
        if self._to_select is None or self.model.is_loading:
            return  # the answer on its way calls again
        contact_id, pages = self._to_select
        row = self.model.row_of(contact_id)
        if row is not None:
            self._to_select = None
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        elif self.model.query:
            self.search.clear()  # starts the typing timer; apply_search stops it
            self.apply_search()
        elif self.model.canFetchMore(QModelIndex()) and pages < 50:
            self._to_select = (contact_id, pages + 1)
            self.model.fetchMore(QModelIndex())
        else:
            self._to_select = None  # not in the list (a filter hides it): nothing to select

    def edit_selected(self) -> None:
        contact_id = self.selected_contact_id()
        if contact_id is None or self.deleting:
            return
        dialog = ContactDialog(self._service, contact_id, parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._after_change()

    def delete_selected(self) -> None:
        """Ask, then delete the selected contact off the GUI thread; meanwhile Delete says
        "Deleting…" and Edit and Delete stay off (``delete_finished`` tells how it ended)."""
        contact_id = self.selected_contact_id()
        if contact_id is None or self.deleting:
            return
        name = self.model.data(self.model.index(self.table.currentIndex().row(), 0))
        if not self.confirm_delete(name):
            return
        service = self._service
        task = BackgroundTask(lambda _progress: service.delete(contact_id), self)
        task.finished.connect(lambda outcome: self._deleted(name, outcome))
        task.errored.connect(
            lambda error: self._deleted(name, Outcome.failure(failure_sentence(error)))
        )
        self._deleting = task
        self._update_buttons()
        task.start()

    @property
    def deleting(self) -> bool:
        return self._deleting is not None

    def _deleted(self, name: str, outcome: Outcome[int]) -> None:
        self._deleting = None
        self._update_buttons()
        if not outcome.ok and not outcome.gone:  # gone: deleted elsewhere; the refresh shows it
            QMessageBox.warning(
                self, "Delete contact", f"{name} was not deleted: {outcome.message}"
            )
        self._after_change()
        self.delete_finished.emit(outcome.ok)

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
