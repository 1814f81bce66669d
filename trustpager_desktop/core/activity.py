"""The activity log: append-only and a keyed hash chain (DESIGN promise 9).

Every entry stores an HMAC-SHA256, made with a key kept outside the database
(``core.log_keys``), over its own content, its position and the previous entry's
hash. Editing, deleting or re-hashing any entry breaks the chain at that point,
and someone with only the database cannot sign a replacement; ``core.log_verify``
checks it. Entries written before keyed signing keep their unkeyed SHA-256 and are
checked as the chain's unkeyed prefix. The database refuses UPDATE, DELETE and
TRUNCATE on the table too (triggers from the migrations), so no code path can
change history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Insert, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trustpager_desktop.core import log_keys
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store import bulk, round_trips
from trustpager_desktop.store.models import ActivityEntry, Contact, Meta

GENESIS_HASH = "0" * 64
# Serialises appenders on PostgreSQL so two desktops never fork the chain.
_PG_CHAIN_LOCK = 727_002


# The old name of the kinds, kept while code written against it moves to ActivityKind.
Kind = ActivityKind


KIND_LABELS: dict[str, str] = {
    ActivityKind.OPT_OUT: "Opt-out",
    ActivityKind.RE_CONSENT: "Re-consent",
    ActivityKind.STOP_REPLY: "STOP reply",
    ActivityKind.MANUAL_SEND: "Manual send",
    ActivityKind.MANUAL_SEND_OPTED_OUT: "Manual send to opted-out contact",
    ActivityKind.AUTOMATION_SENT: "Automation step sent",
    ActivityKind.AUTOMATION_SKIPPED: "Automation step skipped",
    ActivityKind.AUTOMATION_HELD: "Automation step held",
    ActivityKind.OPT_OUT_CONFIRMATION: "Opt-out confirmation",
    ActivityKind.AUTOMATION_FAILED: "Automation step failed",
    ActivityKind.SEND_FAILED: "Send failed",
    ActivityKind.INBOUND_MESSAGE: "Inbound message",
    ActivityKind.HELP_REQUEST: "HELP reply",
    ActivityKind.REVIEW_DECISION: "Review decision",
    ActivityKind.SETTINGS_CHANGE: "Settings change",
    ActivityKind.CONTACT_CREATED: "Contact created",
    ActivityKind.CONTACT_UPDATED: "Contact updated",
    ActivityKind.CONTACT_DELETED: "Contact deleted",
    ActivityKind.TASK_CREATED: "Task created",
    ActivityKind.ENROLLED: "Enrolled in automation",
    ActivityKind.IMPORT: "Import",
    ActivityKind.DELIVERY_BLOCKED: "Texts to number fail",
    ActivityKind.DELIVERY_UNBLOCKED: "Delivery block cleared",
    ActivityKind.CONSENT_RECORD: "Consent record",
    ActivityKind.PURPOSE_PREFERENCE: "SMS purpose preference",
}


@dataclass(frozen=True)
class ActivityView:
    """One entry as plain data, for widgets and exports."""

    id: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    contact_id: int | None
    contact_name: str
    automation_id: int | None
    actor: str
    summary: str
    details: dict[str, Any]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def _canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# --- signing ----------------------------------------------------------------------------
#
# A signed entry's hash is HMAC-SHA256, with this installation's log key (kept outside
# the database, core.log_keys), over its fields joined by U+001F in this order:
#   prev_hash, key_id, seq, occurred_at, recorded_at, kind, contact_id, contact_name,
#   automation_id, actor, summary, details
# Times are naive UTC "YYYY-MM-DD HH:MM:SS.ffffff" (how SQLite stores them; PostgreSQL's
# to_char gives the same), missing ids are "", and U+0000/U+001F never occur inside a
# field (replaced on the way in; details is JSON, which escapes them), so the database
# itself can build the same message (core.log_verify) and a field boundary cannot move.
SEPARATOR = "\x1f"
_FORBIDDEN = str.maketrans({"\x1f": "\ufffd", "\x00": "\ufffd"})


def _plain(text: str) -> str:
    return text.translate(_FORBIDDEN)


def time_text(value: datetime) -> str:
    """An aware time as the signed message writes it (naive UTC, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _id_text(value: int | None) -> str:
    return "" if value is None else str(value)


def entry_message(row: dict[str, Any]) -> bytes:
    """The bytes a signed entry's HMAC covers (``row`` holds the column values)."""
    return SEPARATOR.join(
        (
            row["prev_hash"],
            row["key_id"],
            str(row["seq"]),
            time_text(row["occurred_at"]),
            time_text(row["recorded_at"]),
            row["kind"],
            _id_text(row["contact_id"]),
            row["contact_name"],
            _id_text(row["automation_id"]),
            row["actor"],
            row["summary"],
            row["details"],
        )
    ).encode("utf-8")


def _entry_content(entry: Any) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(),
        "kind": entry.kind,
        "contact_id": entry.contact_id,
        "contact_name": entry.contact_name,
        "automation_id": entry.automation_id,
        "actor": entry.actor,
        "summary": entry.summary,
        "details": entry.details,
    }


def compute_hash(entry: Any, prev_hash: str) -> str:
    """The unkeyed SHA-256 of entries written before keyed signing (no ``key_id``):
    over the previous hash and the entry's canonical JSON content. Kept to verify them.

    ``entry`` is anything with the ActivityEntry columns as attributes (a model or a row)."""
    payload = prev_hash + _canonical(_entry_content(entry))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_CHAIN_TIP = "activity_chain_tip"
_REGISTERED = "activity_key_registered"
_HEAD = "activity_head_to_record"


def lock_chain(session: Session) -> None:
    """Take the log's append lock now (PostgreSQL; held to the end of the transaction).

    A transaction that locks rows and then appends should call this first, so two
    writers never wait for each other in opposite orders (a deadlock). SQLite needs
    nothing: its write transactions are already one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})


def _last_link(session: Session) -> tuple[str, int]:
    """The tip's hash and position (the count of entries so far), with the append lock."""
    # Within one transaction the chain is ours (advisory lock on PostgreSQL, the write lock
    # on SQLite), so after the first append the tip is remembered instead of re-read.
    remembered = session.info.get(_CHAIN_TIP)
    if remembered is not None and _is_open_ancestor(remembered[0], session):
        return remembered[1], remembered[2]
    connection = session.connection()
    tip = _lock_and_read_tip(session)
    _register_key(session)
    if tip is None:
        return GENESIS_HASH, 0
    if tip[1] is None:  # the tip is an unkeyed entry from before signing: count once
        return tip[0], connection.execute(_COUNT_QUERY).scalar_one()
    return tip[0], tip[1]


def _lock_and_read_tip(session: Session) -> tuple[str, int | None] | None:
    """Take the append lock, then read the tip (hash, seq). The tip must be read by a
    statement that starts after the lock is held (it sees every append committed before).
    On PostgreSQL both go in one round trip (psycopg's pipeline mode: the server runs them
    in order, the client waits once), which keeps the lock held for less time."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        row = connection.execute(_TIP_QUERY).first()
        return None if row is None else (row[0], row[1])
    driver = connection.connection.driver_connection
    with driver.pipeline():  # type: ignore[union-attr]  # psycopg's own connection; SQLAlchemy types driver_connection loosely
        driver.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_CHAIN_LOCK,))  # type: ignore[union-attr]  # psycopg's own connection; SQLAlchemy types driver_connection loosely
        tip = driver.execute(_TIP_SQL)  # type: ignore[union-attr]  # psycopg's own connection; SQLAlchemy types driver_connection loosely
    found = tip.fetchone()  # read once the pipeline is synced: fetching inside waits twice
    round_trips.note_driver_round_trip(connection, "pipeline: advisory lock + chain tip")
    return None if found is None else (found[0], found[1])


_TIP_SQL = "SELECT entry_hash, seq FROM activity_log ORDER BY id DESC LIMIT 1"
_TIP_QUERY = (
    select(ActivityEntry.entry_hash, ActivityEntry.seq).order_by(ActivityEntry.id.desc()).limit(1)
)
_COUNT_QUERY = select(func.count()).select_from(ActivityEntry)
_registered_keys: set[tuple[str, str]] = set()
KEY_META_PREFIX = "log_key."


def _register_key(session: Session) -> None:
    """Name this installation's key in the database once (who signed, for messages)."""
    key = log_keys.key_ring().own_key()
    database = database_name(session)
    if (database, key.key_id) in _registered_keys:
        return
    dialect = session.get_bind().dialect.name
    values = {
        "key": KEY_META_PREFIX + key.key_id,
        "value": f"{key.label} (created {key.created_at[:10]})",
    }
    statement: Insert
    if dialect == "postgresql":
        statement = pg_insert(Meta).values(values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(Meta).values(values).on_conflict_do_nothing()
    session.connection().execute(statement)
    session.info[_REGISTERED] = (database, key.key_id)  # remembered once committed


_database_names: dict[str, str] = {}


def database_name(session: Session) -> str:
    """The name ``chain-heads.json`` knows this session's database by."""
    url = session.get_bind().engine.url
    raw = str(url)
    name = _database_names.get(raw)
    if name is None:
        name = _database_names[raw] = log_keys.database_key(url)
    return name


def _current_transaction(session: Session) -> object:
    # Keyed on the innermost transaction, so a rolled-back savepoint never leaves a stale tip.
    return session.get_nested_transaction() or session.get_transaction()


def _is_open_ancestor(transaction: object, session: Session) -> bool:
    """Is ``transaction`` the current one or one it is nested in (so its tip still holds)?"""
    current: Any = _current_transaction(session)
    while current is not None:
        if current is transaction:
            return True
        current = current.parent
    return False


def _remember_tip(session: Session, entry_hash: str, seq: int) -> None:
    session.info[_CHAIN_TIP] = (_current_transaction(session), entry_hash, seq)
    session.info[_HEAD] = (database_name(session), seq, entry_hash)


@dataclass(frozen=True)
class LogEntry:
    """What one activity-log entry says, before it is signed and written.

    ``contact`` names a contact object (its id and name are read when the entry is
    appended, after a flush, so a contact created in this transaction can be named);
    otherwise ``contact_id``/``contact_name`` say who, if anyone. ``occurred_at`` is
    when it happened (default: when it is appended)."""

    kind: ActivityKind
    summary: str
    actor: str
    contact: Contact | None = None
    contact_id: int | None = None
    contact_name: str = ""
    automation_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


def entry_row(entry: LogEntry, *, clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """``entry``'s columns, before it is chained and signed (``write_rows``)."""
    contact_id, contact_name = entry.contact_id, entry.contact_name
    if entry.contact is not None:
        contact_id, contact_name = entry.contact.id, entry.contact.display_name
    now = clock.now()
    # A plain dict, not an ActivityEntry: building ORM objects was most of the cost
    # of logging thousands of entries.
    return {
        "occurred_at": entry.occurred_at or now,
        "recorded_at": now,
        "kind": _plain(entry.kind),
        "contact_id": contact_id,
        "contact_name": _plain(contact_name[:210]),
        "automation_id": entry.automation_id,
        "actor": _plain(entry.actor[:100]),
        "summary": _plain(entry.summary),
        "details": _canonical(dict(entry.details)),
    }


class _Journal(Protocol):
    def flush(self) -> None: ...


# session.info key of the transaction's open ``core.journal.WriteJournal``.
OPEN_JOURNAL = "write_journal"


def flush_open_journal(session: Session) -> None:
    """Write what the transaction's journal holds, so an entry written now comes after
    the ones added before it (entry ids follow the chain)."""
    journal: _Journal | None = session.info.get(OPEN_JOURNAL)
    if journal is not None:
        journal.flush()


def append(session: Session, entry: LogEntry, *, clock: Clock = SYSTEM_CLOCK) -> ActivityEntry:
    """Add ``entry`` in the caller's transaction now; it commits or rolls back with the
    change it records. Returns the flushed entry.

    The entry is signed with this installation's log key (made on first use; raises
    log_keys.LogKeyError when it cannot be saved). Callers logging many entries in one
    transaction add them to its ``core.journal.WriteJournal`` instead."""
    flush_open_journal(session)  # entries added before this one come first
    if entry.contact is not None:
        session.flush()  # a new contact needs its id before we can name it
    row = entry_row(entry, clock=clock)
    _sign(session, [row])
    added = ActivityEntry(**row)
    session.add(added)
    session.flush()
    return added


def _sign(session: Session, rows: list[dict[str, Any]]) -> None:
    """Chain ``rows`` after the tip, in order, and sign them. The append lock is taken
    here (the first time in a transaction), so a transaction that collects its entries
    (a write journal) holds it only from its last statements to its commit."""
    prev_hash, prev_seq = _last_link(session)
    ring = log_keys.key_ring()
    key = ring.own_key()
    signer = ring.signer(key.key_id)
    assert signer is not None
    for row in rows:
        row["prev_hash"], row["key_id"], row["seq"] = prev_hash, key.key_id, prev_seq + 1
        row["entry_hash"] = signer.sign(entry_message(row))
        prev_hash, prev_seq = row["entry_hash"], row["seq"]
    _remember_tip(session, prev_hash, prev_seq)


def write_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Chain, sign and insert ``rows`` (``entry_row``'s), in order, with one statement
    (one on PostgreSQL too, store.bulk, not one per entry)."""
    if rows:
        _sign(session, rows)
        bulk.insert_rows(session.connection(), ActivityEntry.__table__, rows)


def append_many(
    session: Session, entries: Iterable[LogEntry], *, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Add several entries, in order, in the caller's transaction with one INSERT. Returns
    the count."""
    flush_open_journal(session)
    rows = [entry_row(entry, clock=clock) for entry in entries]
    write_rows(session, rows)
    return len(rows)


@event.listens_for(Session, "after_commit")
def _record_head_after_commit(session: Session) -> None:
    # Only the outermost commit gets here: what this computer appended is now in the log.
    head = session.info.pop(_HEAD, None)
    if head is not None:
        log_keys.chain_heads().record(*head)
    session.info.pop(OPEN_JOURNAL, None)  # its transaction is over
    registered = session.info.pop(_REGISTERED, None)
    if registered is not None:
        _registered_keys.add(registered)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head_after_rollback(session: Session, _previous: object) -> None:
    # Entries of a rolled-back savepoint are gone; the head waits for the next append.
    session.info.pop(_HEAD, None)
    session.info.pop(_REGISTERED, None)


@event.listens_for(Session, "after_rollback")
def _drop_pending_after_rollback(session: Session) -> None:
    # The transaction's journal and the entries it held go with it.
    session.info.pop(OPEN_JOURNAL, None)
    session.info.pop(_CHAIN_TIP, None)


def verify_chain(
    session: Session, batch_size: int = 20_000, progress: Progress | None = None
) -> Any:
    """The chain alone, from its first entry: ``core.log_verify.ChainReport`` (``ok``,
    ``first_broken_id``, ``describe()``). ``log_verify.verify_log`` is the whole check
    (checkpoints, this computer's head, the opt-out state).

    ``progress(done, total)`` hears after each batch; returning False stops the walk with
    ``Cancelled`` (nothing is changed by verifying)."""
    from trustpager_desktop.core import log_verify  # it builds on this module

    return log_verify.chain_report(session, batch_size=batch_size, progress=progress)


def to_view(entry: ActivityEntry) -> ActivityView:
    return ActivityView(
        id=entry.id,
        occurred_at=entry.occurred_at,
        recorded_at=entry.recorded_at,
        kind=entry.kind,
        contact_id=entry.contact_id,
        contact_name=entry.contact_name,
        automation_id=entry.automation_id,
        actor=entry.actor,
        summary=entry.summary,
        details=json.loads(entry.details or "{}"),
    )


def for_contact(session: Session, contact_id: int, limit: int = 200) -> list[ActivityView]:
    """The contact's timeline, newest first."""
    rows = session.scalars(
        select(ActivityEntry)
        .where(ActivityEntry.contact_id == contact_id)
        .order_by(ActivityEntry.id.desc())
        .limit(limit)
    )
    return [to_view(row) for row in rows]
