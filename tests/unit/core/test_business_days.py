"""Business days for the 10-business-day honour line: weekends, US federal holidays
(observed days included) and the business's time zone."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from trustpager_desktop.core import business_days as bd

NY = "America/New_York"


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(NY)).astimezone(UTC)


def test_weekends_and_federal_holidays_are_not_business_days():
    assert bd.is_business_day(date(2026, 11, 25))  # Wednesday
    assert not bd.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not bd.is_business_day(date(2026, 11, 28))  # Saturday
    assert not bd.is_business_day(date(2026, 7, 3))  # Independence Day observed (4th: Sat)
    assert bd.is_business_day(date(2026, 11, 27))  # the Friday after is a working day
    assert bd.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"


def test_friday_to_monday_is_one_business_day():
    assert bd.business_days_between(date(2026, 11, 6), date(2026, 11, 9)) == 1
    assert bd.business_days_between(date(2026, 11, 6), date(2026, 11, 6)) == 0
    assert bd.business_days_between(date(2026, 11, 9), date(2026, 11, 6)) == 0


def test_the_tenth_business_day_skips_weekends_and_thanksgiving():
    # Wed 25 Nov: 27 (1), 30 Nov-4 Dec (2-6), 7-10 Dec (7-10): Thanksgiving pushes it a day.
    assert bd.add_business_days(date(2026, 11, 25), 10) == date(2026, 12, 10)
    # the same count in a week without a holiday lands a day earlier in the week
    assert bd.add_business_days(date(2026, 10, 14), 10) == date(2026, 10, 28)


def test_a_request_on_a_saturday_counts_from_monday():
    assert bd.add_business_days(date(2026, 11, 7), 1) == date(2026, 11, 9)
    # ...and Veterans Day (Wed 11 Nov) moves the tenth from Fri 20 to Mon 23 Nov
    assert bd.add_business_days(date(2026, 11, 7), 10) == date(2026, 11, 23)


def test_the_deadline_ends_at_local_midnight_after_the_tenth_business_day():
    received = ny(2026, 11, 25, 16, 0)
    deadline = bd.deadline_after(received, NY)
    assert deadline == ny(2026, 12, 11, 0, 0)
    assert not bd.beyond_limit(received, ny(2026, 12, 10, 23, 59, 59), NY)
    assert bd.beyond_limit(received, ny(2026, 12, 11, 0, 0), NY)


def test_the_local_day_decides_not_the_utc_day():
    # 23:30 in New York on Wed 25 Nov is already Thursday 04:30 in UTC.
    received = ny(2026, 11, 25, 23, 30)
    assert received.date() == date(2026, 11, 26)
    assert bd.local_day(received, NY) == date(2026, 11, 25)
    assert bd.business_days_taken(received, ny(2026, 11, 27, 9, 0), NY) == 1


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        bd.add_business_days(date(2026, 11, 25), -1)
