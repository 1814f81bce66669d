"""The Auto Queue dispatch: claim due items, run them, reconcile after a crash.

Qt-free. The flow for one cycle (``dispatch_due``):

1. ``claim_due`` takes a batch of due ``pending`` items of enabled automations
   and marks them ``in_flight`` in ONE transaction (PostgreSQL: ``FOR UPDATE
   SKIP LOCKED``, so two processes never claim the same item; SQLite: the
   ``BEGIN IMMEDIATE`` write lock serialises claimers). In the same
   transaction, texts past the stale limit are skipped ("missed send window")
   and texts outside quiet hours in the recipient's time zone go back to
   ``pending`` with a later due time.
2. Each claimed item runs. A text goes through ``OutboundGateway.send`` with
   an ``AutomationOrigin``: the gateway asks ``consent.may_automation_text``
   in the transaction that records the message, before the provider is
   called. This module adds no second rule; it only follows the outcome via
   the gateway's hooks (suppressed -> ``skipped``, sent -> ``sent``, failed ->
   ``failed`` or re-queued with back-off when the failure is temporary).
3. ``reconcile_in_flight`` runs when a runner starts: an item left
   ``in_flight`` by a crash is finished from the outbound record or the
   provider's record, returned to ``pending`` only when provably never sent,
   and otherwise put up for ``review``. It is never re-sent blindly.
"""

from __future__ import annotations

import logging
import random
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import phonenumbers
from phonenumbers import timezone as phone_timezone
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, automations, consent
from trustpager_desktop.core.activity import Kind
from trustpager_desktop.core.automation_pause import automations_paused as is_paused
from trustpager_desktop.core.automation_pause import set_paused
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.gateway import (
    AutomationOrigin,
    OutboundGateway,
    OutboundText,
    SendRequest,
    Status,
)
from trustpager_desktop.core.inbox_state import InboxFreshness
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.providers.base import SmsProvider
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

PENDING, IN_FLIGHT, SENT, DONE = "pending", "in_flight", "sent", "done"
SKIPPED, FAILED, REVIEW = "skipped", "failed", "review"
HELD = "held"  # the consent rule holds the text: a reply waits for review; not claimed
STATUSES = (PENDING, IN_FLIGHT, HELD, SENT, DONE, SKIPPED, FAILED, REVIEW)
STATUS_LABELS = {
    PENDING: "Upcoming",
    IN_FLIGHT: "Sending",
    HELD: "Held",
    SENT: "Sent",
    DONE: "Done",
    SKIPPED: "Skipped",
    FAILED: "Failed",
    REVIEW: "Needs review",
}

REASON_QUIET_HOURS = "waiting for quiet hours to end"
REASON_STALE = "missed send window"
REASON_REVIEW = "send outcome unknown after a crash: check before resending"
REASON_STEP_REMOVED = "the step was removed from the automation"
MAX_SEND_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 30 * 60
CLAIM_BATCH = 200
# Texts per gateway batch: one record transaction, the provider calls, one finish transaction.
# A kill during a chunk can leave at most this many texts "sending" for review.
SEND_CHUNK = 50
# A claim older than this is presumed abandoned by a dead process (longer than any provider call).
IN_FLIGHT_GRACE = timedelta(minutes=2)


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
    try:
        zoneinfo.ZoneInfo(zones[0])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return fallback
    return zones[0]


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
    for length in range(1, min(len(digits), phone_timezone.TIMEZONE_LONGEST_PREFIX) + 1):
        listed = phone_timezone.TIMEZONE_DATA.get(digits[:length], ())
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
    held: int = 0
    paused: bool = False
    reasons: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "sent", "skipped", "failed", "retrying", "done", "deferred",
                     "held"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.review += other.review

    def describe(self) -> str:
        if self.paused:
            return "Automations are paused; nothing was run."
        return (
            f"{self.claimed} due item(s): {self.sent} sent, {self.skipped} skipped, "
            f"{self.failed} failed, {self.done} done, {self.retrying} to retry, "
            f"{self.deferred} waiting for quiet hours"
            + (f", {self.held} held (reply waiting for review)" if self.held else "")
        )


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
) -> list[ClaimedItem]:
    """Atomically claim up to ``limit`` due pending items; they become ``in_flight``.

    Texts past the stale limit are skipped and texts outside quiet hours are
    deferred in the same transaction; those are not returned.
    """
    settings = settings or AppSettings()
    report = report if report is not None else DispatchReport()
    with db.write() as session:
        ids = list(
            session.scalars(
                select(QueueItem.id)
                .join(Automation, Automation.id == QueueItem.automation_id)
                .where(
                    QueueItem.status == PENDING,
                    QueueItem.due_at <= now,
                    Automation.enabled.is_(True),
                )
                .order_by(QueueItem.due_at, QueueItem.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=QueueItem)
            )
        )
        if not ids:
            return []
        session.execute(
            update(QueueItem)
            .where(QueueItem.id.in_(ids))
            .values(status=IN_FLIGHT, claimed_by=worker_id, claimed_at=now, reason=None)
        )
        items = _load_claimed(session, ids)
        report.claimed += len(items)
        return _apply_time_rules(session, items, now, settings, clock, report)


def _load_claimed(session: Session, ids: list[int]) -> list[ClaimedItem]:
    rows = session.execute(
        select(*_CLAIM_COLUMNS)
        .join(Automation, Automation.id == QueueItem.automation_id)
        .join(Contact, Contact.id == QueueItem.contact_id)
        .outerjoin(AutomationStep, AutomationStep.id == QueueItem.step_id)
        .where(QueueItem.id.in_(ids))
        .order_by(QueueItem.due_at, QueueItem.id)
    ).all()
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
        )
        for r in rows
    ]


def _apply_time_rules(
    session: Session,
    items: list[ClaimedItem],
    now: datetime,
    settings: AppSettings,
    clock: Clock,
    report: DispatchReport,
) -> list[ClaimedItem]:
    stale_before = now - timedelta(hours=settings.stale_limit_hours)
    runnable = []
    for item in items:
        if item.action_type != automations.SEND_SMS:
            runnable.append(item)
            continue
        if item.due_at < stale_before:
            _skip(session, item, REASON_STALE, now, clock)
            report.skipped += 1
            continue
        allowed = send_time(now, item.phone_e164, settings)
        if allowed > now:
            _set(session, item.id, status=PENDING, due_at=allowed, reason=REASON_QUIET_HOURS,
                 claimed_by=None, claimed_at=None)  # fmt: skip
            report.deferred += 1
            continue
        runnable.append(item)
    return runnable


# -- running -------------------------------------------------------------------------------------


def _set(session: Session, item_id: int, **values: Any) -> None:
    # On the session's connection: a plain UPDATE, without the ORM's session bookkeeping.
    session.connection().execute(update(QueueItem).where(QueueItem.id == item_id).values(**values))


def _skip(session: Session, item: ClaimedItem, reason: str, now: datetime, clock: Clock) -> None:
    _set(session, item.id, status=SKIPPED, reason=f"skipped: {reason}", finished_at=now)
    activity.append(
        session,
        kind=Kind.AUTOMATION_SKIPPED,
        summary=f"Automation step skipped: {reason}",
        actor=item.automation_name,
        contact_id=item.contact_id,
        contact_name=item.contact_name,
        automation_id=item.automation_id,
        details={"queue_item_id": item.id, "step": item.step_position, "due_at": item.due_at},
        clock=clock,
    )


def retry_delay(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Capped exponential back-off with +-20 % jitter, so a provider outage is not hammered."""
    base = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=min(RETRY_CAP_SECONDS, base * jitter))


class QueueDispatcher:
    """Runs claimed items through the gateway (texts) or directly (tasks, waits)."""

    def __init__(
        self,
        db: Database,
        gateway: OutboundGateway,
        *,
        settings: AppSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        worker_id: str = "worker",
        inbox_check: Callable[[datetime], InboxFreshness] | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.settings = settings or AppSettings()
        self.clock = clock
        self.worker_id = worker_id
        # Reads the inbox unless it was read after the texts fell due (DESIGN promise 10).
        self.inbox_check = inbox_check

    def dispatch_due(
        self, *, max_items: int | None = None, honour_pause: bool = True
    ) -> DispatchReport:
        """Claim and run due items batch by batch until none is due (or ``max_items``)."""
        report = DispatchReport()
        if honour_pause:
            with self.db.read() as session:
                if is_paused(session):
                    report.paused = True
                    return report
        release_held(self.db, clock=self.clock)  # holds a decision or a setting ended
        while max_items is None or report.claimed < max_items:
            limit = (
                CLAIM_BATCH if max_items is None else min(CLAIM_BATCH, max_items - report.claimed)
            )
            batch = DispatchReport()
            items = claim_due(
                self.db, self.worker_id, self.clock.now(), limit,
                settings=self.settings, clock=self.clock, report=batch,
            )  # fmt: skip
            self.run_items(items, batch)
            report.add(batch)
            if batch.claimed == 0:
                break
        return report

    def run_items(self, items: list[ClaimedItem], report: DispatchReport) -> None:
        """Run claimed items: texts in chunks through ``gateway.send_batch``, the rest one by
        one. Only BaseException (a kill) escapes; its items stay ``in_flight`` for
        ``reconcile_in_flight``."""
        texts = [i for i in items if i.step_exists and i.action_type == automations.SEND_SMS]
        text_ids = {i.id for i in texts}
        for item in items:
            if item.id not in text_ids:
                self.run_item(item, report)
        for start in range(0, len(texts), SEND_CHUNK):
            self._send(texts[start : start + SEND_CHUNK], report)

    def run_item(self, item: ClaimedItem, report: DispatchReport) -> None:
        """Run one claimed item (see ``run_items``)."""
        if not item.step_exists:
            with self.db.write() as session:
                _skip(session, item, REASON_STEP_REMOVED, self.clock.now(), self.clock)
            report.skipped += 1
        elif item.action_type == automations.SEND_SMS:
            self._send([item], report)
        elif item.action_type == automations.CREATE_TASK:
            self._create_task(item)
            report.done += 1
        else:
            with self.db.write() as session:
                _set(session, item.id, status=DONE, finished_at=self.clock.now())
            report.done += 1

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
        attempts = {item.id: item.attempts + 1 for item in items}
        now = self.clock.now()

        def on_recorded(session: Session, texts: list[tuple[SendRequest, OutboundText]]) -> None:
            # The queue rows move in the gateway's record transaction, in one statement.
            _update_items(session, [_recorded_values(t, attempts, now) for _, t in texts])

        def on_finished(session: Session, texts: list[tuple[SendRequest, OutboundText]]) -> None:
            finished = self.clock.now()
            _update_items(session, [{"item_id": t.queue_item_id, **_finished_values(t, finished)}
                                    for _, t in texts])  # fmt: skip

        requests = [self._request(item) for item in items]
        due = max(item.due_at for item in items)
        inbox = self.inbox_check(due) if self.inbox_check is not None else None
        results = self.gateway.send_batch(requests, on_recorded=on_recorded,
                                          on_finished=on_finished, inbox=inbox)  # fmt: skip
        for item, result in zip(items, results, strict=True):
            if isinstance(result, Exception):  # e.g. a template that renders empty
                with self.db.write() as session:
                    _set(session, item.id, status=FAILED, reason=str(result),
                         finished_at=self.clock.now())  # fmt: skip
                report.failed += 1
            elif result.status == Status.SENT:
                report.sent += 1
            elif result.status == Status.SUPPRESSED:
                report.skipped += 1
            elif result.status == Status.HELD:
                report.held += 1
            elif result.retryable and item.attempts + 1 < MAX_SEND_ATTEMPTS:
                self._requeue(item, item.attempts + 1, result.reason)
                report.retrying += 1
            else:
                report.failed += 1

    def _requeue(self, item: ClaimedItem, attempt: int, reason: str) -> None:
        due = self.clock.now() + retry_delay(attempt)
        with self.db.write() as session:
            _set(session, item.id, status=PENDING, due_at=due, claimed_by=None, claimed_at=None,
                 finished_at=None, reason=f"will retry (attempt {attempt} failed: {reason})")  # fmt: skip

    def _create_task(self, item: ClaimedItem) -> None:
        now = self.clock.now()
        with self.db.write() as session:
            create_task_for_item(session, item, now, self.clock)
            _set(session, item.id, status=DONE, finished_at=now)


def _recorded_values(text: OutboundText, attempts: dict[int, int], now: datetime) -> dict:
    """Queue columns once the gateway recorded the text (skipped if consent said no)."""
    values = {"item_id": text.queue_item_id, "outbound_message_id": text.id,
              "attempts": attempts[text.queue_item_id]}  # fmt: skip
    if text.status == Status.SUPPRESSED:  # the gateway's consent rule said no
        values.update(status=SKIPPED, reason=text.error_message, finished_at=now)
    elif text.status == Status.HELD:  # the rule said wait: not claimed again until released
        values.update(status=HELD, reason=text.error_message, claimed_by=None, claimed_at=None)
    return values


def _update_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """Plain executemany UPDATEs of queue rows by ``item_id``: one per set of columns, since
    an executemany sets the same columns on every row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        session.connection().execute(_UPDATE_ITEM, group)


_UPDATE_ITEM = update(QueueItem.__table__).where(QueueItem.__table__.c.id == bindparam("item_id"))


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
        kind=Kind.TASK_CREATED,
        summary=f"Task created by automation '{item.automation_name}': {title}",
        actor=item.automation_name,
        contact_id=item.contact_id,
        contact_name=item.contact_name,
        automation_id=item.automation_id,
        details={"queue_item_id": item.id, "title": title},
        clock=clock,
    )


def _finished_values(message: OutboundMessage, now: datetime) -> dict[str, Any]:
    """Queue item columns that mirror a finished outbound message."""
    if message.status == Status.SENT:
        return {"status": SENT, "reason": None, "finished_at": now}
    if message.status == Status.HELD:
        return {"status": HELD, "reason": message.error_message, "claimed_by": None,
                "claimed_at": None}  # fmt: skip
    if message.status == Status.SUPPRESSED:
        reason = message.error_message or "contact opted out of SMS"
        if not reason.startswith("skipped"):
            reason = f"skipped: {reason}"
        return {"status": SKIPPED, "reason": reason, "finished_at": now}
    return {"status": FAILED, "reason": message.error_message or "not sent", "finished_at": now}


# -- holds ---------------------------------------------------------------------------------------


_HELD_ITEMS = (
    select(QueueItem.id, QueueItem.contact_id, Contact.phone_e164, Automation.name,
           QueueItem.automation_id, QueueItem.step_position, QueueItem.due_at,
           Contact.first_name, Contact.last_name)
    .join(Contact, Contact.id == QueueItem.contact_id)
    .join(Automation, Automation.id == QueueItem.automation_id)
    .where(QueueItem.status == HELD)
)  # fmt: skip


def release_held(db: Database, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """Every dispatch cycle: held texts whose hold ended (a decision, the setting turned
    off, a changed number) go back to the queue. Returns how many moved."""
    with db.read() as session:
        if session.scalar(select(QueueItem.id).where(QueueItem.status == HELD).limit(1)) is None:
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
    states = consent.consent_states(session, [(r.contact_id, r.phone_e164) for r in rows])
    now, moved = clock.now(), 0
    for row, state in zip(rows, states, strict=True):
        if state.automation is consent.AutomationAnswer.WAIT:
            continue
        moved += 1
        if state.automation_allowed:
            _set(session, row.id, status=PENDING, reason=None)
            continue
        item = SimpleNamespace(id=row.id, automation_name=row.name, contact_id=row.contact_id,
                               contact_name=f"{row.first_name} {row.last_name}".strip(),
                               automation_id=row.automation_id, step_position=row.step_position,
                               due_at=row.due_at)  # fmt: skip
        _skip(session, item, state.reason, now, clock)  # type: ignore[arg-type]
    return moved


# -- crash recovery --------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    finished: int = 0
    returned_to_pending: int = 0
    review: int = 0

    def describe(self) -> str:
        return (
            f"after a restart: {self.finished} finished from records, "
            f"{self.returned_to_pending} never sent (queued again), {self.review} need review"
        )


def reconcile_in_flight(
    db: Database,
    provider: SmsProvider,
    *,
    clock: Clock = SYSTEM_CLOCK,
    grace: timedelta = IN_FLIGHT_GRACE,
) -> ReconcileReport:
    """Resolve items left ``in_flight`` (claimed before ``now - grace``) by a dead process.

    - outbound message finished (sent/failed/suppressed): copy its outcome;
    - outbound message with a provider SID: ask the provider, then mark sent;
    - no outbound message at all: it was never handed to the provider, back to pending;
    - outbound still ``sending`` without a SID: the provider may or may not
      have it; ``review`` with a reason. Never re-sent automatically.
    Tasks and waits are idempotent and simply finished.
    """
    now = clock.now()
    report = ReconcileReport()
    with db.write() as session:
        stuck = list(
            session.scalars(
                select(QueueItem)
                .where(QueueItem.status == IN_FLIGHT, QueueItem.claimed_at < now - grace)
                .with_for_update(skip_locked=True)
            )
        )
        for item in stuck:
            _reconcile_one(session, item, provider, now, clock, report)
    return report


def _reconcile_one(
    session: Session,
    item: QueueItem,
    provider: SmsProvider,
    now: datetime,
    clock: Clock,
    report: ReconcileReport,
) -> None:
    if item.action_type != automations.SEND_SMS:
        _reconcile_non_text(session, item, now, clock)
        report.finished += 1
        return
    message = _outbound_for(session, item)
    if message is None:
        item.status, item.claimed_by, item.claimed_at = PENDING, None, None
        item.reason = "queued again: the send never started before the interruption"
        report.returned_to_pending += 1
        return
    item.outbound_message_id = message.id
    if message.status == Status.SENDING and message.provider_sid:
        status = _safe_fetch(provider, message.provider_sid)
        if status is not None:
            message.status, message.sent_at, message.updated_at = Status.SENT, now, now
    if message.status != Status.SENDING:
        for key, value in _finished_values(message, now).items():
            setattr(item, key, value)
        report.finished += 1
        return
    item.status, item.reason, item.finished_at = REVIEW, REASON_REVIEW, now
    report.review += 1


def _reconcile_non_text(session: Session, item: QueueItem, now: datetime, clock: Clock) -> None:
    if item.action_type == automations.CREATE_TASK:
        claimed = _load_claimed(session, [item.id])
        if claimed:
            create_task_for_item(session, claimed[0], now, clock)
    item.status, item.finished_at = DONE, now


def _outbound_for(session: Session, item: QueueItem) -> OutboundMessage | None:
    if item.outbound_message_id is not None:
        found = session.get(OutboundMessage, item.outbound_message_id)
        if found is not None:
            return found
    return session.scalar(
        select(OutboundMessage)
        .where(OutboundMessage.queue_item_id == item.id)
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )


def _safe_fetch(provider: SmsProvider, sid: str) -> str | None:
    try:
        return provider.fetch_status(sid)
    except Exception:  # the provider is unreachable: leave it for review rather than guess
        log.warning("could not fetch status of %s while reconciling", sid, exc_info=True)
        return None


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
        )
        .join(Automation, Automation.id == QueueItem.automation_id)
        .join(Contact, Contact.id == QueueItem.contact_id)
    )
    if automation_id is not None:
        query = query.where(QueueItem.automation_id == automation_id)
    if statuses:
        query = query.where(QueueItem.status.in_(statuses))
    upcoming_only = statuses and set(statuses) <= {PENDING, IN_FLIGHT}
    order = QueueItem.due_at.asc() if upcoming_only else QueueItem.due_at.desc()
    rows = session.execute(query.order_by(order, QueueItem.id).limit(limit)).all()
    upcoming = [r for r in rows if _to_run(r[0])]
    states = dict(zip((r[0].id for r in upcoming), consent.consent_states(
        session, [(r[0].contact_id, r[4]) for r in upcoming]), strict=True))  # fmt: skip
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
        for q, name, first, last, _phone in rows
    ]


def _to_run(item: QueueItem) -> bool:
    return item.action_type == automations.SEND_SMS and item.status in (PENDING, IN_FLIGHT, HELD)


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
