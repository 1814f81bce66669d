"""core.inbox on its own: storing listed texts once, acting on each stored text once, and a
person's review decisions (the poller and Twilio are in tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.support.contacts import add_contact
from trustpager_desktop.core import consent, inbox
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.states import ReviewDecision, ReviewStatus
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.store.models import Contact, InboundMessage

OURS = "+14155550100"
ANN = "+14155550101"


def _record(sid: str, body: str, *, sender: str = ANN, minutes_ago: float = 5, clock=None):
    sent = (clock.now() if clock else datetime(2026, 11, 26, 15, tzinfo=UTC)) - timedelta(
        minutes=minutes_ago
    )
    return InboundRecord(sid, sender, OURS, body, sent, "inbound")


def _stored(db) -> list[InboundMessage]:
    with db.read() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _receive(db, clock, *records: InboundRecord) -> inbox.ProcessResult:
    inbox.store_inbound(db, records, clock)
    return inbox.process_pending(db, clock)


# ---- storing ---------------------------------------------------------------------------------


def test_a_listed_text_is_stored_once_however_often_it_is_listed(db, clock):
    first = inbox.store_inbound(db, [_record("SM1", "Hi"), _record("SM1", "Hi")], clock)
    again = inbox.store_inbound(db, [_record("SM1", "Hi"), _record("SM2", "Yo")], clock)
    assert (first.new, first.duplicates) == (1, 1)
    assert (again.new, again.duplicates) == (1, 1)
    assert [m.sid for m in _stored(db)] == ["SM1", "SM2"]


def test_an_unusable_record_is_skipped_and_the_rest_are_stored(db, clock):
    naive = datetime(2026, 11, 26, 14, 0)  # no zone: read as UTC
    records = [
        InboundRecord("", ANN, OURS, "no sid", naive, "inbound"),
        InboundRecord("SMnosender", " ", OURS, "no sender", naive, "inbound"),
        InboundRecord("SMnodate", ANN, OURS, "no date", None, "inbound"),  # type: ignore[arg-type]
        InboundRecord("SMok", "(415) 555-0101", OURS, "ok\x00" + "x" * 20_000, naive, "inbound"),
    ]
    result = inbox.store_inbound(db, records, clock)
    assert (result.new, result.skipped) == (1, 3)
    (stored,) = _stored(db)
    assert stored.from_e164 == ANN  # numbers are compared in E.164
    assert stored.date_sent.replace(tzinfo=UTC) == naive.replace(tzinfo=UTC)
    assert "\x00" not in stored.body and len(stored.body) == inbox.BODY_MAX
    assert stored.processed_at is None  # stored before anything acts on it


# ---- acting ----------------------------------------------------------------------------------


def test_stop_opts_out_every_contact_with_the_number_once(db, clock):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    ann_work = add_contact(db, clock, "Ann", "Work", phone="(415) 555-0101")
    result = _receive(db, clock, _record("SMstop", "Stop", clock=clock))
    assert (result.processed, result.opted_out) == (1, 1)  # one STOP, two contacts
    (notice,) = result.opt_outs
    assert (notice.phone_e164, notice.message_sid) == (ANN, "SMstop")
    assert sorted(notice.contact_ids) == sorted([ann, ann_work])
    with db.read() as s:
        assert all(s.get(Contact, cid).sms_opted_out for cid in (ann, ann_work))
    assert inbox.process_pending(db, clock).processed == 0  # acted on exactly once


def test_stop_from_an_unknown_number_is_remembered_for_later_contacts(db, clock):
    result = _receive(db, clock, _record("SMstop", "STOP", sender="+14155550199", clock=clock))
    assert (result.unknown_sender, result.opted_out_numbers) == (1, ["+14155550199"])
    with db.read() as s:
        assert consent.number_is_opted_out(s, "+14155550199")


def test_wording_that_may_be_an_opt_out_waits_for_a_person(db, clock):
    add_contact(db, clock, "Ann", "Lee", phone=ANN)
    result = _receive(db, clock, _record("SMmaybe", "please stop texting me", clock=clock))
    assert (result.needs_review, result.opted_out) == (1, 0)
    with db.read() as s:
        (item,) = inbox.list_needs_review(s)
        assert inbox.count_needs_review(s) == 1
    assert (item.message_sid, item.contact_names) == ("SMmaybe", ("Ann Lee",))
    assert item.deadline is not None  # the FCC's 10 business days


def test_help_and_ordinary_replies_are_counted_and_change_no_consent(db, clock):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    result = _receive(
        db, clock, _record("SMhelp", "HELP", clock=clock), _record("SMhi", "See you at 3")
    )
    assert (result.help_requests, result.other, result.opted_out) == (1, 1, 0)
    with db.read() as s:
        assert not s.get(Contact, ann).sms_opted_out


# ---- review decisions ------------------------------------------------------------------------


def _held_reply(db, clock) -> tuple[int, int]:
    ann = add_contact(db, clock, "Ann", phone=ANN)
    _receive(db, clock, _record("SMmaybe", "please stop texting me", clock=clock))
    with db.read() as s:
        (item,) = inbox.list_needs_review(s)
    return ann, item.inbound_id


def test_a_reviewed_opt_out_opts_the_contact_out_and_is_decided_once(db, clock):
    ann, inbound_id = _held_reply(db, clock)
    outcome = inbox.decide_review(db, inbound_id, ReviewDecision.OPT_OUT, "Dana", clock)
    assert (outcome.review_status, outcome.contact_ids) == (ReviewStatus.OPTED_OUT, (ann,))
    with db.read() as s:
        assert s.get(Contact, ann).sms_opted_out and inbox.count_needs_review(s) == 0
    with pytest.raises(UserInputError, match="already reviewed by Dana"):
        inbox.decide_review(db, inbound_id, ReviewDecision.NOT_OPT_OUT, "Lee", clock)


@pytest.mark.parametrize(
    ("decision", "error", "words"),
    [
        ("maybe", UserInputError, "Unknown review decision 'maybe'"),
        (ReviewDecision.RE_CONSENT, UserInputError, "'re_consent' does not apply to this reply"),
    ],
)
def test_a_decision_that_does_not_fit_changes_nothing(db, clock, decision, error, words):
    ann, inbound_id = _held_reply(db, clock)
    with pytest.raises(error, match=words):
        inbox.decide_review(db, inbound_id, decision, "Dana", clock)
    with db.read() as s:
        assert not s.get(Contact, ann).sms_opted_out and inbox.count_needs_review(s) == 1
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_deciding_on_a_reply_that_does_not_exist_says_so(db, clock):
    with pytest.raises(NotFoundError, match="no longer exists"):
        inbox.decide_review(db, 999, ReviewDecision.OPT_OUT, "Dana", clock)


def test_received_time_is_shown_in_the_business_zone():
    when = datetime(2026, 11, 26, 15, 4, 17, tzinfo=UTC)
    assert inbox.received_text(when, "America/New_York") == "26 Nov 2026 10:04:17"
    assert inbox.received_text(when, "Not/AZone") == "26 Nov 2026 15:04:17"  # TZ=UTC in tests
