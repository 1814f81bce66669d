"""The table models the pages share: a small read-only one (dataclass rows in, cells
out) and a paged one that reads its rows a page at a time off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from trustpager_desktop.ui.runner import BackgroundTask, LatestRead, failure_sentence

Index = QModelIndex | QPersistentModelIndex


class HeadedTableModel(QAbstractTableModel):
    """A table whose columns are its ``headers``, one row per item of ``_rows``."""

    headers: tuple[str, ...] = ()
    _rows: list[Any]

    def row_at(self, row: int) -> Any | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, row_id: int) -> int | None:
        """Where the row with this ``id`` is shown, if it is."""
        return next((i for i, r in enumerate(self._rows) if r.id == row_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None


class RowsTableModel(HeadedTableModel):
    """A read-only table over a list of plain rows; ``set_rows`` swaps them all at once.

    Subclasses set ``headers`` and implement ``cell(row, column) -> str``; ``tooltip``
    defaults to the cell text so long values can be read in full. Cells are plain text.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, index.column())
        return None

    def cell(self, row: Any, column: int) -> str:
        raise NotImplementedError

    def tooltip(self, row: Any, column: int) -> str | None:
        return self.cell(row, column)


def read_only_table(model: QAbstractItemModel) -> QTableView:
    """A QTableView for a RowsTableModel: whole-row selection, no editing, no row numbers."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.setAlternatingRowColors(True)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return view


@dataclass(frozen=True)
class Page:
    """One page as a paged model reads it: its rows; ``after``, where the next page
    starts (an offset or a keyset cursor), None when nothing further can match; and
    ``extra``, whatever else a first page brings (a count, the newest id...)."""

    rows: tuple[Any, ...]
    after: Any = None
    extra: Any = None

    @property
    def more(self) -> bool:
        return self.after is not None

    @classmethod
    def at_offset(cls, rows: Sequence[Any], offset: int, limit: int, extra: Any = None) -> Page:
        """A page read by offset: a full page may have more after it, a short one ends it."""
        rows = tuple(rows)
        return cls(rows, offset + len(rows) if len(rows) >= limit else None, extra)


class PagedTableModel(HeadedTableModel):
    """Rows read a page at a time on the background runner, never on the GUI thread, so
    a table of 100,000 rows holds one page until the user scrolls.

    ``_want(query)`` (or ``reload``) reads the query's first page; the rows on screen stay
    until it is in, and the latest query wins: an answer overtaken by a newer query is
    never shown. ``fetchMore`` reads one further page at a time (``canFetchMore`` is False
    while one, or a first page, is on its way) and inserts its rows if they still extend
    the rows shown. ``first_page_shown`` once the latest query's first page is on screen,
    ``further_page_shown(n)`` when a further page put n rows below, ``read_failed(why)``.

    A subclass says how to read (``first_page_reader``/``further_page_reader`` return a
    function that runs off the GUI thread, so it must hold the service and the query,
    never the model) and how to show a row (``headers`` and ``data``)."""

    PAGE_SIZE = 200

    first_page_shown = Signal()
    further_page_shown = Signal(int)  # how many rows it added (maybe none)
    read_failed = Signal(str)  # why, in words for the user

    def __init__(self, query: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._query = query  # the latest query asked for
        self._shown_query: Any = None  # the query the rows belong to (None: none yet)
        self._rows: list[Any] = []
        self._after: Any = None  # where the next page starts; None: nothing to fetch
        # Bumped whenever the rows are replaced: a further page (or a poll) read for the
        # rows before then belongs to them and is dropped.
        self._generation = 0
        self._further: BackgroundTask | None = None  # the further page on its way
        self.pages_fetched = 0
        self.error: str | None = None  # why the latest read failed, if it did
        self._first = LatestRead(self, self._first_page_in, self._first_page_failed,
                                 again=self.reload, loaded=self._first_page_settled)  # fmt: skip

    # --- what a subclass says ------------------------------------------------------------

    def first_page_reader(self, query: Any) -> Callable[[], Page]:
        raise NotImplementedError

    def further_page_reader(self, query: Any, after: Any) -> Callable[[], Page]:
        raise NotImplementedError

    def first_page_taken(self, page: Page) -> None:
        """Keep what a first page brings beside its rows (called as it is shown)."""

    # --- reading ------------------------------------------------------------------------

    @property
    def rows_fetched(self) -> int:
        """How many rows have been read since the last first page."""
        return len(self._rows)

    @property
    def is_loading(self) -> bool:
        """A first page or a further page is on its way."""
        return self._first.is_loading or self._further is not None

    def _want(self, query: Any) -> None:
        """Show ``query``'s rows once its first page is read (the subclass's setters)."""
        self._query = query
        self.reload()

    def reload(self) -> None:
        """Read the latest query's first page again; the rows shown stay until it is in."""
        read = self.first_page_reader(self._query)
        query = self._query
        self._further = None  # a further page of the rows shown is no longer wanted
        self._first.start(lambda: (query, read()))

    def clear(self) -> None:
        """Show no rows (until the next first page is in)."""
        self.beginResetModel()
        self._generation += 1
        self._rows, self._after, self._further = [], None, None
        self.endResetModel()

    def _first_page_in(self, answer: tuple[Any, Page]) -> None:
        query, page = answer
        if query != self._query:
            return  # overtaken by a newer query: LatestRead reads that one next
        self.beginResetModel()
        self._generation += 1
        self._rows, self._after = list(page.rows), page.after
        self._shown_query, self.error = query, None
        self.pages_fetched += 1
        self.first_page_taken(page)
        self.endResetModel()

    def _first_page_settled(self) -> None:
        if self.error is None:
            self.first_page_shown.emit()

    def _first_page_failed(self, error: Exception) -> None:
        self._report(error)

    def _report(self, error: Exception) -> None:
        self.error = failure_sentence(error)
        self.read_failed.emit(self.error)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return (not parent.isValid() and self._after is not None and self._further is None
                and not self._first.is_loading)  # fmt: skip

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        """Ask for the next page on the runner; its rows are inserted when it arrives."""
        if not self.canFetchMore(parent):
            return
        read = self.further_page_reader(self._shown_query, self._after)
        generation = self._generation
        task = BackgroundTask(lambda _progress: read(), self)
        task.finished.connect(lambda page, t=task: self._further_page_in(t, generation, page))
        task.errored.connect(lambda error, t=task: self._further_page_lost(t, error))
        self._further = task
        task.start()

    def _further_page_in(self, task: BackgroundTask, generation: int, page: Page) -> None:
        if task is not self._further or generation != self._generation:
            return  # the rows it would extend were replaced meanwhile
        self._further, self._after = None, page.after
        self.pages_fetched += 1
        if page.rows:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(page.rows) - 1)
            self._rows.extend(page.rows)
            self.endInsertRows()
        self.further_page_shown.emit(len(page.rows))

    def _further_page_lost(self, task: BackgroundTask, error: Exception) -> None:
        if task is self._further:
            self._further = None  # scrolling on asks again
            self._further_page_failed(error)

    def _further_page_failed(self, error: Exception) -> None:
        self._report(error)
