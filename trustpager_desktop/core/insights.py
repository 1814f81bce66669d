"""Insights: what the texts did. Per automation and step: sent, delivered, replies,
opt-outs attributed to it, opt-out rate and failures by error code; weekly trends;
consent coverage; how long replies wait for review.

Qt-free. ``gather_insights`` reads everything in one short session and hands back
frozen plain data that the Insights page, ``trustpager report`` and its CSV show.

Attribution. An opt-out (or a reply) belongs to the most recent text sent to that
number at or before it, when that text went out at most 48 hours earlier (48 hours
exactly still counts; on SQLite to the millisecond). Two automations texting one
contact: the later text takes it. Counted in SQL (``attribute``), so a year of replies
never comes to Python row by row.
A text counts as sent once the provider accepted it (it has a provider message SID).

Delivery. The inbox poller records what Twilio reports later (queued / sent /
delivered / undelivered / failed, with its error code) in
``outbound_messages.delivery_status``/``delivery_error_code`` (``core.delivery``
documents both status sets); a text without a report counts by the gateway's
``status``. Until any text in the period carries a delivery report,
``delivery_tracked`` is False and screens say "not tracked yet" instead of showing a
delivered count of 0.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Interval, ScalarSelect, Subquery, and_, func, literal, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import business_days
from trustpager_desktop.core.opt_in import NO_CONSENT_ON_RECORD
from trustpager_desktop.core.progress import Progress, report
from trustpager_desktop.core.states import (
    ConsentEventKind,
    ConsentSource,
    DeliveryStatus,
    MessageStatus,
    ReviewStatus,
)
from trustpager_desktop.store.models import (
    Automation,
    AutomationStep,
    ConsentEvent,
    Contact,
    InboundMessage,
    OutboundMessage,
)

ATTRIBUTION_WINDOW = timedelta(hours=48)
# Statuses only a delivery report writes: their presence means delivery is tracked.
DELIVERY_REPORTS = (DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED)
# A text that failed at the gateway, or that the carrier could not deliver.
FAILED_STATUSES = (MessageStatus.FAILED, DeliveryStatus.UNDELIVERED)
# Opt-outs that are not a customer's reaction to a text: a spreadsheet's opt-out column,
# a do-not-contact list, a new contact taking over an already-suppressed number.
NOT_A_REACTION = (ConsentSource.IMPORT, ConsentSource.DNC_LIST, ConsentSource.NUMBER_SUPPRESSION)
# Review waiting time bands, in business days since the reply arrived.
REVIEW_BANDS = ((0, 0, "today"), (1, 4, "1-4 business days"), (5, 9, "5-9 business days"),
                (10, None, "10+ business days"))  # fmt: skip

DEFAULT_WEEKS = 12  # the page's and the report's period when none is chosen
StepKey = tuple[int | None, int | None]  # (automation id, step id); (None, None): manual texts
MANUAL: StepKey = (None, None)


@dataclass(frozen=True)
class StepFigures:
    """One automation step (or all manual texts) over the period."""

    automation_id: int | None
    automation_name: str
    step_id: int | None
    label: str  # 'Step 1: Hi {first_name}, a reminder…' or 'Manual texts'
    sent: int = 0
    delivered: int = 0
    replies: int = 0
    opt_outs: int = 0
    blocked: int = 0  # never sent: the contact had opted out
    failures: tuple[tuple[int | None, int], ...] = ()  # (error code, count), most first

    @property
    def failed(self) -> int:
        return sum(count for _code, count in self.failures)

    @property
    def opt_out_rate(self) -> float | None:
        """Attributed opt-outs per text sent (0.02 is 2 %), None when nothing was sent."""
        return self.opt_outs / self.sent if self.sent else None


@dataclass(frozen=True)
class AutomationFigures:
    automation_id: int | None
    name: str
    steps: tuple[StepFigures, ...]

    @property
    def total(self) -> StepFigures:
        """The automation's steps added up (failures merged by code)."""
        return _add_up(self.automation_id, self.name, "All steps", self.steps)


@dataclass(frozen=True)
class WeekFigures:
    start: date  # the Monday, in the business's time zone
    sent: int
    opt_outs: int


@dataclass(frozen=True)
class ConsentCoverage:
    contacts: int
    with_consent: int | None  # None: not counted

    @property
    def recorded(self) -> bool:
        return self.with_consent is not None

    @property
    def share(self) -> float | None:
        if self.with_consent is None or not self.contacts:
            return None
        return self.with_consent / self.contacts

    def describe(self) -> str:
        if self.with_consent is None:
            return "Consent on record: not recorded yet"
        if not self.contacts:
            return "Consent on record: no contacts yet"
        return (
            f"Consent on record: {self.with_consent} of {self.contacts} contacts "
            f"({percent(self.share)})"
        )


@dataclass(frozen=True)
class ReviewAge:
    pending: int
    oldest_received_at: datetime | None
    oldest_business_days: int | None
    bands: tuple[tuple[str, int], ...]

    def describe(self) -> str:
        if not self.pending:
            return "Needs review: nothing waiting"
        days = self.oldest_business_days or 0
        return (
            f"Needs review: {self.pending} repl{'y' if self.pending == 1 else 'ies'} waiting, "
            f"the oldest for {days} business day{'' if days == 1 else 's'}"
        )


@dataclass(frozen=True)
class Insights:
    since: datetime
    until: datetime
    timezone: str
    automations: tuple[AutomationFigures, ...]
    manual: StepFigures
    weeks: tuple[WeekFigures, ...]
    delivery_tracked: bool
    replies: int
    opt_outs: int
    opt_outs_unattributed: int
    coverage: ConsentCoverage
    review: ReviewAge

    @property
    def total(self) -> StepFigures:
        """Every text of the period, automations and manual together."""
        steps = [a.total for a in self.automations] + [self.manual]
        return _add_up(None, "", "All texts", steps)

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period: no text, no reply, no opt-out."""
        total = self.total
        return not (total.sent or total.failed or total.blocked or self.replies or self.opt_outs)

    def rows(self) -> list[tuple[str, StepFigures]]:
        """(automation name, figures) per step, then each automation's total, manual last."""
        out: list[tuple[str, StepFigures]] = []
        for automation in self.automations:
            out.extend((automation.name, step) for step in automation.steps)
            if len(automation.steps) > 1:
                out.append((automation.name, automation.total))
        out.append(("", self.manual))
        return out


def percent(share: float | None) -> str:
    """'2.5 %' ('-' for None), one decimal below 10 %."""
    if share is None:
        return "-"
    value = share * 100
    return f"{value:.1f} %" if value < 10 else f"{value:.0f} %"


def failures_text(failures: Sequence[tuple[int | None, int]]) -> str:
    """'30003 x4, 21211 x1' ('' when nothing failed); 'no code' for failures without one."""
    return ", ".join(f"{code if code is not None else 'no code'} x{n}" for code, n in failures)


def _add_up(
    automation_id: int | None, name: str, label: str, steps: Iterable[StepFigures]
) -> StepFigures:
    steps = list(steps)
    codes: Counter[int | None] = Counter()
    for step in steps:
        codes.update(dict(step.failures))
    return StepFigures(
        automation_id=automation_id,
        automation_name=name,
        step_id=None,
        label=label,
        sent=sum(s.sent for s in steps),
        delivered=sum(s.delivered for s in steps),
        replies=sum(s.replies for s in steps),
        opt_outs=sum(s.opt_outs for s in steps),
        blocked=sum(s.blocked for s in steps),
        failures=_sorted_codes(codes),
    )


def _sorted_codes(codes: Counter[int | None]) -> tuple[tuple[int | None, int], ...]:
    return tuple(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0)))


# ---- attribution ----------------------------------------------------------------------


_SENT = OutboundMessage.provider_sid.is_not(None)


def _latest_text_before(
    number: ColumnElement[Any], moment: ColumnElement[Any]
) -> ScalarSelect[Any]:
    """Correlated subquery: the id of the last text sent to ``number`` at or before ``moment``."""
    return (
        select(OutboundMessage.id)
        .where(
            OutboundMessage.to_e164 == number,
            _SENT,
            OutboundMessage.sent_at <= moment,
        )
        .order_by(OutboundMessage.sent_at.desc(), OutboundMessage.id.desc())
        .limit(1)
        .correlate_except(OutboundMessage)
        .scalar_subquery()
    )


def window_start(session: Session, moment: Any) -> Any:
    """SQL for ``moment`` minus the attribution window. PostgreSQL subtracts an interval;
    SQLite, which keeps times as text, shifts with strftime, to the millisecond."""
    if session.get_bind().dialect.name == "sqlite":
        hours = int(ATTRIBUTION_WINDOW.total_seconds() // 3600)
        return func.strftime("%Y-%m-%d %H:%M:%f", moment, f"-{hours} hours")
    return moment - literal(ATTRIBUTION_WINDOW, Interval())


@dataclass(frozen=True)
class Attribution:
    counts: Counter[StepKey]  # responses per step
    total: int  # responses in the period

    @property
    def unattributed(self) -> int:
        return self.total - sum(self.counts.values())


def attribute(session: Session, number: Any, moment: Any, source: Any) -> Attribution:
    """Count the (number, moment) rows of ``source`` per step: each goes to the last text
    sent to its number at or before it, when that text went out at most 48 hours earlier
    (exactly 48 hours still counts); the rest are unattributed. Aggregated in SQL: no
    row per reply reaches Python."""
    text_id = _latest_text_before(number, moment).label("text_id")
    pairs = select(moment.label("at"), text_id).select_from(source).subquery("pairs")
    text = OutboundMessage.__table__.alias("attributed_text")
    key = (text.c.automation_id, text.c.step_id)
    rows = session.execute(
        select(*key, func.count())
        .select_from(pairs)
        .join(text, text.c.id == pairs.c.text_id)
        .where(text.c.sent_at >= window_start(session, pairs.c.at))
        .group_by(*key)
    )
    counts: Counter[StepKey] = Counter({(aid, sid): n for aid, sid, n in rows})
    total = session.scalar(select(func.count()).select_from(source)) or 0
    return Attribution(counts, total)


def opt_out_events(since: datetime, until: datetime) -> Subquery:
    """Distinct (number, received at) opt-outs of the period that a customer made: a STOP to
    a number two contacts share is one opt-out, not two."""
    return (
        select(ConsentEvent.phone_e164, ConsentEvent.received_at)
        .where(
            ConsentEvent.kind == ConsentEventKind.OPT_OUT,
            ConsentEvent.phone_e164.is_not(None),
            ConsentEvent.received_at >= since,
            ConsentEvent.received_at < until,
            ConsentEvent.source.not_in(NOT_A_REACTION),
        )
        .distinct()
        .subquery("opt_outs")
    )


def opt_out_attribution(session: Session, since: datetime, until: datetime) -> Attribution:
    events = opt_out_events(since, until)
    return attribute(session, events.c.phone_e164, events.c.received_at, events)


def reply_attribution(session: Session, since: datetime, until: datetime) -> Attribution:
    replies = (
        select(InboundMessage.from_e164, InboundMessage.date_sent)
        .where(
            InboundMessage.from_e164.is_not(None),
            InboundMessage.date_sent >= since,
            InboundMessage.date_sent < until,
        )
        .subquery("replies")
    )
    return attribute(session, replies.c.from_e164, replies.c.date_sent, replies)


# ---- the queries --------------------------------------------------------------------


def _in_period(since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(OutboundMessage.created_at >= since, OutboundMessage.created_at < until)


def _period_counts(
    session: Session, since: datetime, until: datetime
) -> tuple[dict[StepKey, dict[str, int]], dict[StepKey, Counter[int | None]]]:
    """Per step: sent, delivered, blocked and delivery reports; and failures by error code.
    One pass over the period (read from the ``ix_outbound_messages_period`` index)."""
    has_sid = OutboundMessage.provider_sid.is_not(None).label("has_sid")
    columns = (OutboundMessage.automation_id, OutboundMessage.step_id, OutboundMessage.status,
               OutboundMessage.error_code, OutboundMessage.delivery_status,
               OutboundMessage.delivery_error_code)  # fmt: skip
    rows = session.execute(
        select(*columns, has_sid, func.count())
        .where(_in_period(since, until))
        .group_by(*columns, has_sid)
    )
    counts: dict[StepKey, Counter[str]] = defaultdict(Counter)
    failures: dict[StepKey, Counter[int | None]] = defaultdict(Counter)
    for aid, sid, status, code, reported, reported_code, sent, n in rows:
        if reported:  # Twilio's later word on a sent text (core.delivery)
            status, code = reported, reported_code
        figures = counts[(aid, sid)]
        figures["sent"] += n if sent else 0
        figures["delivered"] += n if status == DeliveryStatus.DELIVERED else 0
        figures["reported"] += n if status in DELIVERY_REPORTS else 0
        figures["blocked"] += n if status == MessageStatus.SUPPRESSED and code is None else 0
        if status in FAILED_STATUSES or (status == MessageStatus.SUPPRESSED and code is not None):
            failures[(aid, sid)][code] += n
    return counts, failures  # type: ignore[return-value]  # Counters are dict[str, int]


def _automation_names(session: Session) -> tuple[dict[int, str], dict[int, tuple[int, str]]]:
    """Automation id -> name, and step id -> (position, template) for text steps."""
    names = dict(session.execute(select(Automation.id, Automation.name)).all())
    steps = {
        step_id: (position, template)
        for step_id, position, template in session.execute(
            select(AutomationStep.id, AutomationStep.position, AutomationStep.template).where(
                AutomationStep.action_type == "send_sms"
            )
        )
    }
    return names, steps


def _recorded_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Names the texts recorded, for automations deleted since."""
    if not ids:
        return {}
    rows = session.execute(
        select(OutboundMessage.automation_id, func.max(OutboundMessage.automation_name))
        .where(OutboundMessage.automation_id.in_(sorted(ids)))
        .group_by(OutboundMessage.automation_id)
    )
    return {aid: name or f"Automation {aid}" for aid, name in rows if aid is not None}


def step_label(position: int | None, template: str | None) -> str:
    """'Step 1: Hi {first_name}, a reminder of your…' (template cut to one short line)."""
    if position is None:
        return "Step (removed)"
    text = " ".join((template or "").split())
    short = text if len(text) <= 40 else text[:39] + "…"
    return f"Step {position}: {short}" if short else f"Step {position}"


def week_starts(since: datetime, until: datetime, timezone_name: str) -> list[datetime]:
    """Aware UTC starts of the local weeks (Monday 00:00) from the week holding ``since``
    up to ``until``; the first is moved forward to ``since`` itself."""
    zone = ZoneInfo(timezone_name)
    first = since.astimezone(zone).date()
    monday = first - timedelta(days=first.weekday())
    starts = []
    day = monday
    while True:
        start = datetime.combine(day, time(), zone).astimezone(since.tzinfo)
        if start >= until:
            break
        starts.append(max(start, since))
        day += timedelta(days=7)
    return starts


def default_since(now: datetime, timezone_name: str, weeks: int = DEFAULT_WEEKS) -> datetime:
    """The start (aware UTC) of the local week ``weeks - 1`` weeks before this one: the last
    ``weeks`` weeks, this one included, as whole weeks on the charts."""
    zone = ZoneInfo(timezone_name)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    return datetime.combine(monday, time(), zone).astimezone(now.tzinfo)


def _weekly(
    session: Session, starts: Sequence[datetime], until: datetime, timezone_name: str
) -> tuple[WeekFigures, ...]:
    """Texts sent (created) and customers' opt-outs per local week. A count per week off
    the period index: quicker than one grouped scan, whose CASE over every row cost more
    than it saved."""
    ends = [*starts[1:], until]
    sent = [
        session.scalar(
            select(func.count(OutboundMessage.provider_sid)).where(_in_period(start, end))
        )
        or 0
        for start, end in zip(starts, ends, strict=True)
    ]
    events = opt_out_events(starts[0], until) if starts else None
    moments: Iterable[datetime] = (
        session.scalars(select(events.c.received_at)) if events is not None else []
    )
    outs = Counter(bisect.bisect_right(starts, moment) - 1 for moment in moments)
    zone = ZoneInfo(timezone_name)
    return tuple(
        WeekFigures(_monday(start.astimezone(zone).date()), sent[i], outs.get(i, 0))
        for i, start in enumerate(starts)
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def consent_coverage(session: Session) -> ConsentCoverage:
    """Contacts, and how many have an opt-in consent record (a date, source or method:
    the same test as the contact list's "No consent on record" filter)."""
    contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
    without = session.scalar(select(func.count()).where(NO_CONSENT_ON_RECORD)) or 0
    return ConsentCoverage(contacts, contacts - without)


def review_age(session: Session, now: datetime, timezone_name: str) -> ReviewAge:
    """Replies waiting for review: how many, the oldest, and a count per age band."""
    # Sorted here: ORDER BY makes SQLite walk every reply by date instead of the status index.
    received = sorted(
        session.scalars(
            select(InboundMessage.date_sent).where(
                InboundMessage.review_status == ReviewStatus.PENDING
            )
        )
    )
    today = business_days.local_day(now, timezone_name)
    ages = Counter(
        business_days.business_days_between(business_days.local_day(r, timezone_name), today)
        for r in received
    )
    bands = tuple(
        (label, sum(n for age, n in ages.items() if low <= age and (high is None or age <= high)))
        for low, high, label in REVIEW_BANDS
    )
    oldest = received[0] if received else None
    oldest_days = business_days.business_days_taken(oldest, now, timezone_name) if oldest else None
    return ReviewAge(len(received), oldest, oldest_days, bands)


@dataclass
class _Builder:
    """Figures per step collected from the separate queries, then frozen."""

    figures: dict[StepKey, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, key: StepKey, **values: Any) -> None:
        for name, value in values.items():
            self.figures[key][name] = self.figures[key].get(name, 0) + value


def gather_insights(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    timezone_name: str,
    progress: Progress | None = None,
) -> Insights:
    """Everything the Insights page shows for texts created in [since, until).

    Raises ValueError when ``since`` is not before ``until``; Cancelled when ``progress``
    asks to stop (reading only: nothing to undo)."""
    if since >= until:
        raise ValueError("The start of the period must be before its end.")
    steps_done = 0

    def step() -> None:
        nonlocal steps_done
        steps_done += 1
        report(progress, steps_done, 6)

    counts, failures = _period_counts(session, since, until)
    builder = _Builder()
    for key, values in counts.items():
        builder.add(key, **values)
    step()
    replies = reply_attribution(session, since, until)
    for key, n in replies.counts.items():
        builder.add(key, replies=n)
    step()
    outs = opt_out_attribution(session, since, until)
    for key, n in outs.counts.items():
        builder.add(key, opt_outs=n)
    step()
    starts = week_starts(since, until, timezone_name)
    weeks = _weekly(session, starts, until, timezone_name)
    step()
    automations, manual = _assemble(session, builder, failures)
    step()
    coverage = consent_coverage(session)
    review = review_age(session, until, timezone_name)
    step()
    return Insights(
        since=since,
        until=until,
        timezone=timezone_name,
        automations=automations,
        manual=manual,
        weeks=weeks,
        delivery_tracked=any(v.get("reported") for v in counts.values()),
        replies=replies.total,
        opt_outs=outs.total,
        opt_outs_unattributed=outs.unattributed,
        coverage=coverage,
        review=review,
    )


def _assemble(
    session: Session, builder: _Builder, failures: dict[StepKey, Counter[int | None]]
) -> tuple[tuple[AutomationFigures, ...], StepFigures]:
    names, steps = _automation_names(session)
    keys = set(builder.figures) | set(failures)
    missing = {aid for aid, _sid in keys if aid is not None and aid not in names}
    names = {**_recorded_names(session, missing), **names}

    def figures(key: StepKey, name: str, label: str) -> StepFigures:
        values = builder.figures.get(key, {})
        return StepFigures(
            automation_id=key[0],
            automation_name=name,
            step_id=key[1],
            label=label,
            sent=values.get("sent", 0),
            delivered=values.get("delivered", 0),
            replies=values.get("replies", 0),
            opt_outs=values.get("opt_outs", 0),
            blocked=values.get("blocked", 0),
            failures=_sorted_codes(failures.get(key, Counter())),
        )

    by_automation: dict[int, list[StepKey]] = defaultdict(list)
    for key in keys - {MANUAL}:
        if key[0] is not None:
            by_automation[key[0]].append(key)

    def position(key: StepKey) -> tuple[int, int]:
        found = steps.get(key[1]) if key[1] is not None else None
        return (found[0] if found else 10_000, key[1] or 0)

    automations = []
    for aid in sorted(by_automation, key=lambda a: (names.get(a, "").lower(), a)):
        name = names.get(aid, f"Automation {aid}")
        rows = tuple(
            figures(key, name, step_label(*steps.get(key[1], (None, None))))  # type: ignore[arg-type]  # a removed step's label is blank
            for key in sorted(by_automation[aid], key=position)
        )
        automations.append(AutomationFigures(aid, name, rows))
    return tuple(automations), figures(MANUAL, "", "Manual texts")


# ---- plain text and CSV (the `report` command) --------------------------------------

REPORT_COLUMNS = ("Automation", "Step", "Sent", "Delivered", "Replies", "Opt-outs",
                  "Opt-out rate", "Blocked", "Failures by error code")  # fmt: skip


def delivered_cell(figures: StepFigures, tracked: bool) -> str:
    return str(figures.delivered) if tracked else "not tracked yet"


def table_rows(insights: Insights, empty: str = "-") -> list[list[str]]:
    """The per-step table as text cells (``REPORT_COLUMNS``), totals last; ``empty``
    stands in a cell with nothing to show (no rate, no failures)."""
    rows = []
    for name, fig in [*insights.rows(), ("", insights.total)]:
        rows.append(
            [
                name or ("Manual" if fig.label == "Manual texts" else "All"),
                fig.label,
                str(fig.sent),
                delivered_cell(fig, insights.delivery_tracked),
                str(fig.replies),
                str(fig.opt_outs),
                percent(fig.opt_out_rate) if fig.sent else empty,
                str(fig.blocked),
                failures_text(fig.failures) or empty,
            ]
        )
    return rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]  # fmt: skip

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            numeric = cell.replace(" %", "").replace(".", "").isdigit()
            parts.append(cell.rjust(widths[i]) if numeric else cell.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def describe(insights: Insights) -> str:
    """The whole report as plain text: summary lines, the per-step table, the weeks."""
    zone = ZoneInfo(insights.timezone)
    total = insights.total
    period = (
        f"{insights.since.astimezone(zone):%d %b %Y} to {insights.until.astimezone(zone):%d %b %Y}"
    )
    delivered = (
        f"{total.delivered} delivered"
        if insights.delivery_tracked
        else "delivery not tracked yet (no delivery reports from Twilio in this period)"
    )
    lines = [
        f"Texts from {period} ({insights.timezone})",
        f"Sent: {total.sent}; {delivered}; replies: {insights.replies}; "
        f"opt-outs: {insights.opt_outs} ({insights.opt_outs_unattributed} not within 48 hours "
        "of a text); opt-out rate of texts: " + percent(total.opt_out_rate),
        insights.coverage.describe(),
        insights.review.describe()
        + (
            " (" + ", ".join(f"{label}: {n}" for label, n in insights.review.bands) + ")"
            if insights.review.pending
            else ""
        ),
        "",
        format_table(REPORT_COLUMNS, table_rows(insights)),
        "",
        format_table(
            ("Week of", "Sent", "Opt-outs"),
            [[f"{w.start:%d %b %Y}", str(w.sent), str(w.opt_outs)] for w in insights.weeks],
        ),
    ]
    return "\n".join(lines)
