"""The monthly compliance report's arithmetic: time-to-honour per opt-out, the
10-business-day line across weekends and holidays, review waits, texts to opted-out
numbers, month edges in the business's time zone, the log check and the CSV."""

import csv
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.support.history import History
from tests.support.records import tamper
from trustpager_desktop.core import compliance
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.states import ReviewDecision
from trustpager_desktop.store.models import ActivityEntry, OutboundMessage

NY = "America/New_York"
NOVEMBER = date(2026, 11, 1)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(NY)).astimezone(UTC)


@pytest.fixture
def history(db, clock) -> History:
    return History(db, clock)


def report_for(db, month=NOVEMBER, now=None):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return compliance.gather_compliance(
            s, month, timezone_name=NY, now=now or ny(2026, 12, 1, 9, 0)
        )


def test_time_to_honour_runs_from_the_reply_to_the_consent_event(history, db):
    history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    # The customer texts STOP on Friday 16:00; the inbox reads it on Monday 09:30.
    history.at(ny(2026, 11, 9, 9, 30)).reply("+14155550101", "STOP", sent_at=ny(2026, 11, 6, 16))
    report = report_for(db)
    (opt_out,) = report.opt_outs
    assert opt_out.received_at == ny(2026, 11, 6, 16)
    assert opt_out.honoured_at == ny(2026, 11, 9, 9, 30)
    assert opt_out.time_to_honour == timedelta(days=2, hours=17, minutes=30)
    assert compliance.format_duration(opt_out.time_to_honour) == "2 d 17 h"
    assert (opt_out.business_days, opt_out.beyond_limit) == (1, False)
    assert (opt_out.contact, opt_out.source, opt_out.recorded_by) == ("Ann", "STOP reply", "Inbox")
    assert report.longest == opt_out


def test_the_ten_business_day_line_counts_thanksgiving_and_weekends(history, db):
    history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    history.contact("Ben", "+14155550102")
    # Wed 25 Nov: the tenth business day is Thu 10 Dec because of Thanksgiving.
    history.at(ny(2026, 12, 10, 23, 0)).reply("+14155550101", "STOP", sent_at=ny(2026, 11, 25, 12))
    history.at(ny(2026, 12, 11, 0, 1)).reply("+14155550102", "STOP", sent_at=ny(2026, 11, 25, 12))
    report = report_for(db, now=ny(2026, 12, 12))
    by_contact = {o.contact: o for o in report.opt_outs}
    assert (by_contact["Ann"].business_days, by_contact["Ann"].beyond_limit) == (10, False)
    assert (by_contact["Ben"].business_days, by_contact["Ben"].beyond_limit) == (11, True)
    assert report.beyond_limit == [by_contact["Ben"]]
    assert report.longest == by_contact["Ben"]


def test_a_review_wait_is_timed_to_the_decision_and_the_opt_out_with_it(history, db):
    history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    history.contact("Ben", "+14155550102")
    sid = history.at(ny(2026, 11, 2, 10)).reply("+14155550101", "leave me alone")
    history.at(ny(2026, 11, 20, 11)).decide(sid, ReviewDecision.OPT_OUT, actor="Dana")
    history.at(ny(2026, 11, 30, 10)).reply("+14155550102", "no more texts please")
    report = report_for(db)
    decided, waiting = report.reviews
    assert decided.decision == "opted out" and decided.decided_by == "Dana"
    assert decided.waited(report.generated_at) == ny(2026, 11, 20, 11) - ny(2026, 11, 2, 10)
    # 3-20 Nov without Veterans Day: 13 business days, past the line (end of 17 Nov)
    assert (decided.business_days, decided.beyond_limit) == (13, True)
    assert waiting.decision == "still waiting" and waiting.decided_at is None
    assert (waiting.business_days, waiting.beyond_limit) == (1, False)
    (opt_out,) = report.opt_outs
    assert opt_out.source == "review of a reply" and opt_out.recorded_by == "Dana"
    assert opt_out.beyond_limit and opt_out.business_days == 13


def test_manual_texts_to_opted_out_numbers_are_listed_with_who_sent_them(history, db):
    ann = history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    ben = history.contact("Ben", "+14155550102")
    history.at(ny(2026, 11, 3)).staff_opt_out(ann)
    history.at(ny(2026, 11, 4)).manual_text(ann, "Your part arrived", actor="Dana")
    history.manual_text(ben, "Your part arrived", actor="Dana")  # subscribed: not listed
    (text,) = report_for(db).texts_to_opted_out
    assert (text.contact, text.number, text.origin) == ("Ann", "+14155550101", "Manual, by Dana")
    assert text.flagged_at_send and text.sent_at == ny(2026, 11, 4)


def test_a_text_the_consent_events_say_went_to_an_opted_out_number_is_listed(history, db):
    ann = history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    history.at(ny(2026, 11, 2)).manual_text(ann, "Before the opt-out")
    history.at(ny(2026, 11, 3)).staff_opt_out(ann)
    outcome = history.at(ny(2026, 11, 4)).manual_text(ann, "After the opt-out")
    # As an older version or a bug might have recorded it: without the opted-out flag.
    with db.write() as s:
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outcome.message_id)
            .values(recipient_opted_out=False)
        )
    (text,) = report_for(db).texts_to_opted_out
    assert text.body == "After the opt-out" and not text.flagged_at_send


def test_the_month_is_the_business_time_zone_s_month(history, db):
    history.at(ny(2026, 10, 1)).contact("Ann", "+14155550101")
    history.contact("Ben", "+14155550102")
    # 23:30 on 31 Oct in New York is already 1 Nov in UTC: October's report.
    history.at(ny(2026, 10, 31, 23, 30)).reply("+14155550101", "STOP")
    history.at(ny(2026, 11, 1, 0, 30)).reply("+14155550102", "STOP")
    assert [o.contact for o in report_for(db, date(2026, 10, 1)).opt_outs] == ["Ann"]
    assert [o.contact for o in report_for(db).opt_outs] == ["Ben"]


def test_the_log_check_names_the_chain_head_and_catches_tampering(history, db):
    history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    history.at(ny(2026, 11, 2)).reply("+14155550101", "STOP")
    report = report_for(db)
    assert report.log.ok and "intact" in report.log.text
    with db.read() as s:
        head = s.execute(
            select(ActivityEntry.id, ActivityEntry.entry_hash).order_by(ActivityEntry.id.desc())
        ).first()
    assert (report.log.head_id, report.log.head_hash) == tuple(head)
    tamper(db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 1")
    broken = report_for(db)
    assert not broken.log.ok and "altered at entry 1" in broken.log.text
    assert broken.summary_lines()[-2].startswith("ACTIVITY LOG: ")


def test_the_csv_has_every_section_and_marks_late_opt_outs(history, db, tmp_path):
    history.at(ny(2026, 11, 1)).contact("Ann", "+14155550101")
    history.at(ny(2026, 11, 30, 9)).reply("+14155550101", "STOP", sent_at=ny(2026, 11, 2, 9))
    path = tmp_path / "compliance.csv"
    assert compliance.write_csv(report_for(db), path) == 1
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["SMS opt-out compliance report: November 2026"]
    titles = [r[0] for r in rows if len(r) == 1]
    for section in ("Opt-outs", "Replies held for review", "Texts sent to opted-out numbers",
                    "Activity log check"):  # fmt: skip
        assert section in titles
    header = rows.index(list(compliance.OPT_OUT_COLUMNS))
    opt_out = dict(zip(compliance.OPT_OUT_COLUMNS, rows[header + 1], strict=True))
    assert opt_out["beyond_10_business_days"] == "yes"
    assert opt_out["received_at"] == "2026-11-02T14:00:00+00:00"
    assert opt_out["number"] == "'+14155550101"  # spreadsheet-safe, as every export


def test_a_month_that_is_not_yyyy_mm_is_one_clear_error():
    assert compliance.parse_month("2026-11") == NOVEMBER
    assert compliance.previous_month(date(2026, 12, 1)) == NOVEMBER
    assert compliance.previous_month(date(2027, 1, 1)) == date(2026, 12, 1)
    for bad in ("November", "2026-13", "2026/11", ""):
        with pytest.raises(UserInputError, match="use YYYY-MM"):
            compliance.parse_month(bad)
