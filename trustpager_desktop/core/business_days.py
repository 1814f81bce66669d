"""Business days: weekdays that are not public holidays, counted in the business's time zone.

The FCC rule in force since April 2025 gives a business at most 10 business days to
honour a revocation of consent. This module is the one place that counts them (the
compliance report's time-to-honour line and the review deadlines both use it), so the
product never holds two opinions about when the 10th business day ends.

Holidays come from the ``holidays`` package: for the US, the federal holidays with
their observed days (Independence Day on a Saturday is observed on the Friday).
A day counts from the day *after* the one on which the request arrived: a STOP sent
on Friday afternoon has its first business day on Monday (or Tuesday after a holiday).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from trustpager_desktop.core.timefmt import known_zone

HONOUR_LIMIT_BUSINESS_DAYS = 10
DEFAULT_COUNTRY = "US"


@lru_cache(maxsize=64)
def _holidays_of(country: str, year: int) -> frozenset[date]:
    # A frozen set per year: the holidays object fills itself lazily on lookup, which is
    # not something to share between the GUI thread and a worker.
    return frozenset(holidays.country_holidays(country, years=year).keys())


def holiday_name(day: date, country: str = DEFAULT_COUNTRY) -> str | None:
    """The holiday's name on ``day`` ('Thanksgiving Day'), or None on an ordinary day."""
    return holidays.country_holidays(country, years=day.year).get(day)


def is_business_day(day: date, country: str = DEFAULT_COUNTRY) -> bool:
    """True on Monday to Friday unless ``day`` is a public holiday of ``country``."""
    return day.weekday() < 5 and day not in _holidays_of(country, day.year)


def add_business_days(start: date, days: int, country: str = DEFAULT_COUNTRY) -> date:
    """The ``days``-th business day after ``start`` (``start`` itself never counts).

    ``days`` must be 0 or more; 0 gives ``start`` back."""
    if days < 0:
        raise ValueError("days must be 0 or more")
    day, left = start, days
    while left:
        day += timedelta(days=1)
        if is_business_day(day, country):
            left -= 1
    return day


def business_days_between(start: date, end: date, country: str = DEFAULT_COUNTRY) -> int:
    """How many business days come after ``start`` up to and including ``end`` (0 when
    ``end`` is not after ``start``): a reply on Friday honoured on Monday took 1."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day, country):
            count += 1
    return count


def local_day(when: datetime, timezone_name: str) -> date:
    """The calendar day ``when`` (aware) falls on in the business's time zone."""
    return when.astimezone(ZoneInfo(timezone_name)).date()


def deadline_after(
    received_at: datetime,
    timezone_name: str,
    days: int = HONOUR_LIMIT_BUSINESS_DAYS,
    country: str = DEFAULT_COUNTRY,
) -> datetime:
    """The end (local midnight, as aware UTC) of the ``days``-th business day after the
    local day ``received_at`` falls on: the last moment a request may still be honoured."""
    last_day = add_business_days(local_day(received_at, timezone_name), days, country)
    next_midnight = datetime.combine(last_day + timedelta(days=1), time(), ZoneInfo(timezone_name))
    return next_midnight.astimezone(UTC)


def business_days_taken(
    received_at: datetime,
    done_at: datetime,
    timezone_name: str,
    country: str = DEFAULT_COUNTRY,
) -> int:
    """Business days from the request to the moment it was honoured, counted on local days."""
    return business_days_between(
        local_day(received_at, timezone_name), local_day(done_at, timezone_name), country
    )


def beyond_limit(
    received_at: datetime,
    done_at: datetime,
    timezone_name: str,
    days: int = HONOUR_LIMIT_BUSINESS_DAYS,
    country: str = DEFAULT_COUNTRY,
) -> bool:
    """True when ``done_at`` is after the end of the ``days``-th business day following
    the day of ``received_at`` (the 10-business-day line by default)."""
    return done_at >= deadline_after(received_at, timezone_name, days, country)


# ---- review deadlines: a reply that may be an opt-out --------------------------------------

ESCALATE_BUSINESS_DAYS = 2  # the red count and a notification from 2 business days before


class Urgency(enum.Enum):
    """Where a reply waiting for review stands against its deadline."""

    ON_TIME = "on_time"
    DUE_SOON = "due_soon"  # within the last ESCALATE_BUSINESS_DAYS business days
    OVERDUE = "overdue"


@dataclass(frozen=True)
class ReviewDeadline:
    """When a person must have decided a reply that may be an opt-out."""

    due_day: date  # the last business day, in the business time zone
    due: datetime  # the end of that day (the first moment after it), aware UTC
    escalate_from: datetime  # start of the day ESCALATE_BUSINESS_DAYS business days before
    timezone_name: str

    def urgency(self, now: datetime) -> Urgency:
        if now >= self.due:
            return Urgency.OVERDUE
        return Urgency.DUE_SOON if now >= self.escalate_from else Urgency.ON_TIME

    def business_days_left(self, now: datetime) -> int:
        """Business days after today up to the due day (0 on the due day itself)."""
        return business_days_between(local_day(now, self.timezone_name), self.due_day)

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
        """'Decide by Mon 07 Dec 2026 (8 business days left)', 'Decide today', 'Overdue'."""
        day = self.due_day.strftime("%a %d %b %Y")
        if self.urgency(now) is Urgency.OVERDUE:
            return f"Overdue: the deadline was {day}"
        left = self.business_days_left(now)
        if left == 0:
            return f"Decide today ({day} is the last business day)"
        unit = "business day" if left == 1 else "business days"
        return f"Decide by {day} ({left} {unit} left)"


def review_deadline(received_at: datetime, timezone_name: str) -> ReviewDeadline:
    """The deadline of a reply received at ``received_at`` (aware): the end of the 10th
    business day after the day it arrived in the business time zone (``deadline_after``),
    escalated from the start of the business day two before that."""
    zone = _zone_name(timezone_name)
    received_day = local_day(received_at, zone)
    due_day = add_business_days(received_day, HONOUR_LIMIT_BUSINESS_DAYS)
    escalate_day = add_business_days(
        received_day, HONOUR_LIMIT_BUSINESS_DAYS - ESCALATE_BUSINESS_DAYS
    )
    escalate_from = datetime.combine(escalate_day, time(), ZoneInfo(zone)).astimezone(UTC)
    return ReviewDeadline(due_day, deadline_after(received_at, zone), escalate_from, zone)


def _zone_name(name: str) -> str:
    """``name`` when it is a time zone, else UTC (``timefmt.business_zone``'s fallback)."""
    return name if known_zone(name) is not None else "UTC"
