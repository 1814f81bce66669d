"""Qt objects are let go on the GUI thread only (a Qt object destroyed on a pool thread
crashes the window): the runner hands a finished task, its work and its result back to
the GUI thread, and reference cycles are collected there, never on a pool thread."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from trustpager_desktop.ui.runner import BackgroundTask, run_in_background


class Witness:
    """Records the thread it was let go on."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def __del__(self) -> None:
        self.seen.append(threading.current_thread().name)


def test_a_finished_task_its_work_and_its_result_are_let_go_on_the_gui_thread(qtbot):
    seen: list[str] = []
    results: list[object] = []
    task = run_in_background(
        _work_holding(Witness(seen)), lambda value: results.append(type(value)), results.append
    )
    del task  # only the runner holds the task, its work and what the work holds now
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5_000)

    assert results == [Witness]
    assert seen == [threading.main_thread().name] * 2


def _work_holding(captured: Witness):
    def work() -> Witness:
        assert captured is not None
        return Witness(captured.seen)

    return work


def test_a_task_whose_page_is_gone_reports_nothing(qtbot):
    page = QObject()
    reported: list[object] = []
    release = threading.Event()
    task = BackgroundTask(lambda _p: release.wait(5), page)
    task.finished.connect(reported.append)
    task.start()
    page.deleteLater()
    qtbot.waitUntil(lambda: not _alive(task), timeout=5_000)
    release.set()
    qtbot.wait(100)  # any stray report would arrive within a few event-loop turns

    assert reported == []


def _alive(obj: QObject) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)


def test_cycles_are_collected_on_the_gui_thread_not_where_memory_was_allocated(
    qtbot, collect_on_gui_thread
):
    seen: list[str] = []
    cycle: list[object] = [Witness(seen)]
    cycle.append(cycle)
    del cycle
    allocated = threading.Event()

    def allocate() -> None:  # enough to cross every collection threshold many times
        junk = [[i] for i in range(200_000)]
        del junk
        allocated.set()

    worker = threading.Thread(target=allocate, name="pool-like")
    worker.start()
    worker.join()
    assert allocated.is_set()
    assert not gc.isenabled()
    qtbot.waitUntil(lambda: bool(seen), timeout=5_000)

    assert seen == [threading.main_thread().name]
