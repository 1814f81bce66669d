"""Delivery status of the texts we sent (issue 19 item 1), read by the inbox poller.

The local Twilio server moves each text along queued -> sent -> delivered, or to
undelivered/failed with 30003/30005/30006; the poller's one listing per poll carries
both directions, so statuses cost no extra requests. Numbers whose texts keep failing
are skipped by automations with their own reason until a person clears them.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.inbox import list_requests
from trustpager_desktop.cli import main
from trustpager_desktop.core import conversation, delivery
from trustpager_desktop.core.consent import may_automation_text
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.gateway import AutomationOrigin, ManualOrigin, OutboundGateway
from trustpager_desktop.core.local_settings import default_name
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentSource,
    DeliveryStatus,
    MessageStatus,
)
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.store.models import ActivityEntry, Contact

GOOD, LANDLINE, OFF = "+14155550101", "+14155550102", "+14155550103"
AUTOMATION = AutomationOrigin(
    automation_id=1, automation_name="Reminder", step_id=1, step_position=1
)


@pytest.fixture
def gateway(db, clock, twilio_provider, fake_twilio):
    fake_twilio.clock = clock.now
    return OutboundGateway(db, twilio_provider, clock=clock)


def _send(gateway, contact_id: int, origin=None) -> str:
    outcome = gateway.send(
        body="See you at 3", origin=origin or ManualOrigin("Ann"), contact_id=contact_id
    )
    return outcome.provider_sid


def _poll(poller, clock, fake) -> int:
    """One scheduled poll 30 s later; the list requests it made."""
    clock.advance(seconds=30)
    before = list_requests(fake)
    assert poller.run_once().ok
    return list_requests(fake) - before


def _statuses(db, sids):
    with db.read() as s:
        return delivery.delivery_for_sids(s, sids)


def test_statuses_move_along_in_the_poller_s_one_request(
    db, clock, gateway, inbox_poller, fake_twilio
):
    good = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    off = add_contact(db, clock, "Cy", "Lee", phone="(415) 555-0103")
    fake_twilio.deliver_to(OFF, "undelivered", 30003)
    assert inbox_poller.run_once().ok  # the start-up sweep
    sids = [_send(gateway, good), _send(gateway, off)]

    assert _poll(inbox_poller, clock, fake_twilio) == 1
    assert _statuses(db, sids) == {
        sids[0]: (DeliveryStatus.QUEUED, None),
        sids[1]: (DeliveryStatus.QUEUED, None),
    }
    fake_twilio.advance_deliveries()
    assert _poll(inbox_poller, clock, fake_twilio) == 1
    assert set(_statuses(db, sids).values()) == {(DeliveryStatus.SENT, None)}
    fake_twilio.advance_deliveries()
    assert _poll(inbox_poller, clock, fake_twilio) == 1

    assert _statuses(db, sids) == {
        sids[0]: (DeliveryStatus.DELIVERED, None),
        sids[1]: (DeliveryStatus.UNDELIVERED, 30003),
    }
    with db.read() as s:
        (ann,) = conversation.conversation_for_contact(s, good)
        (cy,) = conversation.conversation_for_contact(s, off)
    assert (ann.status, ann.delivery) == (MessageStatus.SENT, "Delivered")
    assert cy.delivery == "Not delivered (30003)"


def test_a_status_listed_late_never_moves_a_text_backwards(db, clock, gateway):
    sid = _send(gateway, add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101"))

    def listed(status: str) -> MessageRecord:
        return MessageRecord(sid, "+14155550100", GOOD, "x", clock.now(), "outbound-api", status)

    assert delivery.record_statuses(db, [listed("delivered")], clock).changed == 1
    assert delivery.record_statuses(db, [listed("sent")], clock).changed == 0
    assert delivery.record_statuses(db, [listed("queued")], clock).changed == 0
    assert _statuses(db, [sid]) == {sid: (DeliveryStatus.DELIVERED, None)}


def _fail_twice(db, clock, gateway, poller, fake, contact_id: int, code: int = 30006) -> list[str]:
    fake.deliver_to(LANDLINE, "undelivered", code)
    sids = []
    for _ in range(2):
        sids.append(_send(gateway, contact_id))
        fake.advance_deliveries(2)
        _poll(poller, clock, fake)
    return sids


def test_a_landline_is_skipped_by_automations_after_two_failures(
    db, clock, gateway, inbox_poller, fake_twilio
):
    landline = add_contact(db, clock, "Bea", "Lee", phone="(415) 555-0102")
    inbox_poller.run_once()
    fake_twilio.deliver_to(LANDLINE, "undelivered", 30006)
    _send(gateway, landline)
    fake_twilio.advance_deliveries(2)
    _poll(inbox_poller, clock, fake_twilio)
    with db.read() as s:
        assert may_automation_text(s, landline, LANDLINE).allowed  # one failure: not yet
        assert delivery.delivery_problem(s, LANDLINE).failures == 1

    _send(gateway, landline)
    fake_twilio.advance_deliveries(2)
    _poll(inbox_poller, clock, fake_twilio)

    with db.read() as s:
        decision = may_automation_text(s, landline, LANDLINE)
        problem = delivery.delivery_problem(s, LANDLINE)
        contact = s.get(Contact, landline)
        (entry,) = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.DELIVERY_BLOCKED)
        )
    assert (decision.allowed, decision.reason) == (
        False,
        "number cannot receive texts: landline (30006)",
    )
    assert problem.headline == "Texts to this number fail: landline (30006)"
    assert problem.describe().startswith("2 texts in a row not delivered")
    assert not contact.sms_opted_out  # not an opt-out: consent is untouched
    assert entry.contact_id == landline and "2 texts in a row" in entry.summary

    skipped = gateway.send(body="Reminder", origin=AUTOMATION, contact_id=landline)
    assert skipped.status == MessageStatus.SUPPRESSED
    assert skipped.reason == "skipped: number cannot receive texts: landline (30006)"
    assert not skipped.recipient_opted_out
    manual = gateway.send(body="Call us", origin=ManualOrigin("Ann"), contact_id=landline)
    assert (
        manual.status == MessageStatus.SENT and not manual.recipient_opted_out
    )  # a person may still try


def test_an_opt_out_reason_comes_before_the_delivery_reason(
    db, clock, gateway, inbox_poller, fake_twilio
):
    from trustpager_desktop.core import consent

    landline = add_contact(db, clock, "Bea", "Lee", phone="(415) 555-0102")
    inbox_poller.run_once()
    _fail_twice(db, clock, gateway, inbox_poller, fake_twilio, landline)
    with db.write() as s:
        consent.opt_out_number(
            s, LANDLINE, source=ConsentSource.MANUAL_TOGGLE, actor="t", clock=clock
        )
    with db.read() as s:
        assert may_automation_text(s, landline, LANDLINE).reason == "contact opted out of SMS"


def test_unreachable_handset_gets_three_tries_and_a_delivery_forgives(
    db, clock, gateway, inbox_poller, fake_twilio
):
    contact = add_contact(db, clock, "Bea", "Lee", phone="(415) 555-0102")
    inbox_poller.run_once()
    _fail_twice(db, clock, gateway, inbox_poller, fake_twilio, contact, code=30003)
    with db.read() as s:
        assert may_automation_text(s, contact, LANDLINE).allowed  # 30003: a third try first
    fake_twilio.deliver_to(LANDLINE, "delivered")
    _send(gateway, contact)
    fake_twilio.advance_deliveries(2)
    _poll(inbox_poller, clock, fake_twilio)
    with db.read() as s:
        assert delivery.delivery_problem(s, LANDLINE) is None  # the phone was back on


def test_a_person_clears_the_block_from_the_command_line(
    db, clock, gateway, inbox_poller, fake_twilio, capsys
):
    landline = add_contact(db, clock, "Bea", "Lee", phone="(415) 555-0102")
    inbox_poller.run_once()
    _fail_twice(db, clock, gateway, inbox_poller, fake_twilio, landline)

    assert main(["--db", db.url, "delivery", "list"]) == 0
    listed = capsys.readouterr().out
    assert "(415) 555-0102" in listed and "landline (30006)" in listed and "Bea Lee" in listed
    assert main(["--db", db.url, "delivery", "clear", "415-555-0102"]) == 0
    assert (
        "automations may text it again (was: landline (30006), 2 in a row)"
        in capsys.readouterr().out
    )

    with db.read() as s:
        assert may_automation_text(s, landline, LANDLINE).allowed
        entry = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.DELIVERY_UNBLOCKED)
        ).one()
    assert entry.actor == default_name() and entry.contact_id == landline
    assert json.loads(entry.details)["failures"] == 2
    assert main(["--db", db.url, "delivery", "clear", "415-555-0102"]) == 1  # nothing to clear
    assert "No delivery failures are recorded" in capsys.readouterr().err
    with pytest.raises(NotFoundError):
        delivery.clear_block(db, "+14155550199", actor="t", clock=clock)


def test_inbox_status_command_says_who_reads_the_inbox(db, clock, inbox_poller, capsys):
    inbox_poller.run_once()
    assert main(["--db", db.url, "inbox", "status"]) == 0
    out = capsys.readouterr().out
    assert "Last read: 2026-11-26 15:00:00 UTC by" in out and "(window)" in out
    assert "Last look-back sweep: 2026-11-26 15:00:00 UTC" in out
