"""Inbox ingest speed: one full poll cycle (list + store + process) over 10,000 texts.

Starts the local Twilio-compatible server (tests/support/fake_twilio.py), loads
N inbound messages (10% STOP variants, from numbers that belong to contacts),
and times ``InboxPoller.run_once`` on a fresh database, several runs, on SQLite
and on PostgreSQL when a server answers at 127.0.0.1:5432. Prints messages per
second (median and spread), the split between listing, storing and
processing, checks that every STOP was acted on within that one poll, and
times the same inserts done with plain ``sqlite3`` as a floor. Target: >= 500
messages/s for the whole cycle.

    python benchmarks/inbox_ingest.py [--messages 10000] [--runs 5] [--no-postgres]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from benchmarks._timing import report  # noqa: E402
from tests.support.databases import (  # noqa: E402
    PostgresScratch,
    SqliteTemplate,
    postgres_unavailable_reason,
)
from tests.support.fake_twilio import FakeTwilio  # noqa: E402
from trustpager_desktop.core import inbox, inbox_read  # noqa: E402
from trustpager_desktop.core.clock import FixedClock  # noqa: E402
from trustpager_desktop.core.replies import ReplyKind  # noqa: E402
from trustpager_desktop.core.settings import AppSettings  # noqa: E402
from trustpager_desktop.providers.twilio_provider import TwilioProvider  # noqa: E402
from trustpager_desktop.runtime import inbox_poller  # noqa: E402
from trustpager_desktop.store.models import Contact, InboundMessage  # noqa: E402

STOP_VARIANTS = ["STOP", "stop.", "Opt-Out", "UNSUBSCRIBE 🙏", "Stop all", "QUIT", "end", "REVOKE"]
OTHER_BODIES = [
    "Thanks!",
    "See you at 3",
    "Can we move it to Friday?",
    "ok",
    "Cancel my appointment",
]
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
TARGET_PER_SECOND = 500


def number(n: int) -> str:
    return f"+1415{2000000 + n:07d}"


def load_messages(fake: FakeTwilio, count: int) -> dict[str, str]:
    """Put ``count`` inbound texts in the fake account; returns {sid: number} for the STOPs."""
    stops = {}
    start = NOW - timedelta(hours=20)
    for n in range(count):
        sender = number(n % (count // 4 or 1))
        is_stop = n % 10 == 0
        body = STOP_VARIANTS[n % len(STOP_VARIANTS)] if is_stop else OTHER_BODIES[n % 5]
        sid = fake.add_inbound(sender, fake.phone_number, body, start + timedelta(seconds=n))
        if is_stop:
            stops[sid] = sender
    return stops


def add_contacts(db, count: int) -> None:
    """One contact per sending number (a quarter of the messages' count), in one insert."""
    rows = [
        {
            "first_name": f"C{n}",
            "last_name": "Bench",
            "phone_raw": number(n),
            "phone_e164": number(n),
            "search_text": f"c{n} bench",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(count)
    ]
    with db.write() as s:
        s.execute(insert(Contact), rows)


def one_run(db, provider, stops: dict[str, str], count: int) -> dict[str, float]:
    add_contacts(db, count // 4)
    clock = FixedClock(NOW)
    poller = inbox_poller.InboxPoller(db, provider, clock, settings=AppSettings())

    # The reader stores page by page through its own reference to store_inbound
    # (core.inbox_read); the poller processes through core.inbox. Both are timed where
    # they are looked up, and a phase called several times (a page each) adds up.
    real_store, real_process = inbox_read.store_inbound, inbox.process_pending
    phases: dict[str, float] = {"store": 0.0, "process": 0.0}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                phases[name] += time.perf_counter() - t

        return wrapper

    inbox_read.store_inbound = timed("store", real_store)
    inbox.process_pending = timed("process", real_process)
    try:
        started = time.perf_counter()
        report = poller.run_once()
        phases["total"] = time.perf_counter() - started
    finally:
        inbox_read.store_inbound, inbox.process_pending = real_store, real_process
    phases["list"] = phases["total"] - phases["store"] - phases["process"]
    if not report.ok:
        raise SystemExit(f"poll failed: {report.message}")
    check_stops(db, stops)
    return phases


def check_stops(db, stops: dict[str, str]) -> None:
    """Every STOP processed in this one poll, and every sender opted out."""
    with db.read() as s:
        unprocessed = s.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.processed_at.is_(None))
        )
        flagged = set(
            s.scalars(
                select(InboundMessage.sid).where(InboundMessage.classification == ReplyKind.OPT_OUT)
            )
        )
        opted_out = set(
            s.scalars(select(Contact.phone_e164).where(Contact.sms_opted_out.is_(True)))
        )
    missing = set(stops) - flagged
    not_out = set(stops.values()) - opted_out
    if unprocessed or missing or not_out:
        raise SystemExit(
            f"STOP check failed: {unprocessed} unprocessed, {len(missing)} STOPs not flagged, "
            f"{len(not_out)} senders not opted out"
        )


def sqlite3_floor(records) -> float:
    """The same rows inserted with plain sqlite3 (executemany, one transaction)."""
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE m (id INTEGER PRIMARY KEY, sid TEXT UNIQUE, from_number TEXT, "
            "from_e164 TEXT, to_number TEXT, body TEXT, date_sent TEXT, fetched_at TEXT, "
            "processed_at TEXT)"
        )
        rows = [
            (r.sid, r.from_number, r.from_number, r.to_number, r.body, r.date_sent.isoformat(), "x")
            for r in records
        ]
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO m (sid, from_number, from_e164, to_number, body, date_sent, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sid) DO NOTHING",
            rows,
        )
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return elapsed


def store_only(make_db, records) -> float:
    db = make_db()
    started = time.perf_counter()
    inbox.store_inbound(db, records, FixedClock(NOW))
    return time.perf_counter() - started


def summarise(label: str, runs: list[dict[str, float]], count: int) -> float:
    rates = [count / r["total"] for r in runs]
    median = statistics.median(rates)
    print(f"\n{label}: full poll cycle, {count:,} messages, {len(runs)} runs")
    report(f"{label}: poll cycle (list + store + process)", [r["total"] for r in runs],
           target_ms=count / TARGET_PER_SECOND * 1000)  # fmt: skip
    print(f"  messages/s  median {median:,.0f}  (min {min(rates):,.0f}, max {max(rates):,.0f})")
    for phase in ("list", "store", "process"):
        values = [r[phase] for r in runs]
        print(
            f"  {phase:<8} median {statistics.median(values):6.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )
    print(f"  every STOP flagged and its sender opted out within one poll: yes ({len(runs)} runs)")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    count = args.messages

    fake = FakeTwilio().start()
    stops = load_messages(fake, count)
    provider = TwilioProvider(
        fake.account_sid, fake.auth_token, fake.phone_number, api_base=fake.base_url, timeout=30
    )
    records = list(provider.list_inbound(NOW - timedelta(days=1)))
    print(f"{count:,} inbound messages, {len(stops):,} STOP variants, PageSize 1000")

    folder = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    template = SqliteTemplate(folder)
    made = iter(range(1_000_000))

    def fresh_sqlite():
        run_folder = folder / f"run{next(made)}"
        run_folder.mkdir()
        return template.fresh(run_folder)

    results = {}
    sqlite_runs = [one_run(fresh_sqlite(), provider, stops, count) for _ in range(args.runs)]
    results["SQLite"] = summarise("SQLite", sqlite_runs, count)

    floors = [sqlite3_floor(records) for _ in range(args.runs)]
    stores = [store_only(fresh_sqlite, records) for _ in range(args.runs)]
    print()
    report("SQLite: storing alone (floor: sqlite3 executemany)", stores, floor=floors)
    print(
        "  the floor is only the inserts; the whole cycle against it: "
        f"{statistics.median(r['total'] for r in sqlite_runs) / statistics.median(floors):.0f}x"
    )

    reason = None if not args.no_postgres else "--no-postgres"
    reason = reason or postgres_unavailable_reason()
    if reason:
        print(f"\nPostgreSQL skipped: {reason}")
    else:
        scratch = PostgresScratch()
        try:
            pg_runs = [one_run(scratch.fresh(), provider, stops, count) for _ in range(args.runs)]
            results["PostgreSQL"] = summarise("PostgreSQL", pg_runs, count)
        finally:
            scratch.close()
    fake.stop()

    print()
    for label, rate in results.items():
        verdict = "MET" if rate >= TARGET_PER_SECOND else "MISSED"
        print(
            f"{label}: median {rate:,.0f} msgs/s; target >= {TARGET_PER_SECOND} msgs/s: {verdict}"
        )
    return 0 if all(rate >= TARGET_PER_SECOND for rate in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
