"""The inbox poller: fetch received texts from the provider, store them, act on them.

A desktop has no public address for Twilio webhooks, so this job lists the
account's messages every ``poll_interval_seconds`` (default 30 s). Twilio's date
filter works by day and new messages can appear in list results late, so each
cycle lists everything since the start of the previous UTC day; storing
de-duplicates by message SID, so the overlap costs nothing.

One cycle: ``provider.list_inbound`` -> keep ``direction == "inbound"`` ->
``core.inbox.store_inbound`` -> ``core.inbox.process_pending``. Processing runs
even when fetching failed, so messages stored before a crash are still acted on.

Temporary trouble (429, 5xx, timeouts, refused connections) backs off, capped
and exponential with jitter, honouring Retry-After, and never stops the
poller. The job never touches a widget: the window registers a listener and
turns it into a Qt signal (``ui.inbox_bridge``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from trustpager_desktop.core import inbox
from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.inbox import OptOutNotice, ProcessResult, StoreResult
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.providers.base import (
    FailureKind,
    InboundRecord,
    ProviderError,
    SmsProvider,
)
from trustpager_desktop.runtime.jobs import BackgroundJob, JobReport
from trustpager_desktop.store.database import Database, DatabaseError

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices

log = logging.getLogger("trustpager.inbox")

JOB_ID = "inbox-poller"
LOOK_BACK_DAYS = 1  # since the start of the previous UTC day
BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did: fetched/stored counts and what processing did."""

    fetched: int
    stored: StoreResult
    processed: ProcessResult
    fetch_error: str | None = None


@dataclass(frozen=True)
class InboxStatus:
    """A snapshot for the status bar; all times aware UTC."""

    last_checked_at: datetime | None = None  # last time Twilio answered
    last_error: str | None = None  # None after a good check
    next_try_at: datetime | None = None  # set while backing off
    consecutive_failures: int = 0
    last_result: CycleResult | None = None
    needs_review: int = 0
    provider_name: str = ""
    timezone_name: str = "UTC"

    @property
    def opt_outs(self) -> list[OptOutNotice]:
        return list(self.last_result.processed.opt_outs) if self.last_result else []


def _clock_text(when: datetime, zone: str, seconds: bool = False) -> str:
    # The status bar's clock: the shared format, zone named when not the computer's.
    return format_time(when, zone, seconds=seconds, with_date=False)


def status_text(status: InboxStatus) -> str:
    """One line for the status bar: 'Inbox checked 10:04' or 'Twilio unreachable, next try 10:06'."""
    who = "Twilio" if status.provider_name == "twilio" else "The SMS provider"
    if status.last_error and status.next_try_at:
        return (
            f"{who} unreachable, next try {_clock_text(status.next_try_at, status.timezone_name)}"
        )
    if status.last_error:
        return f"Inbox not checked: {status.last_error}"
    if status.last_checked_at:
        return f"Inbox checked {_clock_text(status.last_checked_at, status.timezone_name)}"
    return "Inbox not checked yet"


def look_back_start(now: datetime) -> datetime:
    """Start of the previous UTC day: Twilio filters by day and lists new messages late."""
    day = now.astimezone(UTC).date() - timedelta(days=LOOK_BACK_DAYS)
    return datetime.combine(day, time(0), tzinfo=UTC)


def backoff_seconds(
    failures: int,
    rand: Callable[[], float],
    retry_after: float | None = None,
    first: float = BACKOFF_FIRST_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
) -> float:
    """Wait before try number ``failures + 1``: doubling from ``first``, capped, with
    jitter in the upper half (so pollers on several desktops spread out), and never
    shorter than the provider's Retry-After."""
    ceiling = min(cap, first * 2 ** max(0, failures - 1))
    wait = ceiling * (0.5 + 0.5 * rand())
    if retry_after is not None:
        wait = max(wait, min(retry_after, cap))
    return wait


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
    ) -> None:
        self.db = db
        self.clock = clock
        self._provider = provider if callable(provider) else (lambda: provider)
        fixed = settings or AppSettings()
        self._settings = settings if callable(settings) else (lambda: fixed)
        self._rand = rand
        self._cycle_lock = threading.Lock()  # one cycle at a time in this process
        self._status_lock = threading.Lock()
        self._status = InboxStatus()
        self._listeners: list[Callable[[InboxStatus], None]] = []

    # ---- BackgroundJob -------------------------------------------------------------

    def interval_seconds(self) -> float:
        return float(self._settings().poll_interval_seconds)

    def run_once(self) -> JobReport:
        """One scheduled cycle; while backing off, only local processing runs."""
        return self._cycle(force=False)

    def check_now(self) -> JobReport:
        """ "Check inbox now": a cycle immediately, ignoring any back-off wait."""
        return self._cycle(force=True)

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
        waiting = previous.next_try_at is not None and now < previous.next_try_at
        fetched: list[InboundRecord] = []
        error: ProviderError | None = None
        stored = StoreResult()
        if not waiting or force:
            fetched, error = self._fetch(provider, now)
            # Twilio lists newest first; store oldest first so same-second replies keep order.
            stored = inbox.store_inbound(
                self.db, reversed(fetched), self.clock, default_region=settings.default_country
            )
        processed = inbox.process_pending(self.db, self.clock, settings=settings)
        with self.db.read() as session:
            needs_review = inbox.count_needs_review(session)
        status = self._next_status(previous, error, waiting and not force, needs_review)
        result = CycleResult(len(fetched), stored, processed, error.reason if error else None)
        status = replace(status, last_result=result)
        self._publish(status)
        return self._report(status, result, skipped=waiting and not force)

    def _fetch(
        self, provider: SmsProvider, now: datetime
    ) -> tuple[list[InboundRecord], ProviderError | None]:
        """Everything listed since the look-back start; what arrived before an error is kept."""
        records: list[InboundRecord] = []
        try:
            for record in provider.list_inbound(since=look_back_start(now)):
                if record.direction == "inbound":
                    records.append(record)
        except ProviderError as exc:
            return records, exc
        return records, None

    def _next_status(
        self,
        previous: InboxStatus,
        error: ProviderError | None,
        skipped: bool,
        needs_review: int,
    ) -> InboxStatus:
        now = self.clock.now()
        if skipped:
            return replace(previous, needs_review=needs_review)
        if error is None:
            return replace(
                previous,
                last_checked_at=now,
                last_error=None,
                next_try_at=None,
                consecutive_failures=0,
                needs_review=needs_review,
            )
        failures = previous.consecutive_failures + 1
        next_try = None
        if error.kind is FailureKind.TEMPORARY:
            wait = backoff_seconds(failures, self._rand, error.retry_after)
            next_try = now + timedelta(seconds=wait)
        log.warning("inbox check failed (%s): %s", error.kind.value, error.reason)
        return replace(
            previous,
            last_error=error.reason,
            next_try_at=next_try,
            consecutive_failures=failures,
            needs_review=needs_review,
        )

    def _report(self, status: InboxStatus, result: CycleResult, *, skipped: bool) -> JobReport:
        processed = describe_processing(result.processed)
        zone = status.timezone_name
        who = "Twilio" if status.provider_name == "twilio" else "The SMS provider"
        if status.last_error and status.next_try_at:
            wait = "still waiting" if skipped else status.last_error
            text = f"{who} unreachable: {wait}; next try at "
            text += _clock_text(status.next_try_at, zone, seconds=True)
            return JobReport(False, f"{text}. {processed}".strip())
        if status.last_error:
            return JobReport(False, f"Inbox not checked: {status.last_error}. {processed}".strip())
        when = _clock_text(status.last_checked_at or self.clock.now(), zone, seconds=True)
        stored = result.stored
        text = f"Inbox checked {when}: {result.fetched} listed, {stored.new} new"
        if stored.skipped:
            text += f", {stored.skipped} unreadable skipped"
        return JobReport(result.processed.failed == 0, f"{text}. {processed}".strip())


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


def build_jobs(services: AppServices) -> list[BackgroundJob]:
    """The poller for the window and the agent; it follows provider/settings changes."""
    return [
        InboxPoller(
            services.db,
            lambda: services.provider_choice.provider,
            services.clock,
            settings=lambda: services.settings,
        )
    ]


__all__ = [
    "CycleResult",
    "InboxPoller",
    "InboxStatus",
    "backoff_seconds",
    "build_jobs",
    "describe_processing",
    "look_back_start",
    "status_text",
]
