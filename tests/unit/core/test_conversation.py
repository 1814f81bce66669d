"""The conversation with one contact: a reply belongs to the number, our texts to the contact."""

from __future__ import annotations

import itertools
from datetime import timedelta

from tests.support.contacts import add_contact
from trustpager_desktop.core import conversation
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.states import MessageStatus
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.models import InboundMessage

ANN = "+14155550101"
_SIDS = itertools.count(1)


def _received(db, clock, sender: str, body: str, minutes: float) -> None:
    with db.write() as s:
        s.add(
            InboundMessage(
                sid=f"SM{next(_SIDS):032d}",
                from_number=sender, from_e164=sender, to_number="+14155550100", body=body,
                date_sent=clock.now() + timedelta(minutes=minutes), fetched_at=clock.now(),
            )
        )  # fmt: skip


def test_a_reply_shows_for_every_contact_with_the_number_and_our_texts_only_for_their_own(
    db, clock
):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    shop = add_contact(db, clock, "Ann's shop", phone=ANN)
    other = add_contact(db, clock, "Bob", phone="+14155550102")
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    gateway.send(body="Your invoice", contact_id=shop, origin=ManualOrigin(actor="Jo"))
    gateway.send(body="Hi Bob", contact_id=other, origin=ManualOrigin(actor="Jo"))
    _received(db, clock, ANN, "Thanks!", minutes=1)
    _received(db, clock, "+14155550102", "Who is this?", minutes=2)
    with db.read() as s:
        for_ann = conversation.conversation_for_contact(s, ann)
        for_shop = conversation.conversation_for_contact(s, shop)
    assert [(i.direction, i.body) for i in for_ann] == [("inbound", "Thanks!")]
    assert [(i.direction, i.body) for i in for_shop] == [
        ("outbound", "Your invoice"),
        ("inbound", "Thanks!"),
    ]
    assert for_shop[0].origin == "Manual, by Jo" and for_shop[0].status == MessageStatus.SENT


def test_a_long_conversation_shows_its_newest_messages_oldest_first(db, clock):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    for n in range(3):
        _received(db, clock, ANN, f"Question {n}", minutes=0.5)
        clock.advance(minutes=1)
        gateway.send(body=f"Answer {n}", contact_id=ann, origin=ManualOrigin(actor="Jo"))
        clock.advance(minutes=1)
    with db.read() as s:
        last_three = conversation.conversation_for_contact(s, ann, limit=3)
    assert [i.body for i in last_three] == ["Answer 1", "Question 2", "Answer 2"]


def test_a_contact_without_a_number_sees_no_one_else_s_replies(db, clock):
    add_contact(db, clock, "Ann", phone=ANN)
    nameless = add_contact(db, clock, "Walk-in")
    _received(db, clock, ANN, "Thanks!", minutes=1)
    with db.read() as s:
        assert conversation.conversation_for_contact(s, nameless) == []
