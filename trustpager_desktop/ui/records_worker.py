"""Run one long job (export, import, log verification) off the GUI thread.

The job is a plain function taking a ``progress(done, total) -> bool`` callback
(see core.progress); results come back only through Qt signals, so widgets are
touched on the GUI thread alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.store.database import DatabaseError

log = logging.getLogger("trustpager.ui")


class BackgroundTask(QObject):
    """``start()`` runs ``work(progress)`` on a pool thread; ``cancel()`` asks it to stop."""

    progressed = Signal(int, int)  # done, total (-1 when unknown)
    finished = Signal(object)  # the work's return value
    failed = Signal(str)  # a sentence for the user (also on cancel)

    def __init__(self, work: Callable[[Callable[[int, int | None], bool]], Any], parent=None):
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._done = threading.Event()

    def start(self, pool: QThreadPool | None = None) -> None:
        (pool or QThreadPool.globalInstance()).start(self._run)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def _progress(self, done: int, total: int | None) -> bool:
        self.progressed.emit(done, -1 if total is None else total)
        return not self._cancel.is_set()

    def _run(self) -> None:
        try:
            result = self._work(self._progress)
        except Cancelled:
            self.failed.emit("Cancelled; nothing was changed.")
        except (UserInputError, NotFoundError, DatabaseError) as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            self.failed.emit(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        except Exception as exc:  # a bug: say so rather than die silently in a thread
            log.exception("background task failed")
            self.failed.emit(f"Something went wrong: {type(exc).__name__}: {exc}")
        else:
            self.finished.emit(result)
        finally:
            self._done.set()
