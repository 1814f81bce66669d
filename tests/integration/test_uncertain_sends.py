"""Sends that may have happened (issue 13.5): Twilio took the text but answered 5xx, timed
out or dropped the connection. The text is looked up before any retry, and recorded from
what Twilio has; only a send Twilio certainly never received is retried at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support import figures
from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import auto_queue, automations
from trustpager_desktop.core.auto_queue import QueueDispatcher
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import MessageStatus, QueueStatus
from trustpager_desktop.providers.twilio_provider import TwilioProvider
from trustpager_desktop.store.models import OutboundMessage, QueueItem

AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
ANYTIME = AppSettings(quiet_hours_start=0, quiet_hours_end=24)
NUMBERS = ["+14155554001", "+14155554002", "+14155554003"]


@pytest.fixture(autouse=True)
def _afternoon(clock, fake_twilio):
    clock.set(AFTERNOON)
    fake_twilio.clock = clock.now  # Twilio dates its messages on the test's clock


@pytest.fixture
def provider(fake_twilio):
    """The real provider with a short timeout, so a hanging answer times out quickly."""
    return TwilioProvider(fake_twilio.account_sid, fake_twilio.auth_token,
                          fake_twilio.phone_number, api_base=fake_twilio.base_url, timeout=0.3)  # fmt: skip


@pytest.fixture
def dispatcher(db, provider, clock):
    return QueueDispatcher(db, OutboundGateway(db, provider, clock=clock), settings=ANYTIME,
                           clock=clock)  # fmt: skip


def _enrol(db, clock, numbers=NUMBERS, names=None) -> None:
    with db.write() as s:
        ids = [
            add_contact(s, clock, name, phone=n)
            for name, n in zip(names or [f"C{i}" for i in range(len(numbers))], numbers,
                               strict=True)
        ]  # fmt: skip
        automation = automations.create_automation(
            s, AutomationInput("R", [StepInput("send_sms", "Hi {first_name}")]), clock=clock
        )
        automations.enroll(s, automation.id, Audience(contact_ids=tuple(ids)), actor="t",
                           clock=clock)  # fmt: skip


def _twilio_has(fake_twilio) -> Counter[str]:
    return Counter(m["to"] for m in fake_twilio.sent_messages)


def _duplicates(fake_twilio) -> int:
    twice = sum(n - 1 for n in _twilio_has(fake_twilio).values())
    figures.add("duplicate sends", twice)
    return twice


def _queue(db) -> list[tuple[str, str | None]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(
            select(QueueItem.status, QueueItem.reason).order_by(QueueItem.id))]  # fmt: skip


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_three_texts_twilio_accepted_then_answered_5xx_are_not_sent_again(
    db, dispatcher, fake_twilio, clock, status
):
    _enrol(db, clock)
    fake_twilio.add_fault(Fault.accept_then_fail(status, count=3))

    report = dispatcher.dispatch_due()

    assert report.checking == 3 and report.retrying == 0
    assert all(s == QueueStatus.PENDING and "may have been sent" in r for s, r in _queue(db))
    clock.advance(seconds=30)
    assert dispatcher.dispatch_due().claimed == 0  # the lookup waits for late listings
    clock.advance(seconds=60)
    report = dispatcher.dispatch_due()
    assert report.sent == 3 and report.claimed == 3
    assert _duplicates(fake_twilio) == 0 and sorted(_twilio_has(fake_twilio)) == NUMBERS
    assert [s for s, _ in _queue(db)] == [QueueStatus.SENT] * 3
    with db.read() as s:
        sids = {m.provider_sid for m in s.scalars(select(OutboundMessage))}
    assert sids == {m["sid"] for m in fake_twilio.sent_messages}  # what Twilio has, recorded


@pytest.mark.parametrize(
    "fault", [Fault.accept_then_drop(), Fault.accept_then_hang(1.0)], ids=["dropped", "no-answer"]
)
def test_a_text_twilio_took_before_the_connection_failed_is_found_not_resent(
    db, dispatcher, fake_twilio, clock, fault
):
    _enrol(db, clock, NUMBERS[:1])
    fake_twilio.add_fault(fault)
    assert dispatcher.dispatch_due().checking == 1
    clock.advance(minutes=2)
    assert dispatcher.dispatch_due().sent == 1
    assert _duplicates(fake_twilio) == 0 and _twilio_has(fake_twilio) == Counter(NUMBERS[:1])


def test_an_error_answer_for_a_text_twilio_never_created_is_sent_after_the_lookup(
    db, dispatcher, fake_twilio, clock
):
    _enrol(db, clock, NUMBERS[:1])
    fake_twilio.add_fault(Fault.http(503, method="POST"))  # refused before it was created
    assert dispatcher.dispatch_due().checking == 1
    assert fake_twilio.sent_messages == []
    clock.advance(minutes=2)
    report = dispatcher.dispatch_due()
    assert report.sent == 1 and _twilio_has(fake_twilio) == Counter(NUMBERS[:1])
    with db.read() as s:
        first, second = s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
    assert (first.status, first.provider_sid) == (MessageStatus.FAILED, None)
    assert "no record" in first.error_message
    assert second.status == MessageStatus.SENT


def test_a_lookup_that_fails_leaves_the_text_for_a_later_lookup_or_review_never_a_resend(
    db, dispatcher, fake_twilio, clock
):
    _enrol(db, clock, NUMBERS[:1])
    fake_twilio.add_fault(Fault.accept_then_fail(500))
    dispatcher.dispatch_due()
    fake_twilio.add_fault(Fault.http(500, method="GET", count=1_000))  # Twilio's list is down
    clock.advance(minutes=2)
    report = dispatcher.dispatch_due()
    assert (report.checking, report.sent, report.retrying) == (1, 0, 0)
    ((status, reason),) = _queue(db)
    assert status == QueueStatus.PENDING and reason.startswith(
        "may have been sent; Twilio could not be"
    )
    for _ in range(40):  # hours of Twilio's list being unreadable
        clock.advance(minutes=30)
        dispatcher.dispatch_due()
    assert _queue(db) == [(QueueStatus.REVIEW, auto_queue.REASON_REVIEW)]
    assert len(fake_twilio.requests_to("Messages.json", method="POST")) == 1
    fake_twilio.clear_faults()
    clock.advance(hours=1)
    assert dispatcher.dispatch_due().claimed == 0  # a person decides now
    assert len(fake_twilio.requests_to("Messages.json", method="POST")) == 1


def test_a_lookup_that_fails_once_then_works_finds_the_text(db, dispatcher, fake_twilio, clock):
    _enrol(db, clock, NUMBERS[:1])
    fake_twilio.add_fault(Fault.accept_then_fail(504))
    dispatcher.dispatch_due()
    fake_twilio.add_fault(Fault.drop(method="GET"))
    clock.advance(minutes=2)
    assert dispatcher.dispatch_due().checking == 1
    clock.advance(minutes=5)
    assert dispatcher.dispatch_due().sent == 1
    assert _duplicates(fake_twilio) == 0 and len(fake_twilio.sent_messages) == 1


def test_the_same_words_to_one_number_twice_each_find_their_own_message(
    db, dispatcher, fake_twilio, clock
):
    """Two contacts named Ann share a number: two identical texts. Both answered 500 after
    Twilio took them: each lookup claims a different message, and none is resent."""
    _enrol(db, clock, [NUMBERS[0], NUMBERS[0]], names=["Ann", "Ann"])
    fake_twilio.add_fault(Fault.accept_then_fail(500, count=2))
    assert dispatcher.dispatch_due().checking == 2
    clock.advance(minutes=2)
    assert dispatcher.dispatch_due().sent == 2
    assert len(fake_twilio.sent_messages) == 2
    with db.read() as s:
        sids = [m.provider_sid for m in s.scalars(select(OutboundMessage))]
    assert sorted(sids) == sorted(m["sid"] for m in fake_twilio.sent_messages)


def test_an_earlier_identical_text_is_not_mistaken_for_the_uncertain_one(
    db, dispatcher, fake_twilio, clock
):
    """Last week's "Hi C0" to the same number is older than the attempt: not a match."""
    last_week = fake_twilio.add_outbound(fake_twilio.phone_number, NUMBERS[0], "Hi C0",
                                         date_sent=clock.now() - timedelta(days=7))  # fmt: skip
    _enrol(db, clock, NUMBERS[:1])
    fake_twilio.add_fault(Fault.http(500, method="POST"))  # not created this time
    dispatcher.dispatch_due()
    clock.advance(minutes=2)
    assert dispatcher.dispatch_due().sent == 1
    assert _twilio_has(fake_twilio) == Counter(NUMBERS[:1])  # sent again: today's one
    with db.read() as s:
        sids = [m.provider_sid for m in s.scalars(select(OutboundMessage))]
    assert last_week not in sids and fake_twilio.sent_messages[0]["sid"] in sids


def test_a_manual_send_answered_500_says_it_may_have_been_sent_and_is_not_retried(
    db, provider, fake_twilio, clock
):
    _enrol(db, clock, NUMBERS[:1])
    with db.read() as s:
        contact_id = s.scalar(select(QueueItem.contact_id))
    fake_twilio.add_fault(Fault.accept_then_fail(500))
    gateway = OutboundGateway(db, provider, clock=clock)
    outcome = gateway.send(contact_id=contact_id, body="Your keys", origin=ManualOrigin("Ann"))
    assert outcome.status == MessageStatus.UNKNOWN and outcome.may_have_been_sent
    assert not outcome.retryable and "may or may not have been sent" in outcome.reason
    # Asked afterwards, Twilio has it: the record says so.
    assert gateway.confirm_uncertain(outcome.message_id).status == MessageStatus.SENT
    assert len(fake_twilio.sent_messages) == 1
