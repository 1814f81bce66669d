"""Auto Queue dispatch speed: 10,000 due Send SMS items, half to opted-out contacts.

SQLite and PostgreSQL in the same run, side by side: each run builds the data
set in a fresh SQLite file and in a scratch PostgreSQL database (the server at
127.0.0.1:5432 the tests use), dispatches it with the sandbox provider through
the real gateway, and times ``dispatch_due``; the runs alternate between the
two, so a busy moment on a shared machine hits both alike. Median and spread
in items per second, each against its floor (the same database work with the
bare driver: claim, consent check, outbound row, queue update; no ORM, no
activity log) and the PostgreSQL / SQLite ratio.

    python benchmarks/dispatch.py [--items 10000] [--runs 5] [--no-postgres] [--no-analyze]

The PostgreSQL data set is ANALYZEd once built, as autovacuum does on a live server
(``--no-analyze``: without statistics). The SQLite file is left as the application
leaves it (it never runs ANALYZE, and SQLite plans without statistics).

Goals: at least 1,000 items per second on a 2-core machine (issue 6), and
PostgreSQL at least as fast as SQLite in the same run (issue 18).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from tests.support.databases import PostgresScratch, postgres_unavailable_reason  # noqa: E402
from trustpager_desktop.core import automations, log_keys  # noqa: E402
from trustpager_desktop.core.auto_queue import QueueDispatcher  # noqa: E402
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput  # noqa: E402
from trustpager_desktop.core.clock import FixedClock  # noqa: E402
from trustpager_desktop.core.gateway import OutboundGateway  # noqa: E402
from trustpager_desktop.core.settings import AppSettings  # noqa: E402
from trustpager_desktop.core.states import MessageStatus, QueueStatus  # noqa: E402
from trustpager_desktop.providers.sandbox_provider import SandboxProvider  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402
from trustpager_desktop.store.models import Contact  # noqa: E402

# 18:00 UTC: 13:00 in New York, 10:00 in California, inside quiet hours everywhere in the US.
NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
TARGET_PER_SECOND = 1_000
CLAIM = 200  # the floors claim like the dispatcher


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


def dispatch_seconds(db: Database, items: int) -> float:
    """Seconds one ``dispatch_due`` takes over a database already holding the data set."""
    clock = FixedClock(NOW)
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    dispatcher = QueueDispatcher(db, gateway, settings=AppSettings(), clock=clock)
    started = time.perf_counter()
    report = dispatcher.dispatch_due()
    elapsed = time.perf_counter() - started
    assert report.sent == items // 2 and report.skipped == items - items // 2, report
    return elapsed


# -- the floors: the same rows read and written with the bare driver ----------------------------


def sqlite_floor(path: Path) -> float:
    """Plain sqlite3: per batch of 200, claim, then per item the consent read, the outbound
    row and the queue update, in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    now = NOW.replace(tzinfo=None).isoformat(" ")
    started = time.perf_counter()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM queue_items WHERE status='pending' AND due_at<=? "
                f"ORDER BY due_at, id LIMIT {CLAIM}",
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
            status = MessageStatus.SUPPRESSED if out else MessageStatus.SENT
            cur = conn.execute(
                "INSERT INTO outbound_messages (contact_id,to_e164,body,origin,action_type,"
                "suppression_checked,suppression_result,recipient_opted_out,status,provider,"
                "segments,encoding,attempts,created_at,updated_at) "
                "VALUES (?,?,?,'automation','send_sms',1,'allowed',?,?,'sandbox',1,'GSM-7',1,?,?)",
                (cid, phone, "Hi", out, status, now, now),
            )
            conn.execute(
                "UPDATE queue_items SET status=?, outbound_message_id=? WHERE id=?",
                (QueueStatus.SKIPPED if out else QueueStatus.SENT, cur.lastrowid, item_id),
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def postgres_floor(url: str) -> float:
    """Plain psycopg: per batch of 200 in one transaction, claim (SKIP LOCKED), read the
    contacts, insert the outbound rows and update the queue rows, each as one statement
    (a round trip per item would be no floor on a client-server database)."""
    import psycopg

    now = NOW.replace(tzinfo=None)
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.perf_counter()
    with psycopg.connect(conninfo) as conn:
        while True:
            with conn.transaction():
                ids = [
                    r[0]
                    for r in conn.execute(
                        "UPDATE queue_items SET status='in_flight' WHERE id IN (SELECT id FROM "
                        "queue_items WHERE status='pending' AND due_at<=%s ORDER BY due_at, id "
                        f"LIMIT {CLAIM} FOR UPDATE SKIP LOCKED) RETURNING id",
                        (now,),
                    )
                ]
                if not ids:
                    break
                rows = conn.execute(
                    "SELECT q.id, c.id, c.phone_e164, c.sms_opted_out FROM queue_items q "
                    "JOIN contacts c ON c.id=q.contact_id WHERE q.id = ANY(%s)",
                    (ids,),
                ).fetchall()
                message_ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT nextval(pg_get_serial_sequence('outbound_messages', 'id')) "
                        "FROM generate_series(1, %s)",
                        (len(rows),),
                    )
                ]
                out = [r[3] for r in rows]
                conn.execute(
                    "INSERT INTO outbound_messages (id,contact_id,to_e164,body,origin,"
                    "action_type,suppression_checked,suppression_result,recipient_opted_out,"
                    "status,provider,segments,encoding,attempts,created_at,updated_at) "
                    "SELECT m, c, t, 'Hi', 'automation', 'send_sms', true, 'allowed', o, "
                    "CASE WHEN o THEN 'suppressed' ELSE 'sent' END, 'sandbox', 1, 'GSM-7', 1, "
                    "%s, %s FROM unnest(%s::int[], %s::int[], %s::text[], %s::bool[]) "
                    "AS v(m, c, t, o)",
                    (now, now, message_ids, [r[1] for r in rows], [r[2] for r in rows], out),
                )
                conn.execute(
                    "UPDATE queue_items q SET status = CASE WHEN v.o THEN 'skipped' ELSE 'sent' "
                    "END, outbound_message_id = v.m FROM unnest(%s::int[], %s::int[], "
                    "%s::bool[]) AS v(i, m, o) WHERE q.id = v.i",
                    ([r[0] for r in rows], message_ids, out),
                )
    return time.perf_counter() - started


# -- running ----------------------------------------------------------------------------------


class Backend:
    """One database kind: makes a fresh copy of the data set, measures a run and a floor."""

    def __init__(self, name: str, fresh: Callable[[], Database], floor: Callable[[], float]):
        self.name, self.fresh, self.floor = name, fresh, floor
        self.times: list[float] = []
        self.floors: list[float] = []

    def run(self, items: int) -> float:
        db = self.fresh()
        try:
            self.times.append(dispatch_seconds(db, items))
        finally:
            db.close()
        self.floors.append(self.floor())
        return items / self.times[-1]


def sqlite_backend(folder: Path, items: int) -> Backend:
    template = folder / "template.db"
    db = Database.open(f"sqlite:///{template}")
    build(db, items)
    db.close()
    made = iter(range(1_000_000))

    def copy() -> Path:
        path = folder / f"run{next(made)}.db"
        shutil.copyfile(template, path)
        return path

    return Backend(
        "SQLite", lambda: Database.open(f"sqlite:///{copy()}"), lambda: sqlite_floor(copy())
    )


def postgres_backend(scratch: PostgresScratch, items: int, analyze: bool = True) -> Backend:
    """The data set is built once and kept as a template database; each run gets a copy
    (CREATE DATABASE .. TEMPLATE), like the SQLite file copies."""
    build(scratch.fresh(), items)
    if analyze:
        # A live server's autovacuum gathers planner statistics within a minute of a big
        # enrolment; a database copied from a template just built has none yet.
        with scratch.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    scratch.db.engine.dispose()  # a template database must have no connections
    template = scratch.url.rsplit("/", 1)[1]
    admin = Database.open(scratch.url.rsplit("/", 1)[0] + "/postgres", migrate=False)
    made = iter(range(1_000_000))

    def copy() -> str:
        name = f"{template}_run{next(made)}"
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return scratch.url.rsplit("/", 1)[0] + "/" + name

    backend = Backend("PostgreSQL", lambda: Database.open(copy()), lambda: postgres_floor(copy()))
    backend.drop_copies = lambda: _drop_copies(admin, template)  # type: ignore[attr-defined]
    return backend


def _drop_copies(admin: Database, template: str) -> None:
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        names = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{template}_run%"}
        ).scalars()
        for name in list(names):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.close()


def summary_line(backend: Backend, items: int) -> tuple[str, float]:
    rates = [items / t for t in backend.times]
    floor = items / statistics.median(backend.floors)
    median = statistics.median(rates)
    ratio = statistics.median(backend.times) / statistics.median(backend.floors)
    verdict = "MET" if median >= TARGET_PER_SECOND else "MISSED"
    line = (
        f"{backend.name:<11} {median:>7,.0f} items/s ({min(rates):,.0f}-{max(rates):,.0f})"
        f"   floor {floor:>7,.0f} items/s   ratio {ratio:4.1f}x   "
        f"target >= {TARGET_PER_SECOND:,}: {verdict}"
    )
    return line, median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL without planner statistics (as if autovacuum had not run yet)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # The log's chain heads and key in a folder of its own: each commit rewrites the
        # heads file, and the user's real one gains two scratch databases every run (a
        # cost that grew with every earlier run on the machine, SQLite and PostgreSQL alike).
        os.environ[log_keys.DATA_DIR_ENV] = str(Path(folder) / "data")
        backends = [sqlite_backend(Path(folder), args.items)]
        reason = "--no-postgres" if args.no_postgres else postgres_unavailable_reason()
        scratch = None if reason else PostgresScratch()
        if scratch is not None:
            backends.append(postgres_backend(scratch, args.items, not args.no_analyze))
        try:
            for run in range(args.runs):
                for backend in backends:  # alternate: a busy moment hits both alike
                    rate = backend.run(args.items)
                    print(f"run {run + 1} {backend.name}: {rate:,.0f} items/s", flush=True)
        finally:
            for backend in backends:
                getattr(backend, "drop_copies", lambda: None)()
            if scratch is not None:
                scratch.close()
    print(
        f"\ndispatch of {args.items:,} due Send SMS items (half opted out), sandbox provider, "
        f"median of {args.runs} runs each, SQLite and PostgreSQL alternating"
    )
    medians = {}
    for backend in backends:
        line, medians[backend.name] = summary_line(backend, args.items)
        print(line)
    if reason:
        print(f"PostgreSQL skipped: {reason}")
    else:
        ratio = medians["PostgreSQL"] / medians["SQLite"]
        print(
            f"PostgreSQL / SQLite: {ratio:.2f}; PostgreSQL at least as fast as SQLite: "
            f"{'MET' if ratio >= 1 else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
