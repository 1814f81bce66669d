"""Helpers for activity-log, import and export tests: a seeded log and CSV files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text

from tests.support.contacts import add_contact
from trustpager_desktop.core import activity, consent, contacts
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.models import ActivityEntry


def seed_log(
    db,
    clock,
    n: int,
    *,
    kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND),
    contact_ids=(None,),
):
    """Append ``n`` entries cycling through kinds and contacts, one minute apart."""
    with db.write() as s:
        for i in range(n):
            clock.advance(minutes=1)
            activity.append(
                s,
                activity.LogEntry(
                    kind=kinds[i % len(kinds)],
                    summary=f"entry {i}",
                    actor="Test",
                    contact_id=contact_ids[i % len(contact_ids)],
                    contact_name=f"Person {contact_ids[i % len(contact_ids)]}",
                    automation_id=7 if i % 5 == 0 else None,
                    details={"n": i},
                ),
                clock=clock,
            )


def opt_out(db, clock, contact_id: int, **kwargs) -> None:
    with db.write() as s:
        contact = contacts.get_contact_row(s, contact_id)
        consent.opt_out_contact(
            s,
            contact,
            actor="Test",
            clock=clock,
            **{"source": ConsentSource.MANUAL_TOGGLE, **kwargs},
        )


HISTORY_TABLES = ("activity_log", "consent_events", "activity_checkpoints")


def tamper(db, *statements: str) -> None:
    """Change the database behind the application's back, as someone with database access
    could: on SQLite the append-only triggers are dropped, on PostgreSQL the statements
    run in a replication session, which fires no trigger (row, statement or TRUNCATE)."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in HISTORY_TABLES:
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))


def resign_unkeyed(db, from_id: int, edit: str | None = None) -> None:
    """Rewrite the chain from entry ``from_id`` as an attacker without the log key can:
    apply ``edit`` (an UPDATE), then recompute plain SHA-256 hashes from there on and drop
    the signatures (key_id and seq cleared), so every link and hash is consistent."""
    tamper(db, *([edit] if edit else []))  # also drops SQLite's triggers for the rewrite
    with db.read() as s:
        rows = s.scalars(select(ActivityEntry).order_by(ActivityEntry.id)).all()
    prev = activity.GENESIS_HASH
    updates = []
    for row in rows:
        if row.id >= from_id:
            digest = activity.compute_hash(row, prev)
            updates.append({"i": row.id, "p": prev, "h": digest})
            prev = digest
        else:
            prev = row.entry_hash
    with db.engine.begin() as conn:
        if db.is_postgres:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for u in updates:
            conn.execute(
                text(
                    "UPDATE activity_log SET prev_hash = :p, entry_hash = :h, key_id = NULL, "
                    "seq = NULL WHERE id = :i"
                ),
                u,
            )


def write_csv(folder: Path, content: str | bytes, name: str = "contacts.csv") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


ONE_DAY = timedelta(days=1)


# --- tampering scenarios shared by the CLI and window tests ---------------------------------


def seed_for_tampering(db, clock) -> int:
    """A small office: two contacts, one opted out by hand, a STOP from a number no contact
    has (a suppression), a few more entries. Returns the opted-out contact's id."""
    ann = add_contact(db, clock, "Ann", "Lee", phone="415 555 0101")
    add_contact(db, clock, "Bob", phone="415 555 0102")
    opt_out(db, clock, ann)
    with db.write() as s:
        consent.opt_out_number(
            s, "+14155550199", source=ConsentSource.STOP_REPLY, actor="Inbox",
            evidence="STOP", message_sid="SM" + "2" * 32, clock=clock,
        )  # fmt: skip
    seed_log(db, clock, 4)
    return ann


def _empty_history(db) -> None:
    if db.is_postgres:
        tamper(db, "TRUNCATE activity_log")
    else:
        tamper(db, "DELETE FROM activity_log")


TAMPERING = {
    "tail-cut": (
        lambda db: tamper(db, "DELETE FROM activity_log WHERE id > 6"),
        "entries were cut from the end",
    ),
    "every-entry-removed": (_empty_history, "every entry was removed"),
    "edited-and-rehashed": (
        lambda db: resign_unkeyed(db, 3, "UPDATE activity_log SET summary = 'x' WHERE id = 3"),
        "altered at entry 3: it has no signature but comes after signed entries",
    ),
    "opt-out-flag-cleared": (
        lambda db: tamper(db, "UPDATE contacts SET sms_opted_out = false"),
        "(Ann Lee) is marked subscribed, but consent event 1",
    ),
    "suppression-deleted": (
        lambda db: tamper(db, "DELETE FROM number_suppressions"),
        "Number +14155550199 should be held as opted out",
    ),
}
