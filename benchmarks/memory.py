"""Peak memory of the window with 100,000 contacts and 1,000,000 activity log entries.

    python benchmarks/memory.py [--runs 3]

Builds (once; cached under /tmp) one SQLite database holding both: a copy of
benchmarks/activity_log.py's 1,000,000-entry log with 100,000 contacts added.
Each run is a fresh child process (offscreen) that opens the main window,
shows the contacts page, scrolls five pages down, opens the Activity Log page,
scrolls five pages there, and reports its peak resident memory (VmHWM from
/proc/self/status). The parent cross-checks with getrusage(RUSAGE_CHILDREN).
As a floor: a bare QApplication with one window and sqlite3 reading the same
first pages.

Target (issue 9): under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._cache import combined_db, run_child  # noqa: E402

TARGET_MB = 300
PAGES = 5

CHILD = r"""
import sys
sys.path.insert(0, ".")
from PySide6.QtWidgets import QApplication
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.main_window import MainWindow

app = QApplication([])
services = AppServices.open("sqlite:///" + sys.argv[1])
window = MainWindow(services)
window.resize(1280, 800)
window.show_page("contacts")
window.show()
app.processEvents()
window.contact_browser.wait_until_loaded()  # the list reads on the background runner

def scroll(table, pages):
    for _ in range(pages):
        bar = table.verticalScrollBar()
        bar.setValue(bar.maximum())
        app.processEvents()
        model = table.model()
        if model.canFetchMore(table.rootIndex()):
            model.fetchMore(table.rootIndex())
        while getattr(model, "is_loading", False):  # a page read on the background runner
            app.processEvents()
        app.processEvents()
    return table.model().rowCount()

contacts = scroll(window.contact_browser.table, int(sys.argv[2]))
window.show_page("activity")
app.processEvents()
entries = scroll(window.activity_page.table, int(sys.argv[2]))
status = open("/proc/self/status").read()
peak = next(l for l in status.splitlines() if l.startswith("VmHWM"))
print(f"{peak.split()[1]} {contacts} {entries}")
window.shutdown()
"""

FLOOR = r"""
import sqlite3, sys
from PySide6.QtWidgets import QApplication, QTableWidget
app = QApplication([])
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT * FROM contacts ORDER BY last_name LIMIT 1200").fetchall()
rows += db.execute("SELECT * FROM activity_log ORDER BY id DESC LIMIT 1200").fetchall()
table = QTableWidget(200, 5)
table.show()
app.processEvents()
status = open("/proc/self/status").read()
print(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
"""


def child(args: list[str]) -> list[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = run_child(args, env)
    if done.returncode != 0:
        raise SystemExit(f"child failed (exit {done.returncode}):\n{done.stderr}")
    return done.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db = combined_db()
    print(f"100,000 contacts + 1,000,000 log entries, SQLite ({db}), {args.runs} runs\n")
    peaks, shown = [], ()
    for _ in range(args.runs):
        peak_kb, contacts, entries = child(["-c", CHILD, str(db), str(PAGES)])
        peaks.append(int(peak_kb) / 1024)
        shown = (contacts, entries)
    rusage_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    floors = [int(child(["-c", FLOOR, str(db)])[0]) / 1024 for _ in range(args.runs)]
    med, floor = statistics.median(peaks), statistics.median(floors)
    verdict = "MET" if med < TARGET_MB else "MISSED"
    print(
        f"{'peak RSS (VmHWM), window after scrolling':<48} median {med:8.1f} MB  "
        f"(min {min(peaks):.1f}, max {max(peaks):.1f}, n={len(peaks)})  "
        f"floor {floor:.1f} MB, ratio {med / floor:.1f}x  target < {TARGET_MB} MB: {verdict}"
    )
    print(f"    rows held after scrolling: {shown[0]} contacts, {shown[1]} log entries")
    print(f"    getrusage(RUSAGE_CHILDREN) max RSS of any child: {rusage_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
