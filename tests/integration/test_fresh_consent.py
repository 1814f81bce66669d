"""Fresh consent per provider call (issue 14.3): no automation text reaches Twilio on a
consent answer older than one second; a slow Twilio makes the rest of the batch be asked
again, so an opt-out saved meanwhile by another desktop blocks the texts still to go."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import automations, consent
from trustpager_desktop.core.auto_queue import QueueDispatcher
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.gateway import CONSENT_MAX_AGE, OutboundGateway
from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentSource,
    MessageStatus,
    QueueStatus,
    ReviewStatus,
    SuppressionResult,
)
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import (
    ActivityEntry,
    Contact,
    InboundMessage,
    OutboundMessage,
    QueueItem,
)

AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
ANYTIME = AppSettings(quiet_hours_start=0, quiet_hours_end=24)
NUMBERS = [f"+1415555{n:04d}" for n in range(3000, 3006)]


@pytest.fixture(autouse=True)
def _afternoon(clock):
    clock.set(AFTERNOON)


def _enrol_six(db, clock) -> list[int]:
    with db.write() as s:
        ids = [add_contact(s, clock, f"C{i}", phone=n) for i, n in enumerate(NUMBERS)]
        automation = automations.create_automation(
            s, AutomationInput("R", [StepInput("send_sms", "Hi {first_name}")]), clock=clock
        )
        automations.enroll(s, automation.id, Audience(contact_ids=tuple(ids)), actor="t",
                           clock=clock)  # fmt: skip
    return ids


def _opt_out(database: Database, contact_ids: list[int], clock) -> None:
    with database.write() as s:
        for cid in contact_ids:
            consent.opt_out_contact(s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE,
                                    actor="Front desk", clock=clock)  # fmt: skip


def _reached_twilio(fake_twilio) -> list[str]:
    return [r.form["To"] for r in fake_twilio.requests_to("Messages.json", method="POST")]


class SecondsOnEachCall:
    """A monotonic clock for the gateway that a slow provider moves forward."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowTwilio:
    """The real provider; each send takes ``seconds`` of the gateway's real-time clock, and
    after the first one another desktop saves opt-outs for the last four contacts."""

    def __init__(self, inner, elapsed: SecondsOnEachCall, seconds: float, after_first) -> None:
        self.inner, self.elapsed, self.seconds, self.after_first = (
            inner,
            elapsed,
            seconds,
            after_first,
        )
        self.name = inner.name
        self.calls = 0

    def send(self, to_e164, body):  # type: ignore[no-untyped-def]
        result = self.inner.send(to_e164, body)
        self.elapsed.now += self.seconds
        self.calls += 1
        if self.calls == 1:
            self.after_first()
        return result


def _dispatch_while_twilio_is_slow(db, clock, twilio_provider, after_first):  # type: ignore[no-untyped-def]
    """One dispatch (one dispatcher) in which every send takes 1.2 s of the gateway's
    real-time clock, ``after_first`` running once the first text went."""
    elapsed = SecondsOnEachCall()
    slow = SlowTwilio(twilio_provider, elapsed, 1.2, after_first)
    gateway = OutboundGateway(db, slow, clock=clock, monotonic=elapsed)
    return QueueDispatcher(db, gateway, settings=ANYTIME, clock=clock, workers=1).dispatch_due()


def test_an_opt_out_saved_while_twilio_is_slow_blocks_the_rest_of_the_batch(
    db, clock, fake_twilio, twilio_provider
):
    ids = _enrol_six(db, clock)
    other = Database.open(db.url)
    report = _dispatch_while_twilio_is_slow(db, clock, twilio_provider,
                                            lambda: _opt_out(other, ids[2:], clock))  # fmt: skip
    other.close()

    assert _reached_twilio(fake_twilio) == NUMBERS[:2]
    assert (report.sent, report.skipped) == (2, 4)
    with db.read() as s:
        items = s.execute(select(QueueItem.status, QueueItem.reason).order_by(QueueItem.id)).all()
        blocked = s.scalars(select(OutboundMessage).where(OutboundMessage.to_e164.in_(NUMBERS[2:])))
        skipped_logged = s.scalars(
            select(ActivityEntry.contact_id).where(
                ActivityEntry.kind == ActivityKind.AUTOMATION_SKIPPED
            )
        ).all()
        assert {(m.status, m.suppression_result, m.provider_sid) for m in blocked} == {
            (MessageStatus.SUPPRESSED, SuppressionResult.BLOCKED, None)
        }
    assert [tuple(i) for i in items[2:]] == [
        (QueueStatus.SKIPPED, "skipped: contact opted out of SMS")
    ] * 4
    assert sorted(skipped_logged) == ids[2:]


def test_a_fast_twilio_sends_the_batch_on_one_consent_answer(
    db, clock, fake_twilio, twilio_provider, monkeypatch
):
    """Under a second for the whole batch: no extra consent query, the batch speed stays."""
    ids = _enrol_six(db, clock)
    elapsed = SecondsOnEachCall()
    queries = Counter()
    original = consent.may_automation_text_many

    def counting(session, recipients, **options):  # type: ignore[no-untyped-def]
        queries["asked"] += 1
        return original(session, recipients, **options)

    slow = SlowTwilio(twilio_provider, elapsed, CONSENT_MAX_AGE / 10, lambda: None)
    gateway = OutboundGateway(db, slow, clock=clock, monotonic=elapsed)
    monkeypatch.setattr(consent, "may_automation_text_many", counting)
    report = QueueDispatcher(db, gateway, settings=ANYTIME, clock=clock).dispatch_due()
    assert report.sent == len(ids) and queries["asked"] == 1


def test_real_seconds_of_a_slow_twilio_and_an_opt_out_from_another_desktop(
    db, clock, fake_twilio, twilio_provider
):
    """The same with real time: Twilio takes 1.2 s to answer the first text; another
    desktop (its own engine, its own thread) opts four contacts out meanwhile."""
    ids = _enrol_six(db, clock)
    fake_twilio.add_fault(Fault.slow(1.2, method="POST"))
    other = Database.open(db.url)

    def opt_out_while_the_first_text_is_with_twilio() -> None:
        while not fake_twilio.requests_to("Messages.json", method="POST"):
            threading.Event().wait(0.01)
        _opt_out(other, ids[2:], clock)

    desk = threading.Thread(target=opt_out_while_the_first_text_is_with_twilio)
    desk.start()
    gateway = OutboundGateway(db, twilio_provider, clock=clock)
    report = QueueDispatcher(db, gateway, settings=ANYTIME, clock=clock).dispatch_due()
    desk.join(10)
    other.close()

    assert _reached_twilio(fake_twilio) == NUMBERS[:2]
    assert (report.sent, report.skipped) == (2, 4)


def test_a_text_another_desktop_took_over_meanwhile_is_neither_sent_nor_settled_here(
    db, clock, fake_twilio, twilio_provider
):
    """While Twilio is slow, another desktop reconciled the second text (our claim had run
    out) and the contact opted out: the re-check does not touch that record, nor send it."""
    ids = _enrol_six(db, clock)
    other = Database.open(db.url)

    def opt_out_and_take_over_the_second() -> None:
        _opt_out(other, ids[1:2], clock)
        with other.write() as s:
            second = s.scalars(select(QueueItem).order_by(QueueItem.id)).all()[1]
            second.claimed_by, second.status = "another desktop", QueueStatus.PENDING
            second.due_at = clock.now() + timedelta(minutes=1)  # its lookup, a minute on
            message = s.scalars(select(OutboundMessage).where(
                OutboundMessage.queue_item_id == second.id)).one()  # fmt: skip
            message.status = MessageStatus.UNKNOWN  # that desktop's reconcile: to be looked up

    report = _dispatch_while_twilio_is_slow(db, clock, twilio_provider,
                                            opt_out_and_take_over_the_second)  # fmt: skip
    other.close()

    assert NUMBERS[1] not in _reached_twilio(fake_twilio)
    assert report.taken_over == 1 and report.sent == 5
    with db.read() as s:
        second = s.scalars(select(QueueItem).order_by(QueueItem.id)).all()[1]
        message = s.scalars(select(OutboundMessage).where(
            OutboundMessage.queue_item_id == second.id)).one()  # fmt: skip
    assert (second.status, second.claimed_by, message.status) == (
        QueueStatus.PENDING, "another desktop", MessageStatus.UNKNOWN)  # fmt: skip


def test_a_reply_waiting_for_review_saved_while_twilio_is_slow_holds_the_rest(
    db, clock, fake_twilio, twilio_provider
):
    """The re-check asks the same rule: a possible opt-out that arrived meanwhile holds the
    remaining texts to that number (they wait, neither sent nor skipped)."""
    _enrol_six(db, clock)
    other = Database.open(db.url)

    def a_reply_waits_for_review() -> None:
        with other.write() as s:
            s.add(InboundMessage(sid="SMwait", from_number=NUMBERS[3], from_e164=NUMBERS[3],
                                 to_number=fake_twilio.phone_number, body="pls stop texting",
                                 date_sent=clock.now(), fetched_at=clock.now(),
                                 processed_at=clock.now(), classification=ReplyKind.POSSIBLE_OPT_OUT,
                                 review_status=ReviewStatus.PENDING))  # fmt: skip

    report = _dispatch_while_twilio_is_slow(db, clock, twilio_provider, a_reply_waits_for_review)
    other.close()

    assert NUMBERS[3] not in _reached_twilio(fake_twilio)
    assert (report.sent, report.held) == (5, 1)
    with db.read() as s:
        held = s.scalars(select(QueueItem.status).order_by(QueueItem.id)).all()[3]
    assert held == QueueStatus.HELD
