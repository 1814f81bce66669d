"""Schedules: triggers from the automation's JSON, the hourly floor, one enrolment per missed
run of fires, fire times claimed once, and the schedule in plain words."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.schedules import (
    build_trigger,
    check_min_interval,
    claim_fire,
    days_spec,
    describe_audience,
    describe_schedule,
    last_fire,
    latest_due_fire,
    next_fire_time,
    parse_days,
    simple_cron,
)

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # a Thursday, 10:00 in New York


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon-fri", ["mon", "tue", "wed", "thu", "fri"]),
        ("mon,wed,sat", ["mon", "wed", "sat"]),
        ("sat-mon", ["mon", "sat", "sun"]),
        ("*", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        ("last fri", None),
        ("2nd mon", None),
    ],
)
def test_day_of_week_specs_are_read_as_days_or_refused(spec, days):
    assert parse_days(spec) == days


def test_days_are_written_back_compactly():
    assert days_spec(["mon", "tue", "wed", "thu", "fri"]) == "mon-fri"
    assert days_spec(["mon", "wed"]) == "mon,wed"
    assert days_spec(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) == "*"


def test_only_days_and_a_time_make_a_simple_cron():
    assert simple_cron({"trigger": "cron", "day_of_week": "mon-fri", "hour": 9}) == (
        ["mon", "tue", "wed", "thu", "fri"],
        9,
        0,
    )
    assert simple_cron({"trigger": "cron", "day": "1", "hour": 9}) is None  # kept as JSON
    assert simple_cron({"trigger": "interval", "hours": 6}) is None


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (None, "No schedule: contacts are enrolled by hand"),
        (
            {
                "trigger": "cron",
                "day_of_week": "mon-fri",
                "hour": 9,
                "minute": 30,
                "audience": {"stage": "Quote sent"},
            },  # fmt: skip
            "Every weekday (Monday to Friday) at 09:30 (America/New_York), enrols contacts "
            "with an opportunity at stage 'Quote sent'.",
        ),
        (
            {"trigger": "interval", "hours": 6, "audience": {"tag": "vip"}},
            "Every 6 hours, enrols contacts tagged 'vip'.",
        ),
        (
            {"trigger": "cron", "day": "1", "hour": 8, "audience": {"all": True}},
            "On a custom cron schedule (day 1, hour 8), enrols every contact.",
        ),
    ],
)
def test_schedules_are_described_in_words(schedule, words):
    assert describe_schedule(schedule, "America/New_York").startswith(words)


def test_the_next_run_of_a_cron_schedule_is_in_the_business_zone():
    schedule = {"trigger": "cron", "day_of_week": "mon-fri", "hour": 9, "audience": {"all": 1}}
    # Thursday 10:00 in New York: today's 09:00 has passed, so Friday 09:00 EST.
    assert next_fire_time(schedule, "America/New_York", NOW) == datetime(
        2026, 11, 27, 14, 0, tzinfo=UTC
    )
    assert next_fire_time(None, "America/New_York", NOW) is None


# -- triggers: built from the automation's JSON, refused with the reason ------------------------

NY = "America/New_York"


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ({"trigger": "cron"}, "needs at least an hour or a day of week"),
        ({"trigger": "interval"}, "needs whole weeks/days/hours/minutes"),
        ({"trigger": "interval", "hours": 1.5}, "needs whole weeks/days/hours/minutes"),
        ({"trigger": "interval", "hours": -1}, "needs whole weeks/days/hours/minutes"),
        ({"trigger": "interval", "hours": 0}, "cannot be zero"),
        ({"trigger": "cron", "hour": 25}, "The schedule is not valid"),
        ({"trigger": "cron", "day_of_week": "someday"}, "The schedule is not valid"),
        ({"trigger": "date"}, "must be 'cron' or 'interval'"),
        ({}, "must be 'cron' or 'interval'"),
    ],
)
def test_a_schedule_that_cannot_be_a_trigger_is_refused_with_the_reason(schedule, reason):
    with pytest.raises(UserInputError, match=reason):
        build_trigger(schedule, NY)


def test_a_cron_schedule_fires_at_its_time_in_the_business_zone():
    trigger = build_trigger({"trigger": "cron", "day_of_week": "mon-fri", "hour": 9}, NY)
    fire = trigger.get_next_fire_time(None, NOW)  # Thursday 10:00 in New York
    assert fire == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # Friday 09:00 EST


@pytest.mark.parametrize(
    "schedule",
    [
        {"trigger": "interval", "minutes": 59},
        {"trigger": "cron", "minute": "*/5"},
        {"trigger": "cron", "hour": "9,10", "minute": "0,30"},  # 30 minutes apart
    ],
)
def test_a_schedule_firing_more_than_hourly_is_refused(schedule):
    with pytest.raises(UserInputError, match="may fire at most once every 1 hour"):
        check_min_interval(build_trigger(schedule, NY))


@pytest.mark.parametrize(
    "schedule",
    [
        {"trigger": "interval", "hours": 1},
        {"trigger": "cron", "day_of_week": "mon-fri", "hour": 9, "minute": 0},
        {"trigger": "cron", "hour": "*", "minute": 15},  # every hour, on the quarter
    ],
)
def test_an_hourly_or_slower_schedule_is_allowed(schedule):
    check_min_interval(build_trigger(schedule, NY))  # does not raise


def test_the_latest_due_fire_is_one_fire_however_many_were_missed():
    """Three days of downtime over a 09:00 weekday schedule enrol once, for the last fire."""
    trigger = build_trigger({"trigger": "cron", "hour": 9, "minute": 0}, NY)
    after = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thursday 10:00
    assert latest_due_fire(trigger, after, now) == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    assert latest_due_fire(trigger, now, now + timedelta(hours=22)) is None  # not due yet


def test_a_fire_time_is_claimed_once(db):
    monday = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    tuesday = monday + timedelta(days=1)
    with db.write() as s:
        assert claim_fire(s, 7, None, monday)
        assert not claim_fire(s, 7, None, monday)  # a second process with the same view
        assert last_fire(s, 7) == monday
        assert claim_fire(s, 7, monday, tuesday)
        assert not claim_fire(s, 7, monday, tuesday)  # someone else moved it on already
        assert last_fire(s, 7) == tuesday and last_fire(s, 8) is None


@pytest.mark.parametrize(
    ("audience", "words"),
    [
        ({"all": True}, "enrols every contact"),
        ({"tag": "vip"}, "enrols contacts tagged 'vip'"),
        ({"stage": "Won"}, "enrols contacts with an opportunity at stage 'Won'"),
        (None, "enrols nobody yet (choose who)"),
    ],
)
def test_the_audience_is_described_in_words(audience, words):
    assert describe_audience(audience) == words


def test_the_runner_sees_only_enabled_automations_with_a_schedule(db, clock):
    from trustpager_desktop.core import automations
    from trustpager_desktop.core.automations import AutomationInput, StepInput
    from trustpager_desktop.core.schedules import scheduled_automations

    daily = {"trigger": "cron", "hour": 9, "minute": 0, "audience": {"all": True}}
    steps = [StepInput("send_sms", "Hi")]
    with db.write() as s:
        kept = automations.create_automation(
            s, AutomationInput("Daily", steps, schedule=daily), clock=clock
        )
        automations.create_automation(s, AutomationInput("By hand", steps), clock=clock)
    with db.read() as s:
        (found,) = scheduled_automations(s)
    assert (found.id, found.name) == (kept.id, "Daily")
    assert json.loads(found.schedule) == daily
