"""Hostile CSV files for contacts import: a clear refusal or plain text, and nothing else changes."""

import pytest
from sqlalchemy import func, select

from tests.support import figures
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.imports import import_contacts_csv
from trustpager_desktop.store.models import ActivityEntry, Contact

GOOD_HEADER = "name,company,email,phone,sms_opt_out\n"
BAD_FILES = {
    "cp1252 encoding": (GOOD_HEADER + "José Núñez,Café,,4155550101,no\n").encode("cp1252"),
    "utf-16 encoding": (GOOD_HEADER + "Ann Lee,,,4155550101,no\n").encode("utf-16"),
    "no name column": b"company,email,phone\nAcme,a@b.com,4155550101\n",
    "empty file": b"",
    "header only": GOOD_HEADER.encode(),
    "NUL byte": (GOOD_HEADER + "Ann\x00Lee,,,4155550101,no\n").encode(),
    "bad phone": (GOOD_HEADER + "Ann Lee,,,12,no\n").encode(),
    "bad opt-out value": (GOOD_HEADER + "Ann Lee,,,4155550101,perhaps\n").encode(),
    "binary junk": bytes(range(256)) * 4,
}


def _counts(db):
    with db.read() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) for m in (Contact, ActivityEntry)
        )


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_csv_is_refused_clearly_and_changes_nothing(db, clock, tmp_path, name):
    figures.add("bad inputs tried")
    path = tmp_path / "contacts.csv"
    path.write_bytes(BAD_FILES[name])
    before = _counts(db)
    try:
        report = import_contacts_csv(db, path, actor="Ann", clock=clock)
    except UserInputError as exc:
        assert exc.message and "\n" not in exc.message.strip()
    else:
        assert report.refused or report.added == 0
        assert report.skipped_rows and all(
            line >= 2 and reason for line, reason in report.skipped_rows
        )
    assert _counts(db) == before


def test_formula_cells_are_stored_as_plain_text(db, clock, tmp_path):
    figures.add("bad inputs tried")
    path = tmp_path / "contacts.csv"
    path.write_text(GOOD_HEADER + '"=HYPERLINK(""http://evil"")",@SUM(A1),,4155550101,no\n')
    report = import_contacts_csv(db, path, actor="Ann", clock=clock)
    assert report.added == 1
    with db.read() as s:
        contact = s.scalars(select(Contact)).one()
    assert contact.first_name.startswith("=HYPERLINK") and contact.company == "@SUM(A1)"
