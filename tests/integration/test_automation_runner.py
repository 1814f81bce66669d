"""The automation runner job and the `trustpager automations` commands."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.desktop import app_services
from trustpager_desktop.cli import main
from trustpager_desktop.core import auto_queue, automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.runtime import automation_runner, jobs
from trustpager_desktop.runtime.automation_runner import AutomationRunner, build_jobs
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.models import Enrollment, Opportunity, QueueItem

# Monday 2026-11-23 13:30 UTC = 08:30 in New York (the business time zone).
MONDAY = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
WEEKDAYS_9AM = {
    "trigger": "cron",
    "day_of_week": "mon-fri",
    "hour": 9,
    "minute": 0,
    "audience": {"stage": "Quote sent"},
}


@pytest.fixture
def agent(db, clock):
    """The agent's services on Monday 08:30 in New York: Ann's roof quote was sent and a
    weekday 9:00 automation follows up every opportunity at that stage."""
    clock.set(MONDAY)
    agent = app_services(db, clock)
    with db.write() as s:
        ann = add_contact(s, clock, "Ann", "Lee", phone="(212) 555-0101")
        s.add(Opportunity(title="Roof", stage="Quote sent", contact_id=ann, created_at=clock.now()))
        automations.create_automation(
            s,
            AutomationInput(
                "Quote follow-up",
                [
                    StepInput("send_sms", template="Hi {first_name}"),
                    StepInput("wait", wait_seconds=600),
                ],
                schedule=WEEKDAYS_9AM,
            ),
            clock=clock,
        )
    return agent


def enrolments(db):
    with db.read() as s:
        return len(s.scalars(select(Enrollment)).all())


def test_runner_is_registered_as_a_background_job(agent):
    assert automation_runner in jobs.job_modules()
    (job,) = build_jobs(agent)
    assert job.job_id == "automation-runner" and 1 <= job.interval_seconds() <= 10


def test_schedule_enrols_once_per_fire_time_across_restarts(agent, db):
    clock = agent.clock
    runner = AutomationRunner(agent)
    runner.run_once()
    assert enrolments(db) == 0  # 08:30: not yet 09:00
    clock.set(datetime(2026, 11, 23, 14, 0, 30, tzinfo=UTC))  # 09:00:30 New York
    report = runner.run_once()
    assert "'Quote follow-up' enrolled 1" in report.message
    assert enrolments(db) == 1
    assert agent.gateway.provider.sent[0].body == "Hi Ann"
    AutomationRunner(agent).run_once()  # a restart in the same minute
    assert enrolments(db) == 1
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    AutomationRunner(agent).run_once()  # the 10-minute wait finishes the first enrolment
    clock.set(datetime(2026, 11, 24, 14, 5, tzinfo=UTC))  # Tuesday 09:05: fires again
    AutomationRunner(agent).run_once()
    assert enrolments(db) == 2


def test_two_runners_never_enrol_twice_for_the_same_fire_time(agent, db):
    agent.clock.set(datetime(2026, 11, 23, 14, 1, tzinfo=UTC))
    first, second = AutomationRunner(agent), AutomationRunner(agent)
    with db.read() as s:
        automation_id = automations.find_by_name(s, "Quote follow-up").id
    with db.write() as s:  # the second runner already saw the same fire time
        from trustpager_desktop.core import schedules

        assert schedules.claim_fire(
            s, automation_id, None, datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
        )
    assert first.run_schedules() == [] and second.run_schedules() == []
    assert enrolments(db) == 0


def test_paused_runner_does_nothing(agent, db):
    agent.clock.set(datetime(2026, 11, 23, 14, 1, tzinfo=UTC))
    with db.write() as s:
        auto_queue.set_paused(s, True, actor="Ann", clock=agent.clock)
    report = AutomationRunner(agent).run_once()
    assert report.message == "Automations are paused." and enrolments(db) == 0


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRUSTPAGER_DB_URL", url)
    return url


def test_cli_export_import_enroll_run_and_queue(db_url, tmp_path, capsys):
    assert main(["demo"]) == 0
    out_file = tmp_path / "automations.json"
    assert main(["automations", "export", str(out_file)]) == 0
    data = json.loads(out_file.read_text())
    assert {a["name"] for a in data["automations"]} == {"Appointment reminder", "Quote follow-up"}
    assert main(["automations", "import", str(out_file)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["automations", "import", str(out_file), "--replace"]) == 0
    assert main(["automations", "enroll", "Appointment reminder", "--all"]) == 0
    out = capsys.readouterr().out
    assert "Enrolled 50 contact(s)" in out and "opted out of SMS" in out
    assert main(["automations", "run-due", "--ignore-pause"]) == 0
    capsys.readouterr()
    assert main(["automations", "queue", "--status", "pending", "--limit", "500"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the wait and the task of every enrolment are a day away; the texts ran or wait for 08:00
    assert sum("Create task" in line for line in lines) == 50
    assert main(["automations", "list"]) == 0
    assert "Appointment reminder" in capsys.readouterr().out


def test_cli_enroll_by_phone_and_bad_files(db_url, tmp_path, capsys):
    assert main(["contacts", "add", "Ann", "--phone", "(415) 555-0101"]) == 0
    good = {
        "format": "trustpager-automations",
        "version": 1,
        "automations": [{"name": "Hello", "steps": [{"action": "send_sms", "template": "Hi"}]}],
    }
    path = tmp_path / "a.json"
    path.write_text("{not json")
    assert main(["automations", "import", str(path)]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
    path.write_text(json.dumps(good))
    assert main(["automations", "import", str(path)]) == 0
    assert main(["automations", "enroll", "hello", "--phone", "415-555-0101"]) == 0
    assert "Enrolled 1 contact(s) in 'Hello'" in capsys.readouterr().out
    assert main(["automations", "enroll", "Nope", "--all"]) == 1
    assert "no automation named 'Nope'" in capsys.readouterr().err
    assert main(["automations", "queue"]) == 0
    assert "Hello" in capsys.readouterr().out


def test_run_due_from_the_cli_sends_through_the_sandbox(db_url, capsys):
    services = AppServices.open(db_url)
    with services.db.write() as s:
        ann = add_contact(s, SYSTEM_CLOCK, "Ann", phone="+442079460000")
        view = automations.create_automation(
            s, AutomationInput("Now", [StepInput("send_sms", template="Hi {first_name}")])
        )
        automations.enroll(s, view.id, automations.Audience(contact_ids=(ann,)), actor="t")
        s.execute(QueueItem.__table__.update().values(due_at=datetime(2026, 1, 1, 12, tzinfo=UTC)))
    services.close()
    assert main(["automations", "run-due"]) == 0
    assert "1 due item(s)" in capsys.readouterr().out
