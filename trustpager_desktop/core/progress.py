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


def describe(label: str, done: int, total: int | None, unit: str = "") -> str:
    """Progress in plain words, the same in the window and on the command line:
    'Verifying the activity log: 120,000 of 1,000,000 entries (12 %)', or without a
    known total 'Exporting contacts: 4,500 contacts'."""
    noun = f" {unit}" if unit else ""
    if total:
        share = min(done, total) * 100 // total
        return f"{label}: {done:,} of {total:,}{noun} ({share} %)"
    if total == 0:
        return f"{label}: nothing to do"
    return f"{label}: {done:,}{noun}"
