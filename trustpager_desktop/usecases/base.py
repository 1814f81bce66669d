"""What every use-case service shares: the database, the clock, who acts, where, and the
change bus. Built from the window's wiring; widgets never see the wiring itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.store.database import Database

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices


class ScreenService:
    """Base of the per-screen services. Settings are read through the wiring each time,
    so a saved settings change (actor name, region, zone) applies at once."""

    def __init__(self, app: AppServices) -> None:
        self._app = app

    @property
    def db(self) -> Database:
        return self._app.db

    @property
    def clock(self) -> Clock:
        return self._app.clock

    @property
    def settings(self) -> AppSettings:
        return self._app.settings

    @property
    def actor(self) -> str:
        return self._app.actor

    @property
    def region(self) -> str:
        return self._app.settings.default_country

    @property
    def zone(self) -> str:
        return self._app.settings.business_timezone

    def publish(self, topics: Iterable[str]) -> None:
        """Tell this window's views what changed (other desktops learn of it from the
        change marker, which the database's triggers bumped)."""
        self._app.changes.publish(topics)
