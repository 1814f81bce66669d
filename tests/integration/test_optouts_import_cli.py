"""`trustpager optouts import FILE [--good-rows] [--dry-run]`: a do-not-contact list on the
command line, in plain words, with the acting desktop's name in the log."""

from __future__ import annotations

import csv

from sqlalchemy import select

from trustpager_desktop.cli import main
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.models import ActivityEntry

LIST = "Phone\n(415) 555-0101\n+1 415 555 0190\n415.555.0191\n"


def _add(db_url: str, name: str, phone: str) -> None:
    assert main(["--db", db_url, "contacts", "add", name, "--phone", phone]) == 0


def test_import_opts_out_suppresses_and_says_so(db, tmp_path, capsys):
    _add(db.url, "Ann", "415 555 0101")
    path = tmp_path / "dnc.csv"
    path.write_text(LIST, encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", db.url, "--as", "Maria", "optouts", "import", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "dnc.csv: 3 phone numbers, header 'Phone'.",
        "Opted out 1 contact, suppressed 2 numbers, 0 already opted out, 0 bad rows "
        "(do-not-contact list dnc.csv).",
    ]
    assert main(["--db", db.url, "optouts", "export", str(tmp_path / "o.csv")]) == 0
    with open(tmp_path / "o.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["number"] for r in rows] == ["'+14155550101", "'+14155550190", "'+14155550191"]
    assert {(r["source"], r["evidence"]) for r in rows} == {
        ("do-not-contact list", "do-not-contact list dnc.csv, imported by Maria")
    }

    capsys.readouterr()
    assert main(["--db", db.url, "optouts", "import", str(path)]) == 0  # the same list again
    assert capsys.readouterr().out.splitlines()[-1] == (
        "0 new from the do-not-contact list dnc.csv: 3 already opted out, 0 bad rows."
    )
    with db.read() as s:
        imports = list(
            s.scalars(select(ActivityEntry.actor).where(ActivityEntry.kind == ActivityKind.IMPORT))
        )
    assert imports == ["Maria"]  # the second import wrote nothing


def test_bad_rows_are_listed_by_line_and_nothing_goes_in_without_good_rows(db, tmp_path, capsys):
    _add(db.url, "Ann", "415 555 0101")
    path = tmp_path / "dnc.txt"
    path.write_text("415 555 0101\nnot a number\n415 555 0192\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", db.url, "optouts", "import", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("line 2: 'not a number' is not a valid phone number")
    assert "Nothing was imported from dnc.txt: 1 bad row." in captured.out
    assert main(["--db", db.url, "optouts", "import", str(path), "--dry-run"]) == 1

    assert main(["--db", db.url, "optouts", "import", str(path), "--good-rows", "--dry-run"]) == 0
    assert (
        "Would opt out 1 contact, suppress 1 number; 0 already opted out, 1 bad row "
        "(do-not-contact list dnc.txt; dry run, nothing changed)." in capsys.readouterr().out
    )
    with db.read() as s:
        assert (
            s.scalar(select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.OPT_OUT))
            is None
        )

    assert main(["--db", db.url, "optouts", "import", str(path), "--good-rows"]) == 0
    assert "Opted out 1 contact, suppressed 1 number, 0 already opted out, 1 bad row" in (
        capsys.readouterr().out
    )


def test_a_file_that_cannot_be_read_is_one_clear_line(db, tmp_path, capsys):
    path = tmp_path / "dnc.csv"
    path.write_bytes("Tel\n415 555 0101\nJos\xe9\n".encode("cp1252"))
    assert main(["--db", db.url, "optouts", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trustpager: The file is not UTF-8 text") and err.count("\n") == 1
    assert main(["--db", db.url, "optouts", "import", str(tmp_path / "missing.csv")]) == 1
    assert "No such file" in capsys.readouterr().err
