"""Wiring: the few long-lived objects a window, the agent or a command needs.

Each consumer takes only what it uses (a widget gets the gateway, not this
object), so tests can build the pieces one by one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trustpager_desktop.core import local_settings
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.credentials import ProviderChoice, TokenStore, choose_provider
from trustpager_desktop.core.events import ChangeBus
from trustpager_desktop.core.gateway import OutboundGateway
from trustpager_desktop.core.settings import AppSettings, load_settings
from trustpager_desktop.store.database import Database, resolve_database_url

log = logging.getLogger("trustpager")


@dataclass
class AppServices:
    db: Database
    clock: Clock = SYSTEM_CLOCK
    tokens: TokenStore = field(default_factory=TokenStore)
    role: str = "window"  # "window", "agent" or "command": how other desktops name this process
    # "This changed" for the screens: use-case services and the change watcher publish here.
    changes: ChangeBus = field(default_factory=ChangeBus)
    # This desktop's own settings file (None: ``local_settings.config_dir()``), and a name
    # given for one run (``trustpager --as NAME``) that wins over it.
    local_path: Path | None = None
    acting_as: str | None = None
    settings: AppSettings = field(init=False)
    local: local_settings.LocalSettings = field(init=False)
    provider_choice: ProviderChoice = field(init=False)
    gateway: OutboundGateway = field(init=False)

    def __post_init__(self) -> None:
        if self.acting_as is not None:
            self.acting_as = local_settings.clean_name(self.acting_as) or None
        self.reload()
        self._move_name_from_database()

    def reload(self) -> None:
        """Re-read settings and re-pick the provider (after the settings dialog saves)."""
        self.local = local_settings.load(self.local_path)
        with self.db.read(snapshot=False) as session:  # one statement: no BEGIN/ROLLBACK
            settings = load_settings(session)
        self.use_settings(settings, repick_provider=True)

    def use_settings(self, settings: AppSettings, *, repick_provider: bool = False) -> None:
        """Run with ``settings`` from now on (no database read: e.g. what another desktop
        saved, read off the GUI thread). The jobs read ``settings`` and ``gateway`` afresh
        each cycle. The provider is re-picked only when the sending settings changed (or
        ``repick_provider``): the sandbox keeps its pending simulated replies, and a send
        under way keeps the gateway it started with."""
        before = getattr(self, "settings", None)
        self.settings = settings
        if repick_provider or before is None or _sending(before) != _sending(settings):
            self.provider_choice = choose_provider(settings, self.tokens)
            if self.provider_choice.warning:
                log.warning("%s", self.provider_choice.warning)
        elif before.default_country == settings.default_country:
            return
        self.gateway = OutboundGateway(
            self.db,
            self.provider_choice.provider,
            clock=self.clock,
            default_region=settings.default_country,
        )

    @property
    def actor(self) -> str:
        """Who acts from this desktop, as the activity log, consent events and review
        decisions show it: ``--as NAME``, else this desktop's name, else "login on HOST"."""
        return self.acting_as or local_settings.acting_name(self.local)

    def set_user_name(self, name: str) -> str:
        """Keep ``name`` as this desktop's name (the local file, not the database; ""
        goes back to the default), with a log entry saying who this desktop now acts as.
        Returns the acting name. Raises UserInputError or OSError, and then nothing is
        saved or logged."""
        new = local_settings.LocalSettings(local_settings.clean_name(name), name_asked=True)
        if new == self.local:
            return self.actor
        before = local_settings.acting_name(self.local)
        with self.db.write() as session:
            if new.user_name != self.local.user_name:
                local_settings.log_name_change(session, before, new, clock=self.clock)
            local_settings.save(new, self.local_path)  # a failure here rolls the entry back
        self.local = new
        return self.actor

    def _move_name_from_database(self) -> None:
        """Earlier versions kept one name in the database for every desktop: the first
        desktop to start without a name of its own takes it over (once)."""
        if self.local.user_name or self.db.read_only:
            return
        with self.db.read() as session:
            if not local_settings.legacy_name(session):
                return
        with self.db.write() as session:
            name = local_settings.claim_database_name(session, clock=self.clock)
        if name:
            self.local = local_settings.LocalSettings(user_name=name, name_asked=True)
            try:
                local_settings.save(self.local, self.local_path)
            except OSError as exc:  # still this run's name; it can be set again in Settings
                log.warning("could not keep your name on this computer: %s", exc)

    @classmethod
    def open(
        cls,
        db_url: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        *,
        allow_read_only: bool = False,
        acting_as: str | None = None,
    ) -> AppServices:
        """Open the database (migrating it) and wire everything. Raises DatabaseError, and
        UserInputError for an ``acting_as`` name that cannot be used.

        ``allow_read_only``: see ``Database.open`` (commands that only read)."""
        if acting_as is not None:
            local_settings.clean_name(acting_as)  # refuse a bad name before opening anything
        database = Database.open(resolve_database_url(db_url), allow_read_only=allow_read_only)
        return cls(database, clock=clock, acting_as=acting_as)

    def close(self) -> None:
        self.db.close()


def _sending(settings: AppSettings) -> tuple[str, str, str]:
    """The settings the provider is picked from."""
    return (settings.provider_mode, settings.twilio_account_sid, settings.twilio_sender)
