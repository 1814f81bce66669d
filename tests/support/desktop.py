"""The window's services for tests: a token store that never touches the real system
keyring, and the one way tests build AppServices (the ``services`` fixture uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.credentials import NO_KEYRING, TokenStore
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import Database


class MemoryTokenStore(TokenStore):
    """A TokenStore that keeps tokens in memory only (as if no keyring existed)."""

    @staticmethod
    def keyring_available() -> bool:
        return False

    @staticmethod
    def keyring_problem() -> str | None:
        return NO_KEYRING


def app_services(db: Database, clock: Clock, **kwargs: Any) -> AppServices:
    """The window's services on ``db``: the clock given, tokens kept in memory only."""
    return AppServices(db, clock=clock, tokens=MemoryTokenStore(), **kwargs)


def live_window(qtbot: Any, services: AppServices, poll_seconds: float) -> Iterator[Any]:
    """A shown MainWindow on ``services`` whose live updates poll every ``poll_seconds``,
    once its baseline is read (for a fixture to ``yield from``); shut down afterwards."""
    from trustpager_desktop.ui.main_window import MainWindow  # Qt only where asked for

    window = MainWindow(services)
    qtbot.addWidget(window)
    window.show()
    window.start_live_updates(poll_seconds)
    qtbot.waitUntil(lambda: window.live.watcher.polls > 0)
    yield window
    window.shutdown()
