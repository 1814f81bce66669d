"""The monthly compliance report: proof that every opt-out was honoured in time.

For one calendar month (in the business's time zone) it lists:

- every opt-out received that month, with its time-to-honour: from the customer's
  reply (or the staff change) to the moment automations stopped, which is when the
  consent event was recorded; business days taken, and whether it went beyond the
  10-business-day line (``core.business_days``);
- every reply that went to review that month: from receipt to the decision (still
  waiting: its age so far);
- every text sent that month to a number that had opted out: flagged when it was sent
  (a manual send after the warning, with who sent it), or found opted out by the
  consent events at that moment;
- the activity log's verification, with its chain head (last entry and hash).

Qt-free: the CSV is written here, the PDF by ``pdf.compliance_report`` from the same data.
"""

from __future__ import annotations

import bisect
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, business_days, exports
from trustpager_desktop.core.consent import SOURCE_LABELS
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.gateway import origin_label
from trustpager_desktop.core.inbox import DECISION_LABELS
from trustpager_desktop.core.insights import format_table
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.core.states import ConsentEventKind, ReviewStatus
from trustpager_desktop.store import bulk
from trustpager_desktop.store.models import (
    ActivityEntry,
    ConsentEvent,
    Contact,
    InboundMessage,
    OutboundMessage,
)

LIMIT = business_days.HONOUR_LIMIT_BUSINESS_DAYS


def parse_month(text: str) -> date:
    """'2026-11' -> 1 Nov 2026. Raises UserInputError for anything else."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise UserInputError(f"'{text}' is not a month: use YYYY-MM, e.g. 2026-11.") from exc


def previous_month(month: date) -> date:
    """The first day of the month before ``month``'s (1 Dec 2026 -> 1 Nov 2026)."""
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_bounds(month: date, timezone_name: str) -> tuple[datetime, datetime]:
    """The month as [start, end) in aware UTC, its days counted in the business's zone."""
    zone = ZoneInfo(timezone_name)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    start = datetime.combine(month, time(), zone)
    end = datetime.combine(following, time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def format_duration(duration: timedelta) -> str:
    """'45 s', '3 min 20 s', '2 h 05 min', '3 d 4 h' (negative durations read as 0 s)."""
    seconds = max(int(duration.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@dataclass(frozen=True)
class HonouredOptOut:
    """One opt-out: when the customer (or staff) asked, when automations stopped."""

    received_at: datetime
    honoured_at: datetime
    contact: str
    number: str
    source: str
    recorded_by: str
    message_sid: str
    business_days: int
    beyond_limit: bool

    @property
    def time_to_honour(self) -> timedelta:
        return self.honoured_at - self.received_at


@dataclass(frozen=True)
class ReviewTiming:
    """A reply held for a person's decision: receipt to decision (None: still waiting)."""

    received_at: datetime
    decided_at: datetime | None
    from_number: str
    body: str
    decision: str
    decided_by: str
    message_sid: str
    business_days: int
    beyond_limit: bool

    def waited(self, now: datetime) -> timedelta:
        return (self.decided_at or now) - self.received_at


@dataclass(frozen=True)
class TextToOptedOut:
    sent_at: datetime
    number: str
    contact: str
    origin: str  # 'Manual, by Dana' or "Automation 'Reminder', step 1"
    flagged_at_send: bool  # the send knew (manual send after the warning)
    status: str
    body: str


@dataclass(frozen=True)
class LogCheck:
    ok: bool
    text: str
    head_id: int | None
    head_hash: str

    def head_text(self) -> str:
        if self.head_id is None:
            return "Chain head: the log is empty"
        return f"Chain head: entry {self.head_id}, hash {self.head_hash}"


@dataclass(frozen=True)
class ComplianceReport:
    month: date
    start: datetime
    end: datetime
    timezone: str
    generated_at: datetime
    opt_outs: tuple[HonouredOptOut, ...]
    reviews: tuple[ReviewTiming, ...]
    texts_to_opted_out: tuple[TextToOptedOut, ...]
    log: LogCheck

    @property
    def title(self) -> str:
        return f"SMS opt-out compliance report: {self.month:%B %Y}"

    @property
    def longest(self) -> HonouredOptOut | None:
        return max(self.opt_outs, key=lambda o: o.time_to_honour, default=None)

    @property
    def beyond_limit(self) -> list[HonouredOptOut]:
        return [o for o in self.opt_outs if o.beyond_limit]

    @property
    def reviews_beyond_limit(self) -> list[ReviewTiming]:
        return [r for r in self.reviews if r.beyond_limit]

    def findings(self) -> list[tuple[str, bool]]:
        """The findings a reader needs first, as (sentence, needs attention) pairs."""
        longest = self.longest
        waiting = sum(1 for r in self.reviews if r.decided_at is None)
        manual = sum(1 for t in self.texts_to_opted_out if t.origin.startswith("Manual"))
        unflagged = sum(1 for t in self.texts_to_opted_out if not t.flagged_at_send)
        longest_text = (
            f"{format_duration(longest.time_to_honour)} ({longest.contact or longest.number}, "
            f"received {self.local(longest.received_at)})."
            if longest
            else "none this month."
        )
        return [
            (f"Opt-outs received: {len(self.opt_outs)}.", False),
            (f"Longest time-to-honour: {longest_text}", bool(longest and longest.beyond_limit)),
            (
                f"Opt-outs honoured beyond {LIMIT} business days: {len(self.beyond_limit)}.",
                bool(self.beyond_limit),
            ),
            (
                f"Replies held for review: {len(self.reviews)}, {waiting} still waiting, "
                f"{len(self.reviews_beyond_limit)} beyond {LIMIT} business days.",
                bool(self.reviews_beyond_limit),
            ),
            (
                f"Texts sent to opted-out numbers: {len(self.texts_to_opted_out)} "
                f"({manual} manual, {unflagged} not flagged when sent).",
                bool(unflagged),
            ),
            (("Activity log: " if self.log.ok else "ACTIVITY LOG: ") + self.log.text,
             not self.log.ok),
            (self.log.head_text() + ".", False),
        ]  # fmt: skip

    def summary_lines(self) -> list[str]:
        return [line for line, _attention in self.findings()]

    def local(self, when: datetime | None) -> str:
        """'26 Nov 2026 10:04:05' in the report's time zone ('' for None)."""
        if when is None:
            return ""
        return when.astimezone(ZoneInfo(self.timezone)).strftime("%d %b %Y %H:%M:%S")


# ---- gathering ------------------------------------------------------------------------


def gather_compliance(
    session: Session,
    month: date,
    *,
    timezone_name: str,
    now: datetime,
    progress: Progress | None = None,
) -> ComplianceReport:
    """Read the month's opt-outs, reviews, texts to opted-out numbers, and verify the log.

    ``progress`` follows the log verification (the long part on a big log); returning
    False raises ``Cancelled``. Reading only: nothing is changed."""
    start, end = month_bounds(month, timezone_name)
    opt_outs = _opt_outs(session, start, end, timezone_name)
    reviews = _reviews(session, start, end, timezone_name, now)
    texts = _texts_to_opted_out(session, start, end)
    log = _check_log(session, progress)
    return ComplianceReport(
        month, start, end, timezone_name, now, opt_outs, reviews, texts, log
    )  # fmt: skip


def _contact_names(session: Session, ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    ordered = sorted(ids)
    for chunk in bulk.chunks(ordered):
        rows = session.execute(
            select(Contact.id, Contact.first_name, Contact.last_name).where(Contact.id.in_(chunk))
        )
        names.update({cid: f"{first} {last}".strip() for cid, first, last in rows})
    return names


def _name(names: dict[int, str], contact_id: int | None) -> str:
    if contact_id is None:
        return ""
    return names.get(contact_id, f"(deleted contact {contact_id})")


def _opt_outs(
    session: Session, start: datetime, end: datetime, zone: str
) -> tuple[HonouredOptOut, ...]:
    events = list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.kind == ConsentEventKind.OPT_OUT,
                ConsentEvent.received_at >= start,
                ConsentEvent.received_at < end,
            )
            .order_by(ConsentEvent.received_at, ConsentEvent.id)
        )
    )
    names = _contact_names(session, {e.contact_id for e in events if e.contact_id is not None})
    return tuple(
        HonouredOptOut(
            received_at=e.received_at,
            honoured_at=e.recorded_at,
            contact=_name(names, e.contact_id),
            number=e.phone_e164 or "",
            source=SOURCE_LABELS.get(e.source, e.source),
            recorded_by=e.actor,
            message_sid=e.message_sid or "",
            business_days=business_days.business_days_taken(e.received_at, e.recorded_at, zone),
            beyond_limit=business_days.beyond_limit(e.received_at, e.recorded_at, zone),
        )
        for e in events
    )


def _reviews(
    session: Session, start: datetime, end: datetime, zone: str, now: datetime
) -> tuple[ReviewTiming, ...]:
    messages = session.scalars(
        select(InboundMessage)
        .where(
            InboundMessage.review_status.is_not(None),
            InboundMessage.date_sent >= start,
            InboundMessage.date_sent < end,
        )
        .order_by(InboundMessage.date_sent, InboundMessage.id)
    )
    timings = []
    for m in messages:
        pending = m.review_status == ReviewStatus.PENDING
        until = now if pending else (m.reviewed_at or now)
        timings.append(
            ReviewTiming(
                received_at=m.date_sent,
                decided_at=None if pending else m.reviewed_at,
                from_number=m.from_e164 or m.from_number,
                body=m.body,
                decision="still waiting" if pending
                else DECISION_LABELS.get(m.review_status or "", m.review_status or ""),
                decided_by=m.reviewed_by or "",
                message_sid=m.sid,
                business_days=business_days.business_days_taken(m.date_sent, until, zone),
                beyond_limit=business_days.beyond_limit(m.date_sent, until, zone),
            )
        )  # fmt: skip
    return tuple(timings)


def _opt_out_timeline(session: Session) -> dict[str, tuple[list[datetime], list[bool]]]:
    """Number -> (event times, opted out after that event?) from every consent event."""
    timeline: dict[str, tuple[list[datetime], list[bool]]] = defaultdict(lambda: ([], []))
    rows = session.execute(
        select(ConsentEvent.phone_e164, ConsentEvent.kind, ConsentEvent.recorded_at)
        .where(ConsentEvent.phone_e164.is_not(None))
        .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
    )
    for number, kind, recorded_at in rows:
        times, states = timeline[number or ""]  # the query keeps numbered events only
        times.append(recorded_at)
        states.append(kind == ConsentEventKind.OPT_OUT)
    return timeline


def _was_opted_out(
    timeline: dict[str, tuple[list[datetime], list[bool]]], number: str, when: datetime
) -> bool:
    if number not in timeline:
        return False
    times, states = timeline[number]
    index = bisect.bisect_right(times, when) - 1
    return index >= 0 and states[index]


def _texts_to_opted_out(
    session: Session, start: datetime, end: datetime
) -> tuple[TextToOptedOut, ...]:
    """Texts handed to the provider this month while their number was opted out: flagged
    at send time, or opted out by the consent events recorded before the send."""
    ever_opted_out = select(ConsentEvent.phone_e164).where(
        ConsentEvent.kind == ConsentEventKind.OPT_OUT
    )
    candidates = list(
        session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.provider_sid.is_not(None),
                OutboundMessage.sent_at >= start,
                OutboundMessage.sent_at < end,
                or_(
                    OutboundMessage.recipient_opted_out.is_(True),
                    OutboundMessage.to_e164.in_(ever_opted_out),
                ),
            )
            .order_by(OutboundMessage.sent_at, OutboundMessage.id)
        )
    )
    timeline = _opt_out_timeline(session) if candidates else {}
    found = [
        m
        for m in candidates
        if m.recipient_opted_out or _was_opted_out(timeline, m.to_e164, m.sent_at or m.created_at)
    ]
    names = _contact_names(session, {m.contact_id for m in found if m.contact_id is not None})
    return tuple(
        TextToOptedOut(
            sent_at=m.sent_at or m.created_at,
            number=m.to_e164,
            contact=_name(names, m.contact_id),
            origin=origin_label(m),
            flagged_at_send=m.recipient_opted_out,
            status=m.status,
            body=m.body,
        )
        for m in found
    )


def _check_log(session: Session, progress: Progress | None) -> LogCheck:
    # The head is read first: entries appended while verifying are checked too, and the
    # head printed is one the verification covered.
    head = session.execute(
        select(ActivityEntry.id, ActivityEntry.entry_hash)
        .order_by(ActivityEntry.id.desc())
        .limit(1)
    ).first()
    result = activity.verify_chain(session, progress=progress)
    return LogCheck(
        ok=result.ok,
        text=result.describe(),
        head_id=head[0] if head else None,
        head_hash=head[1] if head else "",
    )


# ---- plain text (the command line) --------------------------------------------------------


def describe(report: ComplianceReport) -> str:
    """The report as plain text: the findings, then each list as a table."""
    when = report.local
    now = report.generated_at
    late = "  << beyond " + str(LIMIT) + " business days"
    opt_outs = [
        [when(o.received_at), when(o.honoured_at), format_duration(o.time_to_honour),
         str(o.business_days), o.contact or o.number, o.source + (late if o.beyond_limit else "")]
        for o in report.opt_outs
    ]  # fmt: skip
    reviews = [
        [when(r.received_at), when(r.decided_at) or "not yet", format_duration(r.waited(now)),
         str(r.business_days), r.from_number, r.decision + (late if r.beyond_limit else "")]
        for r in report.reviews
    ]  # fmt: skip
    texts = [
        [when(t.sent_at), t.number, t.contact, t.origin, "yes" if t.flagged_at_send else "NO"]
        for t in report.texts_to_opted_out
    ]
    parts = [f"{report.title} (times in {report.timezone})", *report.summary_lines()]
    for title, header, rows in (
        ("Opt-outs", ("Received", "Honoured", "Took", "Business days", "Who", "Source"), opt_outs),
        ("Replies held for review",
         ("Received", "Decided", "Waited", "Business days", "From", "Decision"), reviews),
        ("Texts sent to opted-out numbers",
         ("Sent", "Number", "Contact", "Sent by", "Flagged when sent"), texts),
    ):  # fmt: skip
        parts += ["", f"{title}:", format_table(header, rows) if rows else "  none"]
    return "\n".join(parts)


# ---- CSV ---------------------------------------------------------------------------------

OPT_OUT_COLUMNS = ("received_at", "honoured_at", "time_to_honour_seconds", "time_to_honour",
                   "business_days", f"beyond_{LIMIT}_business_days", "contact", "number",
                   "source", "recorded_by", "message_sid")  # fmt: skip
REVIEW_COLUMNS = ("received_at", "decided_at", "waited_seconds", "waited", "business_days",
                  f"beyond_{LIMIT}_business_days", "from", "decision", "decided_by",
                  "message_sid", "message")  # fmt: skip
TEXT_COLUMNS = ("sent_at", "number", "contact", "origin", "flagged_when_sent", "status", "body")


def write_csv(report: ComplianceReport, path: str | os.PathLike[str]) -> int:
    """Write the report as one CSV file with titled sections (summary, opt-outs, reviews,
    texts to opted-out numbers, log check); returns the number of listed records.

    Times are ISO 8601 UTC, as in every export. Raises OSError when it cannot be written;
    a failed write leaves no partial file."""
    now = report.generated_at
    sections: list[tuple[str, tuple[str, ...], list[list[object]]]] = [
        (
            "Opt-outs",
            OPT_OUT_COLUMNS,
            [[o.received_at, o.honoured_at, int(o.time_to_honour.total_seconds()),
              format_duration(o.time_to_honour), o.business_days, o.beyond_limit, o.contact,
              o.number, o.source, o.recorded_by, o.message_sid] for o in report.opt_outs],
        ),
        (
            "Replies held for review",
            REVIEW_COLUMNS,
            [[r.received_at, r.decided_at, int(r.waited(now).total_seconds()),
              format_duration(r.waited(now)), r.business_days, r.beyond_limit, r.from_number,
              r.decision, r.decided_by, r.message_sid, r.body] for r in report.reviews],
        ),
        (
            "Texts sent to opted-out numbers",
            TEXT_COLUMNS,
            [[t.sent_at, t.number, t.contact, t.origin, t.flagged_at_send, t.status, t.body]
             for t in report.texts_to_opted_out],
        ),
    ]  # fmt: skip
    with exports.csv_file(path) as out:
        out.row([report.title])
        out.row(["time zone", report.timezone, "generated at", report.generated_at])
        for line in report.summary_lines():
            out.row([line])
        for title, header, rows in sections:
            out.row([])
            out.row([title])
            out.row(header)
            for row in rows:
                out.row(row)
        out.row([])
        out.row(["Activity log check"])
        out.row(["intact", "result", "chain_head_entry", "chain_head_hash"])
        out.row([report.log.ok, report.log.text, report.log.head_id, report.log.head_hash])
    return sum(len(rows) for _t, _h, rows in sections)
