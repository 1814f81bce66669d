"""Progress reporting for long imports and exports, without Qt.

A long job takes ``progress(done, total)``; it is called every few hundred rows
and returns False to ask the job to stop. The job then raises ``Cancelled``
after undoing its work (no half-written file, no half-done import).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int | None], bool]


class Cancelled(Exception):
    """The user cancelled; nothing was written or changed."""


def no_progress(_done: int, _total: int | None) -> bool:
    return True


def report(progress: Progress | None, done: int, total: int | None) -> None:
    """Tell ``progress`` how far we are; raise Cancelled if it says stop."""
    if progress is not None and progress(done, total) is False:
        raise Cancelled("Cancelled; nothing was changed.")
