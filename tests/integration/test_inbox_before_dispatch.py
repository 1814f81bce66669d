"""The inbox is read before automation texts go out (issue 14 item 2, DESIGN promise 10).

Dispatch runs every 5 s and the poller every 30 s: a reply that reached Twilio a
few seconds before a text was due used to be read only after the text went out.
Now a dispatch cycle that is about to send reads the inbox first when the last
read (by anyone, as the database records it) is more than a few seconds old,
through the poller's own read and de-duplication. When Twilio cannot be read the
texts still go out, and how stale the inbox was is recorded on each send.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.desktop import app_services
from tests.support.fake_twilio import Fault
from tests.support.inbox import list_requests
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.states import ActivityKind, MessageStatus, QueueStatus
from trustpager_desktop.runtime.automation_runner import AutomationRunner
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.store.models import ActivityEntry, OutboundMessage, QueueItem

ANN = "+12125550101"  # New York: 10:00 on the test clock, inside sending hours


@pytest.fixture
def twilio_services(db, clock, fake_twilio, monkeypatch):
    """The window's services with Twilio pointed at the local server."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake_twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake_twilio.auth_token)
    monkeypatch.setenv("TRUSTPAGER_TWILIO_FROM", fake_twilio.phone_number)
    monkeypatch.setenv("TRUSTPAGER_TWILIO_API_BASE", fake_twilio.base_url)
    fake_twilio.clock = clock.now
    return app_services(db, clock)


def _text_due_in(twilio_services, seconds: float) -> int:
    """Ann enrolled in a one-text automation whose text falls due in ``seconds``."""
    clock = twilio_services.clock
    contact_id = add_contact(twilio_services.db, clock, "Ann", "Lee", phone="(212) 555-0101")
    with twilio_services.db.write() as s:
        automation = automations.create_automation(
            s, AutomationInput("Reminder", [StepInput("send_sms", "See you at 3, {first_name}")]),
            clock=clock,
        )  # fmt: skip
        automations.enroll(
            s, automation.id, Audience(contact_ids=(contact_id,)), actor="t", clock=clock,
            start_at=clock.now() + timedelta(seconds=seconds),
        )  # fmt: skip
    return contact_id


def _item(db) -> QueueItem:
    with db.read() as s:
        return s.scalar(select(QueueItem))


def _poller(twilio_services) -> InboxPoller:
    return InboxPoller(
        twilio_services.db,
        twilio_services.gateway.provider,
        twilio_services.clock,
        rand=lambda: 1.0,
    )


def test_a_stop_that_reached_twilio_2_s_before_the_text_was_due_blocks_it(
    twilio_services, clock, fake_twilio
):
    _text_due_in(twilio_services, 10)
    assert _poller(twilio_services).run_once().ok  # the last scheduled read, 10 s before
    clock.advance(seconds=8)
    fake_twilio.add_inbound(ANN, fake_twilio.phone_number, "STOP", clock.now())
    clock.advance(seconds=2)  # the text is due; the next poll is 20 s away

    AutomationRunner(twilio_services).run_once()

    assert fake_twilio.sent_messages == []
    item = _item(twilio_services.db)
    assert (item.status, item.reason) == (QueueStatus.SKIPPED, "skipped: contact opted out of SMS")


def test_a_stop_between_a_read_and_the_due_time_is_read_too(twilio_services, clock, fake_twilio):
    _text_due_in(twilio_services, 3)
    assert _poller(twilio_services).run_once().ok  # 3 s before the text falls due
    clock.advance(seconds=1)
    fake_twilio.add_inbound(ANN, fake_twilio.phone_number, "STOP", clock.now())
    clock.advance(seconds=3)  # dispatch runs 1 s after the due time: the read is 4 s old

    AutomationRunner(twilio_services).run_once()

    assert fake_twilio.sent_messages == []
    assert _item(twilio_services.db).reason == "skipped: contact opted out of SMS"


def test_texts_go_out_without_a_read_when_the_inbox_was_read_after_they_fell_due(
    twilio_services, clock, fake_twilio
):
    _text_due_in(twilio_services, 0)
    assert _poller(twilio_services).run_once().ok  # read just as the text fell due
    clock.advance(seconds=3)
    before = list_requests(fake_twilio)

    AutomationRunner(twilio_services).run_once()

    assert list_requests(fake_twilio) == before  # read 3 s ago, after it fell due: enough
    assert len(fake_twilio.sent_messages) == 1
    with twilio_services.db.read() as s:
        entry = s.scalar(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.AUTOMATION_SENT)
        )
    details = json.loads(entry.details)
    assert details["inbox_age_seconds"] == 3.0 and details["inbox_error"] is None


def test_a_cycle_with_nothing_due_does_not_read_the_inbox(twilio_services, clock, fake_twilio):
    _text_due_in(twilio_services, 3600)
    for _ in range(12):
        clock.advance(seconds=5)
        AutomationRunner(twilio_services).run_once()
    assert list_requests(fake_twilio) == 0


def test_when_twilio_cannot_be_read_texts_go_out_with_the_staleness_recorded(
    twilio_services, clock, fake_twilio
):
    _text_due_in(twilio_services, 95)
    assert _poller(twilio_services).run_once().ok
    clock.advance(seconds=95)
    fake_twilio.add_fault(Fault.http(503, method="GET", count=10))

    AutomationRunner(twilio_services).run_once()

    assert len(fake_twilio.sent_messages) == 1
    with twilio_services.db.read() as s:
        message = s.scalar(select(OutboundMessage))
        entry = s.scalar(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.AUTOMATION_SENT)
        )
    assert message.status == MessageStatus.SENT
    assert message.suppression_reason == (
        "contact subscribed; inbox last read 95 s before this send (inbox not read: "
        "Twilio had a temporary problem (HTTP 503); try again shortly)"
    )
    details = json.loads(entry.details)
    assert details["inbox_age_seconds"] == 95.0
    assert details["inbox_error"].startswith("inbox not read: Twilio had a temporary problem")
    assert details["inbox_read_at"] == (clock.now() - timedelta(seconds=95)).isoformat()


def test_a_reply_read_before_dispatch_is_stored_once_and_acted_on_once(
    twilio_services, clock, fake_twilio
):
    _text_due_in(twilio_services, 10)
    poller = _poller(twilio_services)
    assert poller.run_once().ok
    clock.advance(seconds=10)
    sid = fake_twilio.add_inbound(ANN, fake_twilio.phone_number, "STOP", clock.now())

    AutomationRunner(twilio_services).run_once()  # dispatch reads it and acts on it
    clock.advance(seconds=30)
    assert poller.run_once().ok  # the poller lists it again: nothing more happens

    with twilio_services.db.read() as s:
        opt_outs = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.OPT_OUT)
        )
        assert [json.loads(e.details).get("message_sid") for e in opt_outs] == [sid]
