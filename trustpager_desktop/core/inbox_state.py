"""What every desktop on one database knows about the inbox, kept in ``app_meta``.

- ``inbox.last_read``: when the inbox was last read completely (the start of the
  read: everything Twilio listed before it is stored) and by whom. It is the
  watermark the next read looks back from, and the freshness figure dispatch
  checks before sending (DESIGN promise 10).
- ``inbox.last_sweep``: when the last full look-back sweep started.
- ``inbox.numbers``: the account's numbers seen so far (senders of our texts,
  numbers customers texted, the Messaging Service's numbers).
- ``inbox.poller_lease``: which process polls on schedule. Desktops and agents
  sharing a database elect one; the holder renews the lease every tick, and
  anyone takes it over once it has expired (holder stopped or killed).
- ``inbox.reading``: who is reading Twilio right now, so a dispatcher that finds
  the inbox stale waits for a read already under way instead of repeating it.

Each value is a small JSON object. Changes take the row's lock (PostgreSQL
``FOR UPDATE``; SQLite's write transactions are one at a time), so two processes
never both win a lease or move a mark backwards. Times are aware UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustpager_desktop.store.models import Meta

LAST_READ_KEY = "inbox.last_read"
LAST_SWEEP_KEY = "inbox.last_sweep"
NUMBERS_KEY = "inbox.numbers"
LEASE_KEY = "inbox.poller_lease"
READING_KEY = "inbox.reading"
MAX_NUMBERS = 500  # a bound on what one account's list of numbers may hold here


@dataclass(frozen=True)
class LastRead:
    """The last complete read of the inbox: started ``at``, by ``label`` (process ``worker``)."""

    at: datetime
    label: str
    worker: str


@dataclass(frozen=True)
class Lease:
    """A claim held by ``worker`` (shown as ``label``) until ``expires_at``."""

    worker: str
    label: str
    expires_at: datetime
    error: str | None = None  # the holder's last problem reading the inbox

    def active(self, now: datetime) -> bool:
        return now < self.expires_at

    def held_by(self, worker: str, now: datetime) -> bool:
        return self.worker == worker and self.active(now)


@dataclass(frozen=True)
class InboxFreshness:
    """How current the inbox was when a text went out (recorded on each automation send).

    ``read_at`` is the start of the last complete read by anyone (None: never read);
    ``age_seconds`` its age at send time; ``error`` why the read just before the
    send failed (None when it worked or was not needed)."""

    read_at: datetime | None
    age_seconds: float | None
    error: str | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None or self.read_at is None

    def note(self) -> str:
        """'inbox last read 95 s before this send (Twilio unreachable: ...)'."""
        if self.read_at is None or self.age_seconds is None:
            age = "inbox never read before this send"
        else:
            age = f"inbox last read {self.age_seconds:.0f} s before this send"
        return f"{age} ({self.error})" if self.error else age

    def details(self) -> dict[str, object]:
        return {
            "inbox_read_at": self.read_at.isoformat() if self.read_at else None,
            "inbox_age_seconds": None if self.age_seconds is None else round(self.age_seconds, 1),
            "inbox_error": self.error,
        }


# ---- the row helpers ---------------------------------------------------------------


def _value(session: Session, key: str, *, lock: bool = False) -> dict[str, Any] | list[Any] | None:
    query = select(Meta.value).where(Meta.key == key)
    if lock:
        _ensure_row(session, key)
        query = query.with_for_update()
    raw = session.scalar(query)
    if not raw:
        return None
    try:
        return cast(dict[str, Any] | list[Any], json.loads(raw))
    except ValueError:
        return None  # a damaged value counts as unset; the next write repairs it


def _ensure_row(session: Session, key: str) -> None:
    """Create the row if missing (losing a race to create it is fine), so it can be locked."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(Meta).values(key=key, value="").on_conflict_do_nothing(index_elements=["key"])
    )


def _put(session: Session, key: str, value: object) -> None:
    """Store ``value`` in a row made and locked by ``_value(..., lock=True)``."""
    session.execute(update(Meta).where(Meta.key == key).values(value=json.dumps(value)))


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


# ---- marks ----------------------------------------------------------------------------


def last_read(session: Session) -> LastRead | None:
    """The last complete read of the inbox by anyone, or None before the first."""
    value = _value(session, LAST_READ_KEY)
    at = _time(value.get("at")) if isinstance(value, dict) else None
    if at is None or not isinstance(value, dict):
        return None
    return LastRead(at, str(value.get("label", "")), str(value.get("worker", "")))


@dataclass(frozen=True)
class SweepMarks:
    """The last sweep's start, and a gap later sweeps keep covering until ``cover_until``."""

    at: datetime | None = None
    cover_from: datetime | None = None
    cover_until: datetime | None = None


def sweep_marks(session: Session) -> SweepMarks:
    value = _value(session, LAST_SWEEP_KEY)
    if not isinstance(value, dict):
        return SweepMarks()
    return SweepMarks(
        _time(value.get("at")), _time(value.get("cover_from")), _time(value.get("cover_until"))
    )


def last_sweep(session: Session) -> datetime | None:
    return sweep_marks(session).at


def record_read(
    session: Session,
    started_at: datetime,
    *,
    worker: str,
    label: str,
    sweep: bool,
    cover: tuple[datetime, datetime] | None = None,
) -> None:
    """Record a complete read that started at ``started_at``; marks only move forward.

    ``cover`` (from, until): a sweep after a gap asks later sweeps to keep reading
    back to ``from`` until ``until``."""
    current = _value(session, LAST_READ_KEY, lock=True)
    previous = _time(current.get("at")) if isinstance(current, dict) else None
    if previous is None or started_at >= previous:
        _put(
            session,
            LAST_READ_KEY,
            {"at": started_at.isoformat(), "label": label, "worker": worker},
        )
    if not sweep:
        return
    _value(session, LAST_SWEEP_KEY, lock=True)
    marks = sweep_marks(session)
    if marks.at is not None and started_at < marks.at:
        return
    value = {"at": started_at.isoformat()}
    if cover is not None:
        value.update(cover_from=cover[0].isoformat(), cover_until=cover[1].isoformat())
    elif (
        marks.cover_until is not None
        and marks.cover_from is not None
        and started_at < marks.cover_until
    ):
        value.update(
            cover_from=marks.cover_from.isoformat(), cover_until=marks.cover_until.isoformat()
        )
    _put(session, LAST_SWEEP_KEY, value)


def known_numbers(session: Session) -> list[str]:
    """The account's numbers seen so far, sorted."""
    value = _value(session, NUMBERS_KEY)
    return sorted(n for n in value if isinstance(n, str)) if isinstance(value, list) else []


def remember_numbers(session: Session, numbers: Iterable[str]) -> list[str]:
    """Add ``numbers`` (the account's own numbers) to the known ones; returns the new ones."""
    wanted = {n for n in numbers if isinstance(n, str) and n.startswith("+")}
    if not wanted - set(known_numbers(session)):
        return []  # the usual case: nothing new, no write
    current = _value(session, NUMBERS_KEY, lock=True)
    known = {n for n in current if isinstance(n, str)} if isinstance(current, list) else set()
    added = sorted(wanted - known)
    if added:
        _put(session, NUMBERS_KEY, sorted(known | set(added))[:MAX_NUMBERS])
    return added


# ---- leases ------------------------------------------------------------------------------


def read_lease(session: Session, key: str = LEASE_KEY) -> Lease | None:
    value = _value(session, key)
    return _lease(value)


def _lease(value: object) -> Lease | None:
    if not isinstance(value, dict):
        return None
    expires = _time(value.get("expires_at"))
    if expires is None:
        return None
    error = value.get("error")
    return Lease(
        str(value.get("worker", "")),
        str(value.get("label", "")),
        expires,
        error if isinstance(error, str) else None,
    )


def claim_lease(
    session: Session,
    *,
    worker: str,
    label: str,
    now: datetime,
    ttl: timedelta,
    error: str | None = None,
    key: str = LEASE_KEY,
) -> Lease:
    """Take or renew the lease ``key`` if it is free, expired or already ours.

    Returns the lease as it stands afterwards: ours when we hold it (check with
    ``held_by``), else the other holder's. ``error`` is published with our lease
    so the others can show why the inbox is not being read."""
    current = _lease(_value(session, key, lock=True))
    if current is not None and current.active(now) and current.worker != worker:
        return current
    lease = Lease(worker, label, now + ttl, error)
    _put(
        session,
        key,
        {
            "worker": worker,
            "label": label,
            "expires_at": lease.expires_at.isoformat(),
            "error": error,
        },
    )
    return lease


def release_lease(session: Session, *, worker: str, now: datetime, key: str = LEASE_KEY) -> bool:
    """Give the lease up (a clean stop) so another process takes over at its next tick."""
    current = _lease(_value(session, key, lock=True))
    if current is None or current.worker != worker:
        return False
    _put(
        session,
        key,
        {"worker": worker, "label": current.label, "expires_at": now.isoformat(), "error": None},
    )
    return True


__all__ = [
    "InboxFreshness",
    "LastRead",
    "Lease",
    "claim_lease",
    "known_numbers",
    "last_read",
    "last_sweep",
    "read_lease",
    "record_read",
    "release_lease",
    "remember_numbers",
    "sweep_marks",
]
