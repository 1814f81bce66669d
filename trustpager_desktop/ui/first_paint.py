"""Benchmark hook: print the moment the window first paints the contact list.

With ``TRUSTPAGER_PRINT_FIRST_PAINT=1`` in the environment the window writes one
line, ``first-paint <unix time in seconds>``, to stderr when the contact list is
first painted with its rows (the list reads them off the GUI thread, so a paint of
the empty list while they are on their way does not count); ``benchmarks/cold_start.py``
subtracts the moment it started the process. Without the variable nothing is installed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject

ENV_VAR = "TRUSTPAGER_PRINT_FIRST_PAINT"


class _FirstPaintReporter(QObject):
    def __init__(self, watched: QObject, ready: Callable[[], bool]) -> None:
        super().__init__(watched)
        self._ready = ready

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Paint and self._ready():
            print(f"first-paint {time.time():.6f}", file=sys.stderr, flush=True)
            watched.removeEventFilter(self)
        return False


def report_first_paint(window: QObject) -> None:
    """Install the reporter on the window's contact list when the environment asks."""
    if os.environ.get(ENV_VAR) != "1":
        return
    browser = getattr(window, "contact_browser", None)
    if browser is None:  # a window without the list: its own first paint
        window.installEventFilter(_FirstPaintReporter(window, lambda: True))
        return
    viewport = browser.table.viewport()
    viewport.installEventFilter(_FirstPaintReporter(viewport, lambda: not browser.is_loading))
