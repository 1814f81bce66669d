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

from datetime import datetime, timedelta, tzinfo
from typing import Any, NamedTuple, Protocol

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.store.models import Automation, Meta

CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
INTERVAL_FIELDS = ("weeks", "days", "hours", "minutes")
_MAX_STEPS = 100_000  # bound on walking fire times (an interval of minutes over months)
# A schedule enrols its whole audience each time it fires: more often than hourly is a
# mistake that texts everyone again and again (issue 13: a one-minute interval sent four
# texts to every contact in 200 s).
MIN_SCHEDULE_INTERVAL = timedelta(hours=1)
_GAPS_CHECKED = 60  # fires walked at most: 49 hours of them at one an hour, and some
_WALK_SPAN = timedelta(hours=49)


class Trigger(Protocol):
    """What this module uses of an APScheduler 3 trigger (APScheduler 3 has no type hints)."""

    timezone: tzinfo

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None: ...


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
            cron: Trigger = CronTrigger(timezone=timezone, start_date=start_date, **args)
            return cron
        if kind == "interval":
            args = {k: schedule[k] for k in INTERVAL_FIELDS if k in schedule}
            if not args or any(not isinstance(v, int) or v < 0 for v in args.values()):
                raise UserInputError("An interval schedule needs whole weeks/days/hours/minutes.")
            if sum(args.values()) == 0:
                raise UserInputError("An interval schedule cannot be zero.")
            interval: Trigger = IntervalTrigger(timezone=timezone, start_date=start_date, **args)
            return interval
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

    gap: timedelta | None
    if isinstance(trigger, IntervalTrigger):
        gap = trigger.interval
    else:
        gap = _shortest_cron_gap(trigger, minimum)
    if gap is not None and gap < minimum:
        raise UserInputError(
            f"The schedule fires every {describe_duration(int(gap.total_seconds()))}; a "
            f"schedule may fire at most once every {describe_duration(int(minimum.total_seconds()))} "
            "(each firing enrols its whole audience).",
            field="schedule",
        )


def _shortest_cron_gap(
    trigger: Trigger, minimum: timedelta = MIN_SCHEDULE_INTERVAL
) -> timedelta | None:
    """The shortest gap between fire times seen over two days of them (a gap under
    ``minimum`` ends the walk early). Two days cover every pattern of the hour, minute and
    second fields, the midnight crossing included; more than a day's worth of fires
    within a day would leave a gap under an hour, so the walk is short either way."""
    first = previous = trigger.get_next_fire_time(None, datetime.now(trigger.timezone))
    shortest: timedelta | None = None
    for _ in range(_GAPS_CHECKED):
        if previous is None or first is None or previous - first > _WALK_SPAN:
            break
        following = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        if following is None:
            break
        gap = following - previous
        shortest = gap if shortest is None else min(shortest, gap)
        if shortest < minimum:
            break
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


class ScheduledAutomation(NamedTuple):
    """An enabled automation with a schedule, as the runner needs it."""

    id: int
    name: str
    schedule: str  # the JSON as stored
    created_at: datetime


def scheduled_automations(session: Session) -> list[ScheduledAutomation]:
    """Every enabled automation that has a schedule."""
    rows = session.execute(
        select(Automation.id, Automation.name, Automation.schedule, Automation.created_at).where(
            Automation.enabled.is_(True), Automation.schedule.is_not(None)
        )
    )
    return [
        ScheduledAutomation(automation_id, name, schedule or "{}", created_at)
        for automation_id, name, schedule, created_at in rows
    ]


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
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        update(Meta)
        .where(Meta.key == key, Meta.value == previous.isoformat())
        .values(value=fire.isoformat())
    )
    return result.rowcount == 1


# -- in plain words, for the schedule editor ----------------------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_WORDS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
INTERVAL_WORDS = {"weeks": "week", "days": "day", "hours": "hour", "minutes": "minute"}
SIMPLE_CRON_FIELDS = {"day_of_week", "hour", "minute"}


def parse_days(spec: object) -> list[str] | None:
    """Day names in week order for a day_of_week like 'mon-fri' or 'mon,wed,sat' ('*' or
    missing: every day); None when it says more than days (e.g. 'last fri', '2nd mon')."""
    if spec is None or str(spec).strip() in ("", "*"):
        return list(DAYS)
    chosen: set[str] = set()
    for part in str(spec).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            return None
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:  # 'sat-mon' wraps past Sunday
            chosen.update(DAYS[start:] + DAYS[: end + 1])
        else:
            chosen.update(DAYS[start : end + 1])
    return [d for d in DAYS if d in chosen]


def days_spec(days: list[str]) -> str:
    """The day_of_week for ``days``: 'mon-fri' for a run of days, else 'mon,wed,fri'."""
    indices = sorted(DAYS.index(d) for d in set(days))
    if len(indices) == 7:
        return "*"
    if len(indices) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"{DAYS[indices[0]]}-{DAYS[indices[-1]]}"
    return ",".join(DAYS[i] for i in indices)


def _whole(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def simple_cron(schedule: dict[str, Any]) -> tuple[list[str], int, int] | None:
    """(days, hour, minute) when a cron schedule is just "these days at this time", else None
    (the editor then shows it as JSON rather than lose what it cannot show)."""
    if schedule.get("trigger") != "cron":
        return None
    fields = {k for k in CRON_FIELDS if k in schedule}
    if not fields <= SIMPLE_CRON_FIELDS or "hour" not in fields:
        return None
    days = parse_days(schedule.get("day_of_week"))
    hour, minute = _whole(schedule.get("hour")), _whole(schedule.get("minute", 0))
    if days is None or hour is None or minute is None:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return days, hour, minute


def describe_days(days: list[str]) -> str:
    if len(days) == 7:
        return "Every day"
    if days == list(DAYS[:5]):
        return "Every weekday (Monday to Friday)"
    if days == list(DAYS[5:]):
        return "Every weekend day"
    return ", ".join(DAY_WORDS[DAYS.index(d)] for d in days)


def describe_audience(audience: dict[str, Any] | None) -> str:
    audience = audience or {}
    if audience.get("all") or audience.get("everyone"):
        return "enrols every contact"
    if audience.get("tag"):
        return f"enrols contacts tagged '{audience['tag']}'"
    if audience.get("stage"):
        return f"enrols contacts with an opportunity at stage '{audience['stage']}'"
    return "enrols nobody yet (choose who)"


def describe_schedule(schedule: dict[str, Any] | None, timezone: str) -> str:
    """The schedule in words: 'Every weekday (Monday to Friday) at 09:00 (America/New_York),
    enrols contacts tagged 'vip''. Never raises; an odd schedule is quoted as it is."""
    if not schedule:
        return "No schedule: contacts are enrolled by hand (Enrol… on Contacts)."
    who = describe_audience(schedule.get("audience"))
    simple = simple_cron(schedule)
    if simple is not None:
        days, hour, minute = simple
        return f"{describe_days(days)} at {hour:02d}:{minute:02d} ({timezone}), {who}."
    if schedule.get("trigger") == "interval":
        parts = []
        for name, word in INTERVAL_WORDS.items():
            amount = _whole(schedule.get(name, 0)) or 0
            if amount:
                parts.append(f"{amount} {word}{'s' if amount != 1 else ''}")
        if parts:
            return f"Every {' and '.join(parts)}, {who}."
    fields = ", ".join(f"{k} {schedule[k]}" for k in CRON_FIELDS if k in schedule)
    return f"On a custom {schedule.get('trigger', '?')} schedule ({fields or 'no fields'}), {who}."


def next_fire_time(
    schedule: dict[str, Any] | None, timezone: str, now: datetime
) -> datetime | None:
    """When a cron schedule fires next after ``now``; None without a valid cron schedule
    (an interval counts from its last fire, which the runner keeps)."""
    if not schedule or schedule.get("trigger") != "cron":
        return None
    try:
        trigger = build_trigger(schedule, timezone, start_date=None)
    except UserInputError:
        return None
    return trigger.get_next_fire_time(None, now)
