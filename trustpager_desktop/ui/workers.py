"""Run slow calls (Twilio sends, connection tests) off the GUI thread.

A ``Job`` wraps one plain callable and reports back through Qt signals, which
Qt delivers on the GUI thread; the callable must never touch a widget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger("trustpager.ui")


class JobSignals(QObject):
    finished = Signal(object)  # the callable's return value
    failed = Signal(object)  # the exception it raised


class Job(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # handed to the GUI thread to show; never lost
            log.debug("background job failed: %s", exc)
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(result)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None],
) -> Job:
    """Start ``fn`` on the global thread pool; ``on_done``/``on_error`` run on the GUI thread."""
    job = Job(fn)
    job.setAutoDelete(False)  # we keep a reference so the signals object outlives run()
    job.signals.finished.connect(on_done)
    job.signals.failed.connect(on_error)
    QThreadPool.globalInstance().start(job)
    return job
