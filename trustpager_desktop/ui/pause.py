"""The automation pause as one Qt object: the menu, the tray, the status bar and the
Automations page banner all show and change the same state.

The flag itself lives in the database (``core.automation_pause``), so the runner, the
agent and other desktops on a shared database honour it; this object only mirrors it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from trustpager_desktop.core.automation_pause import automations_paused, set_automations_paused
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import DatabaseError

log = logging.getLogger("trustpager.ui")

PAUSED_TEXT = "Automations paused"
PAUSED_DETAIL = (
    "Automations are paused: no automated text goes out until you resume. Manual texts and "
    "STOP replies are handled as usual."
)


class AutomationPause(QObject):
    """``changed(bool)`` whenever the pause is turned on or off (here or seen in the database);
    ``failed(str)`` with a sentence when the change could not be saved."""

    changed = Signal(bool)
    failed = Signal(str)

    def __init__(self, services: AppServices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._paused = False
        self.refresh()

    @property
    def paused(self) -> bool:
        return self._paused

    def refresh(self) -> bool:
        """Read the flag from the database (another desktop may have changed it)."""
        try:
            with self._services.db.read(snapshot=False) as session:  # one round trip
                paused = automations_paused(session)
        except DatabaseError as exc:
            log.warning("could not read the automation pause: %s", exc)
            return self._paused
        self._show(paused)
        return paused

    def set_paused(self, paused: bool) -> bool:
        """Pause (True) or resume (False); logged as a settings change. Returns the state
        now in force (unchanged, with ``failed`` emitted, when the database refused)."""
        s = self._services
        try:
            set_automations_paused(s.db, paused, actor=s.actor, clock=s.clock)
        except DatabaseError as exc:
            log.error("could not change the automation pause: %s", exc)
            self.failed.emit(f"The pause could not be changed: {exc}")
            return self._paused
        self._show(paused)
        return paused

    def show(self, paused: bool) -> None:
        """Show a state read elsewhere (the window reads it off the GUI thread)."""
        self._show(paused)

    def _show(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self.changed.emit(paused)
