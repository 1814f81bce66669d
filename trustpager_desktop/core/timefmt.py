"""How every screen writes a moment: in the business time zone, in one format.

Times are stored in UTC. A person reads them in the business time zone (a setting),
so two desktops in different places, the status bar and the activity log all agree.
When that zone keeps a different clock from this computer's, the zone is named
("26 Nov 2026, 10:04 EST"), so nobody mistakes it for their own wall clock.
Exports keep ISO 8601 in UTC; this module is for what is shown.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, tzinfo

DATE_FORMAT = "%d %b %Y"
CLOCK_FORMAT = "%H:%M"
CLOCK_SECONDS_FORMAT = "%H:%M:%S"


@functools.lru_cache(maxsize=256)
def known_zone(zone_name: str) -> tzinfo | None:
    """The zone called ``zone_name``, or None when there is no such zone (never raises)."""
    try:
        return zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def business_zone(zone_name: str) -> tzinfo:
    """The zone called ``zone_name``; UTC when the name is unknown (a bad setting must not
    break a screen). The one fallback every time shown or computed in a zone uses."""
    return known_zone(zone_name) or UTC


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def differs_from_computer(when: datetime, zone_name: str, computer: tzinfo | None = None) -> bool:
    """True when, at ``when``, the business zone's clock differs from the computer's.

    ``computer`` is the computer's zone (None: ask the operating system)."""
    moment = _aware(when)
    business = moment.astimezone(business_zone(zone_name)).utcoffset()
    own = moment.astimezone(computer).utcoffset() if computer else moment.astimezone().utcoffset()
    return business != own


def format_time(
    when: datetime | None,
    zone_name: str,
    *,
    seconds: bool = False,
    with_date: bool = True,
    computer: tzinfo | None = None,
) -> str:
    """'26 Nov 2026, 10:04' in the business zone ``zone_name``; '' for None.

    ``seconds`` adds ':17'; ``with_date=False`` gives the clock alone ('10:04', for the
    status bar). The zone's abbreviation follows ('10:04 EST') when its clock differs
    from the computer's (``computer``: the computer's zone, None to ask the system).
    A naive ``when`` is taken as UTC, as the database stores it."""
    if when is None:
        return ""
    moment = _aware(when)
    local = moment.astimezone(business_zone(zone_name))
    clock = local.strftime(CLOCK_SECONDS_FORMAT if seconds else CLOCK_FORMAT)
    text = f"{local.strftime(DATE_FORMAT)}, {clock}" if with_date else clock
    if differs_from_computer(moment, zone_name, computer):
        text += f" {local.strftime('%Z')}"
    return text


def business_today(now: datetime, zone_name: str) -> date:
    """Today's date in the business zone at ``now`` (for date filters that mean whole days)."""
    return _aware(now).astimezone(business_zone(zone_name)).date()


def start_of_business_day(day: date, zone_name: str) -> datetime:
    """Midnight at the start of ``day`` in the business zone, as an aware UTC datetime."""
    local = datetime(day.year, day.month, day.day, tzinfo=business_zone(zone_name))
    return local.astimezone(UTC)
