"""The Settings page: what is saved, and saving it (the wiring re-reads it at once)."""

from __future__ import annotations

from trustpager_desktop.core.settings import AppSettings, load_settings, save_settings
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt


class SettingsService(ScreenService):
    def current(self) -> AppSettings:
        """The settings this window runs with (read at start and after each save)."""
        return self.settings

    def reread(self) -> AppSettings:
        """The settings as the database holds them now (another desktop may have saved)."""
        with self.db.read() as s:
            return load_settings(s)

    def save(self, settings: AppSettings) -> Outcome[AppSettings]:
        """Validate and save; the provider and gateway are re-picked from the new values."""

        def write() -> AppSettings:
            with self.db.write() as s:
                save_settings(s, settings, actor=self.actor, clock=self.clock)
            self._app.reload()
            return self._app.settings

        outcome = attempt(write)
        if outcome.ok:
            self.publish({topic.SETTINGS})
        return outcome
