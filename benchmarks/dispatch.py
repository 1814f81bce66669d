"""Auto Queue dispatch speed: 10,000 due Send SMS items, half to opted-out contacts.

Builds the data set in a fresh SQLite file (or ``--db URL``), dispatches it
with the sandbox provider through the real gateway, several times, and prints
the median and spread in items per second. As a floor it does the same
database work with plain sqlite3 statements (claim, consent check, outbound
row, queue update; no ORM, no activity log) and prints the ratio.

    python benchmarks/dispatch.py [--items 10000] [--runs 5] [--db URL]

The goal (issue 6) is at least 1,000 items per second on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from benchmarks._timing import report  # noqa: E402
from trustpager_desktop.core import automations  # noqa: E402
from trustpager_desktop.core.auto_queue import QueueDispatcher  # noqa: E402
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput  # noqa: E402
from trustpager_desktop.core.clock import FixedClock  # noqa: E402
from trustpager_desktop.core.gateway import OutboundGateway  # noqa: E402
from trustpager_desktop.core.settings import AppSettings  # noqa: E402
from trustpager_desktop.providers.sandbox_provider import SandboxProvider  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402
from trustpager_desktop.store.models import Contact  # noqa: E402

# 18:00 UTC: 13:00 in New York, 10:00 in California, inside quiet hours everywhere in the US.
NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
TARGET_PER_SECOND = 1_000


def build(db: Database, items: int) -> None:
    """``items`` contacts (every other one opted out), one automation, everyone enrolled."""
    clock = FixedClock(NOW - timedelta(minutes=5))
    rows = [
        {
            "first_name": f"Customer{i}",
            "last_name": "Bench",
            "company": "Acme",
            "email": "",
            "phone_raw": f"+1415{i:07d}",
            "phone_e164": f"+1415{i:07d}",
            "tags": "bench",
            "search_text": "",
            "sms_opted_out": i % 2 == 1,
            "created_at": clock.now(),
            "updated_at": clock.now(),
        }
        for i in range(items)
    ]
    with db.write() as s:
        s.execute(insert(Contact), rows)
        view = automations.create_automation(
            s,
            AutomationInput(
                "Bench", [StepInput("send_sms", template="Hi {first_name}, see you soon.")]
            ),
            clock=clock,
        )
        automations.enroll(s, view.id, Audience(everyone=True), actor="bench", clock=clock)


def run_once(url: str, items: int) -> float:
    """Seconds one ``dispatch_due`` takes over a database already holding the data set."""
    db = Database.open(url)
    try:
        clock = FixedClock(NOW)
        gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
        dispatcher = QueueDispatcher(db, gateway, settings=AppSettings(), clock=clock)
        started = time.perf_counter()
        report = dispatcher.dispatch_due()
        elapsed = time.perf_counter() - started
        assert report.sent == items // 2 and report.skipped == items - items // 2, report
        return elapsed
    finally:
        db.close()


def floor_once(path: Path) -> float:
    """The same rows read and written with bare sqlite3: the fastest this could be."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    now = NOW.replace(tzinfo=None).isoformat(" ")
    started = time.perf_counter()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM queue_items WHERE status='pending' AND due_at<=? "
                "ORDER BY due_at, id LIMIT 200",
                (now,),
            )
        ]
        if not ids:
            conn.execute("COMMIT")
            break
        marks = ",".join("?" * len(ids))
        conn.execute(f"UPDATE queue_items SET status='in_flight' WHERE id IN ({marks})", ids)
        for item_id in ids:
            cid, phone, out = conn.execute(
                "SELECT c.id, c.phone_e164, c.sms_opted_out FROM queue_items q "
                "JOIN contacts c ON c.id=q.contact_id WHERE q.id=?",
                (item_id,),
            ).fetchone()
            status = "suppressed" if out else "sent"
            cur = conn.execute(
                "INSERT INTO outbound_messages (contact_id,to_e164,body,origin,action_type,"
                "suppression_checked,suppression_result,recipient_opted_out,status,provider,"
                "segments,encoding,attempts,created_at,updated_at) "
                "VALUES (?,?,?,'automation','send_sms',1,'allowed',?,?,'sandbox',1,'GSM-7',1,?,?)",
                (cid, phone, "Hi", out, status, now, now),
            )
            conn.execute(
                "UPDATE queue_items SET status=?, outbound_message_id=? WHERE id=?",
                ("skipped" if out else "sent", cur.lastrowid, item_id),
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def sqlite_template(folder: Path, items: int) -> Path:
    """Build the data set once; every run (ours and the floor) starts from a copy."""
    path = folder / "template.db"
    db = Database.open(f"sqlite:///{path}")
    build(db, items)
    db.close()
    return path


def fresh_copy(template: Path, name: str) -> Path:
    path = template.with_name(name)
    shutil.copyfile(template, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", help="a PostgreSQL URL to use instead of fresh SQLite files")
    args = parser.parse_args()
    times, floors = [], []
    with tempfile.TemporaryDirectory() as folder:
        template = sqlite_template(Path(folder), args.items)
        for run in range(args.runs):
            if args.db:
                _empty_postgres(args.db)
                db = Database.open(args.db)
                build(db, args.items)
                db.close()
            url = args.db or f"sqlite:///{fresh_copy(template, f'run{run}.db')}"
            times.append(run_once(url, args.items))
            print(f"run {run + 1}: {args.items / times[-1]:,.0f} items/s ({times[-1]:.2f} s)")
            floors.append(floor_once(fresh_copy(template, f"floor{run}.db")))
    rates = [args.items / t for t in times]
    print(
        f"\ndispatch of {args.items:,} due Send SMS items (half opted out), sandbox provider, "
        f"{'PostgreSQL' if args.db else 'SQLite'}, {args.runs} runs"
    )
    report(
        "dispatch_due (floor: plain sqlite3)",
        times,
        target_ms=args.items / TARGET_PER_SECOND * 1000,
        floor=floors,
    )
    met = statistics.median(rates) >= TARGET_PER_SECOND
    print(
        f"items/s: median {statistics.median(rates):,.0f} (min {min(rates):,.0f}, "
        f"max {max(rates):,.0f}); floor {args.items / statistics.median(floors):,.0f} items/s; "
        f"target >= {TARGET_PER_SECOND:,} items/s: {'MET' if met else 'MISSED'}"
    )
    return 0


def _empty_postgres(url: str) -> None:
    from trustpager_desktop.store.models import Base

    db = Database.open(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(select(1))
    db.close()


if __name__ == "__main__":
    sys.exit(main())
