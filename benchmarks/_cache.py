"""Large SQLite databases the window benchmarks share, built once and cached in /tmp.

The file names carry the schema head revision, so a new migration builds fresh
files instead of reusing stale ones. Delete /tmp/trustpager-bench-* to rebuild.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.datasets import add_contacts
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.migrate import head_revision

CONTACTS = 100_000
LOG_ENTRIES = 1_000_000
BENCHMARKS = Path(__file__).resolve().parent


def contacts_db(count: int = CONTACTS) -> Path:
    """An SQLite file holding ``count`` realistic contacts (FTS index filled by its triggers)."""
    path = Path(f"/tmp/trustpager-bench-contacts-{count}-{head_revision()}.db")
    if not path.exists():
        began = time.perf_counter()
        print(f"Building {path} ...", flush=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        db = Database.open(f"sqlite:///{partial}")
        add_contacts(db, count)
        db.close()
        _analyze(partial)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - began:.1f} s", flush=True)
    return path


def log_db(entries: int = LOG_ENTRIES) -> Path:
    """The activity-log benchmark's cached database (built by running that script's builder)."""
    path = Path(f"/tmp/trustpager-bench-log-{entries}-{head_revision()}.db")
    if not path.exists():
        print(f"Building {path} (benchmarks/activity_log.py's data set) ...", flush=True)
        from benchmarks.activity_log import build

        print(f"  built in {build(path, entries):.1f} s", flush=True)
    return path


def combined_db(contacts: int = CONTACTS, entries: int = LOG_ENTRIES) -> Path:
    """A copy of the log database with ``contacts`` contacts added: an office after years."""
    path = Path(f"/tmp/trustpager-bench-combined-{contacts}-{entries}-{head_revision()}.db")
    if not path.exists():
        source = log_db(entries)
        began = time.perf_counter()
        print(f"Building {path} ...", flush=True)
        partial = path.with_suffix(".partial")
        _checkpoint(source)
        shutil.copyfile(source, partial)
        db = Database.open(f"sqlite:///{partial}")
        add_contacts(db, contacts)
        db.close()
        _analyze(partial)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - began:.1f} s", flush=True)
    return path


def insights_db(contacts: int = CONTACTS, entries: int = LOG_ENTRIES) -> Path:
    """The combined database plus a year of texting behind the log: outbound texts with
    delivery statuses, replies, opt-outs and a review queue (benchmarks/insights_page.py)."""
    # v2: delivery statuses in delivery_status (v1 put them in the gateway's status column)
    path = Path(f"/tmp/trustpager-bench-insights-v2-{contacts}-{entries}-{head_revision()}.db")
    if not path.exists():
        source = combined_db(contacts, entries)
        began = time.perf_counter()
        print(f"Building {path} ...", flush=True)
        partial = path.with_suffix(".partial")
        _checkpoint(source)
        shutil.copyfile(source, partial)
        from benchmarks.datasets import add_texting_history

        add_texting_history(partial, contacts)
        _analyze(partial)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - began:.1f} s", flush=True)
    return path


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so a plain file copy holds every row."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _analyze(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.commit()
    conn.close()


def run_child(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python args...`` from the repository root, output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=BENCHMARKS.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
