"""The activity log viewer: every entry, newest first, filtered in the database.

The table model pages through the log with ``canFetchMore``/``fetchMore`` (keyset
paging in core.activity_query), so a million entries open as quickly as ten.
A timer polls for entries newer than the newest one shown and puts them on top.
Everything shown is plain text: contact names, reply bodies and Twilio errors
are data, never markup.
"""

from __future__ import annotations

import time

from PySide6.QtCore import (
    QAbstractTableModel,
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

from trustpager_desktop.core import contacts, exports, log_verify
from trustpager_desktop.core.activity import ActivityView
from trustpager_desktop.core.activity_query import (
    KIND_CHOICE_BY_KEY,
    KIND_CHOICES,
    PAGE_SIZE,
    LogFilter,
    automation_choices,
    detail_fields,
    details_lines,
    kind_text,
    latest_id,
    newer_entries,
    query_entries,
)
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.timefmt import business_today, format_time, start_of_business_day
from trustpager_desktop.store.database import Database
from trustpager_desktop.ui.common import (
    ERROR_COLOUR,
    OK_COLOUR,
    EmptyState,
    coloured,
    documents_path,
    heading,
    plain_label,
)
from trustpager_desktop.ui.runner import BackgroundTask, show_progress

POLL_INTERVAL_MS = 3000
VERIFY_LINES_SHOWN = 3
NEW_ENTRIES_MAX = 1000
# A text search scans a bounded slice per query; keep scanning this long per fetch.
FETCH_TIME_BUDGET_S = 0.25
_Index = QModelIndex | QPersistentModelIndex


DATE_DISPLAY = "dd MMM yyyy"  # the date part of core.timefmt's format: '26 Nov 2026'


class ActivityLogModel(QAbstractTableModel):
    """Rows of ActivityView, fetched a page at a time from the database."""

    COLUMNS = ("Time", "Contact", "Kind", "Summary", "By")

    def __init__(self, db: Database, parent=None, *, zone=lambda: "UTC") -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._db = db
        self._zone = zone  # () -> the business time zone's name (a setting that can change)
        self._filter = LogFilter()
        self._rows: list[ActivityView] = []
        self._cursor: int | None = None
        self._newest_seen = 0

    # --- loading -----------------------------------------------------------------------

    @property
    def log_filter(self) -> LogFilter:
        return self._filter

    def set_filter(self, flt: LogFilter) -> None:
        """Show entries matching ``flt`` from the newest down (first page loaded now)."""
        self.beginResetModel()
        self._filter = flt
        with self._db.read() as s:
            self._newest_seen = latest_id(s)
            page = query_entries(s, flt, before_id=self._newest_seen + 1)
        self._rows = list(page.entries)
        self._cursor = page.next_before_id
        self.endResetModel()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._cursor is not None

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._cursor is None:
            return
        found: list[ActivityView] = []
        deadline = time.monotonic() + FETCH_TIME_BUDGET_S
        with self._db.read() as s:
            while self._cursor is not None:
                page = query_entries(s, self._filter, before_id=self._cursor, limit=PAGE_SIZE)
                found, self._cursor = page.entries, page.next_before_id
                if found or time.monotonic() >= deadline:
                    break
        if found:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(found) - 1)
            self._rows.extend(found)
            self.endInsertRows()

    def poll_new(self) -> int:
        """Put entries added since the last look on top; returns how many."""
        # No BEGIN/ROLLBACK: usually one statement, one round trip (up_to_id bounds the rest).
        with self._db.read(snapshot=False) as s:
            top = latest_id(s)
            if top <= self._newest_seen:
                return 0
            fresh = newer_entries(
                s, self._filter, self._newest_seen, up_to_id=top, limit=NEW_ENTRIES_MAX
            )
        if len(fresh) == NEW_ENTRIES_MAX:  # a flood: start again from the top, lose nothing
            self.set_filter(self._filter)
            return len(fresh)
        self._newest_seen = top
        if fresh:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._rows[0:0] = fresh
            self.endInsertRows()
        return len(fresh)

    def entry(self, row: int) -> ActivityView | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @property
    def searching_further_possible(self) -> bool:
        return self._cursor is not None

    # --- Qt model API --------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0):  # type: ignore[no-untyped-def]
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None

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
    """The activity log page. Emits ``open_contact_requested(contact_id)`` for "Open contact"."""

    open_contact_requested = Signal(int)
    verify_finished = Signal(str, bool)  # the report sentence, whether the chain holds
    export_finished = Signal(str)  # a sentence for the user

    def __init__(self, services, parent=None, *, poll_interval_ms: int = POLL_INTERVAL_MS) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._services = services
        self._db: Database = services.db
        self._tasks: list[BackgroundTask] = []
        self.model = ActivityLogModel(self._db, self, zone=self._zone)
        self._build_filters()
        self._build_body()
        self._apply_timer = QTimer(self, singleShot=True, interval=300)
        self._apply_timer.timeout.connect(self.apply_filters)
        self._contact_timer = QTimer(self, singleShot=True, interval=250)
        self._contact_timer.timeout.connect(self._search_contacts)
        self._connect_filters()
        self.apply_filters()
        self._shown_before = False
        self.poll_timer = QTimer(self, interval=poll_interval_ms)
        self.poll_timer.timeout.connect(self.poll_new_entries)
        self.poll_timer.start()

    # --- layout --------------------------------------------------------------------------

    def _zone(self) -> str:
        return self._services.settings.business_timezone

    def _build_filters(self) -> None:
        self.kind_combo = _shrinking_combo(16)
        self.kind_combo.setAccessibleName("Kind of entry")
        self.kind_combo.addItem("All kinds", None)
        for choice in KIND_CHOICES:
            self.kind_combo.addItem(choice.label, choice.key)
        self.contact_search = QLineEdit(placeholderText="Find a contact…", clearButtonEnabled=True)
        self.contact_search.setAccessibleName("Find a contact")
        self.contact_combo = _shrinking_combo(14)
        self.contact_combo.setAccessibleName("Contact")
        self.contact_combo.addItem("All contacts", None)
        self.automation_combo = _shrinking_combo(12)
        self.automation_combo.setAccessibleName("Automation")
        self.automation_combo.addItem("All automations", None)
        with self._db.read() as s:
            for automation_id, name in automation_choices(s):
                self.automation_combo.addItem(name, automation_id)
        # Whole days in the business time zone, like every time on the page.
        today = QDate(business_today(self._services.clock.now(), self._zone()))
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
        self.model.modelReset.connect(self._update_status)

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
        """Re-query the database with the current controls."""
        try:
            flt = self.current_filter()
        except UserInputError as exc:
            self.status_label.setText(exc.message)
            return
        self.model.set_filter(flt)
        self._show_entry(None)

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
        query = self.contact_search.text().strip()
        keep = self.contact_combo.currentData()
        region = self._services.settings.default_country
        with self._db.read() as s:
            rows = (
                contacts.search_contacts(s, query, limit=50, default_region=region) if query else []
            )
        self.contact_combo.blockSignals(True)
        self.contact_combo.clear()
        self.contact_combo.addItem("All contacts", None)
        for row in rows:
            self.contact_combo.addItem(f"{row.name} ({row.phone_display or 'no phone'})", row.id)
        position = self.contact_combo.findData(keep) if keep is not None else -1
        if position < 0 and len(rows) == 1:
            position = 1  # one match: that is who the user means
        self.contact_combo.setCurrentIndex(max(position, 0))
        self.contact_combo.blockSignals(False)
        if self.contact_combo.currentData() != keep:
            self.apply_filters()

    # --- live entries, details -----------------------------------------------------------

    def poll_new_entries(self) -> None:
        """The poll timer: only while the page is on screen (it runs on the GUI thread, and
        each look is a round trip to a shared database); showing the page looks at once."""
        if self.isVisible():
            self.model.poll_new()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._shown_before:  # the first time, the page has just been read
            self.model.poll_new()
        self._shown_before = True

    def search_further(self) -> None:
        """Read the next slice of an unfinished text search."""
        self.model.fetchMore()
        self._update_status()

    def _update_status(self) -> None:
        shown = self.model.rowCount()
        unfinished = self.model.searching_further_possible
        searching = bool(self.model.log_filter.words)
        self.search_further_button.setVisible(unfinished and searching)
        filtered = not self.model.log_filter.is_empty
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
        self._tasks.append(task)
        task.finished.connect(lambda _r, t=task: self._forget(t))
        task.failed.connect(lambda _m, t=task: self._forget(t))
        task.start()
        return task

    def _forget(self, task: BackgroundTask) -> None:
        if task in self._tasks:
            self._tasks.remove(task)

    def verify_log(self, full: bool = False) -> BackgroundTask:
        """Check the log (core.log_verify: the keyed chain from the last checkpoint, or all
        of it when ``full``; this computer's head; the opt-out state) in the background;
        the findings land in the verify label (all of them in its tooltip)."""
        self.verify_button.setEnabled(False)
        self.verify_label.setText("Verifying the activity log…")
        db, clock = self._db, self._services.clock

        def work(progress):  # type: ignore[no-untyped-def]
            return log_verify.verify_log(
                db, full=full, clock=clock, read_only=db.read_only, progress=progress
            )

        task = BackgroundTask(work)
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
        flt, db = self.model.log_filter, self._db

        def work(progress):  # type: ignore[no-untyped-def]
            with db.read() as s:
                count = exports.export_log(s, flt, path, progress)
                return count, log_verify.describe_tip(s)

        task = BackgroundTask(work)
        show_progress(task, self, "Exporting the activity log", "entries")
        task.finished.connect(
            lambda result: self._exported(f"Exported {result[0]} entries to {path}. {result[1]}.")
        )
        task.failed.connect(self._exported)
        return self._run(task)

    def _exported(self, message: str) -> None:
        self.status_label.setText(message)
        self.export_finished.emit(message)

    def shutdown(self) -> None:
        """Stop polling and cancel background work (window closing)."""
        self.poll_timer.stop()
        for task in list(self._tasks):
            task.cancel()


def _shrinking_combo(characters: int) -> QComboBox:
    """A combo box that may be narrower than its longest item (the page fits 1024 px)."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    return combo


__all__ = ["ActivityLogModel", "ActivityPage"]
