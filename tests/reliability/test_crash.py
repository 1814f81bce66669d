"""SIGKILL the headless agent at random moments while it polls and dispatches.

The agent (``python -m trustpager_desktop.cli agent --once``) talks to the local
Twilio server running in this test process. Every send and every inbox listing
is slowed a little, so a kill lands while a request is with "Twilio" or while
its answer is being stored. After each kill the database must open cleanly;
at the end every STOP must have been acted on, and the server's record must
show no text twice.

The second test runs two agents at once on one PostgreSQL database (two
desktops) and kills one of them (sometimes both) each round; the next round
starts seconds later, while the dead one's claims still hold. Some sends are
answered 500 after Twilio took them. At the end, once every claim has run out,
nothing is "Sending", every step was either done or waits for its lookup, and
no text reached Twilio twice.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import figures
from tests.support.agents import agent_env, start_agent
from tests.support.contacts import add_contact
from tests.support.databases import create_pg_database, drop_pg_database
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import auto_queue, automations, consent
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.settings import AppSettings, save_settings
from trustpager_desktop.core.states import QueueStatus
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import InboundMessage, QueueItem

PER_ROUND = 4  # contacts enrolled before each dispatch round: 8 texts for a kill to interrupt
DEADLINE_SECONDS = 60


def _numbers(count: int) -> list[str]:
    return [f"+1415555{n:04d}" for n in range(100, 100 + count)]


def _prepare(url: str) -> int:
    """Texts allowed at any hour, and a two-text automation; returns its id."""
    db = Database.open(url)
    with db.write() as s:
        save_settings(s, AppSettings(quiet_hours_start=0, quiet_hours_end=24), actor="test")
        automation = automations.create_automation(
            s,
            AutomationInput(
                "Crash",
                [
                    StepInput(automations.SEND_SMS, "Hi {first_name}, first"),
                    StepInput(automations.SEND_SMS, "Hi {first_name}, second"),
                ],
            ),
        )
    db.close()
    return automation.id


def _enrol_new_contacts(url: str, automation_id: int, numbers: list[str], first: int) -> None:
    """A kill leaves its claimed texts in flight (never re-sent), so each round brings new ones."""
    db = Database.open(url)
    with db.write() as s:
        ids = [
            add_contact(s, SYSTEM_CLOCK, f"C{first + i}", phone=n) for i, n in enumerate(numbers)
        ]
        automations.enroll(s, automation_id, Audience(contact_ids=tuple(ids)), actor="test")
    db.close()


def _wait_for_requests(fake, process: subprocess.Popen, method: str, count: int) -> bool:
    """Until the server saw ``count`` ``method`` requests in all, or the agent ended."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        seen = sum(1 for r in fake.requests if r.method == method)
        if seen >= count:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError(f"the agent sent no {method} request within {DEADLINE_SECONDS} s")


def _integrity_ok(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()


def test_agent_killed_at_random_moments_loses_no_stop_and_sends_nothing_twice(
    fake_twilio, tmp_path
):
    with figures.timed("kills survived"):
        _one_agent_killed(fake_twilio, tmp_path)


def _one_agent_killed(fake_twilio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(20261126)
    path = tmp_path / "agent.db"
    url = f"sqlite:///{path}"
    automation_id = _prepare(url)
    kills = figures.scaled(10, 200)
    numbers = _numbers(PER_ROUND * kills)
    env = agent_env(fake_twilio, tmp_path, url)
    # Every Twilio call takes a little while: that is where a kill can land mid-way.
    fake_twilio.add_fault(Fault.slow(0.04, method="POST", count=10_000))
    fake_twilio.add_fault(Fault.slow(0.15, method="GET", count=10_000))
    stops: dict[str, str] = {}
    for kill in range(kills):
        if kill % 2:
            new = numbers[kill * PER_ROUND : (kill + 1) * PER_ROUND]
            _enrol_new_contacts(url, automation_id, new, kill * PER_ROUND)
        for number in rng.sample([*numbers[: (kill + 1) * PER_ROUND], "+14155550999"], 2):
            stops[fake_twilio.add_inbound(number, fake_twilio.phone_number, "STOP")] = number
        gets = sum(1 for r in fake_twilio.requests if r.method == "GET")
        posts = sum(1 for r in fake_twilio.requests if r.method == "POST")
        agent = start_agent(env, "--once")
        if kill % 2 == 0:  # during polling: while Twilio lists, or while storing/acting
            reached = _wait_for_requests(fake_twilio, agent, "GET", gets + 1)
            time.sleep(rng.uniform(0, 0.25))
        else:  # during dispatch: after a random number of texts reached Twilio
            reached = _wait_for_requests(fake_twilio, agent, "POST", posts + rng.randint(1, 7))
        agent.send_signal(signal.SIGKILL)
        agent.communicate(timeout=DEADLINE_SECONDS)
        _integrity_ok(path)
        Database.open(url).close()  # opens (and migrates) cleanly
        if reached:
            figures.add("kills survived")

    fake_twilio.clear_faults()
    for _ in range(2):  # the first clean run may still be reconciling
        agent = start_agent(env, "--once")
        out, _ = agent.communicate(timeout=DEADLINE_SECONDS)
        assert agent.returncode in (0, 1), out.decode(errors="replace")

    sent = Counter((m["to"], m["body"]) for m in fake_twilio.sent_messages)
    duplicates = sum(n - 1 for n in sent.values())
    figures.add("duplicate sends", duplicates)
    assert duplicates == 0, [k for k, n in sent.items() if n > 1]
    db = Database.open(url)
    with db.read() as s:
        processed = set(
            s.scalars(select(InboundMessage.sid).where(InboundMessage.processed_at.is_not(None)))
        )
        lost = [sid for sid in stops if sid not in processed]
        not_opted_out = {n for n in stops.values() if not consent.number_is_opted_out(s, n)}
    db.close()
    figures.add("messages lost", len(lost) + len(not_opted_out))
    assert lost == [] and not_opted_out == set()
    assert sent, "the agent never reached the dispatch: the kills did not test sending"


def _duplicates(fake) -> list[tuple[str, str]]:
    sent = Counter((m["to"], m["body"]) for m in fake.sent_messages)
    figures.add("duplicate sends", sum(n - 1 for n in sent.values()))
    return [key for key, n in sent.items() if n > 1]


def _after_every_lease_ran_out(url: str, fake) -> None:  # type: ignore[no-untyped-def]
    """A runner cycle two minutes on (past every lease and every lookup's delay), in this
    process: the same code a desktop runs then."""
    from trustpager_desktop.core.clock import FixedClock
    from trustpager_desktop.core.gateway import OutboundGateway
    from trustpager_desktop.providers.twilio_provider import TwilioProvider

    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=2))
    db = Database.open(url)
    provider = TwilioProvider(fake.account_sid, fake.auth_token, fake.phone_number,
                              api_base=fake.base_url)  # fmt: skip
    for _ in range(2):  # lookups first, then what they put back in the queue
        auto_queue.reconcile_in_flight(db, clock=clock)
        gateway = OutboundGateway(db, provider, clock=clock)
        auto_queue.QueueDispatcher(db, gateway, clock=clock,
                                   settings=AppSettings(quiet_hours_start=0, quiet_hours_end=24)
                                   ).dispatch_due()  # fmt: skip
    db.close()


@pytest.mark.postgres
def test_two_agents_on_postgres_killed_at_random_moments_send_each_step_once(
    fake_twilio, tmp_path, _postgres_scratch
):
    rng = random.Random(20261203)
    url = create_pg_database("trustpager_crash")
    try:
        with figures.timed("kills survived"):
            _two_agents_killed(rng, url, fake_twilio, tmp_path)
    finally:
        drop_pg_database(url)


def _two_agents_killed(rng: random.Random, url: str, fake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    automation_id = _prepare(url)
    kills = figures.scaled(6, 200)
    numbers = _numbers(PER_ROUND * kills)
    env = dict(agent_env(fake, tmp_path, url), TRUSTPAGER_DISPATCH_LEASE_SECONDS="2")
    fake.add_fault(Fault.slow(0.04, method="POST", count=100_000))
    fake.add_fault(Fault.slow(0.1, method="GET", count=100_000))
    stops: dict[str, str] = {}
    for kill in range(kills):
        new = numbers[kill * PER_ROUND : (kill + 1) * PER_ROUND]
        _enrol_new_contacts(url, automation_id, new, kill * PER_ROUND)
        if kill % 3 == 1:  # Twilio takes the next text but answers 500
            fake.add_fault(Fault.accept_then_fail(rng.choice([500, 504])))
        for number in rng.sample([*numbers[: (kill + 1) * PER_ROUND], "+14155550999"], 2):
            stops[fake.add_inbound(number, fake.phone_number, "STOP")] = number
        posts = sum(1 for r in fake.requests if r.method == "POST")
        agents = [start_agent(env, "--once"), start_agent(env, "--once")]
        victim = rng.randrange(2)
        reached = _wait_for_requests(fake, agents[victim], "POST", posts + rng.randint(1, 5))
        agents[victim].send_signal(signal.SIGKILL)
        if rng.random() < 0.25:  # sometimes both desktops die
            agents[1 - victim].send_signal(signal.SIGKILL)
        for agent in agents:
            out, _ = agent.communicate(timeout=DEADLINE_SECONDS)
            assert agent.returncode in (0, 1, -signal.SIGKILL), out.decode(errors="replace")
        if reached:
            figures.add("kills survived")

    fake.clear_faults()
    agent = start_agent(env, "--once")  # a clean run reads the inbox
    out, _ = agent.communicate(timeout=DEADLINE_SECONDS)
    assert agent.returncode in (0, 1), out.decode(errors="replace")
    _after_every_lease_ran_out(url, fake)
    assert _duplicates(fake) == []
    db = Database.open(url)
    with db.read() as s:
        statuses = Counter(s.scalars(select(QueueItem.status)))
        processed = set(
            s.scalars(select(InboundMessage.sid).where(InboundMessage.processed_at.is_not(None)))
        )
        not_opted_out = {n for n in stops.values() if not consent.number_is_opted_out(s, n)}
    db.close()
    lost = [sid for sid in stops if sid not in processed]
    figures.add("messages lost", len(lost) + len(not_opted_out))
    assert lost == [] and not_opted_out == set()
    # Every step ran once: nothing "Sending", nothing left for a person, nothing waiting.
    assert set(statuses) <= {QueueStatus.SENT, QueueStatus.SKIPPED, QueueStatus.DONE}, statuses
    assert fake.sent_messages, "no text was sent: the kills did not test sending"
