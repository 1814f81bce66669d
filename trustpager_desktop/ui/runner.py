"""The window's one background runner: every slow call (a Twilio send, a connection
test, an export, an import, a report, log verification, a page's figures) runs here,
off the GUI thread.

A task is a plain function; one that reports progress takes a ``progress(done, total)
-> bool`` callback (see core.progress) whose False answer means "cancelled". Results come
back only through Qt signals, which Qt delivers on the GUI thread, so the function must
never touch a widget: ``finished(result)``, ``errored(exception)`` and ``failed(sentence)``
(the same failure in words for a person; cancelling is one too). ``run_in_background``
starts a task with result and error callbacks; ``show_progress`` gives any task the
window's one progress display: a bar, plain words and Cancel.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QDeadlineTimer, QEventLoop, QObject, Qt, QThread, QThreadPool, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.progress import Cancelled, describe
from trustpager_desktop.store.database import DatabaseError

log = logging.getLogger("trustpager.ui")


Progress = Callable[[int, int | None], bool]


class BackgroundTask(QObject):
    """``start()`` runs ``work(progress)`` on a pool thread; ``cancel()`` asks it to stop.

    The pool thread never touches this object (nor any Qt object): it leaves what it has
    in a plain :class:`_Job` and wakes the GUI thread, where the signals are emitted. So
    the last reference to a task, to its work's closure and to its result is always let
    go on the GUI thread: a Qt object destroyed on a pool thread crashes the window."""

    progressed = Signal(int, int)  # done, total (-1 when unknown)
    finished = Signal(object)  # the work's return value
    errored = Signal(object)  # the exception it raised (Cancelled when cancelled)
    failed = Signal(str)  # the same failure as a sentence for the user (also on cancel)

    def __init__(self, work: Callable[[Progress], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._job: _Job | None = None
        self._reported = False

    def start(self, pool: QThreadPool | None = None) -> None:
        self._job = _Job(self._work)
        _Dispatcher.instance().keep(self)
        (pool or QThreadPool.globalInstance()).start(functools.partial(_run_job, self._job))

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.set()

    @property
    def _released(self) -> bool:
        return self._job is not None and self._job.released.is_set()

    @property
    def is_done(self) -> bool:
        """True once the result (or the failure) has been reported on the GUI thread."""
        return self._reported

    def _deliver(self) -> bool:
        """Emit what the job left (GUI thread); True once the job is over and let go."""
        job = self._job
        assert job is not None
        while True:
            try:
                kind, value = job.outbox.get_nowait()
            except queue.Empty:
                break
            if kind == "progressed":
                self.progressed.emit(*value)
            elif kind == "finished":
                self._reported = True
                self.finished.emit(value)
            else:
                self._reported = True
                self.errored.emit(value)
                self.failed.emit(failure_sentence(value))
        return self._released and job.outbox.empty()


class _Job:
    """What a pool thread is given: plain Python, so nothing it lets go last is a Qt
    object. The work is taken out of it; results go back through ``outbox``."""

    def __init__(self, work: Callable[[Progress], Any]) -> None:
        self.work: Callable[[Progress], Any] | None = work
        self.cancel = threading.Event()
        self.outbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.released = threading.Event()  # set once the pool thread holds nothing of it

    def progress(self, done: int, total: int | None) -> bool:
        self.outbox.put(("progressed", (done, -1 if total is None else total)))
        _Dispatcher.wake_up()
        return not self.cancel.is_set()


def _run_job(job: _Job) -> None:
    _work_into_outbox(job)  # every reference the work made is gone when this returns
    job.released.set()
    _Dispatcher.wake_up()


def _work_into_outbox(job: _Job) -> None:
    work, job.work = job.work, None
    assert work is not None
    try:
        result = work(job.progress)
    except Exception as exc:  # handed to the GUI thread; never lost in a thread
        job.outbox.put(("errored", exc))
    else:
        job.outbox.put(("finished", result))


class _Dispatcher(QObject):
    """One object for the whole window, never destroyed: pool threads wake it, and on the
    GUI thread it reports each running task's results and lets go of finished ones."""

    woken = Signal()
    _instance: _Dispatcher | None = None

    def __init__(self) -> None:
        super().__init__()
        self._running: list[BackgroundTask] = []
        self.woken.connect(self._deliver_all, Qt.ConnectionType.QueuedConnection)

    @classmethod
    def instance(cls) -> _Dispatcher:
        if cls._instance is None:  # first made by a start() on the GUI thread
            cls._instance = cls()
        return cls._instance

    @classmethod
    def wake_up(cls) -> None:
        if cls._instance is not None:
            cls._instance.woken.emit()

    def keep(self, task: BackgroundTask) -> None:
        """Hold ``task`` until it has reported and its pool thread has let go of it."""
        self._running.append(task)

    def _deliver_all(self) -> None:
        for task in list(self._running):
            if not shiboken6.isValid(task):  # its parent page is gone: drop its result,
                if task._released:  # once the pool thread holds nothing of it either
                    self._running.remove(task)
                continue
            if task._deliver():
                self._running.remove(task)


def failure_sentence(exc: Exception) -> str:
    """A failed task in words for a person; an unexpected error is logged with its trace."""
    if isinstance(exc, Cancelled):
        return "Cancelled; nothing was changed."
    if isinstance(exc, UserInputError | NotFoundError | DatabaseError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    log.error("background task failed", exc_info=exc)  # a bug: say so rather than die silently
    return f"Something went wrong: {type(exc).__name__}: {exc}"


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None],
) -> BackgroundTask:
    """Start ``fn()`` on the pool; ``on_done(result)`` or ``on_error(exception)`` then runs on
    the GUI thread. The task stays alive until it has reported, even if its caller drops it."""
    task = BackgroundTask(lambda _progress: fn())
    task.finished.connect(on_done)
    task.errored.connect(on_error)
    task.start()
    return task


class RunningTasks:
    """The background tasks a page keeps while they run (their signals live on them), so
    the window can cancel what is left when it closes."""

    def __init__(self) -> None:
        self._tasks: list[BackgroundTask] = []

    def start(self, task: BackgroundTask) -> BackgroundTask:
        self._tasks.append(task)
        task.finished.connect(lambda _r, t=task: self._forget(t))
        task.failed.connect(lambda _m, t=task: self._forget(t))
        task.start()
        return task

    def _forget(self, task: BackgroundTask) -> None:
        if task in self._tasks:
            self._tasks.remove(task)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class LatestRead(QObject):
    """A page's background read: one at a time. A refresh asked for while one runs is
    remembered, and once the current read is on screen ``again()`` (the page's refresh,
    which reads its filters afresh) runs once more: the latest wish wins. ``loaded()`` runs
    after a read that nobody asked to repeat is on screen (or has failed).

    A child of its page: when the page is destroyed so is this, and Qt drops the pending
    read's result instead of painting a widget that no longer exists."""

    def __init__(
        self,
        page: QObject,
        show: Callable[[Any], None],
        fail: Callable[[Exception], None],
        *,
        again: Callable[[], None],
        loaded: Callable[[], None],
    ) -> None:
        super().__init__(page)
        self._show, self._fail, self._again, self._loaded = show, fail, again, loaded
        self._task: BackgroundTask | None = None
        self._wanted_again = False

    def start(self, work: Callable[[], Any]) -> None:
        if self._task is not None:
            self._wanted_again = True
            return
        self._task = run_in_background(work, self._shown, self._failed)

    @property
    def is_loading(self) -> bool:
        return self._task is not None

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the current read is on screen (for ``--screenshot``)."""
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def _shown(self, value: Any) -> None:
        self._task = None
        self._show(value)
        self._next()

    def _failed(self, error: Exception) -> None:
        self._task = None
        self._fail(error)
        self._next()

    def _next(self) -> None:
        if self._wanted_again:
            self._wanted_again = False
            self._again()
        else:
            self._loaded()


def wait_until(done: Callable[[], bool], timeout_ms: int = 15_000) -> bool:
    """Run the event loop until ``done()`` (for ``--screenshot``, which pictures a page once
    its background read is on screen). True when done, False on timeout."""
    loop = QEventLoop()
    deadline = QDeadlineTimer(timeout_ms)
    while not done():
        if deadline.hasExpired():
            return False
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        QThread.msleep(2)
    return True


# A job that ends sooner than this never shows its dialog (no flash on small files).
SHOW_AFTER_MS = 400


def show_progress(
    task: BackgroundTask, parent: QWidget, label: str, unit: str = ""
) -> QProgressDialog:
    """A window-modal progress dialog for ``task``: a bar (busy until a total is known), the
    job in plain words ('Verifying the activity log: 120,000 of 1,000,000 entries (12 %)')
    and Cancel, which asks the task to stop. It appears only when the task runs longer
    than ``SHOW_AFTER_MS`` and closes itself when the task finishes or fails. Connect it
    before ``task.start()``."""
    dialog = QProgressDialog(f"{label}…", "Cancel", 0, 0, parent)
    dialog.setWindowTitle(label)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(SHOW_AFTER_MS)
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)
    task.progressed.connect(lambda done, total: _show(dialog, label, unit, done, total))
    dialog.canceled.connect(task.cancel)
    task.finished.connect(lambda _result: _close(dialog))
    task.failed.connect(lambda _message: _close(dialog))
    return dialog


def _show(dialog: QProgressDialog, label: str, unit: str, done: int, total: int) -> None:
    known = total if total >= 0 else None
    if known:
        dialog.setMaximum(known)
        dialog.setValue(min(done, known))
    dialog.setLabelText(describe(label, done, known, unit))


def _close(dialog: QProgressDialog) -> None:
    dialog.reset()
    dialog.hide()
    dialog.deleteLater()
