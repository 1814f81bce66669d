from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from trustpager_desktop.providers.base import FailureKind, ProviderError
from trustpager_desktop.providers.sandbox_provider import SandboxProvider

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider(sender="+14155550100", clock=lambda: NOW)


def test_send_returns_twilio_like_sid_and_remembers(sandbox):
    result = sandbox.send("+15551230001", "hi there")
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.sid)
    assert result.status == "sent"
    [sent] = sandbox.sent
    assert (sent.sid, sent.to_number, sent.body, sent.date_sent) == (
        result.sid,
        "+15551230001",
        "hi there",
        NOW,
    )
    assert sandbox.send("+15551230001", "again").sid != result.sid


def test_failing_number(sandbox):
    sandbox.fail_number("+15551230001", FailureKind.UNSUBSCRIBED)
    with pytest.raises(ProviderError) as info:
        sandbox.send("+15551230001", "hi")
    assert info.value.kind is FailureKind.UNSUBSCRIBED
    assert info.value.code == 21610
    assert sandbox.sent == []
    sandbox.send("+15551230002", "other numbers still work")
    sandbox.clear_failure("+15551230001")
    sandbox.send("+15551230001", "and now this one too")
    assert len(sandbox.sent) == 2


def test_failing_number_with_own_reason(sandbox):
    sandbox.fail_number("+15551230001", FailureKind.TEMPORARY, "network down")
    with pytest.raises(ProviderError, match="network down") as info:
        sandbox.send("+15551230001", "hi")
    assert info.value.retryable


def test_simulated_replies_listed_newest_first_by_day(sandbox):
    old = sandbox.simulate_reply("+15551230001", "yesterday", when=NOW - timedelta(days=1))
    early = sandbox.simulate_reply("+15551230001", "early", when=NOW.replace(hour=0, minute=1))
    late = sandbox.simulate_reply("+15551230002", "STOP")
    records = list(sandbox.list_inbound(NOW))
    assert [r.sid for r in records] == [late.sid, early.sid]
    assert all(r.direction == "inbound" and r.to_number == "+14155550100" for r in records)
    assert [r.sid for r in sandbox.list_inbound(NOW - timedelta(days=1))][-1] == old.sid


def test_reply_times_are_aware_utc(sandbox):
    naive = sandbox.simulate_reply(
        "+15551230001", "hi", to_number="+14155550199", when=datetime(2025, 6, 2, 8)
    )
    assert naive.date_sent == datetime(2025, 6, 2, 8, tzinfo=UTC)
    assert naive.to_number == "+14155550199"


def test_fetch_status(sandbox):
    sid = sandbox.send("+15551230001", "hi").sid
    assert sandbox.fetch_status(sid) == "sent"
    assert sandbox.fetch_status("SM" + "0" * 32) is None


def test_description_and_connection(sandbox):
    assert sandbox.name == "sandbox"
    assert sandbox.description == "Sandbox: no texts leave this computer"
    assert "no connection" in sandbox.test_connection()


def test_thread_safe_replies_and_sends():
    sandbox = SandboxProvider()

    def work(n: int) -> None:
        for i in range(200):
            sandbox.simulate_reply(f"+1555{n:03d}{i:04d}", "hi")
            sandbox.send(f"+1666{n:03d}{i:04d}", "hi")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sandbox.sent) == 1600
    assert len({r.sid for r in sandbox.list_inbound(datetime.now(UTC) - timedelta(days=1))}) == 1600
