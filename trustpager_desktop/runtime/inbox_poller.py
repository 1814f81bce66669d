"""The inbox poller: read the provider's message list, store replies, act on them.

A desktop has no public address for Twilio webhooks, so the account's messages are
listed every ``poll_interval_seconds`` (default 30 s). What one read lists (an
incremental page since the last read, or a full look-back sweep) is decided in
``core.inbox_read``; storing de-duplicates by message SID, so overlaps cost nothing.

One poller per database: desktops and agents sharing a database elect one with a
lease in the database (``core.inbox_state``). The scheduler ticks every half
interval; each tick the holder renews the lease (it expires one interval after the
last renewal), and a process whose lease has expired is replaced at the next tick
of any other, so a stopped or killed poller is taken over within 1.5 intervals. The
others only show who reads the inbox ("Inbox checked by OFFICE-PC (agent) 12 s
ago"). Dispatch stays shared; before it sends texts it reads the inbox itself unless
the last read (by anyone) started after the texts fell due and is at most a few
seconds old (``DispatchInboxCheck``, DESIGN promise 10), through the same read and
the same de-duplication.

One cycle of the holder: if the last read is at least 0.75 interval old, read ->
``core.inbox.process_pending``. Processing runs even when reading failed, so
messages stored before a crash are still acted on.

Temporary trouble (429, 5xx, timeouts, refused connections) backs off, capped and
exponential with jitter, honouring Retry-After, and never stops the poller. The job
never touches a widget: the window registers a listener and turns it into a Qt
signal (``ui.inbox_bridge``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from trustpager_desktop.core import inbox, inbox_state
from trustpager_desktop.core.backoff import backoff_seconds
from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.inbox import OptOutNotice, ProcessResult, StoreResult
from trustpager_desktop.core.inbox_read import (
    ReadResult,
    choose_sweep_numbers,
    plan_read,
    read_inbox,
)
from trustpager_desktop.core.inbox_state import InboxFreshness, Lease
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.providers.base import FailureKind, ProviderError, SmsProvider
from trustpager_desktop.runtime.jobs import BackgroundJob, JobReport, new_worker_id, process_label
from trustpager_desktop.store.database import Database, DatabaseError

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices

log = logging.getLogger("trustpager.inbox")

JOB_ID = "inbox-poller"
BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0
DUE_FRACTION = 0.75  # a scheduled read is due once the last read is this many intervals old
DISPATCH_FRESH_SECONDS = 5.0  # dispatch reads the inbox first when the last read is older


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did: listed/stored counts, what processing did, the read itself."""

    fetched: int
    stored: StoreResult
    processed: ProcessResult
    fetch_error: str | None = None
    read: ReadResult | None = None


@dataclass(frozen=True)
class InboxStatus:
    """A snapshot for the status bar; all times aware UTC."""

    last_checked_at: datetime | None = None  # last time this process read the inbox
    last_error: str | None = None  # None after a good check
    next_try_at: datetime | None = None  # set while backing off
    consecutive_failures: int = 0
    last_result: CycleResult | None = None
    needs_review: int = 0
    provider_name: str = ""
    timezone_name: str = "UTC"
    # What the database says, for every desktop on it:
    as_of: datetime | None = None  # when this snapshot was taken
    read_at: datetime | None = None  # last complete read by anyone
    read_by: str = ""  # who did it, "" when it was this process
    poller: str = ""  # the process that polls on schedule, "" when it is this one
    poller_error: str | None = None  # what that process reports

    @property
    def opt_outs(self) -> list[OptOutNotice]:
        return list(self.last_result.processed.opt_outs) if self.last_result else []


def _clock_text(when: datetime, zone: str, seconds: bool = False) -> str:
    # The status bar's clock: the shared format, zone named when not the computer's.
    return format_time(when, zone, seconds=seconds, with_date=False)


def _ago(when: datetime, now: datetime, zone: str) -> str:
    """'12 s ago', '5 min ago', or 'at 10:04' when longer."""
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    return f"at {_clock_text(when, zone)}"


def status_text(status: InboxStatus) -> str:
    """One line for the status bar and the tray: 'Inbox checked 10:04', 'Inbox checked by
    OFFICE-PC (agent) 12 s ago' or 'Twilio unreachable, next try 10:06'."""
    who = "Twilio" if status.provider_name == "twilio" else "The SMS provider"
    zone = status.timezone_name
    if status.poller:
        if status.poller_error:
            return f"Inbox read by {status.poller}, which reports: {status.poller_error}"
        if status.read_at and status.as_of:
            by = status.read_by or "this computer"
            return f"Inbox checked by {by} {_ago(status.read_at, status.as_of, zone)}"
        return f"Inbox read by {status.poller}; not checked yet"
    if status.last_error and status.next_try_at:
        return f"{who} unreachable, next try {_clock_text(status.next_try_at, zone)}"
    if status.last_error:
        return f"Inbox not checked: {status.last_error}"
    if (
        status.read_by
        and status.read_at
        and status.as_of
        and (not status.last_checked_at or status.read_at > status.last_checked_at)
    ):
        return f"Inbox checked by {status.read_by} {_ago(status.read_at, status.as_of, zone)}"
    if status.last_checked_at:
        return f"Inbox checked {_clock_text(status.last_checked_at, zone)}"
    return "Inbox not checked yet"


class InboxReader:
    """One read of the inbox plus processing: the code path the poller and dispatch share."""

    def __init__(
        self,
        db: Database,
        provider: Callable[[], SmsProvider],
        clock: Clock,
        settings: Callable[[], AppSettings],
        *,
        worker: str,
        label: str,
    ) -> None:
        self.db = db
        self.provider = provider
        self.clock = clock
        self.settings = settings
        self.worker = worker
        self.label = label

    def read(
        self, *, incremental_only: bool = False, on_page: Callable[[], object] | None = None
    ) -> ReadResult:
        """Plan and run one read (see ``core.inbox_read``); provider trouble is in ``error``."""
        settings, provider, now = self.settings(), self.provider(), self.clock.now()
        interval = timedelta(seconds=settings.poll_interval_seconds)
        with self.db.read() as session:
            plan = plan_read(
                session, now, settings, interval=interval, incremental_only=incremental_only
            )
            cost = 1 if getattr(provider, "uses_messaging_service", False) else 0
            plan = choose_sweep_numbers(session, plan, provider.account_numbers, cost)
        if plan.sweep:
            log.info("inbox sweep (%s) since %s", plan.reason, plan.since.date())
        return read_inbox(
            self.db,
            provider,
            self.clock,
            plan,
            worker=self.worker,
            label=self.label,
            default_region=settings.default_country,
            on_page=on_page,
        )

    def process(self) -> ProcessResult:
        return inbox.process_pending(self.db, self.clock, settings=self.settings())


class InboxPoller:
    """The ``inbox-poller`` background job (implements runtime.jobs.BackgroundJob)."""

    job_id = JOB_ID

    def __init__(
        self,
        db: Database,
        provider: Callable[[], SmsProvider] | SmsProvider,
        clock: Clock,
        *,
        settings: Callable[[], AppSettings] | AppSettings | None = None,
        rand: Callable[[], float] = random.random,
        worker: str | None = None,
        label: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self._provider = provider if callable(provider) else (lambda: provider)
        fixed = settings if isinstance(settings, AppSettings) else AppSettings()
        self._settings: Callable[[], AppSettings] = (
            settings if callable(settings) else (lambda: fixed)
        )
        self._rand = rand
        self.worker = worker or new_worker_id()
        self.label = label or process_label("window")
        self.reader = InboxReader(
            db, self._provider, clock, self._settings, worker=self.worker, label=self.label
        )
        self._cycle_lock = threading.Lock()  # one cycle at a time in this process
        self._status_lock = threading.Lock()
        self._status = InboxStatus()
        self._listeners: list[Callable[[InboxStatus], None]] = []

    # ---- BackgroundJob -------------------------------------------------------------

    def poll_interval(self) -> timedelta:
        return timedelta(seconds=self._settings().poll_interval_seconds)

    def interval_seconds(self) -> float:
        """The scheduler's tick: half the poll interval, so the lease is renewed twice per
        lease period and a standby notices an expired lease within half an interval."""
        return max(2.5, self.poll_interval().total_seconds() / 2)

    def lease_ttl(self) -> timedelta:
        return self.poll_interval()

    def run_once(self) -> JobReport:
        """One scheduled tick: the lease holder reads when a read is due; others only
        refresh what they show. While backing off, only local processing runs."""
        return self._cycle(force=False)

    def check_now(self) -> JobReport:
        """ "Check inbox now": a read immediately, ignoring back-off, lease and schedule."""
        return self._cycle(force=True)

    def close(self) -> None:
        """A clean stop: give the lease up so another process takes over at its next tick."""
        if not self._provider().inbox_is_shared:
            return
        try:
            with self.db.write() as session:
                inbox_state.release_lease(session, worker=self.worker, now=self.clock.now())
        except (DatabaseError, SQLAlchemyError) as exc:
            log.warning("could not give the inbox lease up: %s", exc)

    # ---- status --------------------------------------------------------------------

    @property
    def status(self) -> InboxStatus:
        with self._status_lock:
            return self._status

    def add_listener(self, listener: Callable[[InboxStatus], None]) -> None:
        """``listener(status)`` is called after every cycle, on the poller's thread."""
        with self._status_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[InboxStatus], None]) -> None:
        with self._status_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _publish(self, status: InboxStatus) -> None:
        with self._status_lock:
            self._status = status
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(status)
            except Exception:  # a broken listener must not stop the poller
                log.exception("inbox status listener failed")

    # ---- the cycle -----------------------------------------------------------------

    def _cycle(self, *, force: bool) -> JobReport:
        with self._cycle_lock:
            try:
                return self._locked_cycle(force)
            except (
                DatabaseError,
                SQLAlchemyError,
            ) as exc:  # e.g. a shared database briefly unreachable
                log.warning("inbox cycle could not use the database: %s", exc)
                self._publish(replace(self.status, last_error=str(exc)))
                return JobReport(False, f"Inbox not checked: {exc}")

    def _locked_cycle(self, force: bool) -> JobReport:
        settings = self._settings()
        provider = self._provider()
        now = self.clock.now()
        previous = replace(
            self.status, provider_name=provider.name, timezone_name=settings.business_timezone
        )
        lease = self._renew_lease() if provider.inbox_is_shared else None
        if lease is not None and not lease.held_by(self.worker, now) and not force:
            return self._standby(previous, lease)
        waiting = previous.next_try_at is not None and now < previous.next_try_at
        if not force and (waiting or not self._read_due(now, shared=lease is not None)):
            return self._idle(previous, waiting)
        read = self.reader.read(on_page=self._renew_lease if lease else None)
        processed = self.reader.process()
        if lease is not None:
            self._renew_lease()  # a long read or a big batch must not let the lease lapse
        status = self._next_status(previous, read.error)
        result = CycleResult(
            read.stored.new + read.stored.duplicates,
            read.stored,
            processed,
            read.error.reason if read.error else None,
            read,
        )
        status = self._shared_view(replace(status, last_result=result), poller="")
        self._publish(status)
        return self._report(status, result)

    def _renew_lease(self) -> Lease:
        """Take or renew the poller lease (publishing our last error with it)."""
        with self.db.write() as session:
            return inbox_state.claim_lease(
                session,
                worker=self.worker,
                label=self.label,
                now=self.clock.now(),
                ttl=self.lease_ttl(),
                error=self.status.last_error,
            )

    def _read_due(self, now: datetime, *, shared: bool) -> bool:
        """Due once the last read is 0.75 interval old: by anyone for a shared inbox (a
        read just before dispatch counts), by this process for one of its own (sandbox)."""
        if shared:
            with self.db.read() as session:
                last = inbox_state.last_read(session)
            last_at = last.at if last else None
        else:
            last_at = self.status.last_checked_at
        return last_at is None or now - last_at >= DUE_FRACTION * self.poll_interval()

    def _shared_view(
        self, status: InboxStatus, *, poller: str, error: str | None = None
    ) -> InboxStatus:
        with self.db.read() as session:
            last = inbox_state.last_read(session)
            needs_review = inbox.count_needs_review(session)
        return replace(
            status,
            as_of=self.clock.now(),
            read_at=last.at if last else None,
            read_by=last.label if last and last.worker != self.worker else "",
            poller=poller,
            poller_error=error,
            needs_review=needs_review,
        )

    def _standby(self, previous: InboxStatus, lease: Lease) -> JobReport:
        """Another process polls: show who, and how fresh the inbox is."""
        status = self._shared_view(
            replace(previous, last_result=None), poller=lease.label, error=lease.error
        )
        self._publish(status)
        return JobReport(True, status_text(status))

    def _idle(self, previous: InboxStatus, waiting: bool) -> JobReport:
        """Nothing to read yet (read recently, or backing off): act on anything stored but
        not yet processed (a crash, a failed message), then refresh what we show."""
        with self.db.read() as session:
            leftovers = bool(inbox.pending_ids(session, limit=1))
        processed = self.reader.process() if leftovers else ProcessResult()
        result = CycleResult(0, StoreResult(), processed)
        status = self._shared_view(replace(previous, last_result=result), poller="")
        self._publish(status)
        done = describe_processing(processed)
        if waiting and status.next_try_at:
            who = "Twilio" if status.provider_name == "twilio" else "The SMS provider"
            next_try = _clock_text(status.next_try_at, status.timezone_name, seconds=True)
            text = f"{who} unreachable: still waiting; next try at {next_try}. {done}"
            return JobReport(False, text.strip())
        return JobReport(processed.failed == 0, f"{status_text(status)}. {done}".strip(". "))

    def _next_status(self, previous: InboxStatus, error: ProviderError | None) -> InboxStatus:
        now = self.clock.now()
        if error is None:
            return replace(
                previous,
                last_checked_at=now,
                last_error=None,
                next_try_at=None,
                consecutive_failures=0,
            )
        failures = previous.consecutive_failures + 1
        next_try = None
        if error.kind is FailureKind.TEMPORARY:
            # Jitter in the upper half: pollers on several desktops spread out, none hurries.
            wait = backoff_seconds(failures, first=BACKOFF_FIRST_SECONDS, cap=BACKOFF_CAP_SECONDS,
                                   jitter=(0.5, 1.0), draw=self._rand,
                                   at_least=error.retry_after)  # fmt: skip
            next_try = now + timedelta(seconds=wait)
        log.warning("inbox check failed (%s): %s", error.kind.value, error.reason)
        return replace(
            previous, last_error=error.reason, next_try_at=next_try, consecutive_failures=failures
        )

    def _report(self, status: InboxStatus, result: CycleResult) -> JobReport:
        processed = describe_processing(result.processed)
        zone = status.timezone_name
        who = "Twilio" if status.provider_name == "twilio" else "The SMS provider"
        if status.last_error and status.next_try_at:
            text = f"{who} unreachable: {status.last_error}; next try at "
            text += _clock_text(status.next_try_at, zone, seconds=True)
            return JobReport(False, f"{text}. {processed}".strip())
        if status.last_error:
            return JobReport(False, f"Inbox not checked: {status.last_error}. {processed}".strip())
        when = _clock_text(status.last_checked_at or self.clock.now(), zone, seconds=True)
        stored = result.stored
        text = f"Inbox checked {when}: {result.fetched} listed, {stored.new} new"
        if stored.skipped:
            text += f", {stored.skipped} unreadable skipped"
        if result.read is not None:
            text += describe_read(result.read)
        return JobReport(result.processed.failed == 0, f"{text}. {processed}".strip())


def describe_read(read: ReadResult) -> str:
    """' (look-back sweep: hourly look-back, 3 requests)' or '' for a one-request read."""
    parts = []
    if read.plan.sweep:
        parts.append(f"look-back sweep: {read.plan.reason}")
    if read.requests != 1:
        parts.append(f"{read.requests} requests")
    if read.delivery.changed:
        parts.append(f"{read.delivery.changed} delivery updates")
    return f" ({', '.join(parts)})" if parts else ""


def describe_processing(result: ProcessResult) -> str:
    """'3 processed: 1 opt-out (+14155550101), 1 needs review, 1 other.' or ''."""
    if not result.processed and not result.failed:
        return ""
    parts = []
    if result.opted_out:
        numbers = ", ".join(result.opted_out_numbers[:5])
        parts.append(f"{result.opted_out} opt-out" + (f" ({numbers})" if numbers else ""))
    for count, label in (
        (result.re_consented, "re-consent"),
        (result.needs_review, "needs review"),
        (result.help_requests, "help request"),
        (result.other, "other"),
        (result.failed, "failed, will retry"),
    ):
        if count:
            parts.append(f"{count} {label}")
    return f"{result.processed} processed: " + ", ".join(parts) + "."


class DispatchInboxCheck:
    """Called by dispatch just before texts go out (DESIGN promise 10): unless the last
    read of the inbox (by anyone) started after the texts fell due and is at most
    ``max_age_seconds`` old, read it now and act on what came, so a reply that reached
    Twilio before a text was due is handled first.

    Returns how fresh the inbox was, which the gateway records on each send. It never
    raises for provider trouble: texts still go out, with the staleness on record."""

    def __init__(
        self, reader: InboxReader, max_age_seconds: float = DISPATCH_FRESH_SECONDS
    ) -> None:
        self.reader = reader
        self.max_age = timedelta(seconds=max_age_seconds)

    def __call__(self, due_at: datetime | None = None) -> InboxFreshness:
        """``due_at``: when the latest text of the batch fell due (None: now)."""
        clock = self.reader.clock
        now = clock.now()
        with self.reader.db.read() as session:
            last = inbox_state.last_read(session)
        if (
            last is not None
            and last.at >= min(due_at or now, now)
            and now - last.at <= self.max_age
        ):
            return InboxFreshness(last.at, (now - last.at).total_seconds())
        try:
            read = self.reader.read(incremental_only=True)
            self.reader.process()
        except (DatabaseError, SQLAlchemyError) as exc:
            log.warning("could not read the inbox before sending: %s", exc)
            return self._stale(last, f"inbox not read: {exc}")
        if read.error is not None:
            log.warning("inbox not read before sending: %s", read.error.reason)
            return self._stale(last, f"inbox not read: {read.error.reason}")
        return InboxFreshness(read.started_at, (clock.now() - read.started_at).total_seconds())

    def _stale(self, last: inbox_state.LastRead | None, error: str) -> InboxFreshness:
        if last is None:
            return InboxFreshness(None, None, error)
        return InboxFreshness(last.at, (self.reader.clock.now() - last.at).total_seconds(), error)


def _reader_for(services: AppServices, worker: str) -> InboxReader:
    return InboxReader(
        services.db,
        lambda: services.provider_choice.provider,
        services.clock,
        lambda: services.settings,
        worker=worker,
        label=process_label(services.role),
    )


def dispatch_inbox_check(services: AppServices, worker: str | None = None) -> DispatchInboxCheck:
    """The check the automation runner runs before each batch of texts."""
    return DispatchInboxCheck(_reader_for(services, worker or new_worker_id()))


def build_jobs(services: AppServices) -> list[BackgroundJob]:
    """The poller for the window and the agent; it follows provider/settings changes."""
    return [
        InboxPoller(
            services.db,
            lambda: services.provider_choice.provider,
            services.clock,
            settings=lambda: services.settings,
            label=process_label(services.role),
        )
    ]


__all__ = [
    "CycleResult",
    "DispatchInboxCheck",
    "InboxPoller",
    "InboxReader",
    "InboxStatus",
    "build_jobs",
    "describe_processing",
    "dispatch_inbox_check",
    "status_text",
]
