"""The contact page read in a few statements shows what each card's own query shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.contacts import add_contact
from trustpager_desktop.core import activity, consent, conversation, delivery, opportunities
from trustpager_desktop.core.contact_page_data import load_contact_page
from trustpager_desktop.core.contact_tasks import tasks_for_contact
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.opportunities import OpportunityInput
from trustpager_desktop.core.settings import load_settings
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.models import Task

ANN = "+14155550101"


def _page(db, contact_id: int):
    with db.read() as s:
        return load_contact_page(s, contact_id, load_settings(s))


def _landline_failures(db, clock, contact_id: int) -> None:
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    for n in range(2):
        sid = gateway.send(
            body=f"Reminder {n}", contact_id=contact_id, origin=ManualOrigin(actor="Jo")
        ).provider_sid
        record = MessageRecord(
            sid=sid or "", from_number="+14155550100", to_number=ANN, body="",
            date_sent=clock.now(), direction="outbound-api", status="undelivered",
            error_code=30006,
        )  # fmt: skip
        delivery.record_statuses(db, [record], clock)
        clock.advance(minutes=1)


def test_every_card_shows_what_its_own_query_shows(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    _landline_failures(db, clock, ann)
    with db.write() as s:
        s.add_all([
            Task(contact_id=ann, title="Done", done=True, created_at=clock.now()),
            Task(contact_id=ann, title="Call back", due_at=clock.now() + timedelta(days=1),
                 created_at=clock.now()),
        ])  # fmt: skip
        opportunities.create_opportunity(
            s, OpportunityInput("Kitchen", ann, "1,250"), actor="Jo", clock=clock
        )
    page = _page(db, ann)
    with db.read() as s:
        assert page.contact.consent == consent.contact_consent_state(s, ann)
        assert list(page.tasks) == tasks_for_contact(s, ann)
        assert list(page.messages) == conversation.conversation_for_contact(s, ann)
        assert page.delivery_problem == delivery.delivery_problem(s, ANN)
        assert list(page.timeline) == activity.for_contact(s, ann, limit=200)
    assert [t.title for t in page.tasks] == ["Call back", "Done"]
    assert [(o.title, o.value_text) for o in page.opportunities] == [("Kitchen", "$1,250.00")]
    assert [m.delivery for m in page.messages] == ["Not delivered (30006)"] * 2
    assert page.delivery_problem is not None and page.delivery_problem.blocked
    assert any("Kitchen" in entry.summary for entry in page.timeline)


def test_an_opted_out_contact_s_page_says_so(db, clock):
    ann = add_contact(db, clock, "Ann", phone=ANN, opted_out=True)
    page = _page(db, ann)
    assert page.contact.sms_opted_out and page.contact.consent.opted_out
    assert page.delivery_problem is None and page.messages == ()


def test_a_contact_without_a_number_has_no_delivery_problem_and_no_replies(db, clock):
    walk_in = add_contact(db, clock, "Walk-in")
    page = _page(db, walk_in)
    assert page.contact.phone_e164 is None
    assert page.delivery_problem is None and page.messages == ()
    assert not page.contact.consent.opted_out


def test_a_deleted_contact_s_page_is_a_clear_error(db):
    with pytest.raises(NotFoundError, match="Contact 999 no longer exists"):
        _page(db, 999)
