"""One way to write a moment on screen: the business time zone, one format, the zone named
when it is not the computer's."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from trustpager_desktop.core.timefmt import (
    business_today,
    differs_from_computer,
    format_time,
    start_of_business_day,
)

NEW_YORK = ZoneInfo("America/New_York")
MOMENT = datetime(2026, 11, 26, 15, 4, 17, tzinfo=UTC)  # 10:04:17 in New York (EST)


def test_a_time_is_written_in_the_business_zone_whatever_the_computer_uses():
    assert format_time(MOMENT, "America/New_York", computer=NEW_YORK) == "26 Nov 2026, 10:04"
    assert format_time(MOMENT, "Europe/London", computer=ZoneInfo("Europe/London")) == (
        "26 Nov 2026, 15:04"
    )


def test_the_zone_is_named_where_it_differs_from_the_computers():
    tokyo = ZoneInfo("Asia/Tokyo")
    assert format_time(MOMENT, "America/New_York", computer=tokyo) == "26 Nov 2026, 10:04 EST"
    summer = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    assert format_time(summer, "America/New_York", computer=tokyo) == "01 Jul 2026, 10:00 EDT"
    assert not differs_from_computer(MOMENT, "America/New_York", NEW_YORK)
    # Same clock, different name: nothing to warn about.
    assert not differs_from_computer(MOMENT, "America/Toronto", NEW_YORK)


def test_seconds_clock_only_and_missing_values():
    assert format_time(MOMENT, "America/New_York", seconds=True, computer=NEW_YORK) == (
        "26 Nov 2026, 10:04:17"
    )
    assert format_time(MOMENT, "America/New_York", with_date=False, computer=NEW_YORK) == "10:04"
    assert format_time(None, "America/New_York") == ""


def test_a_naive_time_is_read_as_utc_and_a_bad_zone_falls_back_to_utc():
    naive = MOMENT.replace(tzinfo=None)
    assert format_time(naive, "America/New_York", computer=NEW_YORK) == "26 Nov 2026, 10:04"
    assert format_time(MOMENT, "Mars/Olympus", computer=UTC) == "26 Nov 2026, 15:04"
    assert format_time(MOMENT, "Mars/Olympus", computer=timezone(timedelta(hours=2))).endswith(
        "UTC"
    )


def test_business_days_start_at_the_business_midnight():
    late_evening_ny = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 22:00 on the 26th in New York
    assert business_today(late_evening_ny, "America/New_York") == date(2026, 11, 26)
    assert start_of_business_day(date(2026, 11, 26), "America/New_York") == datetime(
        2026, 11, 26, 5, 0, tzinfo=UTC
    )
