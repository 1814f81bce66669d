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


# ---- review deadlines of replies that may be opt-outs --------------------------------------


def test_a_review_deadline_over_thanksgiving():
    received = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # Friday 10:00 in New York
    deadline = bd.review_deadline(received, NY)
    # Mon 23, Tue 24, Wed 25, (Thu 26 holiday), Fri 27, Mon 30, Tue 1, Wed 2, Thu 3, Fri 4, Mon 7
    assert deadline.due_day == date(2026, 12, 7)
    assert deadline.due == ny(2026, 12, 8, 0, 0)  # the same line as deadline_after
    assert deadline.escalate_from == ny(2026, 12, 3, 0, 0)


def test_a_reply_on_friday_evening_counts_from_monday_in_the_business_zone():
    # 23:30 UTC Friday is 18:30 in New York (still Friday there) but Saturday in UTC.
    received = datetime(2026, 1, 9, 23, 30, tzinfo=UTC)
    assert bd.review_deadline(received, NY).due_day == date(2026, 1, 26)  # MLK day on the 19th


def test_urgency_escalates_two_business_days_before_and_then_overdue():
    deadline = bd.review_deadline(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), NY)
    assert deadline.urgency(ny(2026, 12, 2, 23, 59)) is bd.Urgency.ON_TIME
    assert deadline.urgency(ny(2026, 12, 3, 0, 0)) is bd.Urgency.DUE_SOON
    assert deadline.urgency(ny(2026, 12, 7, 23, 59)) is bd.Urgency.DUE_SOON
    assert deadline.urgency(ny(2026, 12, 8, 0, 0)) is bd.Urgency.OVERDUE


def test_a_review_deadline_reads_like_a_sentence():
    deadline = bd.review_deadline(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), NY)
    assert deadline.describe(ny(2026, 11, 20, 11, 0)) == (
        "Decide by Mon 07 Dec 2026 (10 business days left)"
    )
    assert deadline.describe(ny(2026, 12, 4, 11, 0)) == (
        "Decide by Mon 07 Dec 2026 (1 business day left)"
    )
    assert deadline.describe(ny(2026, 12, 7, 11, 0)).startswith("Decide today")
    assert deadline.describe(ny(2026, 12, 8, 9, 0)).startswith("Overdue")
    assert deadline.short(ny(2026, 12, 4, 11, 0)) == "Mon 07 Dec (1 day left)"


def test_a_bad_time_zone_setting_falls_back_to_utc():
    assert bd.review_deadline(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), "Nowhere/Else").due_day
