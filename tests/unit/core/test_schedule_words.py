"""Schedules in plain words, and the simple days-and-time form the editor shows."""

from datetime import UTC, datetime

import pytest

from trustpager_desktop.core.schedules import (
    days_spec,
    describe_schedule,
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
