"""Cold start of the window to first paint, with 100,000 contacts.

    python benchmarks/cold_start.py [--runs 5]

Starts ``python -m trustpager_desktop --db sqlite:///... --screenshot FILE`` as a
fresh process several times (offscreen). The app, run with
``TRUSTPAGER_PRINT_FIRST_PAINT=1``, prints ``first-paint <unix time>`` when the
main window first paints; the time from just before the process was started to
that moment is the cold start (interpreter start, imports, opening and checking
the database, building the window, the first 200 contacts, the first paint).
Also printed: the time until the PNG is written and the process has exited, and
as a floor, a bare ``python -c "import PySide6.QtWidgets"`` process plus
opening the database in plain sqlite3.

Target (issue 9): under 1.5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._cache import CONTACTS, contacts_db, run_child  # noqa: E402
from benchmarks._timing import report  # noqa: E402

FLOOR = (
    "import sqlite3, sys; from PySide6.QtWidgets import QApplication, QLabel; "
    "app = QApplication([]); sqlite3.connect(sys.argv[1]).execute("
    "'SELECT id, first_name, last_name FROM contacts ORDER BY last_name LIMIT 200').fetchall(); "
    "w = QLabel('x'); w.show(); app.processEvents()"
)


def one_start(db: Path, png: Path) -> tuple[float, float]:
    """(seconds to first paint, seconds until the process exited) for one cold start."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TRUSTPAGER_PRINT_FIRST_PAINT="1")
    png.unlink(missing_ok=True)
    began = time.time()
    done = run_child(
        ["-m", "trustpager_desktop", "--db", f"sqlite:///{db}", "--screenshot", str(png)], env
    )
    ended = time.time()
    stamps = [line for line in done.stderr.splitlines() if line.startswith("first-paint ")]
    if done.returncode != 0 or not stamps or not png.exists():
        raise SystemExit(f"start failed (exit {done.returncode}):\n{done.stderr}")
    return float(stamps[0].split()[1]) - began, ended - began


def floor_start(db: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    began = time.time()
    run_child(["-c", FLOOR, str(db)], env)
    return time.time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    db = contacts_db(CONTACTS)
    print(f"{CONTACTS:,} contacts, SQLite, {args.runs} cold starts (one unmeasured first)\n")
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "first.png"
        one_start(db, png)  # warm the OS file cache once, as a second start of the day would
        runs = [one_start(db, png) for _ in range(args.runs)]
        floors = [floor_start(db) for _ in range(args.runs)]
    report("cold start to first paint", [r[0] for r in runs], 1500, floors)
    report("cold start to PNG written and exit", [r[1] for r in runs])
    return 0


if __name__ == "__main__":
    sys.exit(main())
