"""Qt-free queries behind the contact window: conversation, tasks, opportunities, preferences."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.core import conversation, opportunities, preferences
from trustpager_desktop.core.contact_tasks import tasks_for_contact
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.gateway import AutomationOrigin, ManualOrigin, OutboundGateway
from trustpager_desktop.core.states import ConsentEventKind, ConsentSource
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.models import ConsentEvent, Contact, InboundMessage, Opportunity, Task


def test_conversation_merges_both_directions_newest_last(db, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    gateway.send(
        body="Reminder", contact_id=cid, origin=AutomationOrigin(1, "Appointment reminder", 3, 2)
    )
    with db.write() as s:
        s.add(
            InboundMessage(
                sid="SM" + "a" * 32,
                from_number="+14155550101",
                from_e164="+14155550101",
                to_number="+14155550100",
                body="Thanks",
                date_sent=clock.now() + timedelta(minutes=1),
                fetched_at=clock.now(),
            )
        )
    clock.advance(minutes=2)
    gateway.send(body="You're welcome", contact_id=cid, origin=ManualOrigin(actor="Ann"))
    with db.read() as s:
        items = conversation.conversation_for_contact(s, cid)
    assert [(i.direction, i.body) for i in items] == [
        ("outbound", "Reminder"),
        ("inbound", "Thanks"),
        ("outbound", "You're welcome"),
    ]
    assert items[0].origin == "Automation 'Appointment reminder', step 2"
    assert items[2].origin == "Manual, by Ann"
    assert items[1].status == "received"


def test_conversation_of_unknown_contact_is_empty(db):
    with db.read() as s:
        assert conversation.conversation_for_contact(s, 999) == []


def test_tasks_for_contact_open_first_then_due(db, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    other = add_contact(db, clock, "Ben", "Lee", phone="(415) 555-0102")
    with db.write() as s:
        now = clock.now()
        s.add_all(
            [
                Task(contact_id=cid, title="done", done=True, created_at=now),
                Task(contact_id=cid, title="later", due_at=now + timedelta(days=2), created_at=now),
                Task(contact_id=cid, title="soon", due_at=now + timedelta(days=1), created_at=now),
                Task(contact_id=other, title="not hers", created_at=now),
            ]
        )
    with db.read() as s:
        assert [t.title for t in tasks_for_contact(s, cid)] == ["soon", "later", "done"]


def test_opportunities_list_and_get(db, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    with db.write() as s:
        s.add(
            Opportunity(
                title="Kitchen", value=Decimal("1250"), stage="Won", contact_id=cid,
                created_at=clock.now(),
            )
        )  # fmt: skip
    with db.read() as s:
        rows = opportunities.list_opportunities(s)
        assert opportunities.count_opportunities(s) == 1
        one = opportunities.get_opportunity(s, rows[0].id)
        with pytest.raises(NotFoundError):
            opportunities.get_opportunity(s, 999)
    assert (one.title, one.contact_name, one.value_text, one.contact_id) == (
        "Kitchen", "Ann Lee", "$1,250.00", cid,
    )  # fmt: skip


def test_preferences_opt_out_and_reconsent_by_hand(db, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    with db.write() as s:
        assert preferences.opt_out_by_hand(s, cid, actor="Ann", clock=clock)
    with db.write() as s:
        assert not preferences.opt_out_by_hand(s, cid, actor="Ann", clock=clock)
    with pytest.raises(UserInputError), db.write() as s:
        preferences.re_consent_by_hand(s, cid, method="verbal", note="", actor="Ann", clock=clock)
    with db.read() as s:
        assert s.get(Contact, cid).sms_opted_out
    with db.write() as s:
        preferences.re_consent_by_hand(
            s, cid, method="written", note="Signed form", actor="Ann", clock=clock
        )
    with db.read() as s:
        events = list(s.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
        assert not s.get(Contact, cid).sms_opted_out
    assert [(e.kind, e.source, e.method) for e in events] == [
        (ConsentEventKind.OPT_OUT, ConsentSource.MANUAL_TOGGLE, None),
        (ConsentEventKind.RE_CONSENT, ConsentSource.MANUAL_TOGGLE, "written"),
    ]
