"""core.gateway on its own, over the offline sandbox provider: the one outbound path blocks
automation texts to opted-out numbers, lets manual sends through as recorded exceptions,
refuses bad input without recording, and keeps each request's answer in its place (Twilio
itself is in tests/integration/test_gateway.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.contacts import add_contact
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.gateway import (
    AutomationOrigin,
    ConfirmationOrigin,
    ManualOrigin,
    OutboundGateway,
    SendOutcome,
    SendRequest,
    Status,
    origin_label,
)
from trustpager_desktop.core.states import MessageOrigin
from trustpager_desktop.providers.base import FailureKind
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.models import OutboundMessage

ANN, BEN = "+14155550101", "+14155550102"
REMINDER = AutomationOrigin(automation_id=1, automation_name="Reminder", step_id=1, step_position=2)


@pytest.fixture
def provider(clock) -> SandboxProvider:
    return SandboxProvider(clock=clock.now)


@pytest.fixture
def gateway(db, provider, clock) -> OutboundGateway:
    return OutboundGateway(db, provider, clock=clock)


def _messages(db) -> list[OutboundMessage]:
    with db.read() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_an_automation_text_to_an_opted_out_contact_is_never_handed_to_the_provider(
    db, clock, gateway, provider
):
    ann = add_contact(db, clock, "Ann", phone=ANN, opted_out=True)
    outcome = gateway.send(body="Reminder", origin=REMINDER, contact_id=ann)
    assert (outcome.status, outcome.recipient_opted_out) == (Status.SUPPRESSED, True)
    assert provider.sent == []
    (message,) = _messages(db)
    assert message.status == Status.SUPPRESSED and message.origin == MessageOrigin.AUTOMATION


def test_a_manual_text_to_an_opted_out_contact_goes_and_is_recorded_as_such(
    db, clock, gateway, provider
):
    ann = add_contact(db, clock, "Ann", phone=ANN, opted_out=True)
    outcome = gateway.send(body="About your order", origin=ManualOrigin("Dana"), contact_id=ann)
    assert (outcome.status, outcome.recipient_opted_out) == (Status.SENT, True)
    assert [m.to_number for m in provider.sent] == [ANN]
    (message,) = _messages(db)
    assert (message.origin, message.actor, message.provider_sid) == (
        MessageOrigin.MANUAL,
        "Dana",
        outcome.provider_sid,
    )


@pytest.mark.parametrize(
    ("body", "contact", "error"),
    [
        ("   ", "ann", UserInputError),
        ("x" * 2000, "ann", UserInputError),
        ("Hello", "nobody", NotFoundError),
    ],
)
def test_bad_input_is_refused_and_nothing_is_recorded(
    db, clock, gateway, provider, body, contact, error
):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    contact_id = ann if contact == "ann" else ann + 100
    with pytest.raises(error):
        gateway.send(body=body, origin=ManualOrigin("Dana"), contact_id=contact_id)
    assert _messages(db) == [] and provider.sent == []


def test_a_manual_send_to_a_contact_without_a_number_is_refused(db, clock, gateway):
    nobody = add_contact(db, clock, "Ann")
    with pytest.raises(UserInputError):
        gateway.send(body="Hello", origin=ManualOrigin("Dana"), contact_id=nobody)
    assert _messages(db) == []


def test_a_permanent_failure_is_recorded_and_not_retried(db, clock, gateway, provider):
    ben = add_contact(db, clock, "Ben", phone=BEN)
    provider.fail_number(BEN, FailureKind.PERMANENT, "not a mobile number")
    outcome = gateway.send(body="Reminder", origin=REMINDER, contact_id=ben)
    assert (outcome.status, outcome.retryable) == (Status.FAILED, False)
    assert not outcome.delivered_to_provider and not outcome.may_have_been_sent
    (message,) = _messages(db)
    assert message.status == Status.FAILED and "not a mobile number" in (
        message.error_message or ""
    )


def test_a_batch_answers_each_request_in_its_place(db, clock, gateway, provider):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    ben = add_contact(db, clock, "Ben", phone=BEN, opted_out=True)
    results = gateway.send_batch(
        [
            SendRequest("Hi Ann", REMINDER, contact_id=ann),
            SendRequest("", REMINDER, contact_id=ann),  # bad input: its error, in its place
            SendRequest("Hi Ben", REMINDER, contact_id=ben),
        ]
    )
    assert isinstance(results[0], SendOutcome) and results[0].status == Status.SENT
    assert isinstance(results[1], UserInputError)
    assert isinstance(results[2], SendOutcome) and results[2].status == Status.SUPPRESSED
    assert [m.to_number for m in provider.sent] == [ANN]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 2


def test_each_origin_is_named_for_people(db, clock, gateway):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    gateway.send(body="Hi", origin=ManualOrigin("Dana"), contact_id=ann)
    gateway.send(body="Hi", origin=REMINDER, contact_id=ann)
    gateway.send(body="You are opted out", origin=ConfirmationOrigin(1), to=ANN)
    assert [origin_label(m) for m in _messages(db)] == [
        "Manual, by Dana",
        "Automation 'Reminder', step 2",
        "Opt-out confirmation",
    ]
