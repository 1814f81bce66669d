"""Three agents on one PostgreSQL database: one polls the inbox, one is killed, STOPs still
count (issue 18 item 3).

Real processes (``trustpager agent``), the real Twilio client against the local server,
the poll interval at its minimum (5 s). The server's request log shows that the inbox
is read once per interval, not three times; after the poller is SIGKILLed another agent
takes the lease and a STOP sent right after the kill is acted on within two intervals.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from sqlalchemy import select

from tests.support.agents import agent_env, start_agent
from tests.support.databases import create_pg_database, drop_pg_database
from tests.support.inbox import list_requests
from trustpager_desktop.core import consent, contacts
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.settings import AppSettings, save_settings
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Meta

pytestmark = pytest.mark.postgres

INTERVAL = 5.0  # seconds: the smallest poll interval settings allow
CUSTOMER = "+14155550101"


def _lease(db: Database) -> dict | None:
    with db.read() as s:
        raw = s.scalar(select(Meta.value).where(Meta.key == "inbox.poller_lease"))
    return json.loads(raw) if raw else None


def _holder_pid(db: Database) -> int | None:
    lease = _lease(db)
    if not lease or lease.get("expires_at", "") < _now_iso():
        return None
    return int(lease["worker"].split(":")[1])


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _wait_for(condition, timeout: float, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


def _reads_over(fake, seconds: float) -> int:
    before = list_requests(fake)
    time.sleep(seconds)
    return list_requests(fake) - before


def test_three_agents_one_killed_stops_still_count_and_requests_are_not_tripled(
    fake_twilio, _postgres_scratch, tmp_path
):
    url = create_pg_database("trustpager_lease")
    db = Database.open(url)
    agents: list[subprocess.Popen] = []
    try:
        with db.write() as s:
            save_settings(s, AppSettings(poll_interval_seconds=int(INTERVAL)), actor="test")
            contacts.create_contact(s, ContactInput("Ann", phone=CUSTOMER), actor="test")
        agents = [
            start_agent(agent_env(fake_twilio, tmp_path, url, f"logs{n}"), quiet=True)
            for n in range(3)
        ]
        holder = _wait_for(lambda: _holder_pid(db), timeout=60)
        assert holder in {a.pid for a in agents}, "no agent took the poller lease"
        _wait_for(lambda: list_requests(fake_twilio) > 0, timeout=30)

        steady = _reads_over(fake_twilio, 3 * INTERVAL)
        assert 2 <= steady <= 4, f"{steady} reads in three intervals with three agents"

        victim = next(a for a in agents if a.pid == holder)
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        victim.wait(timeout=10)
        fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, "STOP")

        taken_over: list[float] = []

        def opted_out() -> bool:
            if not taken_over and _holder_pid(db) not in (None, holder):
                taken_over.append(time.monotonic() - killed_at)
            with db.read() as s:
                return consent.number_is_opted_out(s, CUSTOMER)

        assert _wait_for(opted_out, timeout=4 * INTERVAL), "the STOP was never acted on"
        acted_after = time.monotonic() - killed_at
        print(
            f"\nlease taken over {taken_over[0] if taken_over else float('nan'):.1f} s and "
            f"STOP acted on {acted_after:.1f} s after the poller was killed "
            f"(interval {INTERVAL:g} s); reads per 3 intervals: {steady} before"
        )
        assert _holder_pid(db) not in (None, holder)
        assert acted_after <= 2 * INTERVAL

        after = _reads_over(fake_twilio, 3 * INTERVAL)
        assert 2 <= after <= 4, f"{after} reads in three intervals with two agents"
    finally:
        for agent in agents:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
        for agent in agents:
            try:
                agent.wait(timeout=20)
            except subprocess.TimeoutExpired:
                agent.kill()
        db.close()
        drop_pg_database(url)
