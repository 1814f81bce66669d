"""CSV exports: formula neutralisation, re-readable files, the opt-out list, no secrets."""

import csv

import pytest

from tests.support.contacts import add_contact
from tests.support.records import opt_out, seed_log
from trustpager_desktop.core import consent, exports
from trustpager_desktop.core.activity_query import LogFilter
from trustpager_desktop.core.credentials import TokenStore
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.services import AppServices

TOKEN = "tok_SECRET_0123456789abcdef"  # noqa: S105 - a test value


def _read(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(prefix):
    assert exports.neutralise(prefix + "1+1") == "'" + prefix + "1+1"


@pytest.mark.parametrize("safe", ["Ann", "1+1", " =x", "'=x", "", "a=b"])
def test_ordinary_cells_are_left_alone(safe):
    assert exports.neutralise(safe) == safe


def test_log_export_follows_the_filter_and_neutralises_cells(db, clock, tmp_path):
    seed_log(
        db, clock, 6, kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND), contact_ids=(1, 2)
    )
    cid = add_contact(db, clock, '=HYPERLINK("http://x")', phone="+1 415 555 0101")
    path = tmp_path / "log.csv"
    with db.read() as s:
        assert exports.export_log(s, LogFilter(kinds=(ActivityKind.OPT_OUT,)), path) == 3
        exports.export_log(
            s, LogFilter(kinds=(ActivityKind.CONTACT_CREATED,), contact_id=cid), tmp_path / "c.csv"
        )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM so Excel reads UTF-8
    rows = _read(path)
    assert [r["summary"] for r in rows] == ["entry 4", "entry 2", "entry 0"]
    assert rows[0]["kind_label"] == "Opt-out"
    (created,) = _read(tmp_path / "c.csv")
    assert created["contact_name"] == '\'=HYPERLINK("http://x")'


def test_optout_list_has_one_row_per_number_including_numbers_without_contacts(db, clock, tmp_path):
    a = add_contact(db, clock, "Ann", phone="+14155550101")
    b = add_contact(db, clock, "Bea", phone="+14155550101")
    add_contact(db, clock, "Cal", phone="+14155550102")
    with db.write() as s:
        consent.opt_out_number(
            s,
            "+14155550101",
            source=ConsentSource.STOP_REPLY,
            actor="Inbox",
            evidence="STOP",
            message_sid="SM1",
            clock=clock,
        )
        consent.opt_out_number(
            s,
            "+14155550199",
            source=ConsentSource.STOP_REPLY,
            actor="Inbox",
            evidence="stop please",
            message_sid="SM2",
            clock=clock,
        )
    path = tmp_path / "optouts.csv"
    with db.read() as s:
        assert exports.export_optouts(s, path) == 2
    rows = _read(path)
    assert [r["number"] for r in rows] == ["'+14155550101", "'+14155550199"]
    assert rows[0]["contacts"] == "Ann; Bea" and rows[0]["message_sid"] == "SM1"
    assert rows[0]["source"] == "STOP reply" and rows[0]["evidence"] == "STOP"
    assert rows[1]["contacts"] == "" and rows[1]["evidence"] == "stop please"
    assert rows[1]["opted_out_at"].startswith("2026-11-26T15:00")
    assert a and b


def test_consent_history_csv_lists_opt_out_and_re_consent(db, clock, tmp_path):
    cid = add_contact(db, clock, "Ann", phone="+14155550101")
    opt_out(db, clock, cid, evidence="asked in person")
    with db.write() as s:
        contact = s.get(consent.Contact, cid)
        consent.re_consent_contact(
            s, contact, method="written", note="signed form", actor="Jo", clock=clock
        )
    path = tmp_path / "history.csv"
    with db.read() as s:
        exports.export_consent_history_csv(s, cid, path)
    record, *rows = _read(path)
    assert [(r["kind"], r["evidence"]) for r in rows] == [
        ("Opt-out", "asked in person"),
        ("Re-consent", "signed form"),
    ]
    assert rows[1]["method"] == "Written" and rows[1]["actor"] == "Jo"
    # The re-consent is now the contact's opt-in record, the report's first row.
    assert (record["kind"], record["method"], record["evidence"]) == (
        "Opt-in consent record", "Written", "signed form")  # fmt: skip


def test_the_twilio_auth_token_never_reaches_an_export(db, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    tokens = TokenStore()
    tokens.set("AC123", TOKEN, session_only=True)
    services = AppServices(db, clock=clock, tokens=tokens)
    cid = add_contact(db, clock, "Ann", phone="+14155550101")
    opt_out(db, clock, cid)
    with services.db.read() as s:
        exports.export_log(s, None, tmp_path / "a.csv")
        exports.export_optouts(s, tmp_path / "b.csv")
        exports.export_contacts(s, tmp_path / "c.csv")
        exports.export_consent_history_csv(s, cid, tmp_path / "d.csv")
    for path in tmp_path.glob("*.csv"):
        assert TOKEN not in path.read_text(encoding="utf-8-sig")


def test_a_cancelled_export_leaves_no_file(db, clock, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 5)
    seed_log(db, clock, 30)
    path = tmp_path / "log.csv"
    with db.read() as s, pytest.raises(Cancelled):
        exports.export_log(s, None, path, progress=lambda done, total: done < 10)
    assert list(tmp_path.glob("*.csv")) == [] and list(tmp_path.glob(".export-*")) == []
