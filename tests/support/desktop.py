"""Fixtures for the desktop-integration tests: services on a fresh SQLite database whose
token store never touches the real system keyring."""

from __future__ import annotations

import pytest

from trustpager_desktop.core.credentials import NO_KEYRING, TokenStore
from trustpager_desktop.services import AppServices


class MemoryTokenStore(TokenStore):
    """A TokenStore that keeps tokens in memory only (as if no keyring existed)."""

    @staticmethod
    def keyring_available() -> bool:
        return False

    @staticmethod
    def keyring_problem() -> str | None:
        return NO_KEYRING


@pytest.fixture
def desktop_services(sqlite_db, clock):
    """AppServices on a fresh SQLite database with an in-memory token store."""
    services = AppServices(sqlite_db, clock=clock, tokens=MemoryTokenStore())
    yield services
