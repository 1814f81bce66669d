"""The inbox poller end to end: local Twilio server, real client, SQLite and PostgreSQL.

DESIGN promises 4 (STOP opts out with no manual step, once per message, logged
with time and SID), 6 (opt-out follows the number) and 8 (stored before acted on).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import activity, consent, contacts, inbox
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentEventKind,
    ConsentSource,
    ReviewDecision,
    ReviewStatus,
)
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.providers.twilio_provider import TwilioProvider
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent, InboundMessage


def _opted_out(db, contact_id: int) -> bool:
    with db.read() as s:
        return contacts.get_contact(s, contact_id).sms_opted_out


def _events(db, **where) -> list[ConsentEvent]:
    with db.read() as s:
        query = select(ConsentEvent).filter_by(**where).order_by(ConsentEvent.id)
        return list(s.scalars(query))


def _entries(db, **where) -> list[ActivityEntry]:
    with db.read() as s:
        return list(s.scalars(select(ActivityEntry).filter_by(**where).order_by(ActivityEntry.id)))


def _inbound(db, sid: str) -> InboundMessage:
    with db.read() as s:
        return s.scalar(select(InboundMessage).where(InboundMessage.sid == sid))


def _list_requests(fake_twilio) -> int:
    return len(fake_twilio.requests_to("/Messages.json", method="GET"))


def test_keyword_variants_opt_out_and_lookalikes_do_not(db, clock, inbox_poller, send_inbound):
    opting_out = {"STOP": "0101", "stop.": "0102", "Opt-Out": "0103", "UNSUBSCRIBE 🙏": "0104"}
    ids = {
        body: add_contact(db, clock, "Ann", "Lee", phone=f"(415) 555-{tail}")
        for body, tail in opting_out.items()
    }
    for body, tail in opting_out.items():
        send_inbound(f"+1415555{tail}", body)
    appointment = add_contact(db, clock, "Bob", "Lee", phone="(415) 555-0105")
    send_inbound("+14155550105", "Cancel my appointment")
    polite = add_contact(db, clock, "Cy", "Lee", phone="(415) 555-0106")
    polite_sid = send_inbound("+14155550106", "please stop texting me")

    report = inbox_poller.run_once()

    assert report.ok, report.message
    assert all(_opted_out(db, cid) for cid in ids.values())
    assert not _opted_out(db, appointment)
    assert not _opted_out(db, polite)
    assert _inbound(db, polite_sid).review_status == ReviewStatus.PENDING
    stop_events = _events(db, source=ConsentSource.STOP_REPLY)
    assert sorted(e.contact_id for e in stop_events) == sorted(ids.values())
    assert [e.kind for e in _entries(db, contact_id=appointment)][
        -1
    ] == ActivityKind.INBOUND_MESSAGE
    review_note = _entries(db, contact_id=polite)[-1]
    assert (
        review_note.kind == ActivityKind.INBOUND_MESSAGE
        and "waiting for review" in review_note.summary
    )


def test_opt_out_note_says_when_the_stop_arrived_and_its_sid(db, clock, inbox_poller, fake_twilio):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    received = datetime(2026, 11, 26, 15, 4, 17, tzinfo=UTC)  # 10:04:17 in New York
    sid = fake_twilio.add_inbound("+14155550101", fake_twilio.phone_number, "STOP", received)

    inbox_poller.run_once()

    (note,) = _entries(db, contact_id=cid, kind=ActivityKind.OPT_OUT)
    assert note.summary.startswith(f"Opted out by STOP reply received 26 Nov 2026 10:04:17 ({sid})")
    assert note.occurred_at == received
    (event,) = _events(db, contact_id=cid)
    assert (event.message_sid, event.received_at, event.evidence) == (sid, received, "STOP")


def test_same_message_over_several_polls_is_acted_on_once(db, clock, inbox_poller, send_inbound):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    sid = send_inbound("+14155550101", "STOP")

    for _ in range(3):
        assert inbox_poller.run_once().ok
        clock.advance(seconds=30)

    assert len(_events(db, message_sid=sid)) == 1
    assert len(_entries(db, contact_id=cid, kind=ActivityKind.OPT_OUT)) == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_a_message_listed_late_is_picked_up_by_a_later_poll(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    sid = send_inbound("+14155550101", "STOP", minutes_ago=5, visible=False)
    inbox_poller.run_once()
    assert not _opted_out(db, cid)

    fake_twilio.release(sid)
    clock.advance(hours=12)  # the next UTC day: still inside the look-back window
    inbox_poller.run_once()

    assert _opted_out(db, cid)
    assert _events(db, contact_id=cid)[0].message_sid == sid


def test_many_pages_are_all_stored_once(db, clock, twilio_provider, fake_twilio):
    start = clock.now() - timedelta(hours=2)
    for n in range(2500):
        fake_twilio.add_inbound(
            f"+1415556{n:04d}", fake_twilio.phone_number, "Thanks", start + timedelta(seconds=n)
        )
    fake_twilio.add_outbound(fake_twilio.phone_number, "+14155550101", "Reminder")

    first = inbox.store_inbound(db, twilio_provider.list_inbound(clock.now()), clock)
    again = inbox.store_inbound(db, twilio_provider.list_inbound(clock.now()), clock)

    assert (first.new, first.duplicates) == (2500, 0)
    assert (again.new, again.duplicates) == (0, 2500)
    assert _list_requests(fake_twilio) == 6  # 3 pages of 1,000, twice
    with db.read() as s:
        assert s.scalar(select(func.count(func.distinct(InboundMessage.sid)))) == 2500


def test_429_backs_off_then_recovers(db, clock, inbox_poller, send_inbound, fake_twilio):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    send_inbound("+14155550101", "STOP")
    fake_twilio.add_fault(Fault.http(429, retry_after="12"))

    report = inbox_poller.run_once()

    assert not report.ok
    assert report.message.startswith("Twilio unreachable: Twilio is receiving too many requests")
    status = inbox_poller.status
    assert status.next_try_at == clock.now() + timedelta(seconds=12)  # Retry-After wins over 5 s
    assert "next try at " in report.message and not _opted_out(db, cid)

    clock.advance(seconds=6)
    requests_before = _list_requests(fake_twilio)
    skipped = inbox_poller.run_once()
    assert not skipped.ok and _list_requests(fake_twilio) == requests_before  # Twilio left alone

    clock.advance(seconds=7)
    assert inbox_poller.run_once().ok
    assert _opted_out(db, cid)
    assert inbox_poller.status.last_error is None and inbox_poller.status.next_try_at is None


def test_5xx_backoff_grows_and_is_capped(db, clock, inbox_poller, fake_twilio):
    waits = []
    for _ in range(9):
        fake_twilio.add_fault(Fault.http(503))
        inbox_poller.check_now()
        waits.append((inbox_poller.status.next_try_at - clock.now()).total_seconds())
    assert waits[:4] == [5, 10, 20, 40]
    assert waits[-1] == 300 and max(waits) == 300
    assert inbox_poller.check_now().ok


def test_refused_connection_is_reported_and_recovered(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    send_inbound("+14155550101", "STOP")
    fake_twilio.stop()

    report = inbox_poller.run_once()

    assert not report.ok and "connection failed" in report.message
    assert inbox_poller.status.next_try_at is not None
    fake_twilio.start()
    clock.advance(minutes=1)
    assert inbox_poller.run_once().ok
    assert _opted_out(db, cid)


def test_wrong_credentials_are_reported_plainly_without_backoff(db, clock, fake_twilio):
    provider = TwilioProvider(
        fake_twilio.account_sid,
        "wrong-token",
        fake_twilio.phone_number,
        api_base=fake_twilio.base_url,
        timeout=2.0,
    )
    poller = InboxPoller(db, provider, clock)
    report = poller.run_once()
    assert not report.ok
    assert report.message.startswith(
        "Inbox not checked: Twilio did not accept the Account SID and Auth Token"
    )
    assert poller.status.next_try_at is None


def test_unreadable_record_is_skipped_and_the_rest_processed(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.add_raw_message(
        {"sid": "SMbroken", "direction": "inbound", "from": 42, "body": None},
        date_sent=clock.now() - timedelta(minutes=2),
    )
    send_inbound("+14155550101", "STOP")

    assert inbox_poller.run_once().ok
    assert _opted_out(db, cid)
    assert _inbound(db, "SMbroken") is None


def test_store_refuses_records_without_sid_or_sender(db, clock):
    when = clock.now()
    records = [
        InboundRecord("", "+14155550101", "+1", "STOP", when, "inbound"),
        InboundRecord("SM1", "", "+1", "STOP", when, "inbound"),
        InboundRecord("SM2", "+14155550101", "+1", "STOP\x00", when, "inbound"),
    ]
    result = inbox.store_inbound(db, records, clock)
    assert (result.new, result.skipped) == (1, 2)
    assert _inbound(db, "SM2").body == "STOP"  # NUL dropped: PostgreSQL text cannot hold it


def test_stop_from_unknown_number_then_creating_the_contact(db, clock, inbox_poller, send_inbound):
    sid = send_inbound("+14155550177", "STOP")
    inbox_poller.run_once()

    with db.read() as s:
        (sender,) = inbox.list_unknown_senders(s)
    assert (sender.from_e164, sender.opted_out, sender.last_body) == ("+14155550177", True, "STOP")
    (event,) = _events(db, phone_e164="+14155550177")
    assert event.contact_id is None and event.message_sid == sid

    cid = add_contact(db, clock, "Ann", "Lee", phone="415-555-0177")
    assert _opted_out(db, cid)
    with db.read() as s:
        assert inbox.list_unknown_senders(s) == []


def test_stop_opts_out_every_contact_with_the_number(db, clock, inbox_poller, send_inbound):
    first = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    second = add_contact(db, clock, "Ben", "Lee", phone="+1 415 555 0101")
    send_inbound("+14155550101", "stop")

    inbox_poller.run_once()

    assert _opted_out(db, first) and _opted_out(db, second)
    (notice,) = inbox_poller.status.opt_outs
    assert set(notice.contact_ids) == {first, second}
    assert set(notice.contact_names) == {"Ann Lee", "Ben Lee"}


def test_kill_between_storing_and_processing_is_repaired(
    db, clock, twilio_provider, send_inbound, fake_twilio
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    sid = send_inbound("+14155550101", "STOP")
    # The first poller stored the message and was killed before processing it.
    inbox.store_inbound(db, twilio_provider.list_inbound(clock.now()), clock)
    assert _inbound(db, sid).processed_at is None and not _opted_out(db, cid)
    fake_twilio.stop()  # and Twilio is unreachable when the next poller starts
    restarted = TwilioProvider(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        fake_twilio.phone_number,
        api_base=fake_twilio.base_url,
        timeout=2.0,
    )

    report = InboxPoller(db, restarted, clock).run_once()

    assert not report.ok and "1 opt-out" in report.message
    assert _opted_out(db, cid) and _inbound(db, sid).processed_at is not None


def test_crash_while_processing_leaves_the_message_for_next_time(
    db, clock, inbox_poller, send_inbound, monkeypatch
):
    ann = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    ben = add_contact(db, clock, "Ben", "Lee", phone="(415) 555-0102")
    ann_sid = send_inbound("+14155550101", "STOP", minutes_ago=3)
    send_inbound("+14155550102", "STOP", minutes_ago=2)
    real = consent.opt_out_numbers
    broken = {"+14155550101"}

    def crash_on_broken(session, items, **kwargs):
        if any(item.e164 in broken for item in items):
            raise RuntimeError("power cut")
        return real(session, items, **kwargs)

    monkeypatch.setattr(consent, "opt_out_numbers", crash_on_broken)
    report = inbox_poller.run_once()

    assert not report.ok and "1 failed, will retry" in report.message
    assert _inbound(db, ann_sid).processed_at is None and not _opted_out(db, ann)
    assert _entries(db, contact_id=ann, kind=ActivityKind.OPT_OUT) == []  # rolled back together
    assert _opted_out(db, ben)  # the STOP behind it was not held up

    broken.clear()
    assert inbox_poller.run_once().ok
    assert _opted_out(db, ann)
    assert len(_events(db, message_sid=ann_sid)) == 1


def test_two_pollers_on_one_database_process_each_sid_once(
    db, clock, twilio_provider, send_inbound
):
    numbers = [f"+1415555{n:04d}" for n in range(200, 240)]
    for n, number in enumerate(numbers):
        add_contact(db, clock, f"C{n}", "Lee", phone=number)
        send_inbound(number, "STOP" if n % 2 else "Thanks, see you then")
    other_db = Database.open(db.url)  # a second desktop on the same database
    pollers = [InboxPoller(d, twilio_provider, clock) for d in (db, other_db)]
    barrier = threading.Barrier(2)
    reports = []

    def run(poller):
        barrier.wait()
        reports.append(poller.check_now())  # both read at once, whoever holds the lease

    threads = [threading.Thread(target=run, args=(p,)) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    other_db.close()

    assert all(r.ok for r in reports), reports
    processed = sum(p.status.last_result.processed.processed for p in pollers)
    assert processed == 40
    with db.read() as s:
        per_sid_events = s.execute(
            select(ConsentEvent.message_sid, func.count()).group_by(ConsentEvent.message_sid)
        ).all()
        entries = list(s.scalars(select(ActivityEntry).where(ActivityEntry.actor == "Inbox")))
    assert len(per_sid_events) == 20 and all(count == 1 for _, count in per_sid_events)
    sids = [e.details for e in entries]
    assert len(entries) == 40 and len(set(sids)) == 40
    with db.read() as s:
        assert activity.verify_chain(s).ok  # batched log writes keep the hash chain intact


def test_yes_counts_only_from_an_opted_out_number(db, clock, inbox_poller, send_inbound):
    subscribed = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    opted_out = add_contact(
        db,
        clock,
        "Ben",
        "Lee",
        phone="(415) 555-0102",
        opted_out=True,
        opted_out_at=clock.now() - timedelta(hours=1),
    )  # replies come after it
    send_inbound("+14155550101", "YES")
    yes_sid = send_inbound("+14155550102", "Yes")

    inbox_poller.run_once()

    assert not _opted_out(db, subscribed) and not _opted_out(db, opted_out)
    assert _events(db, contact_id=subscribed) == []
    assert _entries(db, contact_id=subscribed)[-1].kind == ActivityKind.INBOUND_MESSAGE
    reconsent = _events(db, contact_id=opted_out, kind=ActivityKind.RE_CONSENT)
    assert [(e.method, e.message_sid) for e in reconsent] == [("start_reply", yes_sid)]


def test_start_from_opted_out_number_records_reconsent_with_the_sid(
    db, clock, inbox_poller, send_inbound
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    stop_sid = send_inbound("+14155550101", "STOP", minutes_ago=10)
    start_sid = send_inbound("+14155550101", "START", minutes_ago=2)

    inbox_poller.run_once()  # both in one poll: processed oldest first

    assert not _opted_out(db, cid)
    assert [(e.kind, e.message_sid) for e in _events(db, contact_id=cid)] == [
        (ConsentEventKind.OPT_OUT, stop_sid),
        (ConsentEventKind.RE_CONSENT, start_sid),
    ]
    (event,) = _events(db, contact_id=cid, kind=ActivityKind.RE_CONSENT)
    assert event.method == "start_reply" and event.source == ConsentSource.START_REPLY
    note = _entries(db, contact_id=cid, kind=ActivityKind.RE_CONSENT)[0]
    assert "START reply" in note.summary and start_sid in note.summary


def test_start_replies_can_be_sent_to_review(db, clock, twilio_provider, send_inbound):
    cid = add_contact(
        db,
        clock,
        "Ann",
        "Lee",
        phone="(415) 555-0101",
        opted_out=True,
        opted_out_at=clock.now() - timedelta(hours=1),
    )  # replies come after it
    sid = send_inbound("+14155550101", "START")
    settings = AppSettings(start_replies_need_review=True)

    InboxPoller(db, twilio_provider, clock, settings=settings).run_once()

    assert _opted_out(db, cid)
    with db.read() as s:
        (item,) = inbox.list_needs_review(s)
    assert (item.message_sid, item.classification) == (sid, ReplyKind.OPT_IN)
    with pytest.raises(UserInputError):
        inbox.decide_review(db, item.inbound_id, ReviewDecision.OPT_OUT, "Maria", clock)
    inbox.decide_review(db, item.inbound_id, ReviewDecision.RE_CONSENT, "Maria", clock)
    assert not _opted_out(db, cid)


def test_help_is_logged_on_each_contact(db, clock, inbox_poller, send_inbound):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    send_inbound("+14155550101", "help")
    inbox_poller.run_once()
    (entry,) = _entries(db, contact_id=cid, kind=ActivityKind.HELP_REQUEST)
    assert "help" in entry.summary and not _opted_out(db, cid)


def test_review_decisions_are_logged_with_who_and_cannot_be_made_twice(
    db, clock, inbox_poller, send_inbound
):
    ann = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    ben = add_contact(db, clock, "Ben", "Lee", phone="(415) 555-0102")
    send_inbound("+14155550101", "please stop texting me", minutes_ago=3)
    send_inbound("+14155550102", "no more texts about the sale", minutes_ago=2)
    inbox_poller.run_once()
    with db.read() as s:
        first, second = inbox.list_needs_review(s)
        assert inbox.count_needs_review(s) == 2
    assert first.contact_names == ("Ann Lee",) and first.reason

    inbox.decide_review(db, first.inbound_id, ReviewDecision.OPT_OUT, "Maria", clock)
    inbox.decide_review(db, second.inbound_id, ReviewDecision.NOT_OPT_OUT, "Tom", clock)

    assert _opted_out(db, ann) and not _opted_out(db, ben)
    (event,) = _events(db, contact_id=ann)
    assert (event.source, event.actor, event.message_sid) == (
        ConsentSource.REVIEW,
        "Maria",
        first.message_sid,
    )
    decisions = _entries(db, kind=ActivityKind.REVIEW_DECISION)
    assert [(d.contact_id, d.actor) for d in decisions] == [(ann, "Maria"), (ben, "Tom")]
    assert "not an opt-out" in decisions[1].summary
    with pytest.raises(UserInputError, match="already reviewed by Maria"):
        inbox.decide_review(db, first.inbound_id, ReviewDecision.NOT_OPT_OUT, "Tom", clock)
    assert _opted_out(db, ann)
    with db.read() as s:
        assert inbox.count_needs_review(s) == 0


def test_sandbox_replies_flow_through_the_same_path(db, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    sandbox = SandboxProvider(clock=clock.now)
    sandbox.simulate_reply("+14155550101", "STOP")
    poller = InboxPoller(db, sandbox, clock)

    report = poller.run_once()

    assert report.ok and _opted_out(db, cid)
    assert report.message.startswith("Inbox checked")
