"""Wiring: the few long-lived objects a window, the agent or a command needs.

Each consumer takes only what it uses (a widget gets the gateway, not this
object), so tests can build the pieces one by one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.credentials import ProviderChoice, TokenStore, choose_provider
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
    settings: AppSettings = field(init=False)
    provider_choice: ProviderChoice = field(init=False)
    gateway: OutboundGateway = field(init=False)

    def __post_init__(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Re-read settings and re-pick the provider (after the settings dialog saves)."""
        with self.db.read(snapshot=False) as session:  # one statement: no BEGIN/ROLLBACK
            self.settings = load_settings(session)
        self.provider_choice = choose_provider(self.settings, self.tokens)
        if self.provider_choice.warning:
            log.warning("%s", self.provider_choice.warning)
        self.gateway = OutboundGateway(
            self.db,
            self.provider_choice.provider,
            clock=self.clock,
            default_region=self.settings.default_country,
        )

    @property
    def actor(self) -> str:
        return self.settings.user_name or "Office"

    @classmethod
    def open(
        cls,
        db_url: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        *,
        allow_read_only: bool = False,
    ) -> AppServices:
        """Open the database (migrating it) and wire everything. Raises DatabaseError.

        ``allow_read_only``: see ``Database.open`` (commands that only read)."""
        database = Database.open(resolve_database_url(db_url), allow_read_only=allow_read_only)
        return cls(database, clock=clock)

    def close(self) -> None:
        self.db.close()
