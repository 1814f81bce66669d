# Shared pytest fixtures. Keep each block self-contained so more can be merged in.
# fake_twilio: a local Twilio REST stand-in (tests/support/fake_twilio.py); one server
# per test session, reset (messages, request log, faults) before and after every test.
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_twilio import FakeTwilio


@pytest.fixture(scope="session")
def fake_twilio_server() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def fake_twilio(fake_twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    fake_twilio_server.start()  # in case an earlier test stopped it
    fake_twilio_server.reset()
    yield fake_twilio_server
    fake_twilio_server.reset()
    fake_twilio_server.start()
