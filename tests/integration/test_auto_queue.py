"""The Auto Queue end to end: real gateway, real Twilio client, the local Twilio server."""

import dataclasses
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import activity, auto_queue, automations, consent
from trustpager_desktop.core.auto_queue import QueueDispatcher, reconcile_in_flight
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import ActivityKind, ConsentSource, MessageStatus, QueueStatus
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import ActivityEntry, Contact, OutboundMessage, QueueItem, Task

# 18:00 UTC is 13:00 in New York and 10:00 in California: inside quiet hours for both.
AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
CA, NY = "(415) 555-0101", "(212) 555-0199"
STEPS = [
    StepInput("send_sms", template="Hi {first_name}, see you at {company}"),
    StepInput("wait", wait_seconds=3600),
    StepInput("create_task", task_title="Call {full_name}"),
]


@pytest.fixture(autouse=True)
def _afternoon(clock):
    clock.set(AFTERNOON)


@pytest.fixture
def gateway(db, twilio_provider, fake_twilio, clock):
    fake_twilio.clock = clock.now  # Twilio dates its messages on the test's clock
    return OutboundGateway(db, twilio_provider, clock=clock)


@pytest.fixture
def dispatcher(db, gateway, clock):
    return QueueDispatcher(db, gateway, settings=AppSettings(), clock=clock, worker_id="w1")


def make_automation(db, clock, steps=STEPS, name="Reminder"):
    with db.write() as s:
        return automations.create_automation(s, AutomationInput(name, steps), clock=clock).id


def enroll(db, clock, automation_id, *contact_ids):
    with db.write() as s:
        return automations.enroll(
            s, automation_id, Audience(contact_ids=contact_ids), actor="Ann", clock=clock
        )


def items(db):
    with db.read() as s:
        return s.scalars(select(QueueItem).order_by(QueueItem.id)).all()


def posts_to(fake_twilio):
    return Counter(r.form["To"] for r in fake_twilio.requests_to("Messages.json", method="POST"))


def test_opt_out_after_enrolment_skips_the_text_but_not_the_task(
    db, dispatcher, gateway, fake_twilio, clock
):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock), cid)
    with db.write() as s:  # the contact opts out after enrolment, before the step is due
        consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.STOP_REPLY, actor="In", clock=clock
        )
    dispatcher.dispatch_due()
    clock.advance(hours=1)
    dispatcher.dispatch_due()
    text, wait, task = items(db)
    assert (text.status, text.reason) == (QueueStatus.SKIPPED, "skipped: contact opted out of SMS")
    assert (wait.status, task.status) == (QueueStatus.DONE, QueueStatus.DONE)
    with db.read() as s:
        assert [t.title for t in s.scalars(select(Task))] == ["Call Ann Lee"]
        kinds = [e.kind for e in s.scalars(select(ActivityEntry).order_by(ActivityEntry.id))]
        skipped = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.AUTOMATION_SKIPPED)
        )
        assert "contact opted out of SMS" in skipped.one().summary
    assert kinds[-1] == ActivityKind.TASK_CREATED
    assert posts_to(fake_twilio) == Counter()
    # The manual path is unaffected: it warns elsewhere but sends.
    outcome = gateway.send(contact_id=cid, body="Your invoice", origin=ManualOrigin("Ann"))
    assert outcome.status == MessageStatus.SENT and posts_to(fake_twilio) == Counter(
        {"+14155550101": 1}
    )


def test_subscribed_contact_gets_the_rendered_text_once(db, dispatcher, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock), cid)
    report = dispatcher.dispatch_due()
    assert report.sent == 1 and report.claimed == 1  # the wait and task are not due yet
    dispatcher.dispatch_due()
    assert [m["body"] for m in fake_twilio.sent_messages] == ["Hi Ann, see you at Acme"]
    text = items(db)[0]
    with db.read() as s:
        message = s.get(OutboundMessage, text.outbound_message_id)
    assert (
        text.status == QueueStatus.SENT
        and message.queue_item_id == text.id
        and message.status == MessageStatus.SENT
    )


def test_quiet_hours_hold_a_3am_text_until_8am_recipient_time(db, gateway, fake_twilio):
    clock = FixedClock(datetime(2026, 11, 26, 11, 0, tzinfo=UTC))  # 06:00 NY, 03:00 CA
    gateway.clock = clock
    dispatcher = QueueDispatcher(db, gateway, settings=AppSettings(), clock=clock)
    ca, ny = (
        add_contact(db, clock, "Cal", "Lee", phone=CA, company="Acme"),
        add_contact(db, clock, "Nia", "Lee", phone=NY, company="Acme"),
    )
    enroll(db, clock, make_automation(db, clock, steps=STEPS[:1]), ca, ny)
    assert dispatcher.dispatch_due().deferred == 2
    due = {i.contact_id: (i.status, i.due_at, i.reason) for i in items(db)}
    reason = "waiting for quiet hours to end"
    assert due[ny] == (
        QueueStatus.PENDING,
        datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
        reason,
    )  # 08:00 EST
    assert due[ca] == (
        QueueStatus.PENDING,
        datetime(2026, 11, 26, 16, 0, tzinfo=UTC),
        reason,
    )  # 08:00 PST
    clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=UTC))
    dispatcher.dispatch_due()
    assert posts_to(fake_twilio) == Counter({"+12125550199": 1})
    clock.set(datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
    dispatcher.dispatch_due()
    assert posts_to(fake_twilio) == Counter({"+12125550199": 1, "+14155550101": 1})


def test_catch_up_after_downtime_runs_each_item_once_and_skips_stale_ones(
    db, dispatcher, fake_twilio, clock
):
    steps = [
        StepInput("send_sms", template="First"),
        StepInput("wait", wait_seconds=20 * 3600),
        StepInput("send_sms", template="Second"),
        StepInput("create_task", task_title="Follow up"),
    ]
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock, steps=steps), cid)
    clock.advance(hours=30)  # the application was closed for 30 hours
    dispatcher.dispatch_due()
    dispatcher.dispatch_due()
    first, wait, second, task = items(db)
    assert (first.status, first.reason) == (QueueStatus.SKIPPED, "skipped: missed send window")
    assert (second.status, wait.status, task.status) == (
        QueueStatus.SENT,
        QueueStatus.DONE,
        QueueStatus.DONE,
    )
    assert [m["body"] for m in fake_twilio.sent_messages] == ["Second"]
    with db.read() as s:
        entry = s.scalars(
            select(ActivityEntry).where(ActivityEntry.summary.contains("missed send window"))
        ).one()
    assert entry.contact_id == cid


def test_temporary_provider_failure_is_retried_with_backoff(db, dispatcher, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock, steps=STEPS[:1]), cid)
    fake_twilio.add_fault(Fault.http(429, method="POST"))  # a refusal: certainly not sent
    assert dispatcher.dispatch_due().retrying == 1
    (item,) = items(db)
    assert item.status == QueueStatus.PENDING and item.reason.startswith("will retry")
    delay = item.due_at - clock.now()
    assert timedelta(seconds=20) <= delay <= timedelta(seconds=40)
    assert dispatcher.dispatch_due().claimed == 0  # not before the back-off
    clock.advance(minutes=1)
    assert dispatcher.dispatch_due().sent == 1
    assert items(db)[0].attempts == 2 and len(fake_twilio.sent_messages) == 1


def test_permanent_failure_and_21610_are_recorded_on_the_item(db, dispatcher, fake_twilio, clock):
    bad = add_contact(db, clock, "Bad", "Lee", phone=CA, company="Acme")
    gone = add_contact(db, clock, "Gone", "Lee", phone=NY, company="Acme")
    fake_twilio.fail_recipient("+14155550101", 21211)
    fake_twilio.fail_recipient("+12125550199", 21610)
    enroll(db, clock, make_automation(db, clock, steps=STEPS[:1]), bad, gone)
    dispatcher.dispatch_due()
    state = {i.contact_id: (i.status, i.reason) for i in items(db)}
    assert state[bad][0] == QueueStatus.FAILED and state[bad][1]
    assert state[gone][0] == QueueStatus.SKIPPED and state[gone][1].startswith("skipped:")
    with db.read() as s:
        assert s.get(Contact, gone).sms_opted_out  # Twilio's word counts (promise 7)


def test_two_dispatchers_on_one_database_send_each_step_exactly_once(
    db, twilio_provider, fake_twilio, clock
):
    ids = [
        add_contact(db, clock, f"C{i}", "Lee", phone=f"(415) 555-{i:04d}", company="Acme")
        for i in range(24)
    ]
    enroll(db, clock, make_automation(db, clock, steps=STEPS[:1]), *ids)
    other = Database.open(db.url)  # a second "process": its own engine and connections
    with other.write() as s:  # an opt-out made on the other instance
        for cid in ids[:6]:
            consent.opt_out_contact(
                s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="B", clock=clock
            )
    dispatchers = [
        QueueDispatcher(database, OutboundGateway(database, twilio_provider, clock=clock),
                        clock=clock, worker_id=f"w{n}")
        for n, database in enumerate((db, other))
    ]  # fmt: skip
    errors = []

    def run(d):
        try:
            for _ in range(3):
                d.dispatch_due()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.close()
    assert errors == []
    sent = posts_to(fake_twilio)
    assert set(sent.values()) == {1} and len(sent) == 18
    assert not any(f"+1415555{i:04d}" in sent for i in range(6))
    assert Counter(i.status for i in items(db)) == Counter(
        {QueueStatus.SENT: 18, QueueStatus.SKIPPED: 6}
    )
    with db.read() as s:  # batched log entries from two writers still form one intact chain
        assert activity.verify_chain(s).ok


class SimulatedKill(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing on the way up catches it."""


class KilledAfterSending:
    """The provider accepts the text, then the process dies before the answer is stored."""

    name = "twilio"

    def __init__(self, real):
        self.real = real

    def send(self, to, body):
        self.real.send(to, body)
        raise SimulatedKill

    def fetch_status(self, sid):
        return self.real.fetch_status(sid)


def test_a_kill_mid_send_never_sends_twice(db, gateway, twilio_provider, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock, steps=STEPS[:1]), cid)
    dying = QueueDispatcher(
        db, OutboundGateway(db, KilledAfterSending(twilio_provider), clock=clock), clock=clock
    )
    with pytest.raises(SimulatedKill):
        dying.dispatch_due()
    (item,) = items(db)
    assert item.status == QueueStatus.IN_FLIGHT
    # A restart: the claim holds until its lease runs out; nobody touches it before.
    restarted = QueueDispatcher(db, gateway, clock=clock)
    assert restarted.dispatch_due().claimed == 0
    assert reconcile_in_flight(db, clock=clock).touched == 0
    clock.advance(seconds=(auto_queue.LEASE + auto_queue.CLOCK_SKEW).total_seconds() + 1)
    assert reconcile_in_flight(db, clock=clock).to_look_up == 1
    # The record says "sending" without a SID: Twilio is asked, it has the text: sent.
    assert restarted.dispatch_due().sent == 1
    (item,) = items(db)
    with db.read() as s:
        message = s.get(OutboundMessage, item.outbound_message_id)
    assert item.status == QueueStatus.SENT and message.status == MessageStatus.SENT
    assert message.provider_sid == fake_twilio.sent_messages[0]["sid"]
    assert posts_to(fake_twilio) == Counter({"+14155550101": 1})


def test_reconcile_requeues_items_that_never_reached_the_gateway(
    db, dispatcher, fake_twilio, clock
):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock), cid)
    # Claimed, then the process died before the gateway recorded anything.
    claimed = auto_queue.claim_due(db, "dead", clock.now(), settings=AppSettings())
    assert [c.action_type for c in claimed] == ["send_sms"]
    clock.advance(minutes=5)
    assert reconcile_in_flight(db, clock=clock).returned_to_pending == 1
    dispatcher.dispatch_due()
    assert posts_to(fake_twilio) == Counter({"+14155550101": 1})


def test_reconcile_finishes_from_the_providers_record(
    db, dispatcher, twilio_provider, fake_twilio, clock
):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    enroll(db, clock, make_automation(db, clock, steps=STEPS[:1]), cid)
    dispatcher.dispatch_due()
    with db.write() as s:  # as if the process died after Twilio answered, before the item moved
        item = s.scalars(select(QueueItem)).one()
        item.status = QueueStatus.IN_FLIGHT
        s.get(OutboundMessage, item.outbound_message_id).status = MessageStatus.SENDING
    clock.advance(minutes=5)
    assert reconcile_in_flight(db, clock=clock).finished == 1
    assert items(db)[0].status == QueueStatus.SENT and len(fake_twilio.sent_messages) == 1


def test_disabled_automation_and_pause_hold_the_queue(db, dispatcher, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", company="Acme", phone=CA)
    automation_id = make_automation(db, clock, steps=STEPS[:1])
    enroll(db, clock, automation_id, cid)
    with db.write() as s:
        auto_queue.set_paused(s, True, actor="Ann", clock=clock)
    assert dispatcher.dispatch_due().paused
    with db.write() as s:
        auto_queue.set_paused(s, False, actor="Ann", clock=clock)
        automations.set_enabled(s, automation_id, False)
    assert dispatcher.dispatch_due().claimed == 0
    with db.write() as s:
        automations.set_enabled(s, automation_id, True)
    assert dispatcher.dispatch_due().sent == 1


def test_a_declined_purpose_and_no_consent_on_record_skip_the_text_with_the_reason(
    db, dispatcher, fake_twilio, clock
):
    """Issue 15: the queue asks the one rule; a contact who declined Marketing is skipped
    by the Marketing automation and still texted by the Reminders one; with the setting
    on, a contact without a consent record is skipped too. No request reaches Twilio."""
    from trustpager_desktop.core import opt_in, preferences
    from trustpager_desktop.core import settings as core_settings

    with db.write() as s:
        new = AppSettings(sms_purposes="Marketing; Reminders")
        core_settings.save_settings(s, new, actor="Jo", clock=clock)
    ann = add_contact(db, clock, "Ann", "Lee", phone=CA)
    bob = add_contact(db, clock, "Bob", "Ray", phone=NY)
    with db.write() as s:
        preferences.set_declined_by_hand(s, ann, ["Marketing"], actor="Jo", clock=clock)
        record = opt_in.ConsentRecord(AFTERNOON, "paper form", "written")
        opt_in.set_record(s, s.get(Contact, ann), record, actor="Jo", clock=clock)
        reminder = automations.create_automation(
            s, AutomationInput("Visit", STEPS[:1], purpose="Reminders"), clock=clock
        ).id
    promo = make_automation(db, clock, STEPS[:1], name="Promo")
    enroll(db, clock, promo, ann)
    enroll(db, clock, reminder, ann)
    with db.write() as s:
        core_settings.save_settings(s, dataclasses.replace(core_settings.load_settings(s),
                                    automations_need_consent=True), actor="Jo", clock=clock)  # fmt: skip
    enroll(db, clock, reminder, bob)
    dispatcher.dispatch_due()
    reasons = {(i.automation_id, i.contact_id): (i.status, i.reason) for i in items(db)}
    assert reasons[(promo, ann)] == (QueueStatus.SKIPPED, "skipped: declined Marketing texts")
    assert reasons[(reminder, ann)] == (QueueStatus.SENT, None)
    assert reasons[(reminder, bob)] == (QueueStatus.SKIPPED, "skipped: no consent on record")
    assert posts_to(fake_twilio) == Counter({"+14155550101": 1})
