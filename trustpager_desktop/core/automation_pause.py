"""Pausing automations (from the tray menu or the settings): one flag every desktop sees.

The flag lives in the database (``app_meta``), so pausing in one window pauses the
agent and the other desktops on a shared database too. The automation runner asks
:func:`automations_paused` before each cycle and sends nothing while it is True.
Manual sends and the inbox poller are not affected: STOP replies are still handled.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Meta

PAUSE_KEY = "automations_paused"


def automations_paused(session: Session) -> bool:
    """True while automations are paused. Reads one row; never raises for a missing flag."""
    row = session.get(Meta, PAUSE_KEY)
    return row is not None and row.value == "1"


def set_paused(session: Session, paused: bool, *, actor: str, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Pause (True) or resume (False) automations in the caller's transaction; logged as a
    settings change. Returns True if the state changed, False if it already was as asked."""
    if automations_paused(session) == paused:
        return False
    session.merge(Meta(key=PAUSE_KEY, value="1" if paused else "0"))
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.SETTINGS_CHANGE,
            summary="Automations paused" if paused else "Automations resumed",
            actor=actor,
            details={PAUSE_KEY: ["0" if paused else "1", "1" if paused else "0"]},
        ),
        clock=clock,
    )
    return True


def set_automations_paused(
    db: Database, paused: bool, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> bool:
    """:func:`set_paused` in its own transaction. Raises DatabaseError if it cannot be written."""
    with db.write() as session:
        return set_paused(session, paused, actor=actor, clock=clock)
