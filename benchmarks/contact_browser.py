"""The contact browser widget on 100,000 contacts: opening it, and one search keystroke.

    QT_QPA_PLATFORM=offscreen python benchmarks/contact_browser.py [--runs 7]

Builds (once; cached under /tmp) an SQLite database with 100,000 contacts, then
measures through the real widget path, offscreen:

- open: ``ContactBrowser(service)`` constructed, shown and painted, until the
  model holds its first rows (target under 300 ms);
- one keystroke: the search box's text set and ``apply_search()`` called
  directly (the 250 ms typing debounce is not part of the cost), until its rows and
  count, read on the background runner, are painted (target under 50 ms) for a name,
  a partial name and a phone number typed three ways; and of that, how long the GUI
  thread itself was busy (the rest it was free to take the next keystroke);
- the floor: the same count and first page by the best plain sqlite3 statements, and
  our time / floor.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks._cache import CONTACTS, contacts_db  # noqa: E402
from benchmarks._timing import measure, report  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402

PAGE = 200
CAP = 10_001  # the browser's search count stops at "10,000+"
COLUMNS = "id, first_name, last_name, phone_e164, email, company, sms_opted_out"
ORDER = f"ORDER BY last_name, first_name, id LIMIT {PAGE}"
FTS_COUNT = (
    "SELECT count(*) FROM (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?)"
)
FTS_PAGE = (
    f"SELECT {COLUMNS} FROM contacts WHERE id IN "
    f"(SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?) {ORDER}"
)
WALK_PAGE = f"SELECT {COLUMNS} FROM contacts WHERE search_text LIKE ? {ORDER}"
RANGE_COUNT = "SELECT count(*) FROM contacts WHERE phone_e164 >= ? AND phone_e164 < ?"
RANGE_PAGE = f"SELECT {COLUMNS} FROM contacts WHERE phone_e164 >= ? AND phone_e164 < ? {ORDER}"
ONE_NUMBER = ("+14152001234", "+14152001235")


def _common(word: str) -> list[tuple[str, tuple]]:
    """The best plain-SQL answer for a word one contact in ten has: a capped count in the
    trigram index, then the first page found by walking the name index with LIKE."""
    return [(FTS_COUNT, (f'"{word}"', CAP)), (WALK_PAGE, (f"%{word}%",))]


def _rare(match: str) -> list[tuple[str, tuple]]:
    return [(FTS_COUNT, (match, CAP)), (FTS_PAGE, (match,))]


# (what is typed, the plain sqlite3 statements that give the same count and page)
KEYSTROKES = [
    ("Grace", _common("grace")),
    ("gra", _common("gra")),
    ("Grace Marsh12", _rare('"grace" AND "marsh12"')),
    ("(415) 200-1234", [(RANGE_COUNT, ONE_NUMBER), (RANGE_PAGE, ONE_NUMBER)]),
    ("4152001234", [(RANGE_COUNT, ONE_NUMBER), (RANGE_PAGE, ONE_NUMBER)]),
    ("+1 415 200 1234", [(RANGE_COUNT, ONE_NUMBER), (RANGE_PAGE, ONE_NUMBER)]),
    ("415 200", [(RANGE_COUNT, ("+1415200", "+1415201")), (RANGE_PAGE, ("+1415200", "+1415201"))]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path = contacts_db(CONTACTS)

    from PySide6.QtCore import QEventLoop, QThread
    from PySide6.QtWidgets import QApplication

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.ui.contact_browser import ContactBrowser
    from trustpager_desktop.usecases.contacts import ContactsService

    app = QApplication.instance() or QApplication([])
    services = AppServices(Database.open(f"sqlite:///{path}"))
    service = ContactsService(services)
    busy: list[float] = []  # GUI-thread seconds of the last measured call

    def until_painted(browser: ContactBrowser) -> None:
        """Run the event loop until the browser's reads are on screen, adding the time
        the GUI thread spent handling events (not waiting) to ``busy[-1]``."""
        loop = QEventLoop()
        while True:
            began = time.perf_counter()
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
            busy[-1] += time.perf_counter() - began
            if not browser.is_loading:
                break
            QThread.usleep(200)
        began = time.perf_counter()
        app.processEvents()  # the paint
        busy[-1] += time.perf_counter() - began

    raw = sqlite3.connect(path)

    def floor(statements: list[tuple[str, tuple]]) -> None:
        for sql, params in statements:
            raw.execute(sql, params).fetchall()

    first_page = [
        ("SELECT count(*) FROM contacts", ()),
        (f"SELECT {COLUMNS} FROM contacts {ORDER}", ()),
    ]

    browsers: list[ContactBrowser] = []

    def open_browser() -> None:
        busy.append(0.0)
        browser = ContactBrowser(service)
        browser.resize(1100, 700)
        browser.show()
        until_painted(browser)
        assert browser.model.rowCount() > 0, "no rows after opening"
        browsers.append(browser)

    print(f"{CONTACTS:,} contacts, SQLite ({path}), {args.runs} runs each\n")
    report(
        "open the browser (first 200 rows painted)",
        measure(open_browser, runs=args.runs),
        300,
        measure(lambda: floor(first_page), runs=args.runs),
    )
    from trustpager_desktop.ui.common import dispose_widgets

    dispose_widgets(*browsers[:-1])
    del browsers[:-1]
    browser = browsers[-1]
    print(f"    count label: {browser.count_label.text()!r}")

    for typed, statements in KEYSTROKES:

        def keystroke(text: str = typed) -> None:
            began = time.perf_counter()
            browser.search.setText(text)
            browser.apply_search()
            busy.append(time.perf_counter() - began)
            until_painted(browser)
            assert browser.model.rowCount() > 0, f"no rows for {text!r}"

        del busy[:]
        report(
            f"keystroke {typed!r}",
            measure(keystroke, runs=args.runs),
            50,
            measure(lambda st=statements: floor(st), runs=args.runs),
        )
        report("    of which the GUI thread was busy", busy[-args.runs :], 16)
        print(f"    rows shown {browser.model.rowCount()}, label {browser.count_label.text()!r}")

    from trustpager_desktop.ui.common import dispose_widgets

    dispose_widgets(*browsers)
    services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
