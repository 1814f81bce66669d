"""Waiting for a write a page runs on the background runner (issue 16 item 2): start it,
then wait for the page's ``finished(ok)`` signal instead of assuming it is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WAIT_MS = 10_000


def wait_for_write(qtbot: Any, finished: Any, start: Callable[[], object]) -> bool:
    """``start()`` a write (it must start) and wait for ``finished(ok)``; returns ok."""
    with qtbot.waitSignal(finished, timeout=WAIT_MS) as done:
        assert start(), "the write did not start"
    return bool(done.args[0])


def saved(qtbot: Any, settings_page: Any) -> bool:
    """Press Save on the Settings page and wait for the answer: True when stored."""
    return wait_for_write(qtbot, settings_page.save_finished, settings_page.save)
