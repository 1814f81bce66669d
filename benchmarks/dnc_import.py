"""Importing a do-not-contact list of 100,000 numbers into an office of 100,000 contacts.

    python benchmarks/dnc_import.py [--numbers 100000] [--contacts 100000] [--runs 3]
                                    [--no-postgres]

The list is one column of numbers written the way people type them ("(415) 200-1234"):
half belong to contacts (a tenth of those already opted out), half to nobody. Measured,
on SQLite and on PostgreSQL, from empty tables each run (median and spread):

- reading and checking the file (every number parsed with ``phonenumbers``);
- the import: contacts opted out, unknown numbers held, a consent event and a signed
  log entry for each, in one transaction (batches of ``dnc_list.BATCH`` numbers);
- importing the same list again ("0 new": nothing written).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TRUSTPAGER_DATA_DIR", "/tmp/trustpager-bench-userdata")

from benchmarks._timing import report  # noqa: E402
from benchmarks.datasets import add_contacts  # noqa: E402
from tests.support.databases import (  # noqa: E402
    PostgresScratch,
    empty_all_tables,
    postgres_unavailable_reason,
)
from trustpager_desktop.core import dnc_list  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402


def write_list(folder: Path, numbers: int, contacts: int) -> Path:
    """Half the numbers are contacts' (+1 415 2xx xxxx), half nobody's (+1 415 7xx xxxx)."""
    lines = ["Do not contact"]
    for i in range(numbers):
        n = 2_000_000 + i % contacts if i % 2 == 0 else 7_000_000 + i
        digits = f"{n:07d}"
        lines.append(f"(415) {digits[:3]}-{digits[3:]}")
    path = folder / "dnc.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def run(name: str, make_db, path: Path, contacts: int, runs: int) -> None:  # type: ignore[no-untyped-def]
    reads, imports, again, cpu = [], [], [], []
    outcome = None
    for _ in range(runs):
        db = make_db()
        add_contacts(db, contacts)
        start = time.perf_counter()
        plan = dnc_list.read_dnc_file(path)
        reads.append(time.perf_counter() - start)
        start, cpu_start = time.perf_counter(), time.process_time()
        outcome = dnc_list.import_dnc_list(db, path, actor="Bench", plan=plan)
        imports.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        start = time.perf_counter()
        second = dnc_list.import_dnc_list(db, path, actor="Bench", plan=plan)
        again.append(time.perf_counter() - start)
        assert second.new == 0, second.describe()
    print(f"\n{name}: {outcome.describe() if outcome else ''}")
    print(f"{name}: load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    report(f"{name}: read and check the file", reads)
    report(f"{name}: import", imports)
    report(f"{name}: import, CPU time of this process", cpu)
    report(f"{name}: import the same list again (0 new)", again)
    numbers = len(plan.numbers)
    print(f"{name}: {numbers / statistics.median(imports):,.0f} numbers/s imported "
          f"({numbers / statistics.median(cpu):,.0f} per CPU second)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trustpager-bench-dnc-"))
    path = write_list(folder, args.numbers, args.contacts)
    print(f"List: {args.numbers:,} numbers ({path.stat().st_size / 1024:.0f} KB); "
          f"{args.contacts:,} contacts, a tenth opted out")  # fmt: skip

    def sqlite_db() -> Database:
        target = folder / "office.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        return Database.open(f"sqlite:///{target}")

    run("SQLite", sqlite_db, path, args.contacts, args.runs)
    reason = None if not args.no_postgres else "--no-postgres"
    reason = reason or postgres_unavailable_reason()
    if reason:
        print(f"\nPostgreSQL skipped: {reason}")
        return 0
    scratch = PostgresScratch()
    try:

        def pg_db() -> Database:
            empty_all_tables(scratch.db.engine)
            return scratch.db

        run("PostgreSQL", pg_db, path, args.contacts, args.runs)
    finally:
        scratch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
