"""The command line's progress line for long jobs (imports, exports, reports, verify).

The same plain words the window shows (``core.progress.describe``), rewritten in place
with a carriage return, and only when standard output is a terminal: a script or a
pipe gets the final result line alone.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from trustpager_desktop.core.progress import describe

# Rewriting the line more often than this only costs time on a slow terminal.
MIN_INTERVAL_S = 0.1
_ERASE = "\r\x1b[K"


class TerminalProgress:
    """A ``core.progress.Progress`` callback that draws one line; use it as a context
    manager so the line is erased when the job ends (or fails)."""

    def __init__(self, label: str, unit: str = "", stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stdout
        self.active = _is_terminal(self.stream)
        self.shown = False
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> bool:
        if not self.active:
            return True
        now = time.monotonic()
        finished = total is not None and done >= total
        if finished or now - self._last >= MIN_INTERVAL_S:
            self._last = now
            self.stream.write(_ERASE + describe(self.label, done, total, self.unit))
            self.stream.flush()
            self.shown = True
        return True

    def finish(self) -> None:
        """Erase the line, so the result printed next stands alone."""
        if self.shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.finish()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
