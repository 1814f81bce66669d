"""Settings, the first-run assistant and the About box: what is saved, saving it, the
connection test, and following what another desktop saved.

The Twilio auth token goes in (to the token store: keyring, or this session only) but
never comes back out: nothing returned here carries it, so nothing a screen logs can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from trustpager_desktop.core import demo, local_settings
from trustpager_desktop.core.credentials import NO_KEYRING
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.settings import AppSettings, load_settings, save_settings
from trustpager_desktop.logging_setup import register_secret
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.store.database import describe_url
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt

T = TypeVar("T")

SANDBOX_MODE = "sandbox"
NO_SID_FOR_TOKEN = "Enter the Account SID this token belongs to."


@dataclass(frozen=True)
class SettingsView:
    """What the Settings page shows: the settings, and about the token only whether one
    is stored (never the token itself)."""

    settings: AppSettings
    token_stored: bool
    user_name: str  # this computer's name ("" for the default)
    keyring_problem: str  # why the token is not kept in the system keyring ("" when it is)


@dataclass(frozen=True)
class SavedSettings:
    settings: AppSettings  # as stored (country upper case, purposes tidied)
    token_kept: str  # where a typed token went: "keyring", "session", or "" (none typed)
    warning: str  # saved but not working yet, e.g. "Twilio ... missing; using the sandbox"


@dataclass(frozen=True)
class AboutFacts:
    database: str  # the SQLite file, or the server URL with its password hidden
    sending: str  # the provider in use, as the status bar names it


class SettingsService(ScreenService):
    # -- reading -----------------------------------------------------------------------

    def current(self) -> AppSettings:
        """The settings this window runs with (read at start, after a save here, and after
        another desktop's save was applied)."""
        return self.settings

    def token_stored(self, account_sid: str) -> bool:
        """A token is kept for ``account_sid`` (keyring or this session)."""
        return bool(account_sid and self._app.tokens.get(account_sid))

    def user_name(self) -> str:
        """This computer's name for its person ("" when they show under the default)."""
        return self._app.local.user_name

    def view(self) -> SettingsView:
        """The settings page's data (no database read: the settings in use)."""
        settings = self.current()
        tokens = self._app.tokens
        problem = "" if tokens.keyring_available() else tokens.keyring_problem() or NO_KEYRING
        return SettingsView(
            settings, self.token_stored(settings.twilio_account_sid), self.user_name(), problem
        )

    def reread(self) -> AppSettings:
        """The settings as the database holds them now (another desktop may have saved).
        Reads the database: call it off the GUI thread."""
        with self.db.read() as s:
            return load_settings(s)

    def about(self) -> AboutFacts:
        db = self.db
        where = str(db.sqlite_path) if db.sqlite_path else describe_url(db.url)
        return AboutFacts(where, self._app.provider_choice.description)

    def needs_first_run(self) -> bool:
        """The database was never set up, or this desktop was never asked its name."""
        return not self.settings.first_run_done or not self._app.local.name_asked

    # -- following another desktop -----------------------------------------------------

    def apply(self, settings: AppSettings) -> bool:
        """Run with ``settings`` (another desktop's save, re-read by :meth:`reread`): the
        jobs use the new zone, quiet hours, keywords and region from their next cycle, and
        the provider is re-picked if the sending settings changed. Work under way keeps
        what it started with. False when they are the settings in use already (this
        window saved them itself): nothing to do."""
        if settings == self.settings:
            return False
        self._app.use_settings(settings)
        return True

    # -- saving ------------------------------------------------------------------------

    def save(
        self, settings: AppSettings, *, user_name: str, token: str = "", session_only: bool = False
    ) -> Outcome[SavedSettings]:
        """Validate and save the settings and this computer's name; keep a typed token in
        the token store. A refused value saves nothing (the outcome names its field)."""
        if token and not settings.twilio_account_sid:
            return Outcome.failure(NO_SID_FOR_TOKEN, field="twilio_account_sid")

        def write() -> SavedSettings:
            name = local_settings.clean_name(user_name)  # refused: nothing saved
            stored = self._store(settings, actor=self.actor)
            self._set_name(name)
            kept = self._keep_token(settings.twilio_account_sid, token, session_only)
            self._app.use_settings(stored, repick_provider=True)  # the token may be new
            return SavedSettings(stored, kept, self._app.provider_choice.warning)

        return self._published(attempt(write))

    def set_user_name(self, user_name: str) -> Outcome[str]:
        """Keep this computer's name; the acting name, or why it was refused."""

        def keep() -> str:
            self._set_name(local_settings.clean_name(user_name))
            return self.actor

        return attempt(keep)

    def finish_first_run(
        self, chosen: AppSettings, *, user_name: str, token: str = ""
    ) -> Outcome[str]:
        """The assistant's Finish: save ``chosen`` under the name just given, add the demo
        business in sandbox mode to an empty database, keep the name and the token (its
        value hidden from every log line from now on). The value is where the token went
        ("keyring", "session", or "" when none was given)."""

        def write() -> str:
            name = local_settings.clean_name(user_name)
            actor = name or self.actor  # the settings are logged under the new name
            with self.db.write() as s:
                save_settings(s, chosen, actor=actor, clock=self.clock)
                if chosen.provider_mode == SANDBOX_MODE and demo.is_empty(s):
                    demo.fill_demo(s, actor=actor, clock=self.clock)
                stored = load_settings(s)
            self._set_name(name)
            kept = self._keep_token(chosen.twilio_account_sid, token, session_only=False)
            self._app.use_settings(stored, repick_provider=True)
            return kept

        return self._published(attempt(write))

    def test_connection(self) -> Outcome[str]:
        """Ask the provider in use to check its credentials: its sentence, or why not.
        Talks to the network: call it off the GUI thread."""
        provider = self._app.provider_choice.provider
        return attempt(provider.test_connection)

    # -- helpers -----------------------------------------------------------------------

    def _store(self, settings: AppSettings, *, actor: str) -> AppSettings:
        with self.db.write() as s:
            save_settings(s, settings, actor=actor, clock=self.clock)
            return load_settings(s)  # as stored, in the same transaction

    def _set_name(self, name: str) -> None:
        try:
            self._app.set_user_name(name)  # this computer's file; logged when it changes
        except OSError as exc:
            raise UserInputError(
                f"Your name could not be kept on this computer ({exc.strerror or exc}).",
                field="user_name",
            ) from exc

    def _keep_token(self, account_sid: str, token: str, session_only: bool) -> str:
        if not token:
            return ""
        register_secret(token)  # hidden from every log line, whatever logs it later
        return self._app.tokens.set(account_sid, token, session_only=session_only)

    def _published(self, outcome: Outcome[T]) -> Outcome[T]:
        if outcome.ok:
            self.publish({topic.SETTINGS})
        return outcome
