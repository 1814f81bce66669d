"""The outbound gateway over the real Twilio client and the local Twilio-compatible server."""

import pytest
from sqlalchemy import select, text

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import consent
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.gateway import AutomationOrigin, ManualOrigin, OutboundGateway
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentSource,
    MessageOrigin,
    MessageStatus,
    SuppressionResult,
)
from trustpager_desktop.store.models import ActivityEntry, Contact, OutboundMessage

REMINDER = AutomationOrigin(
    automation_id=7, automation_name="Appointment reminder", step_id=3, step_position=2
)


@pytest.fixture
def gateway(db, twilio_provider, clock):
    return OutboundGateway(db, twilio_provider, clock=clock)


def _message(db, message_id) -> OutboundMessage:
    with db.read() as s:
        return s.get(OutboundMessage, message_id)


def test_automation_send_to_subscribed_contact_reaches_twilio(db, gateway, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    outcome = gateway.send(contact_id=cid, body="See you tomorrow", origin=REMINDER)
    assert outcome.status == MessageStatus.SENT and outcome.provider_sid.startswith("SM")
    assert [m["to"] for m in fake_twilio.sent_messages] == ["+14155550101"]
    msg = _message(db, outcome.message_id)
    assert (msg.origin, msg.automation_name, msg.step_position) == (
        MessageOrigin.AUTOMATION,
        "Appointment reminder",
        2,
    )
    assert (msg.suppression_checked, msg.suppression_result) == (True, SuppressionResult.ALLOWED)
    assert msg.provider_sid == outcome.provider_sid and msg.sent_at == clock.now()


def test_automation_send_to_opted_out_contact_never_reaches_twilio(db, gateway, fake_twilio, clock):
    cid = add_contact(
        db,
        clock,
        "Ann",
        "Lee",
        phone="(415) 555-0101",
        opted_out=True,
        opt_out_source=ConsentSource.STOP_REPLY,
    )
    outcome = gateway.send(contact_id=cid, body="See you tomorrow", origin=REMINDER)
    assert outcome.status == MessageStatus.SUPPRESSED and "opted out" in outcome.reason
    assert fake_twilio.requests_to("Messages.json", method="POST") == []
    msg = _message(db, outcome.message_id)
    assert (msg.suppression_result, msg.status, msg.provider_sid) == (
        SuppressionResult.BLOCKED,
        MessageStatus.SUPPRESSED,
        None,
    )
    with db.read() as s:
        entry = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.AUTOMATION_SKIPPED)
        ).one()
    assert entry.contact_id == cid and "opted out" in entry.summary


def test_an_opt_out_saved_just_before_the_send_blocks_it(db, gateway, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    with db.write() as s:
        consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="Ann", clock=clock
        )
    assert (
        gateway.send(contact_id=cid, body="hi", origin=REMINDER).status == MessageStatus.SUPPRESSED
    )
    assert fake_twilio.sent_messages == []


def test_automation_to_a_number_opted_out_by_another_contact_is_blocked(
    db, gateway, fake_twilio, clock
):
    add_contact(
        db,
        clock,
        "Ann",
        "Lee",
        phone="(415) 555-0101",
        opted_out=True,
        opt_out_source=ConsentSource.STOP_REPLY,
    )
    other = add_contact(
        db, clock, "Ann", "Lee", phone="(415) 555-0101"
    )  # same number, its own record says subscribed
    assert (
        gateway.send(contact_id=other, body="hi", origin=REMINDER).status
        == MessageStatus.SUPPRESSED
    )
    assert fake_twilio.sent_messages == []


def test_manual_send_to_opted_out_contact_goes_through_and_is_recorded(
    db, gateway, fake_twilio, clock
):
    cid = add_contact(
        db,
        clock,
        "Ann",
        "Lee",
        phone="(415) 555-0101",
        opted_out=True,
        opt_out_source=ConsentSource.STOP_REPLY,
    )
    outcome = gateway.send(contact_id=cid, body="Your keys are ready", origin=ManualOrigin("Ann"))
    assert outcome.status == MessageStatus.SENT and outcome.recipient_opted_out
    assert len(fake_twilio.sent_messages) == 1
    msg = _message(db, outcome.message_id)
    assert (msg.origin, msg.actor, msg.recipient_opted_out, msg.suppression_result) == (
        MessageOrigin.MANUAL,
        "Ann",
        True,
        SuppressionResult.ADVISORY,
    )
    with db.read() as s:
        kinds = s.scalars(select(ActivityEntry.kind).where(ActivityEntry.contact_id == cid)).all()
    assert ActivityKind.MANUAL_SEND_OPTED_OUT in kinds


def test_twilio_21610_opts_the_number_out_and_stores_the_message_as_suppressed(
    db, gateway, fake_twilio, clock
):
    a = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    b = add_contact(db, clock, "Ann", "Lee", phone="+1 415 555 0101")
    fake_twilio.fail_recipient("+14155550101", 21610)
    outcome = gateway.send(contact_id=a, body="hi", origin=ManualOrigin("Ann"))
    assert (outcome.status, outcome.error_code) == (MessageStatus.SUPPRESSED, 21610)
    with db.read() as s:
        for cid in (a, b):
            c = s.get(Contact, cid)
            assert c.sms_opted_out and c.sms_opt_out_source == ConsentSource.TWILIO_21610
    # and from now on automations are blocked without asking Twilio
    fake_twilio.clear_faults()
    before = len(fake_twilio.requests)
    assert gateway.send(contact_id=a, body="hi", origin=REMINDER).status == MessageStatus.SUPPRESSED
    assert len(fake_twilio.requests) == before


@pytest.mark.parametrize(
    ("code", "words"),
    [(21211, "not a valid phone number"), (21614, "not a mobile number"), (21408, "not enabled")],
)
def test_permanent_recipient_errors_fail_with_plain_reason(
    db, gateway, fake_twilio, clock, code, words
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.fail_recipient("+14155550101", code)
    outcome = gateway.send(contact_id=cid, body="hi", origin=REMINDER)
    assert (outcome.status, outcome.error_code, outcome.retryable) == (
        MessageStatus.FAILED,
        code,
        False,
    )
    assert words in outcome.reason
    msg = _message(db, outcome.message_id)
    assert msg.error_code == code and words in msg.error_message
    with db.read() as s:
        assert not s.get(Contact, cid).sms_opted_out


def test_temporary_errors_are_retryable_for_automations_and_reported_for_manual(
    db, gateway, fake_twilio, clock
):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.add_fault(Fault.http(429, 20429, count=2))
    auto = gateway.send(contact_id=cid, body="hi", origin=REMINDER)
    manual = gateway.send(contact_id=cid, body="hi", origin=ManualOrigin("Ann"))
    assert (auto.status, auto.retryable) == (MessageStatus.FAILED, True)
    assert (manual.status, manual.retryable) == (MessageStatus.FAILED, False)


def test_refused_connection_is_recorded_not_raised(db, gateway, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.stop()
    outcome = gateway.send(contact_id=cid, body="hi", origin=ManualOrigin("Ann"))
    assert (
        outcome.status == MessageStatus.FAILED and "could not be reached" in outcome.reason.lower()
    )


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601, "a\x00b"])
def test_bad_bodies_are_refused_and_nothing_is_recorded(db, gateway, fake_twilio, clock, body):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    with pytest.raises(UserInputError):
        gateway.send(contact_id=cid, body=body, origin=ManualOrigin("Ann"))
    with db.read() as s:
        assert s.scalars(select(OutboundMessage)).all() == []
    assert fake_twilio.requests == []


def test_manual_send_to_contact_without_number_is_refused(db, gateway, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="")
    with pytest.raises(UserInputError, match="no phone number"):
        gateway.send(contact_id=cid, body="hi", origin=ManualOrigin("Ann"))


def test_segments_are_recorded(db, gateway, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    outcome = gateway.send(contact_id=cid, body="😀" * 71, origin=ManualOrigin("Ann"))
    msg = _message(db, outcome.message_id)
    assert (msg.encoding, msg.segments) == ("UCS-2", 3)


def test_the_auth_token_never_reaches_the_database(db, gateway, fake_twilio, clock):
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.fail_recipient("+14155550101", 21211)
    gateway.send(contact_id=cid, body="hi", origin=ManualOrigin("Ann"))
    fake_twilio.stop()
    gateway.send(contact_id=cid, body="hi", origin=ManualOrigin("Ann"))
    token = fake_twilio.auth_token
    with db.read() as s:
        for table in ("outbound_messages", "activity_log", "settings", "consent_events"):
            for row in s.execute(text(f"SELECT * FROM {table}")):
                assert token not in " ".join(str(v) for v in row)
