"""The FCC's 10 business days for a reply that may be an opt-out, with US federal holidays."""

from datetime import UTC, date, datetime

import pytest

from trustpager_desktop.core.business_days import (
    Urgency,
    add_business_days,
    business_days_after,
    is_business_day,
    review_deadline,
)

NY = "America/New_York"


@pytest.mark.parametrize(
    ("day", "business"),
    [(date(2026, 11, 26), False),  # Thanksgiving
     (date(2026, 11, 27), True),  # the day after is not a federal holiday
     (date(2026, 12, 25), False), (date(2027, 12, 24), False),  # Christmas 2027 observed Friday
     (date(2026, 7, 3), False),  # Independence Day 2026 falls on Saturday: observed Friday
     (date(2026, 6, 19), False),  # Juneteenth
     (date(2026, 11, 28), False), (date(2026, 11, 30), True)],
)  # fmt: skip
def test_business_days_skip_weekends_and_federal_holidays(day, business):
    assert is_business_day(day) is business


def test_ten_business_days_over_thanksgiving():
    received = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # Friday 10:00 in New York
    deadline = review_deadline(received, NY)
    # Mon 23, Tue 24, Wed 25, (Thu 26 holiday), Fri 27, Mon 30, Tue 1, Wed 2, Thu 3, Fri 4, Mon 7
    assert deadline.due_day == date(2026, 12, 7)
    assert deadline.due.isoformat() == "2026-12-07T23:59:59.999999-05:00"
    assert deadline.escalate_from.isoformat() == "2026-12-03T00:00:00-05:00"


def test_a_reply_on_friday_evening_counts_from_monday_in_the_business_zone():
    # 23:30 UTC Friday is 18:30 in New York (still Friday there) but Saturday in UTC.
    received = datetime(2026, 1, 9, 23, 30, tzinfo=UTC)
    assert review_deadline(received, NY).due_day == add_business_days(date(2026, 1, 9), 10)
    assert review_deadline(received, NY).due_day == date(2026, 1, 26)  # MLK day on the 19th


def test_urgency_escalates_two_business_days_before_and_then_overdue():
    deadline = review_deadline(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), NY)
    assert deadline.urgency(datetime(2026, 12, 2, 23, 0, tzinfo=UTC)) is Urgency.ON_TIME
    assert deadline.urgency(datetime(2026, 12, 3, 5, 0, tzinfo=UTC)) is Urgency.DUE_SOON
    assert deadline.urgency(datetime(2026, 12, 8, 4, 59, tzinfo=UTC)) is Urgency.DUE_SOON
    assert deadline.urgency(datetime(2026, 12, 8, 5, 0, tzinfo=UTC)) is Urgency.OVERDUE


def test_deadline_reads_like_a_sentence():
    deadline = review_deadline(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), NY)
    assert deadline.describe(datetime(2026, 11, 20, 16, tzinfo=UTC)) == (
        "Decide by Mon 07 Dec 2026 (10 business days left)"
    )
    assert deadline.describe(datetime(2026, 12, 4, 16, tzinfo=UTC)) == (
        "Decide by Mon 07 Dec 2026 (1 business day left)"
    )
    assert deadline.describe(datetime(2026, 12, 7, 16, tzinfo=UTC)).startswith("Decide today")
    assert deadline.describe(datetime(2026, 12, 9, tzinfo=UTC)).startswith("Overdue")


def test_business_days_after_counts_the_end_day_not_the_start():
    assert business_days_after(date(2026, 11, 20), date(2026, 11, 23)) == 1
    assert business_days_after(date(2026, 11, 23), date(2026, 11, 23)) == 0
