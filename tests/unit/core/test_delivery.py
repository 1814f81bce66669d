"""Delivery of the texts we sent, as Twilio reports it later, and numbers that cannot receive
texts (DESIGN: automations skip a number whose texts keep failing, until a person clears it)."""

from __future__ import annotations

import pytest

from tests.support.contacts import add_contact
from trustpager_desktop.core import delivery
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.states import DeliveryStatus
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.providers.sandbox_provider import SandboxProvider

ANN = "+14155550101"


def _send(db, clock, body: str = "Hello") -> str:
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    outcome = gateway.send(body=body, to=ANN, origin=ManualOrigin(actor="Jo"))
    assert outcome.provider_sid
    return outcome.provider_sid


def _listed(clock, sid: str, status: str, code: int | None = None) -> MessageRecord:
    return MessageRecord(
        sid=sid, from_number="+14155550100", to_number=ANN, body="Hello",
        date_sent=clock.now(), direction="outbound-api", status=status, error_code=code,
    )  # fmt: skip


def test_twilio_statuses_read_as_plain_words():
    assert delivery.from_provider("read") == DeliveryStatus.DELIVERED
    assert delivery.from_provider("canceled") == DeliveryStatus.FAILED
    assert delivery.from_provider("receiving") is None
    assert delivery.label(delivery.from_provider("undelivered"), 30006) == "Not delivered (30006)"
    assert delivery.label(DeliveryStatus.DELIVERED, 30006) == "Delivered"
    assert delivery.label(None) == ""


def test_a_delivery_status_only_moves_forward_so_a_late_listing_changes_nothing(db, clock):
    add_contact(db, clock, "Ann", phone=ANN)
    sid = _send(db, clock)
    assert delivery.record_statuses(db, [_listed(clock, sid, "delivered")], clock).changed == 1
    assert delivery.record_statuses(db, [_listed(clock, sid, "sent")], clock).changed == 0
    assert delivery.record_statuses(db, [_listed(clock, "SM" + "f" * 32, "failed")], clock) == (
        delivery.DeliveryUpdate()
    )
    with db.read() as s:
        assert delivery.delivery_for_sids(s, [sid]) == {sid: (DeliveryStatus.DELIVERED, None)}


def test_a_landline_is_blocked_after_two_failures_in_a_row_and_a_delivery_resets(db, clock):
    add_contact(db, clock, "Ann", phone=ANN)
    first, delivered, second, third = (_send(db, clock, f"Text {n}") for n in range(4))
    delivery.record_statuses(db, [_listed(clock, first, "undelivered", 30006)], clock)
    delivery.record_statuses(db, [_listed(clock, delivered, "delivered")], clock)
    clock.advance(minutes=1)
    update = delivery.record_statuses(db, [_listed(clock, second, "undelivered", 30006)], clock)
    assert update.blocked == ()
    with db.read() as s:
        problem = delivery.delivery_problem(s, ANN)
        assert problem is not None and not problem.blocked and problem.failures == 1
    clock.advance(minutes=1)
    update = delivery.record_statuses(db, [_listed(clock, third, "undelivered", 30006)], clock)
    assert update.blocked == (ANN,)
    with db.read() as s:
        assert delivery.blocked_numbers(s, [ANN, "+14155550199"]) == {
            ANN: "number cannot receive texts: landline (30006)"
        }
        assert delivery.delivery_problem(s, ANN).headline == (
            "Texts to this number fail: landline (30006)"
        )


def test_a_person_clears_a_block_and_clearing_an_unknown_number_is_a_clear_error(db, clock):
    add_contact(db, clock, "Ann", phone=ANN)
    for n in range(2):
        sid = _send(db, clock, f"Text {n}")
        delivery.record_statuses(db, [_listed(clock, sid, "undelivered", 30005)], clock)
    with db.read() as s:
        assert [p.phone_e164 for p in delivery.list_blocked(s)] == [ANN]
    before = delivery.clear_block(db, "(415) 555-0101", actor="Jo", clock=clock)
    assert (before.blocked, before.failures, before.error_code) == (True, 2, 30005)
    with db.read() as s:
        assert delivery.list_blocked(s) == []
        assert delivery.blocked_numbers(s, [ANN]) == {}
    with pytest.raises(NotFoundError):
        delivery.clear_block(db, "(415) 555-0101", actor="Jo", clock=clock)
