"""Inbox fixtures: a poller wired to the local Twilio server and a clock-relative sender."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trustpager_desktop.core import consent
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.runtime.inbox_poller import InboxPoller


class Inbound:
    """Puts received texts into the fake Twilio account, dated relative to the test clock."""

    def __init__(self, fake_twilio, clock) -> None:
        self.fake = fake_twilio
        self.clock = clock

    def __call__(self, sender: str, body: str, *, minutes_ago: float = 1, **kw) -> str:
        when = self.clock.now() - timedelta(minutes=minutes_ago)
        return self.fake.add_inbound(sender, self.fake.phone_number, body, date_sent=when, **kw)


@pytest.fixture
def send_inbound(fake_twilio, clock) -> Inbound:
    """``send_inbound("+14155550101", "STOP")`` -> the new message SID."""
    return Inbound(fake_twilio, clock)


@pytest.fixture
def inbox_poller(db, twilio_provider, clock) -> InboxPoller:
    """The real poller over the real Twilio client, jitter fixed at its maximum."""
    return InboxPoller(db, twilio_provider, clock, settings=AppSettings(), rand=lambda: 1.0)


def number_opted_out(db, e164: str) -> bool:
    with db.read() as s:
        return consent.number_is_opted_out(s, e164)


def list_requests(fake_twilio) -> int:
    """Message list requests the server has seen (one per page)."""
    return len(fake_twilio.requests_to("/Messages.json", method="GET"))
