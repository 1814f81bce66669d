"""Reading the inbox from the provider: how far back, which listing, and storing what came.

One read lists the account's messages newest first, page by page, and for each page:

- stores every received message (``core.inbox.store_inbound``, de-duplicated by SID),
  before anything acts on it (DESIGN promise 8);
- records the delivery status of the texts we sent (``core.delivery``);
- learns the account's numbers: the senders of outbound texts and the numbers
  customers texted (so replies to every number the account uses are read).

``plan_read`` picks one of two kinds of read from the marks every desktop shares
(``core.inbox_state``):

- **incremental**, the steady state: the whole account (every number, both
  directions) newest first, stopping once a page reaches back past the last
  complete read less ``LATENESS_MARGIN`` (Twilio lists some messages late) and
  past the oldest recent text still waiting for its delivery status. The page is
  sized from what the database already holds for that span, so one request
  usually covers it.
- **sweep**: every page since a start day. The first read looks back
  ``settings.inbox_look_back_days`` (default 30); so does the first read after
  the inbox went unread for more than ``LONG_GAP`` (a computer off over a
  weekend), or further, to the last read; for a day after a gap the hourly
  sweeps keep covering it, in case Twilio lists a reply from then late. Every
  ``SWEEP_EVERY`` and whenever
  nobody read the inbox for a while (a start after downtime) a sweep covers
  everything since the start of the previous UTC day, so messages Twilio lists
  late and out of date order are still caught. A sweep lists either the whole
  account or each of the account's numbers (``To=``, replies only), whichever
  is estimated to take fewer requests.

Twilio's date filter works by whole UTC days; that is why a read asks for the
start day and stops by itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import delivery, inbox_state
from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.delivery import DeliveryUpdate
from trustpager_desktop.core.inbox import StoreResult, store_inbound
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import DeliveryStatus
from trustpager_desktop.providers.base import (
    MessageQuery,
    MessageRecord,
    ProviderError,
    SmsProvider,
)
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import InboundMessage, OutboundMessage

LATENESS_MARGIN = timedelta(minutes=10)  # an incremental read re-reads this much before the last
STATUS_WINDOW = timedelta(minutes=15)  # delivery statuses of texts this young are re-read
SWEEP_EVERY = timedelta(hours=1)
LONG_GAP = timedelta(days=1)  # unread longer than this: look back the full look-back period
UNREAD_GAP = timedelta(minutes=5)  # unread longer than this (and 3 intervals): sweep
GAP_COVER = timedelta(days=1)  # sweeps keep covering a gap this long after it ended
PAGE_MAX = 1000  # Twilio's largest page
PAGE_MIN = 50
INCREMENTAL = "incremental"
SWEEP = "sweep"


@dataclass(frozen=True)
class ReadPlan:
    """What one read lists: from ``since`` (day granularity), stopping at ``stop_at``
    (incremental) or at the end (sweep); ``numbers`` empty = the whole account."""

    kind: str
    reason: str
    since: datetime
    stop_at: datetime | None = None
    numbers: tuple[str, ...] = ()
    page_size: int = PAGE_MAX
    covers_gap: bool = False  # after a long gap: later sweeps keep covering it for a day

    @property
    def sweep(self) -> bool:
        return self.kind == SWEEP


@dataclass
class ReadResult:
    """What one read did. ``requests`` counts list pages (one API request each)."""

    plan: ReadPlan
    started_at: datetime
    requests: int = 0
    listed: int = 0
    stored: StoreResult = field(default_factory=StoreResult)
    delivery: DeliveryUpdate = field(default_factory=DeliveryUpdate)
    numbers: set[str] = field(default_factory=set)
    error: ProviderError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def start_of_previous_utc_day(now: datetime) -> datetime:
    day = now.astimezone(UTC).date() - timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=UTC)


def plan_read(
    session: Session,
    now: datetime,
    settings: AppSettings,
    *,
    interval: timedelta = timedelta(seconds=30),
    force_sweep: bool = False,
    incremental_only: bool = False,
) -> ReadPlan:
    """Decide the next read from the shared marks (see the module docstring).

    ``incremental_only`` (the read just before dispatch) never sweeps: it reads
    back from the last read, or one ``LONG_GAP`` when there is none or it is older."""
    last = inbox_state.last_read(session)
    look_back = now - timedelta(days=settings.inbox_look_back_days)
    if incremental_only:
        start = now - LONG_GAP if last is None else max(last.at - LATENESS_MARGIN, now - LONG_GAP)
        return _incremental(session, now, start, "before sending")
    if last is None:
        return ReadPlan(
            SWEEP, f"first read: the last {settings.inbox_look_back_days} days", look_back
        )
    gap = now - last.at
    unread = f"inbox not read for {describe_span(gap)}"
    if gap > LONG_GAP:
        since = min(look_back, last.at - LATENESS_MARGIN)
        return ReadPlan(SWEEP, unread, since, covers_gap=True)
    sweep = inbox_state.sweep_marks(session)
    since = min(start_of_previous_utc_day(now), last.at - LATENESS_MARGIN)
    if sweep.cover_from is not None and sweep.cover_until is not None and now < sweep.cover_until:
        since = min(since, sweep.cover_from)  # replies from a recent gap may still list late
    if force_sweep:
        return ReadPlan(SWEEP, "full check asked for", since)
    if sweep.at is None or now - sweep.at >= SWEEP_EVERY:
        return ReadPlan(SWEEP, "hourly look-back", since)
    if gap > max(UNREAD_GAP, 3 * interval):
        return ReadPlan(SWEEP, unread, min(since, last.at - LATENESS_MARGIN), covers_gap=True)
    return _incremental(session, now, last.at - LATENESS_MARGIN, "since the last read")


def _incremental(session: Session, now: datetime, start: datetime, reason: str) -> ReadPlan:
    waiting = session.scalar(
        select(func.min(OutboundMessage.created_at)).where(
            OutboundMessage.provider_sid.is_not(None),
            OutboundMessage.created_at >= now - STATUS_WINDOW,
            (OutboundMessage.delivery_status.is_(None))
            | OutboundMessage.delivery_status.in_((DeliveryStatus.QUEUED, DeliveryStatus.SENT)),
        )
    )
    stop_at = min(start, waiting) if waiting else start
    expected = _messages_since(session, stop_at)
    # Room for what arrived since the last read; the next page follows if it was not enough.
    page_size = max(PAGE_MIN, min(PAGE_MAX, math.ceil(expected * 1.2) + PAGE_MIN))
    return ReadPlan(INCREMENTAL, reason, stop_at, stop_at=stop_at, page_size=page_size)


def _messages_since(session: Session, since: datetime) -> int:
    outbound = session.scalar(
        select(func.count()).select_from(OutboundMessage).where(OutboundMessage.created_at >= since)
    )
    inbound = session.scalar(
        select(func.count()).select_from(InboundMessage).where(InboundMessage.date_sent >= since)
    )
    return (outbound or 0) + (inbound or 0)


def describe_span(span: timedelta) -> str:
    """'3 days', '5 hours', '12 minutes'."""
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} seconds"


def choose_sweep_numbers(
    session: Session,
    plan: ReadPlan,
    account_numbers: Callable[[], list[str]],
    numbers_cost: int = 0,
) -> ReadPlan:
    """A sweep lists each of the account's numbers (replies only) instead of the whole
    account when that is estimated to take fewer requests: the whole account pages
    through our own texts too. ``account_numbers`` (the provider's; ``numbers_cost``
    requests, one for a Messaging Service) is only asked when listing per number could
    win."""
    if not plan.sweep:
        return plan
    whole = max(1, math.ceil(_messages_since(session, plan.since) / PAGE_MAX))
    if whole <= 1:
        return plan  # one page either way: the whole account also covers numbers not seen yet
    numbers = set(inbox_state.known_numbers(session))
    try:
        numbers.update(account_numbers())
    except ProviderError:
        return plan  # cannot tell which numbers the service has: list everything
    if not numbers:
        return plan
    per_number = numbers_cost + sum(
        max(1, math.ceil(_inbound_to(session, n, plan.since) / PAGE_MAX)) for n in numbers
    )
    if per_number >= whole:
        return plan
    return replace(plan, numbers=tuple(sorted(numbers)))


def _inbound_to(session: Session, number: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.to_number == number, InboundMessage.date_sent >= since)
        )
        or 0
    )


def read_inbox(
    db: Database,
    provider: SmsProvider,
    clock: Clock,
    plan: ReadPlan,
    *,
    worker: str,
    label: str,
    default_region: str = "US",
    on_page: Callable[[], object] | None = None,
) -> ReadResult:
    """Run ``plan``: list, store replies, record delivery statuses, learn numbers.

    A provider failure stops the read and comes back in ``error``; pages read before
    it stay stored. Only a complete read moves the shared marks (so the next read
    looks back from the last complete one). ``on_page`` runs after each page (the
    poller renews its lease there). Raises DatabaseError when storing fails."""
    result = ReadResult(plan, started_at=clock.now())
    try:
        for number in plan.numbers or (None,):
            query = MessageQuery(plan.since, to=number, page_size=plan.page_size)
            for page in provider.list_message_pages(query):
                result.requests += 1
                _take(db, page, clock, default_region, result)
                if on_page is not None:
                    on_page()
                if plan.stop_at is not None and _reaches(page, plan.stop_at):
                    break  # everything older was read before: no further request
    except ProviderError as exc:
        result.error = exc
    with db.write() as session:
        inbox_state.remember_numbers(session, result.numbers)
        if result.ok:
            inbox_state.record_read(
                session,
                result.started_at,
                worker=worker,
                label=label,
                sweep=plan.sweep,
                cover=(plan.since, result.started_at + GAP_COVER) if plan.covers_gap else None,
            )
    return result


def _take(
    db: Database,
    page: list[MessageRecord],
    clock: Clock,
    default_region: str,
    result: ReadResult,
) -> None:
    received = [r for r in page if r.inbound]
    sent = [r for r in page if r.outbound]
    result.listed += len(page)
    # Newest first from Twilio; stored oldest first so same-second replies keep their order.
    stored = store_inbound(db, reversed(received), clock, default_region=default_region)
    result.stored = StoreResult(
        result.stored.new + stored.new,
        result.stored.duplicates + stored.duplicates,
        result.stored.skipped + stored.skipped,
    )
    update = delivery.record_statuses(db, sent, clock)
    result.delivery = DeliveryUpdate(
        result.delivery.changed + update.changed, result.delivery.blocked + update.blocked
    )
    result.numbers.update(r.from_number for r in sent if r.from_number.startswith("+"))
    result.numbers.update(r.to_number for r in received if r.to_number.startswith("+"))


def _reaches(page: list[MessageRecord], stop_at: datetime) -> bool:
    """True when the page's last message is older than ``stop_at``: the listing goes on
    from there, older. The last one, not the oldest: a message listed out of date order
    in the middle of a page says nothing about where the next page starts."""
    return bool(page) and page[-1].date_sent < stop_at


__all__ = [
    "INCREMENTAL",
    "LATENESS_MARGIN",
    "SWEEP",
    "SWEEP_EVERY",
    "ReadPlan",
    "ReadResult",
    "choose_sweep_numbers",
    "plan_read",
    "read_inbox",
    "start_of_previous_utc_day",
]
