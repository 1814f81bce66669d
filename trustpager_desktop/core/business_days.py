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

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

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
