"""Business days for the FCC's 10-business-day limit on honouring an opt-out.

A business day is Monday to Friday except US federal holidays (as observed), from the
``holidays`` package. Days are counted in the business time zone: a reply received on
Friday evening there starts counting on Monday.
"""

from __future__ import annotations

import enum
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

REVIEW_BUSINESS_DAYS = 10  # FCC: honour a revocation within 10 business days
ESCALATE_BUSINESS_DAYS = 2  # the red count and a notification from 2 business days before


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year))


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a US federal holiday (observed dates included)."""
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself never counts)."""
    found = 0
    while found < count:
        day += timedelta(days=1)
        if is_business_day(day):
            found += 1
    return day


def business_days_after(start: date, end: date) -> int:
    """How many business days lie after ``start`` up to and including ``end`` (0 if none)."""
    return sum(1 for n in range(1, (end - start).days + 1)
               if is_business_day(start + timedelta(days=n)))  # fmt: skip


class Urgency(enum.Enum):
    """Where a reply stands against its deadline."""

    ON_TIME = "on_time"
    DUE_SOON = "due_soon"  # within the last ESCALATE_BUSINESS_DAYS business days
    OVERDUE = "overdue"


@dataclass(frozen=True)
class ReviewDeadline:
    """When a person must have decided a reply that may be an opt-out."""

    due_day: date  # the last business day, in the business time zone
    due: datetime  # the end of that day, aware
    escalate_from: datetime  # start of the day ESCALATE_BUSINESS_DAYS business days before

    def urgency(self, now: datetime) -> Urgency:
        if now > self.due:
            return Urgency.OVERDUE
        return Urgency.DUE_SOON if now >= self.escalate_from else Urgency.ON_TIME

    def business_days_left(self, now: datetime) -> int:
        """Business days after today up to the due day (0 on the due day itself)."""
        today = now.astimezone(self.due.tzinfo).date()
        return business_days_after(today, self.due_day)

    def short(self, now: datetime) -> str:
        """'Wed 09 Dec (4 days left)', 'Wed 09 Dec (today)', 'Wed 09 Dec (overdue)'."""
        day = self.due_day.strftime("%a %d %b")
        if self.urgency(now) is Urgency.OVERDUE:
            return f"{day} (overdue)"
        left = self.business_days_left(now)
        return (
            f"{day} (today)" if left == 0 else f"{day} ({left} day{'s' if left > 1 else ''} left)"
        )

    def describe(self, now: datetime) -> str:
        """'Decide by Mon 14 Dec 2026 (8 business days left)', 'due today', 'overdue'."""
        day = self.due_day.strftime("%a %d %b %Y")
        urgency = self.urgency(now)
        if urgency is Urgency.OVERDUE:
            return f"Overdue: the deadline was {day}"
        left = self.business_days_left(now)
        if left == 0:
            return f"Decide today ({day} is the last business day)"
        unit = "business day" if left == 1 else "business days"
        return f"Decide by {day} ({left} {unit} left)"


def review_deadline(received_at: datetime, timezone_name: str) -> ReviewDeadline:
    """The deadline for a reply received at ``received_at`` (aware), counted in
    ``timezone_name`` (the computer's zone if the name is unknown)."""
    try:
        zone: zoneinfo.ZoneInfo | None = zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    local = received_at.astimezone(zone)
    tz = local.tzinfo
    due_day = add_business_days(local.date(), REVIEW_BUSINESS_DAYS)
    escalate_day = add_business_days(local.date(), REVIEW_BUSINESS_DAYS - ESCALATE_BUSINESS_DAYS)
    due = datetime.combine(due_day + timedelta(days=1), time(0), tzinfo=tz) - timedelta(
        microseconds=1
    )
    escalate_from = datetime.combine(escalate_day, time(0), tzinfo=tz)
    return ReviewDeadline(due_day, due, escalate_from)
