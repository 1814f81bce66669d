"""Automation schedules: APScheduler cron/interval triggers computed from the database.

A schedule is JSON on the automation, e.g.
``{"trigger": "cron", "day_of_week": "mon-fri", "hour": 9, "minute": 0,
"audience": {"stage": "Quote sent"}}`` or ``{"trigger": "interval", "hours": 6,
"audience": {"tag": "vip"}}``. Times are in the business time zone.

The runner does not keep schedules in APScheduler's memory: every cycle it
asks the trigger for the latest fire time that is due and not yet handled, and
records the handled fire time in ``app_meta`` with a compare-and-set, so a
restart re-reads schedules from the database, a missed fire during downtime
enrols once (not once per missed fire), and two processes never enrol twice
for the same fire time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.store.models import Meta

CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
INTERVAL_FIELDS = ("weeks", "days", "hours", "minutes")
_MAX_STEPS = 100_000  # bound on walking fire times (an interval of minutes over months)
# A schedule enrols its whole audience each time it fires: more often than hourly is a
# mistake that texts everyone again and again (issue 13: a one-minute interval sent four
# texts to every contact in 200 s).
MIN_SCHEDULE_INTERVAL = timedelta(hours=1)
_GAPS_CHECKED = 200

Trigger = CronTrigger | IntervalTrigger


def build_trigger(
    schedule: dict[str, Any], timezone: str, start_date: datetime | None = None
) -> Trigger:
    """An APScheduler trigger for ``schedule``; raises UserInputError with the reason."""
    kind = schedule.get("trigger")
    try:
        if kind == "cron":
            args = {k: schedule[k] for k in CRON_FIELDS if k in schedule}
            if not args:
                raise UserInputError("A cron schedule needs at least an hour or a day of week.")
            return CronTrigger(timezone=timezone, start_date=start_date, **args)
        if kind == "interval":
            args = {k: schedule[k] for k in INTERVAL_FIELDS if k in schedule}
            if not args or any(not isinstance(v, int) or v < 0 for v in args.values()):
                raise UserInputError("An interval schedule needs whole weeks/days/hours/minutes.")
            if sum(args.values()) == 0:
                raise UserInputError("An interval schedule cannot be zero.")
            return IntervalTrigger(timezone=timezone, start_date=start_date, **args)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, UserInputError):
            raise
        raise UserInputError(f"The schedule is not valid: {exc}", field="schedule") from exc
    raise UserInputError("A schedule's trigger must be 'cron' or 'interval'.", field="schedule")


def check_min_interval(trigger: Trigger, minimum: timedelta = MIN_SCHEDULE_INTERVAL) -> None:
    """Refuse a trigger that fires more often than ``minimum`` (UserInputError saying how often).

    An interval is read directly; a cron expression by walking its next fire times
    (a year of weekdays at 9:00 passes, ``minute: "*/5"`` does not)."""
    from trustpager_desktop.core.automations import describe_duration

    interval = isinstance(trigger, IntervalTrigger)
    gap = trigger.interval if interval else _shortest_cron_gap(trigger)  # type: ignore[union-attr]
    if gap is not None and gap < minimum:
        raise UserInputError(
            f"The schedule fires every {describe_duration(int(gap.total_seconds()))}; a "
            f"schedule may fire at most once every {describe_duration(int(minimum.total_seconds()))} "
            "(each firing enrols its whole audience).",
            field="schedule",
        )


def _shortest_cron_gap(trigger: Trigger) -> timedelta | None:
    now = datetime.now(trigger.timezone)
    previous = trigger.get_next_fire_time(None, now)
    shortest: timedelta | None = None
    for _ in range(_GAPS_CHECKED):
        if previous is None:
            break
        following = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        if following is None:
            break
        gap = following - previous
        shortest = gap if shortest is None else min(shortest, gap)
        previous = following
    return shortest


def latest_due_fire(trigger: Trigger, after: datetime, now: datetime) -> datetime | None:
    """The last fire time in (after, now], or None when none fell due."""
    latest = None
    cursor = after
    for _ in range(_MAX_STEPS):
        nxt = trigger.get_next_fire_time(cursor, cursor + timedelta(microseconds=1))
        if nxt is None or nxt > now:
            return latest
        if nxt <= cursor:  # never loop on a trigger that does not move
            return latest
        latest = cursor = nxt
    return latest


def _key(automation_id: int) -> str:
    return f"schedule.last_fire.{automation_id}"


def last_fire(session: Session, automation_id: int) -> datetime | None:
    value = session.scalar(select(Meta.value).where(Meta.key == _key(automation_id)))
    return datetime.fromisoformat(value) if value else None


def claim_fire(
    session: Session, automation_id: int, previous: datetime | None, fire: datetime
) -> bool:
    """Record ``fire`` as handled if nobody else did since ``previous``; True if we won.

    A compare-and-set on app_meta: of two processes handling the same fire
    time, exactly one gets True."""
    key = _key(automation_id)
    if previous is None:
        try:
            with session.begin_nested():
                session.execute(insert(Meta).values(key=key, value=fire.isoformat()))
            return True
        except IntegrityError:
            return False
    result = session.execute(
        update(Meta)
        .where(Meta.key == key, Meta.value == previous.isoformat())
        .values(value=fire.isoformat())
    )
    return result.rowcount == 1
