"""Quiet hours: the pure next-allowed-time function and the recipient's time zone."""

from datetime import UTC, datetime

import pytest

from trustpager_desktop.core.auto_queue import (
    next_allowed_send_time,
    recipient_timezone,
    retry_delay,
    send_time,
)
from trustpager_desktop.core.settings import AppSettings

NY, LA = "America/New_York", "America/Los_Angeles"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (utc(2026, 11, 26, 15, 0), NY, utc(2026, 11, 26, 15, 0)),  # 10:00 local: now
        (utc(2026, 11, 26, 8, 0), NY, utc(2026, 11, 26, 13, 0)),  # 03:00 -> 08:00 same day
        (utc(2026, 11, 27, 2, 30), NY, utc(2026, 11, 27, 13, 0)),  # 21:30 -> 08:00 next day
        (utc(2026, 11, 27, 2, 0), NY, utc(2026, 11, 27, 13, 0)),  # 21:00 sharp is closed
        (utc(2026, 11, 27, 1, 59), NY, utc(2026, 11, 27, 1, 59)),  # 20:59 still open
        (utc(2026, 11, 26, 11, 0), LA, utc(2026, 11, 26, 16, 0)),  # 03:00 PST -> 08:00 PST
        # DST starts 2026-03-08: 08:00 EDT is 12:00 UTC, not 13:00.
        (utc(2026, 3, 8, 6, 0), NY, utc(2026, 3, 8, 12, 0)),
        # DST ends 2026-11-01: 08:00 EST is 13:00 UTC.
        (utc(2026, 11, 1, 5, 30), NY, utc(2026, 11, 1, 13, 0)),
        # Evening before the change: the next window opens after the clocks go back.
        (utc(2026, 11, 1, 3, 0), NY, utc(2026, 11, 1, 13, 0)),
    ],
)
def test_next_allowed_send_time(now, tz, expected):
    assert next_allowed_send_time(now, tz, 8, 21) == expected


def test_window_opening_in_a_spring_forward_gap_opens_at_the_first_real_instant():
    # 02:00 does not exist on 2026-03-08 in New York; 03:00 EDT (07:00 UTC) is the first.
    assert next_allowed_send_time(utc(2026, 3, 8, 5, 0), NY, 2, 21) == utc(2026, 3, 8, 7, 0)


def test_recipient_time_zone_from_the_number_with_fallback():
    assert recipient_timezone("+14155550101", NY) == LA
    assert recipient_timezone("+12125550199", LA) == NY
    assert recipient_timezone("+442079460000", NY) == "Europe/London"
    assert recipient_timezone("+447700900123", NY) == NY  # UK mobile: several zones
    assert recipient_timezone(None, "Europe/Paris") == "Europe/Paris"
    assert recipient_timezone("+18005550100", "Europe/Paris") == "Europe/Paris"  # toll-free: many


# Valid and invalid numbers, one-zone and many-zone prefixes, Guam (+1 671) far from the US.
NUMBERS = [
    "+14155550101", "+14150000001", "+12125550199", "+16715550123", "+18085550123",
    "+19075550123", "+18005550100", "+442079460000", "+447700900123", "+61212345678",
    "+81312345678", "+33142685300", "+5511912345678", "+999123", None, "",
]  # fmt: skip


@pytest.mark.parametrize("business_zone", [NY, "Pacific/Auckland"])
def test_send_time_matches_the_exact_time_zone_lookup(business_zone):
    """The shortcut that skips the costly lookup when it cannot matter gives the same
    answer as the lookup itself, at every hour of a day, for every kind of number."""
    settings = AppSettings(business_timezone=business_zone)
    for hour in range(24):
        now = utc(2026, 11, 26, hour, 30)
        for number in NUMBERS:
            zone = recipient_timezone(number, business_zone)
            assert send_time(now, number, settings) == next_allowed_send_time(now, zone, 8, 21), (
                hour,
                number,
            )


def test_retry_delay_grows_and_is_capped():
    delays = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36 and delays[-1] <= 1800
    assert delays[3] > delays[0]
