"""Benchmark hook: print the moment the main window first paints.

With ``TRUSTPAGER_PRINT_FIRST_PAINT=1`` in the environment the window writes one
line, ``first-paint <unix time in seconds>``, to stderr when its first paint
event arrives; ``benchmarks/cold_start.py`` subtracts the moment it started the
process. Without the variable nothing is installed.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject

ENV_VAR = "TRUSTPAGER_PRINT_FIRST_PAINT"


class _FirstPaintReporter(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Paint:
            print(f"first-paint {time.time():.6f}", file=sys.stderr, flush=True)
            watched.removeEventFilter(self)
        return False


def report_first_paint(window: QObject) -> None:
    """Install the reporter on ``window`` when the environment asks for it."""
    if os.environ.get(ENV_VAR) == "1":
        reporter = _FirstPaintReporter(window)
        window.installEventFilter(reporter)
