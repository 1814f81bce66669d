"""SIGKILL the headless agent at random moments while it polls and dispatches.

The agent (``python -m trustpager_desktop.cli agent --once``) talks to the local
Twilio server running in this test process. Every send and every inbox listing
is slowed a little, so a kill lands while a request is with "Twilio" or while
its answer is being stored. After each kill the database must open cleanly;
at the end every STOP must have been acted on, and the server's record must
show no text twice.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from tests.support import figures
from tests.support.agents import agent_env, start_agent
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import automations, consent, contacts
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.settings import AppSettings, save_settings
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import InboundMessage

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
            contacts.create_contact(s, ContactInput(f"C{first + i}", phone=n), actor="test").id
            for i, n in enumerate(numbers)
        ]
        automations.enroll(s, automation_id, Audience(contact_ids=tuple(ids)), actor="test")
    db.close()


def _wait_for_requests(fake, process: subprocess.Popen, method: str, count: int) -> bool:
    """Until the server saw ``count`` more ``method`` requests, or the agent ended."""
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
