"""Helpers for activity-log, import and export tests: a seeded log and CSV files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from trustpager_desktop.core import activity, consent, contacts
from trustpager_desktop.core.contacts import ContactInput


def add_contact(db, clock, first: str, phone: str = "", last: str = "") -> int:
    with db.write() as s:
        return contacts.create_contact(
            s, ContactInput(first, last, phone=phone), actor="Test", clock=clock
        ).id


def seed_log(db, clock, n: int, *, kinds=("opt_out", "manual_send"), contact_ids=(None,)):
    """Append ``n`` entries cycling through kinds and contacts, one minute apart."""
    with db.write() as s:
        for i in range(n):
            clock.advance(minutes=1)
            activity.append(
                s,
                kind=kinds[i % len(kinds)],
                summary=f"entry {i}",
                actor="Test",
                contact_id=contact_ids[i % len(contact_ids)],
                contact_name=f"Person {contact_ids[i % len(contact_ids)]}",
                automation_id=7 if i % 5 == 0 else None,
                details={"n": i},
                clock=clock,
            )


def opt_out(db, clock, contact_id: int, **kwargs) -> None:
    with db.write() as s:
        contact = contacts.get_contact_row(s, contact_id)
        consent.opt_out_contact(
            s, contact, actor="Test", clock=clock, **{"source": "manual_toggle", **kwargs}
        )


def tamper(db, statement: str) -> None:
    """Change the log behind the application's back (triggers off, as an attacker could)."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS activity_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS activity_log_no_delete")
        else:
            conn.execute(text("ALTER TABLE activity_log DISABLE TRIGGER activity_log_append_only"))
        conn.execute(text(statement))
        if db.is_postgres:
            conn.execute(text("ALTER TABLE activity_log ENABLE TRIGGER activity_log_append_only"))


def write_csv(folder: Path, content: str | bytes, name: str = "contacts.csv") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


ONE_DAY = timedelta(days=1)
