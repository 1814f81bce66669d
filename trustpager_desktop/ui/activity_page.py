"""The activity log viewer: every entry, newest first, filtered in the database.

The table model pages through the log with ``canFetchMore``/``fetchMore`` (keyset
paging in core.activity_query), so a million entries open as quickly as ten. Every read
goes through the page's ActivityService on the background runner, never on the GUI
thread: on a shared database across a network each one is a round trip. A timer polls
for entries newer than the newest one shown and puts them on top.
Everything shown is plain text: contact names, reply bodies and Twilio errors
are data, never markup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import (
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core.activity import ActivityView
from trustpager_desktop.core.activity_query import (
    KIND_CHOICE_BY_KEY,
    LogFilter,
    detail_fields,
    details_lines,
    kind_text,
)
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.timefmt import business_today, format_time, start_of_business_day
from trustpager_desktop.ui.common import (
    ERROR_COLOUR,
    OK_COLOUR,
    EmptyState,
    coloured,
    documents_path,
    heading,
    plain_label,
)
from trustpager_desktop.ui.runner import (
    BackgroundTask,
    LatestRead,
    RunningTasks,
    failure_sentence,
    show_progress,
    wait_until,
)
from trustpager_desktop.ui.table_models import Page, PagedTableModel
from trustpager_desktop.usecases.activity import (
    ActivityService,
    AutomationChoice,
    ContactMatches,
    NewEntries,
)

log = logging.getLogger("trustpager.ui")

POLL_INTERVAL_MS = 3000
VERIFY_LINES_SHOWN = 3
_Index = QModelIndex | QPersistentModelIndex


DATE_DISPLAY = "dd MMM yyyy"  # the date part of core.timefmt's format: '26 Nov 2026'


class ActivityLogModel(PagedTableModel):
    """Rows of ActivityView, read a page at a time by the activity service on the
    background runner (never on the GUI thread), newest first by a keyset cursor.

    ``set_filter`` asks for a filter's first page; the rows are replaced when it arrives
    (``filter_loaded``), and a filter asked for meanwhile wins over the one on its way.
    ``fetchMore`` asks for the next page, one at a time (``canFetchMore`` is False while
    one is on its way); its rows are appended when it arrives (``rows_fetched``).
    ``poll_new`` asks for entries newer than the newest seen and puts them on top."""

    COLUMNS = headers = ("Time", "Contact", "Kind", "Summary", "By")

    filter_loaded = Signal()  # a filter's first page is shown
    # A next page arrived, with this many rows (maybe none); here a signal, where the
    # other paged models have a count of the rows read.
    rows_fetched = Signal(int)  # type: ignore[assignment]
    new_entries = Signal(int)  # a poll put this many entries on top
    # read_failed(str): a read failed, in words for the user (PagedTableModel's)

    def __init__(self, service: ActivityService, parent=None, *, zone=lambda: "UTC") -> None:  # type: ignore[no-untyped-def]
        super().__init__(LogFilter(), parent)
        self._service = service
        self._zone = zone  # () -> the business time zone's name (a setting that can change)
        self._shown_query = LogFilter()  # nothing read yet: the rows of no filter
        self._newest_seen = 0
        self._poll: BackgroundTask | None = None
        self.first_page_shown.connect(self.filter_loaded)
        self.further_page_shown.connect(self.rows_fetched)

    # --- loading -----------------------------------------------------------------------

    @property
    def log_filter(self) -> LogFilter:
        """The latest filter asked for (shown once its first page has arrived)."""
        return self._query

    @property
    def shown_filter(self) -> LogFilter:
        return self._shown_query

    @property
    def is_loading(self) -> bool:
        """A filter's first page is on its way."""
        return self._first.is_loading

    @property
    def is_fetching(self) -> bool:
        """A next page is on its way."""
        return self._further is not None

    def set_filter(self, flt: LogFilter) -> None:
        """Show entries matching ``flt`` from the newest down, once its first page is read."""
        self._want(flt)

    def first_page_reader(self, query: LogFilter) -> Callable[[], Page]:
        service = self._service

        def read() -> Page:
            first = service.first_page(query)
            return Page(first.entries, first.next_before_id, extra=first.newest_id)

        return read

    def further_page_reader(self, query: LogFilter, after: int) -> Callable[[], Page]:
        service = self._service

        def read() -> Page:
            page = service.next_page(query, after)
            return Page(page.entries, page.next_before_id)

        return read

    def first_page_taken(self, page: Page) -> None:
        self._newest_seen = page.extra

    def _further_page_failed(self, error: Exception) -> None:
        self.rows_fetched.emit(0)
        super()._further_page_failed(error)  # last: its words stay on the status

    def poll_new(self) -> bool:
        """Ask for entries added since the last look (they go on top when they arrive);
        False when a read already on its way will show them."""
        if self._poll is not None or self.is_loading:
            return False
        service, flt, after = self._service, self._shown_query, self._newest_seen
        generation = self._generation
        task = BackgroundTask(lambda _p: (generation, service.newer_than(flt, after)))
        task.finished.connect(self._new_entries_read)
        task.errored.connect(self._poll_failed)
        self._poll = task
        task.start()
        return True

    def _new_entries_read(self, result: tuple[int, NewEntries]) -> None:
        self._poll = None
        generation, fresh = result
        if generation != self._generation:
            return
        if fresh.flooded:  # more than one look reads: start again from the top, lose nothing
            self.set_filter(self._query)
            return
        self._newest_seen = fresh.newest_id
        if fresh.entries:
            self.beginInsertRows(QModelIndex(), 0, len(fresh.entries) - 1)
            self._rows[0:0] = fresh.entries
            self.endInsertRows()
        self.new_entries.emit(len(fresh.entries))

    def _poll_failed(self, error: Exception) -> None:
        self._poll = None  # the next poll tries again
        log.warning("the activity log poll failed: %s", error)

    def entry(self, row: int) -> ActivityView | None:
        return self.row_at(row)

    @property
    def searching_further_possible(self) -> bool:
        return self._after is not None

    # --- Qt model API --------------------------------------------------------------------

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        entry = self.entry(index.row()) if index.isValid() else None
        if entry is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(entry, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() in (1, 2, 3):
            return self._cell(entry, index.column()) if index.column() != 3 else entry.summary
        return None

    def _cell(self, entry: ActivityView, column: int) -> str | None:
        if column == 0:
            return format_time(entry.occurred_at, self._zone())  # seconds: in the details
        if column == 1:
            return entry.contact_name or "-"
        if column == 2:
            return kind_text(entry)
        if column == 3:
            return " ".join(entry.summary.split())  # one line, whatever the body held
        if column == 4:
            return entry.actor
        return None


class ActivityPage(QWidget):
    """The activity log page. Emits ``open_contact_requested(contact_id)`` for "Open contact".

    It reads only through its service, on the background runner: the automation filter's
    choices, a filter's pages (the model), the contact search and the live poll."""

    open_contact_requested = Signal(int)
    verify_finished = Signal(str, bool)  # the report sentence, whether the chain holds
    export_finished = Signal(str)  # a sentence for the user

    def __init__(
        self,
        service: ActivityService,
        parent: QWidget | None = None,
        *,
        poll_interval_ms: int = POLL_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = RunningTasks()
        self.model = ActivityLogModel(service, self, zone=self._zone)
        self._automations_read = LatestRead(
            self, self._show_automations, self._automations_failed,
            again=self._read_automations, loaded=lambda: None,
        )  # fmt: skip
        self._contacts_read = LatestRead(
            self, self._show_contact_matches, self._contact_search_failed,
            again=self._search_contacts, loaded=lambda: None,
        )  # fmt: skip
        self._build_filters()
        self._build_body()
        self._apply_timer = QTimer(self, singleShot=True, interval=300)
        self._apply_timer.timeout.connect(self.apply_filters)
        self._contact_timer = QTimer(self, singleShot=True, interval=250)
        self._contact_timer.timeout.connect(self._search_contacts)
        self._connect_filters()
        self.apply_filters()
        self._read_automations()
        self._shown_before = False
        self.poll_timer = QTimer(self, interval=poll_interval_ms)
        self.poll_timer.timeout.connect(self.poll_new_entries)
        self.poll_timer.start()

    # --- layout --------------------------------------------------------------------------

    def _zone(self) -> str:
        return self._service.zone

    @property
    def is_loading(self) -> bool:
        """A filter's first page or the automation choices are on their way."""
        return self.model.is_loading or self._automations_read.is_loading

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the rows asked for are shown (for ``--screenshot``)."""
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def _build_filters(self) -> None:
        self.kind_combo = _shrinking_combo(16)
        self.kind_combo.setAccessibleName("Kind of entry")
        self.kind_combo.addItem("All kinds", None)
        for choice in self._service.kinds:  # a fixed list: no read
            self.kind_combo.addItem(choice.label, choice.key)
        self.contact_search = QLineEdit(placeholderText="Find a contact…", clearButtonEnabled=True)
        self.contact_search.setAccessibleName("Find a contact")
        self.contact_combo = _shrinking_combo(14)
        self.contact_combo.setAccessibleName("Contact")
        self.contact_combo.addItem("All contacts", None)
        self.automation_combo = _shrinking_combo(12)
        self.automation_combo.setAccessibleName("Automation")
        self.automation_combo.addItem("All automations", None)  # the rest once read
        # Whole days in the business time zone, like every time on the page.
        today = QDate(business_today(self._service.clock.now(), self._zone()))
        self.since_check, self.since_date = QCheckBox("From"), QDateEdit(today.addDays(-30))
        self.until_check, self.until_date = QCheckBox("To"), QDateEdit(today)
        for edit in (self.since_date, self.until_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(DATE_DISPLAY)
            edit.setEnabled(False)
        self.text_search = QLineEdit(
            placeholderText="Search summaries, names and details…", clearButtonEnabled=True
        )
        self.text_search.setAccessibleName("Search the log")
        self.clear_button = QPushButton("Clear filters")

    def _build_body(self) -> None:
        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Kind"))
        row1.addWidget(self.kind_combo, 2)
        row1.addWidget(QLabel("Automation"))
        row1.addWidget(self.automation_combo, 1)
        row1.addWidget(QLabel("Contact"))
        row1.addWidget(self.contact_search, 1)
        row1.addWidget(self.contact_combo, 1)
        row2 = QHBoxLayout()
        for widget in (self.since_check, self.since_date, self.until_check, self.until_date):
            row2.addWidget(widget)
        row2.addWidget(self.text_search, 1)
        row2.addWidget(self.clear_button)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Activity log entries")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(60)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column, width in ((1, 150), (2, 170)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)
        self.empty_state = EmptyState(self.table, "No entries match these filters.")

        side = self._build_details()
        # Details below the table: the table keeps the page's width for its summaries.
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.status_label = plain_label(wrap=True)
        self.verify_label = plain_label(wrap=True)
        # Click: check what was added since the last checkpoint (seconds at most); the
        # arrow offers the full check that re-reads every entry.
        self.verify_button = QToolButton(text="Verify log")
        self.verify_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        verify_menu = QMenu(self.verify_button)
        self.full_verify_action = verify_menu.addAction("Verify every entry (full check)")
        self.full_verify_action.triggered.connect(lambda: self.verify_log(full=True))
        self.verify_button.setMenu(verify_menu)
        self.verify_button.clicked.connect(lambda: self.verify_log())
        # A long report (many opt-out mismatches) is read in full here.
        self.verify_report_button = QPushButton("Full report…")
        self.verify_report_button.hide()
        self.verify_report_button.clicked.connect(self._show_verify_report)
        # A text search reads a bounded slice of the log per step; this reads the next slice.
        self.search_further_button = QPushButton("Search older entries")
        self.search_further_button.hide()
        self.search_further_button.clicked.connect(self.search_further)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._choose_export_file)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.search_further_button)
        bottom.addWidget(self.verify_label, 2)
        bottom.addWidget(self.verify_report_button)
        bottom.addWidget(self.verify_button)
        bottom.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(heading("Activity Log", 4))
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    def _build_details(self) -> QWidget:
        """The details pane: the selected entry as labelled fields, selectable, plain text."""
        self.details_form = QFormLayout()
        self.details_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.details_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        self.details_placeholder = plain_label("Select an entry to see the full record.", wrap=True)
        holder_layout.addWidget(self.details_placeholder)
        holder_layout.addLayout(self.details_form)
        holder_layout.addStretch(1)
        self.details = QScrollArea()
        self.details.setWidgetResizable(True)
        self.details.setFrameShape(QFrame.Shape.StyledPanel)
        self.details.setWidget(holder)
        self.details.setMinimumHeight(90)
        self.copy_details_button = QPushButton("Copy")
        self.copy_details_button.setToolTip("Copy this entry as text")
        self.copy_details_button.setEnabled(False)
        self.copy_details_button.clicked.connect(self._copy_details)
        self.open_contact_button = QPushButton("Open contact")
        self.open_contact_button.setEnabled(False)
        self.open_contact_button.clicked.connect(self._open_contact)
        title = QHBoxLayout()
        title.addWidget(heading("Details", 1))
        title.addStretch(1)
        title.addWidget(self.copy_details_button)
        title.addWidget(self.open_contact_button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addLayout(title)
        side_layout.addWidget(self.details, 1)
        return side

    def _connect_filters(self) -> None:
        for combo in (self.kind_combo, self.contact_combo, self.automation_combo):
            combo.currentIndexChanged.connect(self.apply_filters)
        for check, edit in (
            (self.since_check, self.since_date),
            (self.until_check, self.until_date),
        ):
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self.apply_filters)
            edit.dateChanged.connect(lambda *_: self._apply_timer.start())
        self.text_search.textChanged.connect(lambda *_: self._apply_timer.start())
        self.contact_search.textChanged.connect(lambda *_: self._contact_timer.start())
        self.clear_button.clicked.connect(self.clear_filters)
        self.model.rowsInserted.connect(self._update_status)
        self.model.modelReset.connect(self._filter_shown)
        self.model.rows_fetched.connect(self._update_status)
        self.model.read_failed.connect(self._read_failed)

    def _read_automations(self) -> None:
        self._automations_read.start(self._service.automations)

    def _show_automations(self, choices: tuple[AutomationChoice, ...]) -> None:
        """Fill the automation filter, keeping what is chosen (no new read: same filter)."""
        keep = self.automation_combo.currentData()
        self.automation_combo.blockSignals(True)
        while self.automation_combo.count() > 1:
            self.automation_combo.removeItem(1)
        for choice in choices:
            self.automation_combo.addItem(choice.name, choice.id)
        self.automation_combo.setCurrentIndex(max(self.automation_combo.findData(keep), 0))
        self.automation_combo.blockSignals(False)
        if self.automation_combo.currentData() != keep:  # deleted meanwhile
            self.apply_filters()

    def _automations_failed(self, error: Exception) -> None:
        self.status_label.setText(f"The automations could not be read: {failure_sentence(error)}")

    def _read_failed(self, message: str) -> None:
        self._update_status()
        self.status_label.setText(f"The activity log could not be read: {message}")

    # --- filters -------------------------------------------------------------------------

    def current_filter(self) -> LogFilter:
        """The filter the controls describe (dates are whole days in the business zone)."""
        zone = self._zone()
        choice = KIND_CHOICE_BY_KEY.get(self.kind_combo.currentData() or "")
        since = start_of_business_day(self.since_date.date().toPython(), zone)
        until = start_of_business_day(self.until_date.date().addDays(1).toPython(), zone)
        return LogFilter(
            kinds=choice.kinds if choice else (),
            sources=choice.sources if choice else (),
            contact_id=self.contact_combo.currentData(),
            automation_id=self.automation_combo.currentData(),
            since=since if self.since_check.isChecked() else None,
            until=until if self.until_check.isChecked() else None,
            text=self.text_search.text().strip(),
        )

    def apply_filters(self) -> None:
        """Read the log again with the current controls (in the background; the rows
        are replaced when the first page arrives)."""
        try:
            flt = self.current_filter()
        except UserInputError as exc:
            self.status_label.setText(exc.message)
            return
        self.model.set_filter(flt)
        self._update_status()

    def _filter_shown(self) -> None:
        self._show_entry(None)  # the rows were replaced: nothing is selected
        self._update_status()

    def clear_filters(self) -> None:
        widgets = (self.kind_combo, self.contact_combo, self.automation_combo, self.since_check)
        for widget in (*widgets, self.until_check, self.text_search):
            widget.blockSignals(True)
        self.kind_combo.setCurrentIndex(0)
        self.contact_combo.setCurrentIndex(0)
        self.automation_combo.setCurrentIndex(0)
        self.since_check.setChecked(False)
        self.until_check.setChecked(False)
        self.since_date.setEnabled(False)
        self.until_date.setEnabled(False)
        self.text_search.clear()
        for widget in (*widgets, self.until_check, self.text_search):
            widget.blockSignals(False)
        self.apply_filters()

    def show_contact(self, contact_id: int, name: str) -> None:
        """Filter the log to one contact (e.g. from the contact page)."""
        self.contact_combo.blockSignals(True)
        self.contact_combo.clear()
        self.contact_combo.addItem("All contacts", None)
        self.contact_combo.addItem(name, contact_id)
        self.contact_combo.setCurrentIndex(1)
        self.contact_combo.blockSignals(False)
        self.apply_filters()

    def _search_contacts(self) -> None:
        service, query = self._service, self.contact_search.text()
        self._contacts_read.start(lambda: service.find_contacts(query))

    def _show_contact_matches(self, matches: ContactMatches) -> None:
        if matches.query != self.contact_search.text().strip():
            return  # typed on meanwhile: the search for the newer text follows
        keep = self.contact_combo.currentData()
        self.contact_combo.blockSignals(True)
        self.contact_combo.clear()
        self.contact_combo.addItem("All contacts", None)
        for match in matches.contacts:
            self.contact_combo.addItem(
                f"{match.name} ({match.phone_display or 'no phone'})", match.id
            )
        position = self.contact_combo.findData(keep) if keep is not None else -1
        if position < 0 and len(matches.contacts) == 1:
            position = 1  # one match: that is who the user means
        self.contact_combo.setCurrentIndex(max(position, 0))
        self.contact_combo.blockSignals(False)
        if self.contact_combo.currentData() != keep:
            self.apply_filters()

    def _contact_search_failed(self, error: Exception) -> None:
        self.status_label.setText(f"Contacts could not be searched: {failure_sentence(error)}")

    # --- live entries, details -----------------------------------------------------------

    def poll_new_entries(self) -> None:
        """The poll timer: only while the page is on screen (each look is a round trip to
        a shared database, on the background runner); showing the page looks at once."""
        if self.isVisible():
            self.model.poll_new()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._shown_before:  # the first time, the page has just been read
            self.model.poll_new()
        self._shown_before = True

    def search_further(self) -> None:
        """Read the next slice of an unfinished text search (in the background)."""
        self.model.fetchMore()
        self._update_status()

    def _update_status(self, *_: object) -> None:
        if self.model.is_loading:
            self.search_further_button.hide()
            self.empty_state.set_text("Loading the activity log…")
            self.status_label.setText("Loading…")
            return
        shown = self.model.rowCount()
        unfinished = self.model.searching_further_possible
        searching = bool(self.model.shown_filter.words)
        self.search_further_button.setVisible(unfinished and searching)
        self.search_further_button.setEnabled(not self.model.is_fetching)
        filtered = not self.model.shown_filter.is_empty
        self.empty_state.set_text(
            "No entries match these filters. Clear filters shows everything."
            if filtered
            else "The activity log is empty: opt-outs, texts and changes appear here."
        )
        if shown == 0 and not unfinished:
            text = "No entries match these filters." if filtered else "No entries yet."
        elif unfinished and searching:
            text = f"{shown} matches so far; older entries not searched yet."
        elif unfinished:
            text = f"{shown} entries shown (scroll down for older ones)"
        else:
            text = f"{shown} entries shown"
        self.status_label.setText(text)

    def _show_details(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_entry(self.model.entry(current.row()))

    def _show_entry(self, entry: ActivityView | None) -> None:
        while self.details_form.rowCount():
            self.details_form.removeRow(0)
        self.details_placeholder.setVisible(entry is None)
        self.copy_details_button.setEnabled(entry is not None)
        self.open_contact_button.setEnabled(entry is not None and entry.contact_id is not None)
        if entry is None:
            return
        for label, value in detail_fields(entry, self._zone()):
            field = plain_label(value, wrap=True, selectable=True)
            field.setTextInteractionFlags(
                field.textInteractionFlags() | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            self.details_form.addRow(f"{label}:", field)

    def details_text(self) -> str:
        """The shown entry as 'Label: value' lines ('' when none is selected)."""
        entry = self.selected_entry()
        return "\n".join(details_lines(entry, self._zone())) if entry else ""

    def _copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details_text())

    def selected_entry(self) -> ActivityView | None:
        return self.model.entry(self.table.currentIndex().row())

    def _open_contact(self) -> None:
        entry = self.selected_entry()
        if entry is not None and entry.contact_id is not None:
            self.open_contact_requested.emit(entry.contact_id)

    # --- verify and export (off the GUI thread) ------------------------------------------

    def _run(self, task: BackgroundTask) -> BackgroundTask:
        return self._tasks.start(task)

    def verify_log(self, full: bool = False) -> BackgroundTask:
        """Check the log (core.log_verify: the keyed chain from the last checkpoint, or all
        of it when ``full``; this computer's head; the opt-out state) in the background;
        the findings land in the verify label (all of them in its tooltip)."""
        self.verify_button.setEnabled(False)
        self.verify_label.setText("Verifying the activity log…")
        service = self._service
        task = BackgroundTask(lambda progress: service.verify(full=full, progress=progress))
        show_progress(task, self, "Verifying the activity log", "entries")
        task.finished.connect(self._verified)
        task.failed.connect(lambda message: self._verified(None, message))
        return self._run(task)

    def _verified(self, report, message: str = "") -> None:  # type: ignore[no-untyped-def]
        self.verify_button.setEnabled(True)
        text = report.describe() if report is not None else f"Could not verify: {message}"
        ok = bool(report is not None and report.ok)
        lines = text.splitlines()
        shown = lines[:VERIFY_LINES_SHOWN]
        if len(lines) > VERIFY_LINES_SHOWN:
            shown.append(f"… and {len(lines) - VERIFY_LINES_SHOWN} more lines (Full report).")
        self.verify_label.setText("\n".join(shown))
        self.verify_label.setToolTip(text)
        self.verify_report_button.setVisible(len(lines) > VERIFY_LINES_SHOWN)
        coloured(self.verify_label, OK_COLOUR if ok else ERROR_COLOUR)
        font = self.verify_label.font()
        font.setBold(not ok)
        self.verify_label.setFont(font)
        self.verify_finished.emit(text, ok)

    def _show_verify_report(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Activity log check")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(self.verify_label.toolTip())
        box.setIcon(QMessageBox.Icon.Warning)
        box.open()
        self._report_box = box  # kept for tests and so it is not collected while open

    def _choose_export_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export activity log", documents_path("activity-log.csv"), "CSV files (*.csv)"
        )
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> BackgroundTask:
        """Export the current filter to ``path`` with a progress dialog that can cancel."""
        flt, service = self.model.log_filter, self._service
        task = BackgroundTask(lambda progress: service.export(flt, path, progress))
        show_progress(task, self, "Exporting the activity log", "entries")
        task.finished.connect(lambda result: self._exported(result.describe()))
        task.failed.connect(self._exported)
        return self._run(task)

    def _exported(self, message: str) -> None:
        self.status_label.setText(message)
        self.export_finished.emit(message)

    def shutdown(self) -> None:
        """Stop polling and cancel background work (window closing)."""
        self.poll_timer.stop()
        self._tasks.cancel_all()


def _shrinking_combo(characters: int) -> QComboBox:
    """A combo box that may be narrower than its longest item (the page fits 1024 px)."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    return combo


__all__ = ["ActivityLogModel", "ActivityPage"]
