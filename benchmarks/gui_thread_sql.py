"""SQL statements run on the GUI thread while navigating the main pages (issue 16 item 2).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_thread_sql.py [--no-live]

On the demo business (50 contacts, two automations) the window is built, then a contact
is opened and every main page shown in turn (Auto Queue included), each page's
background read awaited. Every statement is counted with SQLAlchemy's
``before_cursor_execute`` event when it runs on the main thread, by the ui function
that asked for it. Against a shared database across a network each one is a round trip
the window freezes for. ``--no-live``: without the change watcher (as before issue 16).
Also counts the statements the window runs on the GUI thread while idle for 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.support.desktop import MemoryTokenStore  # noqa: E402
from tests.support.gui_sql import gui_thread_sql  # noqa: E402
from trustpager_desktop.core import demo  # noqa: E402
from trustpager_desktop.core.clock import FixedClock  # noqa: E402
from trustpager_desktop.services import AppServices  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402
from trustpager_desktop.store.models import Contact  # noqa: E402
from trustpager_desktop.ui.main_window import MainWindow  # noqa: E402

PAGES = ("contacts", "opportunities", "automations", "activity", "review", "insights", "settings")
IDLE_SECONDS = 10


def settle(app: QApplication, window: MainWindow) -> None:
    page = window.stack.currentWidget()
    deadline = time.monotonic() + 15
    while getattr(page, "is_loading", False) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-live", action="store_true")
    args = parser.parse_args()
    app = QApplication([])
    db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/gui_sql.db")
    services = AppServices(db, clock=FixedClock(), tokens=MemoryTokenStore())
    with db.write() as s:
        demo.fill_demo(s, actor="bench", clock=services.clock)
    with db.read() as s:
        contact_id = s.query(Contact.id).order_by(Contact.id).first()[0]
    with gui_thread_sql(db) as seen:
        window = MainWindow(services)
        window.show()
        if not args.no_live:
            window.start_live_updates()
        app.processEvents()
        start = sum(seen.values())
        window.open_contact(contact_id)
        settle(app, window)
        for key in PAGES:
            window.show_page(key)
            settle(app, window)
        window.show_target("queue")
        settle(app, window)
        window.show_page("activity")  # the page that polled every 3 s
        settle(app, window)
        navigation = sum(seen.values()) - start
        by_site = dict(seen)
        before_idle = sum(seen.values())
        deadline = time.monotonic() + IDLE_SECONDS
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        idle = sum(seen.values()) - before_idle
    window.shutdown()
    mode = "without live updates" if args.no_live else "with live updates"
    print(
        f"GUI-thread SQL statements ({mode}): window built {start}, navigating {navigation}, "
        f"idle {IDLE_SECONDS} s on the Activity Log {idle}"
    )
    for site, count in sorted(by_site.items(), key=lambda kv: -kv[1]):
        print(f"  {count:3d}  {site}")


if __name__ == "__main__":
    main()
