"""Activity log viewer at 1,000,000 entries: how long opening and filtering take.

    QT_QPA_PLATFORM=offscreen python benchmarks/activity_log.py [--entries N] [--runs R]

Builds (once; cached under /tmp) an SQLite database with N entries and a valid
hash chain, then measures, several runs each (median and spread):

- opening the view: ActivityPage constructed offscreen until its first page is shown
  (read on the background runner, as every filter and scroll below);
- applying a filter: kind, contact, automation, free text (common and rare word);
- scrolling: the model's next page;
- the same queries in plain sqlite3 as a floor, and our time / floor;
- proving the log (issue 18): a full ``log verify`` of every entry, then an
  incremental one after 10,000 new entries (from the checkpoint the full one
  signed), and a full verify of the same log in the unkeyed format older versions
  wrote; the floor is plain sqlite3 reading the same rows and computing one
  HMAC-SHA256 per row (hashlib, the key's pads hashed once).

Goals: opening the view and applying a filter each well under 500 ms (issue 7);
a full verify of 1,000,000 entries under 5 s, 10,000 new entries under 1 s (issue 18).

The log key and chain heads go to /tmp/trustpager-bench-userdata (TRUSTPAGER_DATA_DIR).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from trustpager_desktop.core.states import ActivityKind

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TRUSTPAGER_DATA_DIR", "/tmp/trustpager-bench-userdata")

from trustpager_desktop.core import log_keys  # noqa: E402
from trustpager_desktop.core.activity import (  # noqa: E402
    GENESIS_HASH,
    _canonical,
    compute_hash,
    entry_message,
)
from trustpager_desktop.store.database import Database  # noqa: E402
from trustpager_desktop.store.migrate import head_revision  # noqa: E402

CONTACTS = 20_000
AUTOMATIONS = 10
BATCH = 20_000
KIND_WEIGHTS = [
    (ActivityKind.AUTOMATION_SENT, 40),
    (ActivityKind.INBOUND_MESSAGE, 20),
    (ActivityKind.MANUAL_SEND, 12),
    (ActivityKind.CONTACT_UPDATED, 10),
    (ActivityKind.AUTOMATION_SKIPPED, 6),
    (ActivityKind.CONTACT_CREATED, 5),
    (ActivityKind.AUTOMATION_FAILED, 2),
    (ActivityKind.OPT_OUT, 2),
    (ActivityKind.STOP_REPLY, 1),
    (ActivityKind.RE_CONSENT, 1),
    (ActivityKind.SETTINGS_CHANGE, 1),
]
WORDS = [
    "reminder",
    "appointment",
    "tomorrow",
    "thanks",
    "invoice",
    "delivery",
    "confirm",
    "schedule",
    "visit",
]
RARE_WORD = "zebracorn"  # appears in one entry in 100,000
SQLA_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def _entry(i: int, rng: random.Random, start: datetime) -> SimpleNamespace:
    kind = rng.choices([k for k, _ in KIND_WEIGHTS], [w for _, w in KIND_WEIGHTS])[0]
    contact_id = rng.randrange(1, CONTACTS + 1)
    automation_id = rng.randrange(1, AUTOMATIONS + 1) if kind.startswith("automation") else None
    words = " ".join(rng.choices(WORDS, k=3))
    if i % 100_000 == 50_000:
        words += " " + RARE_WORD
    when = start + timedelta(seconds=i * 30)
    return SimpleNamespace(
        occurred_at=when,
        recorded_at=when,
        kind=kind,
        contact_id=contact_id,
        contact_name=f"Contact {contact_id}",
        automation_id=automation_id,
        actor="Runner" if automation_id else "Office",
        summary=f"{kind.replace('_', ' ').capitalize()}: {words}",
        details=_canonical({"message_sid": f"SM{i:032x}", "body": words}),
    )


def build(path: Path, entries: int, *, signed: bool = True) -> float:
    """Create the database file with ``entries`` chained entries; returns seconds taken.

    ``signed``: entries as this version writes them (HMAC with the benchmark's log key,
    key id and position); otherwise the unkeyed SHA-256 format of earlier versions."""
    began = time.perf_counter()
    path.unlink(missing_ok=True)
    Database.open(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    key = log_keys.key_ring().own_key()
    signer = key.signer()
    prev = GENESIS_HASH
    insert = (
        "INSERT INTO activity_log (id, occurred_at, recorded_at, kind, contact_id, contact_name, "
        "automation_id, actor, summary, details, prev_hash, entry_hash, key_id, seq) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    conn.executemany(
        "INSERT INTO automations (id, name, enabled, created_at) VALUES (?,?,1,?)",
        [(a, f"Automation {a}", start.strftime(SQLA_TIME)) for a in range(1, AUTOMATIONS + 1)],
    )
    for first in range(1, entries + 1, BATCH):
        rows = []
        for i in range(first, min(first + BATCH, entries + 1)):
            e = _entry(i, rng, start)
            if signed:
                fields = {**vars(e), "prev_hash": prev, "key_id": key.key_id, "seq": i}
                digest = signer.sign(entry_message(fields))
            else:
                digest = compute_hash(e, prev)  # type: ignore[arg-type]
            stamp = e.occurred_at.replace(tzinfo=None).strftime(SQLA_TIME)
            rows.append(
                (
                    i,
                    stamp,
                    stamp,
                    e.kind,
                    e.contact_id,
                    e.contact_name,
                    e.automation_id,
                    e.actor,
                    e.summary,
                    e.details,
                    prev,
                    digest,
                    key.key_id if signed else None,
                    i if signed else None,
                )
            )
            prev = digest
        conn.executemany(insert, rows)
        conn.commit()
        print(f"\r  built {min(first + BATCH - 1, entries):>9,} entries", end="", flush=True)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    print()
    return time.perf_counter() - began


def measure(label: str, fn: Callable[[], object], runs: int, floor: float | None = None) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    ratio = f"  x{med / floor:5.1f} of sqlite3" if floor else ""
    print(
        f"  {label:<44} median {med:7.1f} ms  (min {min(times):6.1f}, max {max(times):6.1f}){ratio}"
    )
    return med


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--verify-runs", type=int, default=3)
    parser.add_argument("--only-proof", action="store_true", help="skip the viewer figures")
    args = parser.parse_args()
    path = Path(f"/tmp/trustpager-bench-log-{args.entries}-{head_revision()}.db")
    if args.rebuild or not path.exists():
        print(f"Building {path} ...")
        print(f"  built in {build(path, args.entries):.1f} s")
    else:
        print(f"Reusing {path}")
    if args.only_proof:
        log_proof(path, args)
        return 0

    from PySide6.QtWidgets import QApplication

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.ui.activity_page import ActivityPage
    from trustpager_desktop.ui.runner import wait_until
    from trustpager_desktop.usecases.activity import ActivityService

    _app = QApplication.instance() or QApplication([])  # kept alive until the end
    services = AppServices(Database.open(f"sqlite:///{path}"))
    raw = sqlite3.connect(path)
    cols = "id, occurred_at, recorded_at, kind, contact_id, contact_name, automation_id, actor, summary, details"
    top = raw.execute("SELECT max(id) FROM activity_log").fetchone()[0]

    def floor(label: str, sql: str, *params: object) -> float:
        return measure(f"sqlite3: {label}", lambda: raw.execute(sql, params).fetchall(), args.runs)

    print(f"\n{top:,} entries, {args.runs} runs each\n")
    print("Floor (plain sqlite3, first page of 200):")
    f_open = floor("newest 200", f"SELECT {cols} FROM activity_log ORDER BY id DESC LIMIT 200")
    f_kind = floor(
        "kind = re_consent",
        f"SELECT {cols} FROM activity_log WHERE kind = ? ORDER BY id DESC LIMIT 200",
        ActivityKind.RE_CONSENT,
    )
    f_contact = floor(
        "one contact",
        f"SELECT {cols} FROM activity_log WHERE contact_id = ? ORDER BY id DESC LIMIT 200",
        4321,
    )
    like = "%reminder%"
    f_text = floor(
        "LIKE '%reminder%' on 3 columns",
        f"SELECT {cols} FROM activity_log WHERE summary LIKE ? OR contact_name LIKE ? OR details LIKE ? "
        "ORDER BY id DESC LIMIT 200",
        like,
        like,
        like,
    )

    print("\nTrustPager (ActivityPage offscreen, model filled in the database):")
    pages: list[ActivityPage] = []
    service = ActivityService(services)

    def settled(page: ActivityPage) -> None:
        """Reads run in the background: until what was asked for is on screen."""
        wait_until(lambda: not (page.is_loading or page.model.is_fetching), 60_000)

    def open_view() -> None:
        page = ActivityPage(service)
        page.poll_timer.stop()
        settled(page)
        pages.append(page)

    measure("open the view (page + first 200 rows)", open_view, args.runs, f_open)
    page = pages[-1]

    def set_kind() -> None:
        page.kind_combo.setCurrentIndex(0)
        page.kind_combo.setCurrentIndex(page.kind_combo.findData(ActivityKind.RE_CONSENT))

    def kind_only() -> None:
        page.model.set_filter(page.current_filter())
        settled(page)

    def apply() -> None:
        page.apply_filters()
        settled(page)

    page.clear_filters()
    page.kind_combo.setCurrentIndex(page.kind_combo.findData(ActivityKind.RE_CONSENT))
    settled(page)
    measure("filter: kind = Re-consent (rare kind)", kind_only, args.runs, f_kind)
    print(f"    rows shown: {page.model.rowCount()}")
    page.clear_filters()
    page.kind_combo.setCurrentIndex(page.kind_combo.findData(ActivityKind.AUTOMATION_SENT))
    settled(page)
    measure("filter: kind = Automation step sent (common)", kind_only, args.runs, f_open)
    page.clear_filters()
    measure(
        "filter: one contact",
        lambda: (page.show_contact(4321, "Contact 4321"), settled(page)),
        args.runs,
        f_contact,
    )
    print(f"    rows shown: {page.model.rowCount()}")
    page.clear_filters()
    page.automation_combo.setCurrentIndex(3)
    settled(page)
    measure("filter: one automation", kind_only, args.runs, f_open)
    page.clear_filters()
    page.text_search.blockSignals(True)
    page.text_search.setText("reminder")
    measure("filter: free text 'reminder' (common)", apply, args.runs, f_text)
    page.text_search.setText(RARE_WORD)
    measure(f"filter: free text '{RARE_WORD}' (rare)", apply, args.runs, f_text)
    print(f"    rows on first screen: {page.model.rowCount()} (scan bounded; scroll for more)")
    page.text_search.setText(f"{RARE_WORD} reminder")
    page.text_search.blockSignals(False)
    page.clear_filters()
    settled(page)

    def scroll() -> None:
        page.model.fetchMore()
        settled(page)

    measure("scroll: fetch the next 200 rows", scroll, args.runs, f_open)

    from trustpager_desktop.ui.common import dispose_widgets

    for p in pages:
        p.shutdown()
    dispose_widgets(*pages)
    services.db.close()
    raw.close()
    log_proof(path, args)
    return 0


def verify_floor(path: Path) -> float:
    """Plain sqlite3 reading every row's signed message and computing one HMAC-SHA256 each,
    the fastest way the standard library offers (the key's pads hashed once, then copied)."""
    padded = log_keys.key_ring().own_key().secret.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    conn = sqlite3.connect(path)
    sql = (
        "SELECT id, entry_hash, key_id, seq, prev_hash || char(31) || key_id || char(31) || seq "
        "|| char(31) || occurred_at || char(31) || recorded_at || char(31) || kind || char(31) "
        "|| ifnull(contact_id, '') || char(31) || contact_name || char(31) "
        "|| ifnull(automation_id, '') || char(31) || actor || char(31) || summary || char(31) "
        "|| details FROM activity_log ORDER BY id"
    )
    t0 = time.perf_counter()
    bad = 0
    for _id, entry_hash, _key, _seq, message in conn.execute(sql):
        i = inner.copy()
        i.update(message.encode())
        o = outer.copy()
        o.update(i.digest())
        if o.hexdigest() != entry_hash:
            bad += 1
    took = time.perf_counter() - t0
    conn.close()
    assert bad == 0
    return took


def _timed(label: str, fn: Callable[[], object], floor: float | None = None) -> float:
    t0 = time.perf_counter()
    result = fn()
    took = time.perf_counter() - t0
    ratio = f"  floor {floor:.2f} s, x{took / floor:.1f}" if floor else ""
    print(f"  {label:<58} {took:6.2f} s{ratio}")
    if result is not None and hasattr(result, "headline"):
        print(f"    {result.headline()}")
    return took


def log_proof(path: Path, args: argparse.Namespace) -> None:
    """Full and incremental verify on the signed log; full verify on the unkeyed format."""
    import shutil

    from trustpager_desktop.core import activity, log_verify

    print(f"\nProving the log ({args.entries:,} entries; each figure one run, repeated):")
    work = Path(f"/tmp/trustpager-bench-verify-{args.entries}.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, work)
    db = Database.open(f"sqlite:///{work}")
    # A fresh copy replaces the log this computer saw last run, on purpose: forget its head
    # (`trustpager log forget-head`), or verify rightly reports the last run's entries as cut.
    with db.read() as session:
        log_keys.chain_heads().forget(activity.database_name(session))
    floors = [verify_floor(work) for _ in range(3)]
    floor = statistics.median(floors)
    print(f"  floor: sqlite3 + one HMAC-SHA256 per row, median of 3: {floor:.2f} s")
    fulls = [
        _timed("log verify --full (no checkpoint saved)",
               lambda: log_verify.verify_log(db, full=True, read_only=True), floor)
        for _ in range(args.verify_runs)
    ]  # fmt: skip
    print(f"  full verify median {statistics.median(fulls):.2f} s (target < 5 s)")
    _timed(
        "log verify --full, signing the checkpoint", lambda: log_verify.verify_log(db, full=True)
    )
    t0 = time.perf_counter()
    with db.write() as session:
        activity.append_many(
            session,
            (
                activity.LogEntry(kind=ActivityKind.MANUAL_SEND, summary=f"new entry {i}",
                                  actor="Office", details={"n": i})
                for i in range(10_000)
            ),
        )  # fmt: skip
    print(f"  appended 10,000 entries in {time.perf_counter() - t0:.2f} s")
    incs = [
        _timed("log verify (incremental: 10,000 new entries)",
               lambda: log_verify.verify_log(db, read_only=True))
        for _ in range(args.verify_runs)
    ]  # fmt: skip
    print(f"  incremental verify median {statistics.median(incs):.3f} s (target < 1 s)")
    db.close()
    legacy = Path(f"/tmp/trustpager-bench-log-unkeyed-{args.entries}-{head_revision()}.db")
    if not legacy.exists():
        print(f"Building {legacy} (the unkeyed format of earlier versions) ...")
        print(f"  built in {build(legacy, args.entries, signed=False):.1f} s")
    old = Database.open(f"sqlite:///{legacy}")
    _timed("log verify --full on the unkeyed format (no checkpoint)",
           lambda: log_verify.verify_log(old, full=True, read_only=True))  # fmt: skip
    old.close()


if __name__ == "__main__":
    sys.exit(main())
