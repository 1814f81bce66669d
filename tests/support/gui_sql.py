"""Catching SQL on the GUI thread: every statement a database runs is noted with the ui
function that asked for it when it runs on the main (GUI) thread.

Against a shared PostgreSQL over a network each statement on the GUI thread is a round
trip the window freezes for; ``tests/gui/test_gui_thread_sql.py`` keeps them to an
allow-list with reasons.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from trustpager_desktop.store.database import Database

UI_PACKAGE = "trustpager_desktop/ui/"


def _ui_caller() -> str:
    """'module.function' of the innermost ui frame on the stack (where the GUI asked)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if UI_PACKAGE in path:
            module = path.rsplit("/", 1)[1].removesuffix(".py")
            return f"{module}.{frame.f_code.co_qualname}"
        frame = frame.f_back
    return "(outside ui)"


@contextmanager
def gui_thread_sql(db: Database) -> Iterator[Counter[str]]:
    """Counts statements run on the GUI thread, by the ui function that caused them."""
    seen: Counter[str] = Counter()

    def note(*_args: object) -> None:
        if threading.current_thread() is threading.main_thread():
            seen[_ui_caller()] += 1

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
