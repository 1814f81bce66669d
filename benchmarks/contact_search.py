"""Contact browser queries on 100,000 contacts: first page, one search keystroke.

Prints median and spread over several runs, and the same queries in plain
sqlite3 as a floor. Run: .venv/bin/python benchmarks/contact_search.py
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import measure, report  # noqa: E402
from benchmarks.datasets import add_contacts  # noqa: E402
from trustpager_desktop.core import contacts  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402

COUNT = 100_000
PAGE = 200


def build(path: Path) -> Database:
    db = Database.open(f"sqlite:///{path}")
    add_contacts(db, COUNT)
    return db


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.db"
        db = build(path)
        raw = sqlite3.connect(path)

        def page(query: str) -> None:
            with db.read() as s:
                contacts.count_contacts(s, query)
                contacts.search_contacts(s, query, limit=PAGE)

        def floor(where_args: tuple[str, tuple] | None) -> None:
            where, args = where_args or ("", ())
            raw.execute(f"SELECT count(*) FROM contacts {where}", args).fetchall()
            raw.execute(
                f"SELECT id, first_name, last_name, phone_e164, email, company, sms_opted_out "
                f"FROM contacts {where} ORDER BY last_name, first_name, id LIMIT {PAGE}",
                args,
            ).fetchall()

        print(f"{COUNT:,} contacts, SQLite, page size {PAGE}")
        report(
            "first page (count + 200 rows)",
            measure(lambda: page("")),
            300,
            measure(lambda: floor(None)),
        )
        fts = "WHERE id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?)"
        prefix = "WHERE phone_e164 >= ? AND phone_e164 < ?"
        cases = [
            ("grace", (fts, ('"grace"',))),
            ("zzq", (fts, ('"zzq"',))),
            ("ann lee12", (fts, ('"ann" AND "lee12"',))),
            ("(415) 200-1234", (prefix, ("+14152001234", "+14152001235"))),
            ("4155550", (prefix, ("+14155550", "+14155551"))),
        ]
        for query, where_args in cases:
            report(
                f"search keystroke {query!r}",
                measure(lambda q=query: page(q)),
                50,
                measure(lambda wa=where_args: floor(wa)),
            )
        db.close()


if __name__ == "__main__":
    main()
