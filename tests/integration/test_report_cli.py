"""`trustpager report` (figures table and CSV) and `trustpager report compliance` (text,
CSV, PDF), with the progress line shown only on a terminal."""

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.history import History
from trustpager_desktop.cli import main
from trustpager_desktop.commands.progress_line import TerminalProgress
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.insights import REPORT_COLUMNS
from trustpager_desktop.store.database import Database

NY = ZoneInfo("America/New_York")


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRUSTPAGER_DB_URL", url)
    return url


@pytest.fixture
def history(db_url):
    db = Database.open(db_url)
    yield History(db, FixedClock())
    db.close()


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_report_prints_the_step_table_and_writes_it_as_csv(history, tmp_path, capsys):
    start = datetime.now(UTC) - timedelta(days=3)
    reminder = history.automation("Reminder", "See you tomorrow")
    ann = history.at(start).contact("Ann", "+14155550101")
    ben = history.contact("Ben", "+14155550102")
    history.text(reminder, 1, ann)
    history.text(reminder, 1, ben)
    history.at(start + timedelta(hours=2)).reply("+14155550101", "STOP")
    out = tmp_path / "figures.csv"
    since = (start - timedelta(days=1)).astimezone(NY).date().isoformat()
    assert main(["report", "--since", since, "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Reminder" in printed and "Step 1: See you tomorrow" in printed
    assert "delivery not tracked yet" in printed
    rows = _rows(out)
    assert tuple(rows[0]) == REPORT_COLUMNS
    step = dict(zip(REPORT_COLUMNS, rows[1], strict=True))
    assert (step["Automation"], step["Sent"], step["Opt-outs"], step["Opt-out rate"]) == (
        "Reminder", "2", "1", "50 %",
    )  # fmt: skip
    assert step["Delivered"] == "not tracked yet"
    manual = dict(zip(REPORT_COLUMNS, rows[2], strict=True))
    assert (manual["Step"], manual["Opt-out rate"]) == ("Manual texts", "")


def test_report_on_an_empty_database_says_so_plainly(db_url, capsys):
    assert main(["report"]) == 0
    printed = capsys.readouterr().out
    assert "Sent: 0;" in printed and "Consent on record: no contacts yet" in printed
    assert "Needs review: nothing waiting" in printed


def test_report_arguments_that_do_not_fit_are_one_clear_line(db_url, capsys):
    assert main(["report", "--since", "3000-01-01"]) == 1
    assert capsys.readouterr().err == "trustpager: '3000-01-01' is not in the past.\n"
    assert main(["report", "--month", "2026-11"]) == 1
    assert "belong to 'trustpager report compliance'" in capsys.readouterr().err
    assert main(["report", "compliance", "--since", "2026-11-01"]) == 1
    assert "takes --month" in capsys.readouterr().err
    assert main(["report", "compliance", "--month", "11/2026"]) == 1
    err = capsys.readouterr().err
    assert err == "trustpager: '11/2026' is not a month: use YYYY-MM, e.g. 2026-11.\n"


def _november(history):  # type: ignore[no-untyped-def]
    ann = history.at(datetime(2026, 11, 2, 15, tzinfo=UTC)).contact("Ann", "+14155550101")
    history.contact("Ben", "+14155550102")
    # Ben's STOP of Friday 6 Nov is read on Monday 30 Nov: past the 10-business-day line.
    history.at(datetime(2026, 11, 30, 15, tzinfo=UTC)).reply(
        "+14155550102", "STOP", sent_at=datetime(2026, 11, 6, 21, tzinfo=UTC)
    )
    history.at(datetime(2026, 11, 9, 15, tzinfo=UTC)).staff_opt_out(ann, actor="Dana")
    history.at(datetime(2026, 11, 10, 15, tzinfo=UTC)).manual_text(ann, "Parts in", actor="Dana")


def test_compliance_report_as_text_csv_and_pdf(history, tmp_path, capsys, qapp):
    # qapp: one QApplication for the whole run (the command makes a QGuiApplication otherwise)
    _november(history)
    assert main(["report", "compliance", "--month", "2026-11"]) == 0
    text = capsys.readouterr().out
    assert "SMS opt-out compliance report: November 2026" in text
    assert "Opt-outs honoured beyond 10 business days: 1." in text
    assert "<< beyond 10 business days" in text
    assert "Manual, by Dana" in text

    pdf, table = tmp_path / "nov.pdf", tmp_path / "nov.csv"
    args = ["report", "compliance", "--month", "2026-11", "--pdf", str(pdf), "--csv", str(table)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"to {pdf}" in printed and f"to {table}" in printed
    assert "Chain head: entry" in printed
    assert pdf.read_bytes().startswith(b"%PDF")
    rows = _rows(table)
    assert rows[0] == ["SMS opt-out compliance report: November 2026"]
    assert ["Texts sent to opted-out numbers"] in rows
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; the PDF's text was not checked")
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "SMS opt-out compliance report: November 2026" in pdf_text
    assert "Opt-outs honoured beyond 10 business days: 1." in pdf_text
    assert "Manual, by Dana" in pdf_text
    assert "The activity log is intact" in pdf_text


def test_compliance_report_exits_1_when_the_log_was_altered(history, db_url, capsys):
    from tests.support.records import tamper

    _november(history)
    tamper(history.db, "UPDATE activity_log SET summary = 'x' WHERE id = 2")
    assert main(["report", "compliance", "--month", "2026-11"]) == 1
    assert "ACTIVITY LOG: The activity log has been altered at entry 2" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_is_drawn_on_a_terminal_and_erased_after(monkeypatch):
    screen = _Terminal()
    with TerminalProgress("Verifying the activity log", "entries", stream=screen) as shown:
        assert shown(0, 10) is True
        shown(10, 10)
    assert "\rVerifying the activity log: 0 of 10 entries (0 %)" in screen.getvalue().replace(
        "\x1b[K", ""
    )
    assert screen.getvalue().endswith("10 of 10 entries (100 %)\r\x1b[K")
    piped = io.StringIO()
    with TerminalProgress("Verifying", stream=piped) as shown:
        shown(5, 10)
    assert piped.getvalue() == ""


def test_log_verify_shows_progress_only_when_stdout_is_a_terminal(db_url, monkeypatch, capsys):
    assert main(["demo"]) == 0
    capsys.readouterr()
    assert main(["log", "verify"]) == 0
    assert capsys.readouterr().out.startswith("The activity log is intact")
    screen = _Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    assert main(["log", "verify"]) == 0
    shown = screen.getvalue()
    assert "Verifying the activity log: " in shown and " entries (100 %)" in shown
    assert shown.rsplit("\x1b[K", 1)[1].startswith("The activity log is intact")
