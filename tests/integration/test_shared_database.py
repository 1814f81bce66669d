"""Several desktops on one PostgreSQL database: real processes (or threads with their own
engines) racing on enrolment and dispatch. Each contact is texted once, whatever the timing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.support import figures
from tests.support.agents import agent_env
from tests.support.contacts import add_contact
from tests.support.seats import AUTOMATION, run_together
from trustpager_desktop.cli import main
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.settings import AppSettings, save_settings
from trustpager_desktop.store.models import Automation, Enrollment, QueueItem

pytestmark = pytest.mark.postgres

ANYTIME = AppSettings(quiet_hours_start=0, quiet_hours_end=24)
EVERY_HOUR_TO_EVERYONE = {"trigger": "interval", "hours": 1, "audience": {"all": True}}


def _numbers(count: int) -> list[str]:
    return [f"+1415555{n:04d}" for n in range(1000, 1000 + count)]


def _office(db, count: int, schedule: dict | None = None) -> None:
    """``count`` contacts, texts allowed at any hour, the automation (schedule due now)."""
    with db.write() as s:
        save_settings(s, ANYTIME, actor="test")
        for i, number in enumerate(_numbers(count)):
            add_contact(s, SYSTEM_CLOCK, f"C{i}", phone=number)
        automations.create_automation(
            s,
            AutomationInput(
                AUTOMATION,
                [StepInput(automations.SEND_SMS, "Hi {first_name}, see you tomorrow")],
                schedule=schedule,
            ),
        )
        # Created two hours ago: an hourly schedule has a fire time due right now.
        s.execute(update(Automation).values(created_at=SYSTEM_CLOCK.now() - timedelta(hours=2)))


def _texts_per_number(fake_twilio) -> Counter[str]:
    return Counter(m["to"] for m in fake_twilio.sent_messages)


def _duplicates(sent: Counter[str]) -> int:
    twice = sum(n - 1 for n in sent.values())
    figures.add("duplicate sends", twice)
    return twice


def test_two_desktops_and_a_schedule_enrolling_everyone_at_once_text_each_contact_once(
    _postgres_scratch, fake_twilio, tmp_path, monkeypatch
):
    """Issue 13.1: two `automations enroll Reminder --all` and a schedule firing, started
    together from a barrier in three processes, then `run-due`."""
    db = _postgres_scratch.fresh()
    _office(db, 100, schedule=EVERY_HOUR_TO_EVERYONE)
    env = agent_env(fake_twilio, tmp_path, db.url)

    codes = run_together(["enrol-everyone", "enrol-everyone", "fire-schedules"], db.url, env)

    assert codes == [0, 0, 0]
    with db.read() as s:
        per_contact = s.execute(
            select(Enrollment.contact_id, func.count()).group_by(Enrollment.contact_id)
        ).all()
        items = s.scalar(select(func.count()).select_from(QueueItem))
    assert len(per_contact) == 100 and {n for _, n in per_contact} == {1}
    assert items == 100
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["automations", "run-due"]) == 0
    sent = _texts_per_number(fake_twilio)
    assert _duplicates(sent) == 0
    assert sorted(sent) == _numbers(100)
