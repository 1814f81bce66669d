"""The Auto Queue dispatch: claim due items under a lease, run them, recover after a kill.

Qt-free. Never twice, never lost, with several desktops on one database, a slow
or half-answering Twilio, and kills at any moment. One cycle (``dispatch_due``):

1. ``claim_due`` takes a batch of due ``pending`` items of enabled automations
   and marks them ``in_flight`` in ONE transaction (PostgreSQL: ``FOR UPDATE
   SKIP LOCKED``, so two processes never claim the same item; SQLite: the
   ``BEGIN IMMEDIATE`` write lock serialises claimers), with ``claimed_by`` (this
   dispatch's own id) and a lease: ``lease_until``. In the same transaction,
   texts past the stale limit are skipped ("missed send window") and texts
   outside quiet hours in the recipient's time zone go back to ``pending`` with
   a later due time.
2. Each claimed item runs. A text goes through ``OutboundGateway.send_batch``
   with an ``AutomationOrigin``: the gateway asks ``consent.may_automation_text``
   in the transaction that records the message, and again before a provider
   call whenever that answer is over a second old. This module adds no second
   rule; it only follows the outcome via the gateway's hooks.
3. The lease. Before each provider call (and each task or lookup) the
   dispatcher makes sure its lease outlives the call: with less than
   ``RENEW_FRACTION`` of it left, it renews it for every item it still holds,
   in one UPDATE, and learns which items it no longer holds (taken over by
   another process after a stall): those are not sent. The record transaction
   also re-checks the claim under a row lock (``owned``), so an item is
   recorded only by its holder. One provider call lasts at most about twice
   its timeout (connect + read), well inside the lease left after a renewal.
4. Finishing is a compare-and-set on the lease holder: every item update says
   ``WHERE claimed_by = me AND status = 'in_flight'``, so a finishing
   dispatcher never overwrites a decision another process made meanwhile.
   Sent -> ``sent``; suppressed -> ``skipped``; a failure Twilio certainly never
   received -> back to ``pending`` with back-off (in the same transaction, so a
   kill cannot lose the retry); a send that may have happened (Twilio answered
   5xx, timed out, dropped the connection) -> ``pending`` with the outbound
   record ``unknown``: when due, the item is claimed like any other and the
   gateway looks the text up at Twilio (``confirm_uncertain``): found -> ``sent``
   with its SID; not there -> sent again; the lookup fails -> asked again later,
   and after ``LOOKUP_GIVE_UP`` put up for ``review``. Never a blind resend.
5. On PostgreSQL ``WORKERS_POSTGRES`` dispatchers claim and run batches side by side
   in one dispatch (SKIP LOCKED claims are made for it; each has its own claims and
   lease): one's database round trip is another's Python work, and slow provider
   answers are awaited in parallel. Batches are written with one statement of
   arrays each (``store.bulk``). SQLite serialises writers: one dispatcher.
6. ``reconcile_in_flight`` runs every runner cycle and touches only items whose
   lease expired (``CLOCK_SKEW`` allowed between desktops): tasks and waits are
   finished (idempotent); an item the gateway never recorded goes back to
   ``pending`` with its due time moved to when its lease ran out (the recovery
   delay never makes it a "missed send window"); an item whose text was
   recorded is finished from the record or, if the record is still ``sending``,
   looked up as above. It calls no provider and never re-sends blindly.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, cast

import phonenumbers
from phonenumbers import timezone as phone_timezone
from sqlalchemy import Select, Update, any_, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from trustpager_desktop.core import activity, automations, consent
from trustpager_desktop.core.automation_pause import automations_paused as is_paused
from trustpager_desktop.core.automation_pause import set_paused
from trustpager_desktop.core.backoff import backoff_seconds
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.counts import add_counts
from trustpager_desktop.core.gateway import (
    AutomationOrigin,
    NotOwned,
    OutboundGateway,
    OutboundText,
    SendOutcome,
    SendRequest,
)
from trustpager_desktop.core.inbox_state import InboxFreshness
from trustpager_desktop.core.journal import WriteJournal
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import ActivityKind, MessageStatus, QueueStatus
from trustpager_desktop.core.timefmt import known_zone
from trustpager_desktop.providers.base import FailureKind, ProviderError
from trustpager_desktop.store import bulk
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import (
    Automation,
    AutomationStep,
    Contact,
    OutboundMessage,
    QueueItem,
    Task,
)

log = logging.getLogger("trustpager.auto_queue")

STATUSES = tuple(QueueStatus)
STATUS_LABELS: dict[str, str] = {
    QueueStatus.PENDING: "Upcoming",
    QueueStatus.IN_FLIGHT: "Sending",
    QueueStatus.HELD: "Held",
    QueueStatus.SENT: "Sent",
    QueueStatus.DONE: "Done",
    QueueStatus.SKIPPED: "Skipped",
    QueueStatus.FAILED: "Failed",
    QueueStatus.REVIEW: "Needs review",
}

REASON_QUIET_HOURS = "waiting for quiet hours to end"
REASON_STALE = "missed send window"
REASON_STEP_REMOVED = "the step was removed from the automation"
REASON_REQUEUED = "queued again: the send never started before the interruption"
REASON_CHECKING = "may have been sent ({why}): checking with Twilio before any retry"
REASON_NOT_AT_PROVIDER = "Twilio has no record of the earlier attempt: sending again"
REASON_ASK_AGAIN = "may have been sent; Twilio could not be asked ({why}): asking again later"
REASON_REVIEW = (
    "may have been sent, and Twilio could not be asked for hours: check the Twilio console "
    "before resending"
)
INTERRUPTED = "interrupted while sending: it may or may not have reached Twilio"
MAX_SEND_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 30 * 60
CLAIM_BATCH = 200
# Texts per gateway batch: one record transaction, the provider calls, one finish transaction.
SEND_CHUNK = 100
# Dispatchers side by side in one dispatch on PostgreSQL (SKIP LOCKED claims are made for
# it); SQLite serialises writers, where a second one only waits.
WORKERS_POSTGRES = 2
# How long a claim holds without renewal. A killed dispatcher's items are picked up
# this long after its last renewal (plus CLOCK_SKEW and one runner cycle).
LEASE = timedelta(seconds=60)
# Renew when less than this share of the lease is left: 40 s of a 60 s lease, which
# outlives one provider call (at most connect + read timeout, 2 x 10 s) with room.
RENEW_FRACTION = 2 / 3
# Desktops sharing a database may disagree this much about the time (NTP keeps them closer).
CLOCK_SKEW = timedelta(seconds=5)
# Twilio may list a new message a little late: an uncertain send is looked up this long after.
LOOKUP_DELAY = timedelta(seconds=60)
# After this long without being able to ask Twilio, an uncertain send goes to a person.
LOOKUP_GIVE_UP = timedelta(hours=6)
# Kept for callers of the old rule (a claim older than this was presumed abandoned).
IN_FLIGHT_GRACE = LEASE


# -- quiet hours ----------------------------------------------------------------------------


def next_allowed_send_time(now: datetime, tz: str, start_hour: int, end_hour: int) -> datetime:
    """The earliest time >= ``now`` inside the daily window [start_hour, end_hour) in ``tz``.

    ``now`` is aware; the answer is aware UTC. Hours are wall-clock hours, so
    across a DST change the window still opens at 08:00 local time.
    """
    zone = zoneinfo.ZoneInfo(tz)
    local = now.astimezone(zone)
    if start_hour <= local.hour < end_hour:
        return now.astimezone(UTC)
    day = local.date() if local.hour < start_hour else local.date() + timedelta(days=1)
    opens = datetime.combine(day, time(start_hour), tzinfo=zone)
    # A window opening inside a spring-forward gap opens at the first real instant after it.
    opens = opens.astimezone(UTC).astimezone(zone)
    return opens.astimezone(UTC)


@lru_cache(maxsize=65_536)
def recipient_timezone(e164: str | None, fallback: str) -> str:
    """The recipient's time zone from the number; ``fallback`` when it has none or several."""
    if not e164:
        return fallback
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return fallback
    if len(zones) != 1 or zones[0] == phone_timezone.UNKNOWN_TIMEZONE:
        return fallback
    return zones[0] if known_zone(zones[0]) is not None else fallback


@lru_cache(maxsize=65_536)
def possible_timezones(e164: str | None, fallback: str) -> frozenset[str]:
    """Every zone ``recipient_timezone(e164, fallback)`` could answer, found cheaply.

    Its answer is the fallback or the one zone listed for a prefix of the number's
    E.164 digits; only the validity check in between (``phonenumbers.number_type``,
    about 100 µs a number) decides which, and that is the costly part. When ``now``
    is inside the send window in all of these zones, the exact one does not matter."""
    zones = {fallback}
    try:
        number = phonenumbers.parse(e164 or "", None)
    except phonenumbers.NumberParseException:
        return frozenset(zones)
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    # phonenumbers' stubs leave out the time-zone tables its own lookup walks.
    longest: int = phone_timezone.TIMEZONE_LONGEST_PREFIX  # type: ignore[attr-defined]  # see above
    table: dict[str, tuple[str, ...]] = phone_timezone.TIMEZONE_DATA  # type: ignore[attr-defined]  # see above
    for length in range(1, min(len(digits), longest) + 1):
        listed = table.get(digits[:length], ())
        if len(listed) == 1:  # a list of several zones gives the fallback
            zones.add(listed[0])
    return frozenset(zones)


def send_time(now: datetime, e164: str | None, settings: AppSettings) -> datetime:
    """When a text to ``e164`` may go: ``now`` when it is inside the send window in the
    recipient's time zone (see ``recipient_timezone``), else when the window next opens."""
    window = (settings.quiet_hours_start, settings.quiet_hours_end)
    fallback = settings.business_timezone
    if all(
        next_allowed_send_time(now, zone, *window) == now
        for zone in possible_timezones(e164, fallback)
    ):
        return now  # open wherever the number may be: skip the costly exact lookup
    return next_allowed_send_time(now, recipient_timezone(e164, fallback), *window)


# -- claiming ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedItem:
    """A queue item this worker owns (``in_flight``), with what it needs to run."""

    id: int
    automation_id: int
    automation_name: str
    step_id: int
    step_position: int
    action_type: str
    contact_id: int
    contact_name: str
    due_at: datetime
    attempts: int
    template: str
    task_title: str
    first_name: str
    last_name: str
    company: str
    phone_e164: str | None
    step_exists: bool = True
    outbound_message_id: int | None = None
    outbound_status: str | None = None
    outbound_created_at: datetime | None = None

    @property
    def uncertain(self) -> bool:
        """Its last send may have happened: it is looked up, not sent."""
        return self.outbound_status == MessageStatus.UNKNOWN

    def render(self, template: str) -> str:
        return automations.render(
            template, first_name=self.first_name, last_name=self.last_name, company=self.company
        )


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0
    done: int = 0
    deferred: int = 0
    review: int = 0
    held: int = 0  # the consent rule holds them: a reply waits for review
    checking: int = 0  # may have been sent: waiting for a lookup at Twilio
    taken_over: int = 0  # the lease was lost (a stall): another process finishes them
    paused: bool = False
    reasons: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        add_counts(self, other)

    def describe(self) -> str:
        if self.paused:
            return "Automations are paused; nothing was run."
        text = (
            f"{self.claimed} due item(s): {self.sent} sent, {self.skipped} skipped, "
            f"{self.failed} failed, {self.done} done, {self.retrying} to retry, "
            f"{self.deferred} waiting for quiet hours"
            + (f", {self.held} held (reply waiting for review)" if self.held else "")
        )
        if self.checking:
            text += f", {self.checking} being checked with Twilio (may have been sent)"
        if self.review:
            text += f", {self.review} need review"
        return text


_ENABLED_AUTOMATIONS = select(Automation.id).where(Automation.enabled.is_(True))


def _enabled_automation(column: Any, postgres: bool) -> ColumnElement[bool]:
    """``column`` names an enabled automation (see ``_one_of``)."""
    return _one_of(column, _ENABLED_AUTOMATIONS, postgres)


def _one_of(column: Any, query: Select[Any], postgres: bool) -> ColumnElement[bool]:
    """``column IN (query)``; on PostgreSQL ``column = ANY(ARRAY(query))``: the query runs
    once for the statement and its answer is a plain condition (an index lookup, or a
    filter on an index walk). PostgreSQL turns ``IN (SELECT ..)`` into a join and, its
    costs assuming data on disk, answers it by reading the whole table (every due item
    read and sorted for each claim, every queue row scanned to update 200)."""
    if postgres:
        return column == any_(func.array(query.scalar_subquery()))  # type: ignore[no-any-return]  # SQLAlchemy types this comparison's result as Any
    return column.in_(query)  # type: ignore[no-any-return]  # SQLAlchemy types this comparison's result as Any


_CLAIM_COLUMNS = (
    QueueItem.id,
    QueueItem.automation_id,
    Automation.name,
    QueueItem.step_id,
    QueueItem.step_position,
    QueueItem.action_type,
    QueueItem.contact_id,
    QueueItem.due_at,
    QueueItem.attempts,
    AutomationStep.template,
    AutomationStep.task_title,
    Contact.first_name,
    Contact.last_name,
    Contact.company,
    Contact.phone_e164,
    AutomationStep.id,
    QueueItem.outbound_message_id,
    OutboundMessage.status,
    OutboundMessage.created_at,
)


def claim_due(
    db: Database,
    worker_id: str,
    now: datetime,
    limit: int = CLAIM_BATCH,
    *,
    settings: AppSettings | None = None,
    clock: Clock = SYSTEM_CLOCK,
    report: DispatchReport | None = None,
    lease: timedelta = LEASE,
) -> list[ClaimedItem]:
    """Atomically claim up to ``limit`` due pending items for ``worker_id``; they become
    ``in_flight`` with a lease until ``now + lease``.

    Texts past the stale limit are skipped and texts outside quiet hours are
    deferred in the same transaction; those are not returned. Items waiting for
    a lookup (their send may have happened) are returned whatever the hour.
    """
    settings = settings or AppSettings()
    report = report if report is not None else DispatchReport()
    with db.write() as session:
        # In claim order, walking ix_queue_items_claim_order (status, due_at, id) and
        # stopping at ``limit``; enabled automations are a filter on that walk (a join
        # would read and sort every pending item first).
        due = (
            select(QueueItem.id)
            .where(QueueItem.status == QueueStatus.PENDING, QueueItem.due_at <= now,
                   _enabled_automation(QueueItem.automation_id, db.is_postgres))
            .order_by(QueueItem.due_at, QueueItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=QueueItem)
        )  # fmt: skip
        # One statement takes them: UPDATE .. WHERE id IN (SELECT .. SKIP LOCKED) RETURNING.
        claim = (
            update(QueueItem)
            .where(_one_of(QueueItem.id, due, db.is_postgres))
            .values(status=QueueStatus.IN_FLIGHT, claimed_by=worker_id, claimed_at=now,
                    lease_until=now + lease, reason=None)
        )  # fmt: skip
        if db.is_postgres:  # ... and, as a data-modifying WITH, reads what they need too
            items = _claim_and_load(session, claim)
        else:
            ids = list(session.connection().execute(claim.returning(QueueItem.id)).scalars())
            items = _load_claimed(session, ids) if ids else []
        if not items:
            return []
        report.claimed += len(items)
        journal = WriteJournal(session, clock)
        runnable = _apply_time_rules(journal, items, now, settings, report)
        journal.flush()
        return runnable


def _load_claimed(session: Session, ids: list[int]) -> list[ClaimedItem]:
    rows = session.execute(
        select(*_CLAIM_COLUMNS)
        .join(Automation, Automation.id == QueueItem.automation_id)
        .join(Contact, Contact.id == QueueItem.contact_id)
        .outerjoin(AutomationStep, AutomationStep.id == QueueItem.step_id)
        .outerjoin(OutboundMessage, OutboundMessage.id == QueueItem.outbound_message_id)
        .where(bulk.id_in(QueueItem.id, ids, session.get_bind().dialect.name))
        .order_by(QueueItem.due_at, QueueItem.id)
    ).all()
    return _claimed_items(rows)


def _claim_and_load(session: Session, claim: Update) -> list[ClaimedItem]:
    """PostgreSQL: the claim and the read of the claimed items in one statement (one
    round trip): WITH claimed AS (UPDATE .. RETURNING ..) SELECT .. FROM claimed JOIN .."""
    returned = [QueueItem.__table__.c[c.key] for c in _CLAIM_COLUMNS if c.table is _ITEMS]
    claimed = claim.returning(*returned).cte("claimed")
    columns = [claimed.c[c.key] if c.table is _ITEMS else c for c in _CLAIM_COLUMNS]
    rows = (
        session.connection()
        .execute(
            select(*columns)
            .select_from(claimed)
            .join(Automation, Automation.id == claimed.c.automation_id)
            .join(Contact, Contact.id == claimed.c.contact_id)
            .outerjoin(AutomationStep, AutomationStep.id == claimed.c.step_id)
            .outerjoin(OutboundMessage, OutboundMessage.id == claimed.c.outbound_message_id)
            .order_by(claimed.c.due_at, claimed.c.id)
        )
        .all()
    )
    return _claimed_items(rows)


def _claimed_items(rows: Sequence[Any]) -> list[ClaimedItem]:
    return [
        ClaimedItem(
            id=r[0],
            automation_id=r[1],
            automation_name=r[2],
            step_id=r[3],
            step_position=r[4],
            action_type=r[5],
            contact_id=r[6],
            contact_name=f"{r[11]} {r[12]}".strip(),
            due_at=r[7],
            attempts=r[8],
            template=r[9] or "",
            task_title=r[10] or "",
            first_name=r[11],
            last_name=r[12],
            company=r[13],
            phone_e164=r[14],
            step_exists=r[15] is not None,
            outbound_message_id=r[16],
            outbound_status=r[17],
            outbound_created_at=r[18],
        )
        for r in rows
    ]


def _apply_time_rules(
    journal: WriteJournal,
    items: list[ClaimedItem],
    now: datetime,
    settings: AppSettings,
    report: DispatchReport,
) -> list[ClaimedItem]:
    session = journal.session
    stale_before = now - timedelta(hours=settings.stale_limit_hours)
    runnable = []
    for item in items:
        if item.action_type != automations.SEND_SMS or item.uncertain:
            runnable.append(item)  # a lookup only records what happened: any hour
            continue
        if item.due_at < stale_before:
            _skip(journal, item, REASON_STALE, now)
            report.skipped += 1
            continue
        allowed = send_time(now, item.phone_e164, settings)
        if allowed > now:
            _set(session, item.id, status=QueueStatus.PENDING, due_at=allowed, reason=REASON_QUIET_HOURS,
                 claimed_by=None, claimed_at=None, lease_until=None)  # fmt: skip
            report.deferred += 1
            continue
        runnable.append(item)
    return runnable


# -- running -------------------------------------------------------------------------------------


def _set(session: Session, item_id: int, **values: Any) -> None:
    # On the session's connection: a plain UPDATE, without the ORM's session bookkeeping.
    session.connection().execute(update(QueueItem).where(QueueItem.id == item_id).values(**values))


def _skip(journal: WriteJournal, item: ClaimedItem, reason: str, now: datetime) -> None:
    _set(journal.session, item.id, status=QueueStatus.SKIPPED, reason=f"skipped: {reason}",
         finished_at=now)  # fmt: skip
    _log_skip(journal, item, reason)


def _log_skip(journal: WriteJournal, item: ClaimedItem, reason: str) -> None:
    """Signed now, written at the journal's flush with the transaction's other entries."""
    journal.log(
        activity.LogEntry(
            kind=ActivityKind.AUTOMATION_SKIPPED,
            summary=f"Automation step skipped: {reason}",
            actor=item.automation_name,
            contact_id=item.contact_id,
            contact_name=item.contact_name,
            automation_id=item.automation_id,
            details={"queue_item_id": item.id, "step": item.step_position, "due_at": item.due_at},
        )
    )


def retry_delay(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Capped exponential back-off with +-20 % jitter, so a provider outage is not hammered."""
    seconds = backoff_seconds(attempt, first=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS,
                              jitter=(0.8, 1.2), draw=(rng or random).random)  # fmt: skip
    return timedelta(seconds=seconds)


def _ask_again_delay(since_attempt: timedelta) -> timedelta:
    """A failed lookup is tried again after about as long as it has been uncertain
    (between the retry base and cap): roughly doubling, without a counter."""
    seconds = since_attempt.total_seconds()
    return timedelta(seconds=min(RETRY_CAP_SECONDS, max(RETRY_BASE_SECONDS, seconds)))


class QueueDispatcher:
    """Runs claimed items through the gateway (texts) or directly (tasks, waits).

    Each ``dispatch_due`` claims under its own id (``worker_id#n``), so a dispatch
    interrupted by an error never has its orphaned claims renewed by the next one."""

    def __init__(
        self,
        db: Database,
        gateway: OutboundGateway,
        *,
        settings: AppSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        worker_id: str | None = None,
        lease: timedelta = LEASE,
        claim_batch: int = CLAIM_BATCH,
        send_chunk: int = SEND_CHUNK,
        workers: int | None = None,
        inbox_check: Callable[[datetime], InboxFreshness] | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.settings = settings or AppSettings()
        self.clock = clock
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.claim_batch = claim_batch
        self.send_chunk = send_chunk
        self.workers = workers or (WORKERS_POSTGRES if db.is_postgres else 1)
        # Reads the inbox unless it was read after the texts fell due (DESIGN promise 10).
        self.inbox_check = inbox_check
        self._inbox_lock = threading.Lock()  # shared with the helper dispatchers: one read
        self._runs = 0
        self._claimer = self.worker_id
        self._lease_until: datetime | None = None
        self._held: set[int] = set()

    def dispatch_due(
        self, *, max_items: int | None = None, honour_pause: bool = True
    ) -> DispatchReport:
        """Claim and run due items batch by batch until none is due (or ``max_items``).

        With ``workers`` > 1 (PostgreSQL), that many dispatchers claim and run batches
        side by side, each with its own claims and lease, and their reports are added
        up. One's database wait is another's Python work, and a slow provider's
        answers are awaited in parallel."""
        report = DispatchReport()
        if honour_pause:
            with self.db.read() as session:
                if is_paused(session):
                    report.paused = True
                    return report
        release_held(self.db, clock=self.clock)  # holds a decision or a setting ended
        if self.workers == 1 or max_items is not None:
            return self._dispatch_batches(report, max_items)
        helpers = [self._helper(n) for n in range(1, self.workers)]
        outcomes: list[DispatchReport | BaseException] = []

        def work(helper: QueueDispatcher) -> None:
            try:
                outcomes.append(helper._dispatch_batches(DispatchReport(), None))
            except BaseException as exc:  # raised again below, in the caller's thread
                outcomes.append(exc)

        threads = [threading.Thread(target=work, args=(h,), daemon=True) for h in helpers]
        for thread in threads:
            thread.start()
        try:
            self._dispatch_batches(report, None)
        finally:
            for thread in threads:
                thread.join()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            report.add(outcome)
        return report

    def _helper(self, number: int) -> QueueDispatcher:
        helper = QueueDispatcher(
            self.db, self.gateway, settings=self.settings, clock=self.clock,
            worker_id=f"{self.worker_id}/{number}", lease=self.lease,
            claim_batch=self.claim_batch, send_chunk=self.send_chunk, workers=1,
            inbox_check=self.inbox_check,
        )  # fmt: skip
        helper._inbox_lock = self._inbox_lock
        return helper

    def _dispatch_batches(self, report: DispatchReport, max_items: int | None) -> DispatchReport:
        self._runs += 1
        self._claimer = f"{self.worker_id}#{self._runs}"
        while max_items is None or report.claimed < max_items:
            limit = self.claim_batch
            if max_items is not None:
                limit = min(limit, max_items - report.claimed)
            batch = DispatchReport()
            now = self.clock.now()
            items = claim_due(
                self.db, self._claimer, now, limit,
                settings=self.settings, clock=self.clock, report=batch, lease=self.lease,
            )  # fmt: skip
            self._lease_until, self._held = now + self.lease, {i.id for i in items}
            self.run_items(items, batch)
            report.add(batch)
            if batch.claimed == 0:
                break
        return report

    # -- the lease ---------------------------------------------------------------------------

    def _owns(self, item_id: int) -> bool:
        """Whether this dispatch still holds ``item_id``, with enough lease left for one
        more provider call (renewed here when it runs low)."""
        now = self.clock.now()
        left = (self._lease_until - now) if self._lease_until else timedelta(0)
        if left < self.lease * RENEW_FRACTION:
            self._renew(now)
        return item_id in self._held

    def _renew(self, now: datetime) -> None:
        """Extend the lease of every item this dispatch still holds, in one UPDATE, and learn
        which ones those are (an item taken over after a stall is no longer among them)."""
        until = now + self.lease
        mine = (QueueItem.claimed_by == self._claimer, QueueItem.status == QueueStatus.IN_FLIGHT)
        with self.db.write() as session:
            connection = session.connection()
            connection.execute(update(QueueItem).where(*mine).values(lease_until=until))
            self._held = set(connection.execute(select(QueueItem.id).where(*mine)).scalars())
        self._lease_until = until

    def _still_owned(self, session: Session, requests: list[SendRequest]) -> list[bool]:
        """The gateway's ``owned`` check: first in its record transaction, under row locks,
        so only the holder records a text (a reconciler skips locked rows)."""
        ids = [
            cast(AutomationOrigin, r.origin).queue_item_id or 0 for r in requests
        ]  # dispatch sends automation steps only
        connection = session.connection()
        held = set(
            connection.execute(
                select(QueueItem.id)
                .where(bulk.id_in(QueueItem.id, ids, connection.dialect.name),
                       QueueItem.claimed_by == self._claimer, QueueItem.status == QueueStatus.IN_FLIGHT)
                .with_for_update()
            ).scalars()
        )  # fmt: skip
        return [i in held for i in ids]

    def _finish(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Compare-and-set: update the items only while this dispatch still holds them."""
        _update_items(session, rows, self._claimer)

    # -- running items -----------------------------------------------------------------------

    def run_items(self, items: list[ClaimedItem], report: DispatchReport) -> None:
        """Run claimed items: lookups of texts that may have been sent, then texts in chunks
        through ``gateway.send_batch``, tasks and waits one by one. Only BaseException (a
        kill) escapes; its items stay ``in_flight`` until their lease expires."""
        texts = [i for i in items if not i.uncertain and i.step_exists
                 and i.action_type == automations.SEND_SMS]  # fmt: skip
        text_ids = {i.id for i in texts}
        for item in items:
            if not item.uncertain and item.id not in text_ids:
                self.run_item(item, report)
        for item in items:
            if item.uncertain:
                self._confirm(item, report)
        for chunk in bulk.chunks(texts, self.send_chunk):
            self._send(list(chunk), report)

    def run_item(self, item: ClaimedItem, report: DispatchReport) -> None:
        """Run one claimed item (see ``run_items``)."""
        if item.uncertain:
            self._confirm(item, report)
        elif item.step_exists and item.action_type == automations.SEND_SMS:
            self._send([item], report)
        elif not self._owns(item.id):
            report.taken_over += 1
        elif not item.step_exists:
            with self.db.write() as session:
                if self._claim_locked(session, item.id):
                    self._finish(
                        session,
                        [_row(item.id, QueueStatus.SKIPPED, REASON_STEP_REMOVED, self.clock)],
                    )
                    journal = WriteJournal(session, self.clock)
                    _log_skip(journal, item, REASON_STEP_REMOVED)
                    journal.flush()
            report.skipped += 1
        else:
            with self.db.write() as session:
                if self._claim_locked(session, item.id):
                    if item.action_type == automations.CREATE_TASK:
                        create_task_for_item(session, item, self.clock.now(), self.clock)
                    self._finish(session, [_row(item.id, QueueStatus.DONE, None, self.clock)])
            report.done += 1

    def _claim_locked(self, session: Session, item_id: int) -> bool:
        """Lock our item for this transaction; False if it is no longer ours."""
        return self._still_owned(session, [_request_for(item_id)])[0]

    def _request(self, item: ClaimedItem) -> SendRequest:
        origin = AutomationOrigin(
            automation_id=item.automation_id,
            automation_name=item.automation_name,
            step_id=item.step_id,
            step_position=item.step_position,
            queue_item_id=item.id,
        )
        return SendRequest(body=item.render(item.template), origin=origin,
                           contact_id=item.contact_id)  # fmt: skip

    def _send(self, items: list[ClaimedItem], report: DispatchReport) -> None:
        inbox = None
        if self.inbox_check is not None:
            with self._inbox_lock:  # the other worker's read counts if it was just now
                inbox = self.inbox_check(max(item.due_at for item in items))
        self._owns(items[0].id)  # renew first if the lease runs low (reading the inbox takes time)
        lost = [i for i in items if i.id not in self._held]
        report.taken_over += len(lost)
        items = [i for i in items if i.id in self._held]
        if not items:
            return
        attempts = {item.id: item.attempts + 1 for item in items}
        now = self.clock.now()

        def on_recorded(session: Session, texts: list[tuple[SendRequest, OutboundText]]) -> None:
            # Texts the consent rule stopped are finished here, in the record transaction;
            # the others move when the provider's answer is stored (one UPDATE each time).
            rows = [
                _settled_row(t, attempts, now)
                for _, t in texts
                if t.status != MessageStatus.SENDING
            ]
            self._finish(session, rows)

        def on_finished(session: Session, texts: list[tuple[SendRequest, OutboundText]]) -> None:
            finished = self.clock.now()
            self._finish(session, [_settled_row(t, attempts, finished) for _, t in texts])

        results = self.gateway.send_batch(
            [self._request(item) for item in items],
            on_recorded=on_recorded,
            on_finished=on_finished,
            owned=self._still_owned,
            before_call=lambda text: self._owns(text.item_id),
            inbox=inbox,
        )
        for item, result in zip(items, results, strict=True):
            self._count(item, result, attempts[item.id], report)

    def _count(
        self, item: ClaimedItem, result: object, attempt: int, report: DispatchReport
    ) -> None:
        if isinstance(result, NotOwned):
            report.taken_over += 1
        elif isinstance(result, Exception):  # e.g. a template that renders empty
            with self.db.write() as session:
                self._finish(session, [_row(item.id, QueueStatus.FAILED, str(result), self.clock)])
            report.failed += 1
        elif not isinstance(result, SendOutcome):
            raise TypeError(result)
        elif result.status == MessageStatus.SENT:
            report.sent += 1
        elif result.status == MessageStatus.SUPPRESSED:
            report.skipped += 1
        elif result.status == MessageStatus.HELD:
            report.held += 1
        elif result.status == MessageStatus.UNKNOWN:
            report.checking += 1
        elif result.retryable and attempt < MAX_SEND_ATTEMPTS:
            report.retrying += 1
        else:
            report.failed += 1

    # -- a send that may have happened ------------------------------------------------------

    def _confirm(self, item: ClaimedItem, report: DispatchReport) -> None:
        """Ask Twilio whether an uncertain text went out and move the item accordingly:
        found -> sent; not there -> due again now (sent on the next claim); the lookup
        fails -> asked again later, or put up for review after ``LOOKUP_GIVE_UP``."""
        if not self._owns(item.id):
            report.taken_over += 1
            return
        assert item.outbound_message_id is not None

        def on_settled(session: Session, text: OutboundText) -> None:
            values = _looked_up_values(text, item.attempts, self.clock.now())
            self._finish(session, [{"item_id": item.id, **values}])

        try:
            outcome = self.gateway.confirm_uncertain(
                item.outbound_message_id, on_settled=on_settled
            )
        except ProviderError as error:
            to_review = self._ask_again_later(item, error)
            report.review += to_review
            report.checking += 1 - to_review
            return
        if outcome.status == MessageStatus.SENT:
            report.sent += 1
        elif outcome.status == MessageStatus.FAILED and item.attempts < MAX_SEND_ATTEMPTS:
            report.retrying += 1

    def _ask_again_later(self, item: ClaimedItem, error: ProviderError) -> int:
        """Back to pending for another lookup (1 if it went to review instead)."""
        now = self.clock.now()
        since = now - (item.outbound_created_at or now)
        if since > LOOKUP_GIVE_UP:
            row = _row(item.id, QueueStatus.REVIEW, REASON_REVIEW, self.clock)
        else:
            row = _pending_row(item.id, now + _ask_again_delay(since),
                               REASON_ASK_AGAIN.format(why=error.reason))  # fmt: skip
        with self.db.write() as session:
            self._finish(session, [row])
        return 1 if row["status"] == QueueStatus.REVIEW else 0


def _request_for(item_id: int) -> SendRequest:
    """A stand-in request naming only the queue item (for the ownership check)."""
    return SendRequest("", AutomationOrigin(0, "", 0, 0, queue_item_id=item_id))


def _row(item_id: int, status: str, reason: str | None, clock: Clock) -> dict[str, Any]:
    return {"item_id": item_id, "status": status, "reason": reason, "finished_at": clock.now()}


def _pending_row(item_id: int, due: datetime, reason: str) -> dict[str, Any]:
    """Back to ``pending``, due at ``due``, released by this dispatch."""
    return {"item_id": item_id, "status": QueueStatus.PENDING, "due_at": due, "reason": reason,
            "claimed_by": None, "lease_until": None, "finished_at": None}  # fmt: skip


def _settled_row(text: OutboundText, attempts: dict[int, int], now: datetime) -> dict[str, Any]:
    """The item's update for a settled text: its outcome, the record and the attempt."""
    item_id = text.item_id
    return {"item_id": item_id, "outbound_message_id": text.id, "attempts": attempts[item_id],
            **_settled_values(text, attempts[item_id], now)}  # fmt: skip


def _settled_values(text: OutboundText, attempt: int, now: datetime) -> dict[str, Any]:
    """Queue columns once the provider answered (or a consent re-check blocked the text)."""
    if text.status == MessageStatus.UNKNOWN:  # may have been sent: look it up before anything else
        why = (text.error_message or "no clear answer").split(", so ")[0]
        return _pending_row(text.item_id, now + LOOKUP_DELAY,
                            REASON_CHECKING.format(why=why))  # fmt: skip
    if (
        text.status == MessageStatus.FAILED
        and text.failure_kind is FailureKind.TEMPORARY
        and attempt < MAX_SEND_ATTEMPTS
    ):  # Twilio certainly never took it: retry after a back-off, decided in this transaction
        return _pending_row(text.item_id, now + retry_delay(attempt),
                            f"will retry (attempt {attempt} failed: {text.error_message})")  # fmt: skip
    return _finished_values(text, now)


def _looked_up_values(text: OutboundText, attempts: int, now: datetime) -> dict[str, Any]:
    """Queue columns once a lookup settled an uncertain text."""
    if text.status == MessageStatus.FAILED and attempts < MAX_SEND_ATTEMPTS:
        # Not at Twilio: due again at once (its due time stays: the lookup is no reason to
        # call it a missed send window), sent on the next claim under the usual rules.
        return {"status": QueueStatus.PENDING, "reason": REASON_NOT_AT_PROVIDER,
                "claimed_by": None, "lease_until": None}  # fmt: skip
    return _finished_values(text, now)


def _update_items(session: Session, rows: list[dict[str, Any]], holder: str) -> None:
    """Compare-and-set UPDATEs of queue rows by ``item_id``, only while ``holder`` holds
    them in flight; one statement per set of columns (see ``store.bulk``)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        changed = bulk.update_rows(session.connection(), _ITEMS, group, key="item_id",
                                   only_where={"claimed_by": holder, "status": QueueStatus.IN_FLIGHT})  # fmt: skip
        if len(changed) < len(group):
            log.warning("%d queue item(s) were taken over meanwhile; their new state stands",
                        len(group) - len(changed))  # fmt: skip


_ITEMS = QueueItem.__table__


def create_task_for_item(session: Session, item: ClaimedItem, now: datetime, clock: Clock) -> None:
    """Insert the step's task once (the unique queue_item_id makes a replay a no-op)."""
    if session.scalar(select(Task.id).where(Task.queue_item_id == item.id)) is not None:
        return
    title = item.render(item.task_title)[:200] or item.task_title
    session.add(
        Task(
            contact_id=item.contact_id,
            title=title,
            due_at=now,
            automation_id=item.automation_id,
            queue_item_id=item.id,
            created_at=now,
        )
    )
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.TASK_CREATED,
            summary=f"Task created by automation '{item.automation_name}': {title}",
            actor=item.automation_name,
            contact_id=item.contact_id,
            contact_name=item.contact_name,
            automation_id=item.automation_id,
            details={"queue_item_id": item.id, "title": title},
        ),
        clock=clock,
    )


def _finished_values(message: Any, now: datetime) -> dict[str, Any]:
    """Queue item columns that mirror a finished outbound message (a record or a text)."""
    if message.status == MessageStatus.SENT:
        return {"status": QueueStatus.SENT, "reason": None, "finished_at": now}
    if message.status == MessageStatus.HELD:
        return {"status": QueueStatus.HELD, "reason": message.error_message, "claimed_by": None,
                "claimed_at": None, "lease_until": None}  # fmt: skip
    if message.status == MessageStatus.SUPPRESSED:
        reason = message.error_message or "contact opted out of SMS"
        if not reason.startswith("skipped"):
            reason = f"skipped: {reason}"
        return {"status": QueueStatus.SKIPPED, "reason": reason, "finished_at": now}
    return {
        "status": QueueStatus.FAILED,
        "reason": message.error_message or "not sent",
        "finished_at": now,
    }


# -- holds ---------------------------------------------------------------------------------------


_HELD_ITEMS = (
    select(QueueItem.id, QueueItem.contact_id, Contact.phone_e164, Automation.name,
           QueueItem.automation_id, QueueItem.step_position, QueueItem.due_at,
           Contact.first_name, Contact.last_name, Automation.purpose)
    .join(Contact, Contact.id == QueueItem.contact_id)
    .join(Automation, Automation.id == QueueItem.automation_id)
    .where(QueueItem.status == QueueStatus.HELD)
)  # fmt: skip


def release_held(db: Database, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """Every dispatch cycle: held texts whose hold ended (a decision, the setting turned
    off, a changed number) go back to the queue. Returns how many moved."""
    with db.read() as session:
        if (
            session.scalar(
                select(QueueItem.id).where(QueueItem.status == QueueStatus.HELD).limit(1)
            )
            is None
        ):
            return 0
    with db.write() as session:
        return release_held_in(session, clock=clock)


def release_held_in(
    session: Session, *, clock: Clock = SYSTEM_CLOCK, numbers: Iterable[str] | None = None
) -> int:
    """Re-ask the consent state for held texts (only to ``numbers`` when given, e.g. the
    sender of a reply just decided), in the caller's transaction. Released texts become
    pending with their due time kept, so the stale limit still applies; texts the rule
    would now skip are skipped with its reason and logged. Returns how many moved."""
    query = _HELD_ITEMS
    if numbers is not None:
        query = query.where(Contact.phone_e164.in_(sorted(set(numbers))))
    rows = session.execute(query).all()
    states = consent.consent_states(session, [(r.contact_id, r.phone_e164) for r in rows],
                                    purposes=[r.purpose for r in rows])  # fmt: skip
    now, moved = clock.now(), 0
    journal = WriteJournal.open(session, clock)
    for row, state in zip(rows, states, strict=True):
        if state.automation is consent.AutomationAnswer.WAIT:
            continue
        moved += 1
        if state.automation_allowed:
            _set(session, row.id, status=QueueStatus.PENDING, reason=None)
            continue
        item = SimpleNamespace(id=row.id, automation_name=row.name, contact_id=row.contact_id,
                               contact_name=f"{row.first_name} {row.last_name}".strip(),
                               automation_id=row.automation_id, step_position=row.step_position,
                               due_at=row.due_at)  # fmt: skip
        _skip(journal, item, state.reason, now)  # type: ignore[arg-type]  # a ClaimedItem's fields
    journal.flush()
    return moved


# -- crash recovery --------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    finished: int = 0
    returned_to_pending: int = 0
    to_look_up: int = 0
    review: int = 0

    @property
    def touched(self) -> int:
        return self.finished + self.returned_to_pending + self.to_look_up + self.review

    def describe(self) -> str:
        return (
            f"after an interruption: {self.finished} finished from records, "
            f"{self.returned_to_pending} never sent (queued again), "
            f"{self.to_look_up} to look up at Twilio (may have been sent)"
        )


def reconcile_in_flight(
    db: Database, *, clock: Clock = SYSTEM_CLOCK, skew: timedelta = CLOCK_SKEW
) -> ReconcileReport:
    """Resolve items whose lease expired (more than ``skew`` ago): their holder died.

    - tasks and waits: finished (creating the task is idempotent);
    - no outbound record: never handed to the gateway, back to ``pending``, due
      when its lease ran out at the earliest (so recovery never makes it stale);
    - outbound record finished (sent/failed/suppressed): its outcome is copied;
    - outbound record with a provider SID: Twilio took it, ``sent``;
    - outbound record ``sending``/``unknown`` without a SID: Twilio may have it;
      the record becomes ``unknown`` and the item waits for a lookup.
    Runs every runner cycle; cheap when nothing expired (one indexed query).
    """
    now = clock.now()
    expired = (QueueItem.status == QueueStatus.IN_FLIGHT, QueueItem.lease_until < now - skew)
    report = ReconcileReport()
    with db.read() as session:
        if session.scalar(select(QueueItem.id).where(*expired).limit(1)) is None:
            return report
    with db.write() as session:
        activity.lock_chain(session)  # before the row locks: see activity.lock_chain
        stuck = list(
            session.scalars(select(QueueItem).where(*expired).with_for_update(skip_locked=True))
        )
        for item in stuck:
            _reconcile_one(session, item, now, clock, report)
    if report.touched:
        log.info("reconciled expired claims: %s", report.describe())
    return report


def _reconcile_one(
    session: Session, item: QueueItem, now: datetime, clock: Clock, report: ReconcileReport
) -> None:
    if item.action_type != automations.SEND_SMS:
        _reconcile_non_text(session, item, now, clock)
        report.finished += 1
        return
    message = _outbound_for(session, item)
    if message is None:
        lease_ran_out = item.lease_until or now
        item.status, item.claimed_by, item.lease_until = QueueStatus.PENDING, None, None
        item.due_at = max(item.due_at, lease_ran_out)
        item.reason = REASON_REQUEUED
        report.returned_to_pending += 1
        return
    if item.outbound_message_id != message.id:  # recorded, never settled: count the attempt
        item.outbound_message_id, item.attempts = message.id, item.attempts + 1
    if message.status in (MessageStatus.SENDING, MessageStatus.UNKNOWN) and message.provider_sid:
        message.status, message.sent_at, message.updated_at = MessageStatus.SENT, now, now
    if message.status in (MessageStatus.SENDING, MessageStatus.UNKNOWN):
        message.status, message.updated_at = MessageStatus.UNKNOWN, now
        message.error_message = message.error_message or INTERRUPTED
        item.status, item.claimed_by, item.lease_until = QueueStatus.PENDING, None, None
        item.due_at = message.created_at + LOOKUP_DELAY
        item.reason = REASON_CHECKING.format(why="interrupted while sending")
        report.to_look_up += 1
        return
    for key, value in _finished_values(message, now).items():
        setattr(item, key, value)
    report.finished += 1


def _reconcile_non_text(session: Session, item: QueueItem, now: datetime, clock: Clock) -> None:
    if item.action_type == automations.CREATE_TASK:
        claimed = _load_claimed(session, [item.id])
        if claimed:
            create_task_for_item(session, claimed[0], now, clock)
    item.status, item.finished_at = QueueStatus.DONE, now


def _outbound_for(session: Session, item: QueueItem) -> OutboundMessage | None:
    """The outbound record made under the interrupted claim, if the gateway got that far:
    the newest one for this item created since it was claimed (an older one belongs to
    an earlier attempt that was already settled)."""
    query = select(OutboundMessage).where(OutboundMessage.queue_item_id == item.id)
    if item.claimed_at is not None:
        query = query.where(OutboundMessage.created_at >= item.claimed_at)
    return session.scalar(query.order_by(OutboundMessage.id.desc()).limit(1))


# -- the queue view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    id: int
    automation_id: int
    automation_name: str
    contact_id: int
    contact_name: str
    step_position: int
    action_type: str
    due_at: datetime
    status: str
    reason: str
    finished_at: datetime | None
    attempts: int
    consent: consent.ConsentState | None = None  # for texts still to run

    @property
    def action_label(self) -> str:
        return automations.ACTION_LABELS.get(self.action_type, self.action_type)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def list_queue(
    session: Session,
    *,
    automation_id: int | None = None,
    statuses: Iterable[str] | None = None,
    limit: int = 500,
) -> list[QueueRow]:
    """Queue items newest-due first (upcoming ones soonest first), as plain rows."""
    statuses = list(statuses or [])
    query = (
        select(
            QueueItem,
            Automation.name,
            Contact.first_name,
            Contact.last_name,
            Contact.phone_e164,
            Automation.purpose,
        )
        .join(Automation, Automation.id == QueueItem.automation_id)
        .join(Contact, Contact.id == QueueItem.contact_id)
    )
    if automation_id is not None:
        query = query.where(QueueItem.automation_id == automation_id)
    if statuses:
        query = query.where(QueueItem.status.in_(statuses))
    upcoming_only = statuses and set(statuses) <= {QueueStatus.PENDING, QueueStatus.IN_FLIGHT}
    order = QueueItem.due_at.asc() if upcoming_only else QueueItem.due_at.desc()
    rows = session.execute(query.order_by(order, QueueItem.id).limit(limit)).all()
    upcoming = [r for r in rows if _to_run(r[0])]
    states = dict(zip((r[0].id for r in upcoming), consent.consent_states(
        session, [(r[0].contact_id, r[4]) for r in upcoming],
        purposes=[r[5] for r in upcoming]), strict=True))  # fmt: skip
    return [
        QueueRow(
            id=q.id,
            automation_id=q.automation_id,
            automation_name=name,
            contact_id=q.contact_id,
            contact_name=f"{first} {last}".strip(),
            step_position=q.step_position,
            action_type=q.action_type,
            due_at=q.due_at,
            status=q.status,
            reason=_upcoming_reason(q.reason or "", states.get(q.id)),
            finished_at=q.finished_at,
            attempts=q.attempts,
            consent=states.get(q.id),
        )
        for q, name, first, last, _phone, _purpose in rows
    ]


def _to_run(item: QueueItem) -> bool:
    return item.action_type == automations.SEND_SMS and item.status in (
        QueueStatus.PENDING,
        QueueStatus.IN_FLIGHT,
        QueueStatus.HELD,
    )


def _upcoming_reason(stored: str, state: consent.ConsentState | None) -> str:
    """What will happen to a text still to run, from the one consent state: 'will be
    skipped: contact opted out of SMS' says more than 'waiting for quiet hours'."""
    if state is None or state.automation_allowed:
        return stored
    if state.automation is consent.AutomationAnswer.WAIT:
        return f"held: {state.reason}"
    return f"will be skipped: {state.reason}"


def count_by_status(session: Session, *, automation_id: int | None = None) -> dict[str, int]:
    """Items per status in the whole queue, or in one automation's part of it."""
    query = select(QueueItem.status, func.count()).group_by(QueueItem.status)
    if automation_id is not None:
        query = query.where(QueueItem.automation_id == automation_id)
    return dict(session.execute(query).all())


__all__ = [
    "LEASE",
    "ClaimedItem",
    "DispatchReport",
    "QueueDispatcher",
    "QueueRow",
    "ReconcileReport",
    "claim_due",
    "count_by_status",
    "is_paused",
    "list_queue",
    "next_allowed_send_time",
    "reconcile_in_flight",
    "recipient_timezone",
    "retry_delay",
    "set_paused",
]
