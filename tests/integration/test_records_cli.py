"""`trustpager log|optouts|contacts` record commands: exports, verify exit codes, import."""

import csv

import pytest

from tests.support.records import tamper
from trustpager_desktop.cli import main
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.database import Database


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRUSTPAGER_DB_URL", url)
    return url


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_verify_passes_then_fails_with_non_zero_exit_after_tampering(db_url, capsys):
    assert main(["demo"]) == 0
    assert main(["log", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    db = Database.open(db_url)
    tamper(db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 3")
    db.close()
    assert main(["log", "verify"]) == 1
    assert "altered at entry 3" in capsys.readouterr().out


def test_log_export_takes_the_viewer_filters(db_url, tmp_path, capsys):
    assert main(["demo"]) == 0
    out = tmp_path / "stops.csv"
    # not a state: "--kind opt_out" is what a person types on the command line
    assert main(["log", "export", str(out), "--kind", "opt_out", "--search", "stop"]) == 0
    rows = _rows(out)
    assert rows and all(r["kind"] == ActivityKind.OPT_OUT and "STOP" in r["summary"] for r in rows)
    assert main(["log", "export", str(out), "--since", "2999-01-01"]) == 0
    assert _rows(out) == []
    assert main(["log", "export", str(out), "--since", "yesterday"]) == 1
    assert "not a date" in capsys.readouterr().err


def test_optouts_and_contacts_export_and_import_round_trip(db_url, tmp_path, capsys, monkeypatch):
    assert main(["demo"]) == 0
    assert main(["optouts", "export", str(tmp_path / "o.csv")]) == 0
    assert len(_rows(tmp_path / "o.csv")) == 4
    assert main(["contacts", "export", str(tmp_path / "c.csv")]) == 0
    assert len(_rows(tmp_path / "c.csv")) == 50
    monkeypatch.setenv("TRUSTPAGER_DB_URL", f"sqlite:///{tmp_path / 'other.db'}")
    capsys.readouterr()
    assert main(["contacts", "import", str(tmp_path / "c.csv")]) == 0
    assert "Imported 50 contact(s) from c.csv, 4 of them opted out" in capsys.readouterr().out
    assert main(["optouts", "export", str(tmp_path / "o2.csv")]) == 0
    assert [r["number"] for r in _rows(tmp_path / "o2.csv")] == [
        r["number"] for r in _rows(tmp_path / "o.csv")
    ]
    assert {r["source"] for r in _rows(tmp_path / "o2.csv")} == {ConsentSource.IMPORT}


def test_import_lists_bad_rows_and_exits_non_zero_in_all_or_nothing(db_url, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text("name,phone\nAnn,415 555 0101\nBob,12\n", encoding="utf-8")
    assert main(["contacts", "import", str(path)]) == 1
    captured = capsys.readouterr()
    assert "line 3: '12' is not a valid phone number" in captured.err
    assert "Nothing was imported" in captured.out
    assert main(["contacts", "import", str(path), "--good-rows"]) == 0
    assert "Imported 1 contact(s)" in capsys.readouterr().out


def test_import_of_an_unreadable_file_is_one_clear_line(db_url, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_bytes("name\nJos\xe9\n".encode("cp1252"))
    assert main(["contacts", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trustpager: The file is not UTF-8 text") and err.count("\n") == 1


def test_import_says_how_many_will_go_in_before_importing(db_url, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text(
        "Name,Phone,Do Not Text\nAnn,415 555 0101,yes\nBob,415 555 0102,\nCy,415 555 0103,no\n",
        encoding="utf-8",
    )
    assert main(["contacts", "import", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "3 contact(s) will be imported from in.csv (1 opted out of SMS)" in out
    assert "Opt-outs read from the column 'Do Not Text'" in out
    assert main(["contacts", "list"]) == 0
    assert capsys.readouterr().out == ""  # the dry run imported nothing
    assert main(["contacts", "import", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 contact(s) will be imported")  # said first
    assert lines[-1] == (
        "Imported 3 contact(s) from in.csv, 1 of them opted out of SMS (column 'Do Not Text')."
    )


def test_a_stray_quote_is_refused_with_its_line_and_exit_1(db_url, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text(
        'name,phone,sms_opt_out\nAnn,415 555 0101,no\n"Bob,415 555 0102,yes\n'
        'Carl,415 555 0103,no\nDan,415 555 0104,yes\nEve",415 555 0105,no\n',
        encoding="utf-8",
    )
    assert main(["contacts", "import", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("trustpager: Line 3: the 'name' cell runs over lines 3-6")
    assert captured.err.count("\n") == 1 and "Imported" not in captured.out
