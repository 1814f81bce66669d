"""PagedTableModel, the one paging machinery behind the contact, activity and opportunity
tables (issue 17): the latest query wins, one further page at a time, failures in words.

The model here pages the numbers 0..n of a made-up "query" (its size); reads wait on a
gate the test opens, so what arrives when is decided by the test, not by the pool."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QModelIndex

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.ui.table_models import Page, PagedTableModel

PAGE = 3


class Gate:
    """A read held until the test opens it (on the pool thread, never the GUI thread)."""

    def __init__(self) -> None:
        self._open = threading.Event()

    def open(self) -> None:
        self._open.set()

    def wait(self) -> None:
        assert self._open.wait(10), "the test never opened this read"


class Numbers(PagedTableModel):
    """``query`` is how many numbers there are; ``fail`` makes every read raise."""

    PAGE_SIZE = PAGE

    def __init__(self) -> None:
        super().__init__(0)
        self.gates: dict[tuple[int, int], Gate] = {}  # (query, offset) -> its read's gate
        self.reads: list[tuple[int, int]] = []
        self.fail = False

    def gate(self, query: int, offset: int) -> Gate:
        return self.gates.setdefault((query, offset), Gate())

    def first_page_reader(self, query: int) -> Callable[[], Page]:
        return self.further_page_reader(query, 0)

    def further_page_reader(self, query: int, after: int) -> Callable[[], Page]:
        gate, fail = self.gate(query, after), self.fail
        self.reads.append((query, after))

        def read() -> Page:
            gate.wait()
            if fail:
                raise UserInputError("The database is busy; try again.")
            numbers = range(after, min(after + PAGE, query))
            return Page.at_offset([(query, n) for n in numbers], after, PAGE)

        return read

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def shown(self) -> list[tuple[int, int]]:
        return [self.row_at(i) for i in range(self.rowCount())]


def test_an_overtaken_first_page_is_never_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = Numbers()
    painted: list[list[tuple[int, int]]] = []
    model.modelReset.connect(lambda: painted.append(model.shown()))
    model._want(5)
    model._want(2)  # asked for while 5's first page is on its way
    with qtbot.waitSignal(model.first_page_shown, timeout=5_000):
        model.gate(5, 0).open()
        qtbot.waitUntil(lambda: (2, 0) in model.reads, timeout=5_000)
        model.gate(2, 0).open()
    assert painted == [[(2, 0), (2, 1)]]  # 5's rows never reached the screen
    assert model._shown_query == 2 and not model.canFetchMore(QModelIndex())


def test_one_further_page_at_a_time_and_only_for_the_rows_it_extends(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = Numbers()
    model.gate(7, 0).open()
    with qtbot.waitSignal(model.first_page_shown, timeout=5_000):
        model._want(7)
    model.fetchMore(QModelIndex())
    assert model.is_loading and not model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # the view scrolling on: nothing more is asked
    assert model.reads == [(7, 0), (7, 3)]
    with qtbot.waitSignal(model.further_page_shown, timeout=5_000) as arrived:
        model.gate(7, 3).open()
    assert arrived.args == [3] and model.rows_fetched == 6 and model.canFetchMore(QModelIndex())

    model.fetchMore(QModelIndex())  # the last page, then the rows are replaced
    model.gate(7, 0).open()
    with qtbot.waitSignal(model.first_page_shown, timeout=5_000):
        model.reload()
    with qtbot.assertNotEmitted(model.further_page_shown, wait=200):
        model.gate(7, 6).open()
    assert model.shown() == [(7, 0), (7, 1), (7, 2)]  # the stale page was not appended


def test_failed_reads_are_reported_in_words_and_tried_again(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = Numbers()
    model.fail = True
    model.gate(4, 0).open()
    with (
        qtbot.assertNotEmitted(model.first_page_shown),
        qtbot.waitSignal(model.read_failed, timeout=5_000) as failed,
    ):
        model._want(4)
    assert failed.args == ["The database is busy; try again."] and model.rowCount() == 0

    model.fail = False
    with qtbot.waitSignal(model.first_page_shown, timeout=5_000):
        model.reload()
    assert model.error is None and model.rows_fetched == 3
    model.fail = True
    model.gate(4, 3).open()
    with qtbot.waitSignal(model.read_failed, timeout=5_000):
        model.fetchMore(QModelIndex())
    assert model.rows_fetched == 3 and model.canFetchMore(QModelIndex())  # scrolling asks again
