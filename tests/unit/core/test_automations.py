"""Automations: validation, templates, enrolment due times, JSON export/import."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tests.support.contacts import add_contact
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.states import ActivityKind, QueueStatus
from trustpager_desktop.store.models import (
    ActivityEntry,
    Automation,
    Enrollment,
    Opportunity,
    QueueItem,
)

REMINDER = AutomationInput(
    "Reminder",
    [
        StepInput("send_sms", template="Hi {first_name} from {company}"),
        StepInput("wait", wait_seconds=3600),
        StepInput("create_task", task_title="Call {full_name}"),
        StepInput("wait", wait_seconds=86_400),
        StepInput("send_sms", template="Bye {last_name}"),
    ],
)


def test_render_fills_every_field():
    text = automations.render(
        "{first_name} {last_name} {full_name} at {company}",
        first_name="Ann",
        last_name="Lee",
        company="Acme",
    )
    assert text == "Ann Lee Ann Lee at Acme"


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (StepInput("send_sms", template="Hi {nickname}"), "unknown field {nickname}"),
        (StepInput("send_sms", template="   "), "the text message is empty"),
        (StepInput("send_sms", template="Hi {first_name"), "stray brace"),
        (StepInput("wait", wait_seconds=-5), "a wait cannot be negative"),
        (StepInput("create_task", task_title=""), "the task title is empty"),
        (StepInput("create_task", task_title="Call {phone}"), "unknown field {phone}"),
        (StepInput("email", template="x"), "unknown action 'email'"),
    ],
)
def test_bad_steps_are_refused_with_a_clear_message(db, clock, step, message):
    with (
        db.write() as s,
        pytest.raises(UserInputError, match="Step 2: " + message.replace("{", r"\{")),
    ):
        automations.create_automation(
            s, AutomationInput("X", [StepInput("wait", wait_seconds=1), step]), clock=clock
        )
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Automation)) == 0


def test_names_are_unique_regardless_of_case(db, clock):
    with db.write() as s:
        automations.create_automation(s, REMINDER, clock=clock)
    with db.write() as s, pytest.raises(UserInputError, match="already exists"):
        automations.create_automation(
            s, AutomationInput("reminder", [StepInput("wait", wait_seconds=1)]), clock=clock
        )


def test_update_keeps_queued_items_pointing_at_their_steps(db, clock):
    with db.write() as s:
        view = automations.create_automation(s, REMINDER, clock=clock)
        cid = add_contact(s, clock, "Ann", "Lee", company="Acme", phone="(415) 555-0101")
        automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
    changed = view.as_input()
    steps = list(changed.steps)
    steps[0] = StepInput("send_sms", template="Hello {first_name}")
    with db.write() as s:
        updated = automations.update_automation(
            s, view.id, AutomationInput("Reminder v2", steps[:3])
        )
    assert updated.name == "Reminder v2"
    assert [st.id for st in updated.steps] == [st.id for st in view.steps[:3]]
    assert updated.steps[0].template == "Hello {first_name}"


def test_enrol_creates_items_with_cumulative_due_times_and_logs(db, clock):
    with db.write() as s:
        view = automations.create_automation(s, REMINDER, clock=clock)
        cid = add_contact(s, clock, "Ann", "Lee", company="Acme", phone="(415) 555-0101")
        result = automations.enroll(
            s, view.id, Audience(contact_ids=(cid,)), actor="Ann", clock=clock
        )
    assert result.enrolled == [cid] and result.queue_items == 5
    with db.read() as s:
        items = s.scalars(select(QueueItem).order_by(QueueItem.step_position)).all()
        logged = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.ENROLLED)
        ).one()
    offsets = [item.due_at - clock.now() for item in items]
    hour, day = timedelta(hours=1), timedelta(days=1)
    assert offsets == [timedelta(0), hour, hour, hour + day, hour + day]
    assert [i.status for i in items] == [QueueStatus.PENDING] * 5
    assert logged.contact_id == cid and "Reminder" in logged.summary


def test_enrolling_twice_does_not_duplicate_pending_items(db, clock):
    with db.write() as s:
        view = automations.create_automation(s, REMINDER, clock=clock)
        cid = add_contact(s, clock, "Ann", "Lee", company="Acme", phone="(415) 555-0101")
        automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
        again = automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
    assert again.enrolled == [] and again.already_enrolled == [cid]
    assert "already enrolled" in again.describe()


def test_the_database_refuses_a_second_open_enrolment(db, clock):
    """Whatever code path inserts it: the partial unique index is the guarantee."""
    with db.write() as s:
        view = automations.create_automation(s, REMINDER, clock=clock)
        cid = add_contact(s, clock, "Ann", "Lee", company="Acme", phone="(415) 555-0101")
        automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
    row = {"automation_id": view.id, "contact_id": cid, "enrolled_at": clock.now(),
           "enrolled_by": "a racing desktop"}  # fmt: skip
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(insert(Enrollment), [row])
    with db.write() as s:  # a closed enrolment does not count
        s.execute(insert(Enrollment), [dict(row, closed_at=clock.now())])


def test_a_finished_enrolment_is_closed_and_the_contact_may_be_enrolled_again(db, clock):
    with db.write() as s:
        view = automations.create_automation(s, REMINDER, clock=clock)
        cid = add_contact(s, clock, "Ann", "Lee", company="Acme", phone="(415) 555-0101")
        automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
        s.execute(
            update(QueueItem).where(QueueItem.step_position < 5).values(status=QueueStatus.DONE)
        )
        busy = automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
        s.execute(update(QueueItem).values(status=QueueStatus.SENT))  # the last step went out
        again = automations.enroll(s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
    assert busy.already_enrolled == [cid] and again.enrolled == [cid]
    with db.read() as s:
        enrolments = s.execute(select(Enrollment.closed_at).order_by(Enrollment.id)).all()
    assert [closed is not None for (closed,) in enrolments] == [True, False]


def test_opted_out_contacts_are_enrolled_with_a_note(db, clock):
    with db.write() as s:
        view = automations.create_automation(s, REMINDER, clock=clock)
        cid = add_contact(
            s, clock, "Ann", "Lee", opted_out=True, company="Acme", phone="(415) 555-0101"
        )
        result = automations.enroll(
            s, view.id, Audience(contact_ids=(cid,)), actor="t", clock=clock
        )
    assert result.enrolled == [cid] and result.opted_out == [cid]
    assert "texts will be skipped" in result.describe()


def test_audiences_by_tag_stage_and_everyone(db, clock):
    with db.write() as s:
        a = add_contact(
            s, clock, "Ann", "Lee", phone="(415) 555-0101", tags="vip,north", company="Acme"
        )
        b = add_contact(s, clock, "Bob", "Lee", phone="(415) 555-0102", tags="vipx", company="Acme")
        s.add(Opportunity(title="Roof", stage="Quote sent", contact_id=b, created_at=clock.now()))
        s.flush()
        assert automations.audience_contact_ids(s, Audience(tag="VIP")) == [a]
        assert automations.audience_contact_ids(s, Audience(stage="quote sent")) == [b]
        assert automations.audience_contact_ids(s, Audience(everyone=True)) == [a, b]
        with pytest.raises(NotFoundError):
            view = automations.create_automation(s, REMINDER, clock=clock)
            automations.enroll(s, view.id, Audience(contact_ids=(999,)), actor="t", clock=clock)


def test_export_import_round_trip(db, clock):
    schedule = {"trigger": "cron", "day_of_week": "mon-fri", "hour": 9, "audience": {"tag": "vip"}}
    with db.write() as s:
        automations.create_automation(
            s,
            AutomationInput("Weekly", [StepInput("send_sms", template="Hi")], schedule=schedule),
            clock=clock,
        )
        automations.create_automation(s, REMINDER, clock=clock)
        data = json.loads(json.dumps(automations.export_automations(s)))
        before = [a.as_input() for a in automations.list_automations(s)]
        for view in automations.list_automations(s):
            automations.delete_automation(s, view.id)
    with db.write() as s:
        assert automations.import_automations(s, data, clock=clock) == ["Reminder", "Weekly"]
        after = [a.as_input() for a in automations.list_automations(s)]
    assert [(a.name, list(a.steps), a.schedule) for a in after] == [
        (b.name, list(b.steps), b.schedule) for b in before
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a TrustPager automations file"),
        ({"format": "trustpager-automations", "version": 99, "automations": []}, "version 99"),
        (
            {"format": "trustpager-automations", "version": 1, "automations": [
                {"name": "A", "steps": [{"action": "send_sms", "template": "Hi {bogus}"}]}]},
            r"Automation 1 \('A'\) in the file: Step 1: unknown field \{bogus\}",
        ),
        (
            {"format": "trustpager-automations", "version": 1, "automations": [
                {"name": "A", "steps": [{"action": "wait", "seconds": 1}]},
                {"name": "B", "steps": [{"action": "wait", "seconds": -1}]}]},
            r"Automation 2 \('B'\), step 1, seconds: is out of range \(greater than or equal to 0\)",
        ),
    ],
)  # fmt: skip
def test_bad_import_files_change_nothing(db, clock, data, message):
    with db.write() as s, pytest.raises(UserInputError, match=message):
        automations.import_automations(s, data, clock=clock)
    with db.read() as s:
        assert automations.list_automations(s) == []


def test_import_name_clash_needs_replace(db, clock):
    with db.write() as s:
        automations.create_automation(s, REMINDER, clock=clock)
        data = automations.export_automations(s)
    data["automations"][0]["steps"] = [{"action": "wait", "seconds": 60}]
    with db.write() as s, pytest.raises(UserInputError, match="already exists.*--replace"):
        automations.import_automations(s, data, clock=clock)
    with db.write() as s:
        automations.import_automations(s, data, replace=True, clock=clock)
        (view,) = automations.list_automations(s)
    assert [st.summary for st in view.steps] == ["Wait 1 minute"]


def test_bad_schedule_is_refused(db, clock):
    bad = {"trigger": "cron", "hour": 99, "audience": {"tag": "x"}}
    with db.write() as s, pytest.raises(UserInputError, match="schedule is not valid"):
        automations.create_automation(
            s, AutomationInput("S", [StepInput("wait", wait_seconds=1)], schedule=bad), clock=clock
        )
