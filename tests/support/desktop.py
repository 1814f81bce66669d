"""The window's services for tests: a token store that never touches the real system
keyring, and the one way tests build AppServices (the ``services`` fixture uses it)."""

from __future__ import annotations

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
