"""Use-case services return plain data and one Outcome type: a refused field, a record
deleted elsewhere ("gone") and success read the same way on every screen."""

from __future__ import annotations

from tests.support.desktop import MemoryTokenStore
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.states import MessageStatus
from trustpager_desktop.services import AppServices
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.contacts import ContactsService
from trustpager_desktop.usecases.messaging import MessagingService


def _app(db, clock) -> AppServices:
    return AppServices(db, clock=clock, tokens=MemoryTokenStore())


def test_contacts_refuse_a_bad_field_and_say_which(db, clock):
    service = ContactsService(_app(db, clock))
    outcome = service.create(ContactInput("Ann", phone="not a number"))
    assert not outcome.ok and outcome.field == "phone" and outcome.message
    assert service.page().total == 0


def test_a_contact_deleted_elsewhere_is_gone_not_an_error(db, clock):
    here, there = ContactsService(_app(db, clock)), ContactsService(_app(db, clock))
    ann = here.create(ContactInput("Ann", "Lee", phone="+14155550101")).unwrap()
    assert there.delete(ann).ok
    for outcome in (
        here.delete(ann),
        here.update(ann, ContactInput("Ann")),
        here.contact_page(ann),
    ):
        assert outcome.gone and not outcome.ok and "no longer exists" in outcome.message.lower()


def test_the_contact_page_is_plain_frozen_data(db, clock):
    service = ContactsService(_app(db, clock))
    ann = service.create(ContactInput("Ann", "Lee", phone="+14155550101")).unwrap()
    view = service.contact_page(ann).unwrap()
    assert view.contact.display_name == "Ann Lee"
    assert isinstance(view.timeline, tuple) and view.timeline[0].summary
    page = service.page("0101")
    assert page.total == 1 and page.rows[0].id == ann


def test_deleting_an_automation_twice_reads_as_gone(db, clock):
    app = _app(db, clock)
    heard: list[frozenset[str]] = []
    app.changes.subscribe(heard.append)
    service = AutomationsService(app)
    with db.write() as s:
        hello = automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]), clock=clock
        ).id
    assert service.delete(hello).ok
    again = service.delete(hello)
    assert again.gone and not again.ok
    assert service.overview().automations == ()
    assert heard == [{topic.AUTOMATIONS}, {topic.AUTOMATIONS}]


def test_a_manual_send_comes_back_as_an_outcome(db, clock):
    app = _app(db, clock)
    ann = ContactsService(app).create(ContactInput("Ann", phone="+14155550101")).unwrap()
    service = MessagingService(app)
    sent = service.send(ann, "Hello Ann").unwrap()
    assert sent.status == MessageStatus.SENT  # the sandbox records it as sent
    conversation = service.conversation(ann, "+14155550101")
    assert [item.body for item in conversation.items] == ["Hello Ann"]
    missing = service.send(ann + 99, "Hello?")
    assert missing.gone and not missing.ok
