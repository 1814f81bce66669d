"""The automation runner: a background job that runs the Auto Queue and the schedules.

Every cycle (about every 5 s, on APScheduler in the window or in the agent):

1. items whose lease expired (their process died or stalled) are reconciled,
   every cycle, so a restart within seconds, or another desktop, resumes them as
   soon as the lease runs out (never re-sending; see ``core.auto_queue``);
2. scheduled automations whose cron/interval trigger fell due enrol their
   audience (once per fire time, even with several processes; see
   ``core.schedules``);
3. due queue items are claimed and run (``run_due``), unless automations are
   paused; before a batch of texts the inbox is read unless it was read after the
   texts fell due (``runtime.inbox_poller.dispatch_inbox_check``).

``TRUSTPAGER_DISPATCH_LEASE_SECONDS`` shortens or lengthens the claim lease
(default 60 s; tests use a few seconds so a killed process's items come back
quickly).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from trustpager_desktop.core import automations, schedules
from trustpager_desktop.core.auto_queue import (
    LEASE,
    DispatchReport,
    QueueDispatcher,
    ReconcileReport,
    is_paused,
    reconcile_in_flight,
)
from trustpager_desktop.core.automations import Audience
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.runtime.inbox_poller import dispatch_inbox_check
from trustpager_desktop.runtime.jobs import BackgroundJob, JobReport, new_worker_id
from trustpager_desktop.services import AppServices

log = logging.getLogger("trustpager.automation_runner")

JOB_ID = "automation-runner"
INTERVAL_SECONDS = 5.0
LEASE_ENV = "TRUSTPAGER_DISPATCH_LEASE_SECONDS"


def lease_length() -> timedelta:
    """The claim lease: ``TRUSTPAGER_DISPATCH_LEASE_SECONDS`` or the default."""
    raw = os.environ.get(LEASE_ENV, "")
    try:
        seconds = float(raw)
    except ValueError:
        return LEASE
    return timedelta(seconds=seconds) if seconds > 0 else LEASE


@dataclass(frozen=True)
class ScheduleFire:
    automation_name: str
    enrolled: int


class AutomationRunner:
    """The :class:`~trustpager_desktop.runtime.jobs.BackgroundJob` for automations."""

    job_id = JOB_ID

    def __init__(self, services: AppServices, worker_id: str | None = None) -> None:
        self.services = services
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease_length()
        self.inbox_check = dispatch_inbox_check(services, self.worker_id)

    def interval_seconds(self) -> float:
        return INTERVAL_SECONDS

    def _dispatcher(self) -> QueueDispatcher:
        s = self.services
        return QueueDispatcher(
            s.db, s.gateway, settings=s.settings, clock=s.clock, worker_id=self.worker_id,
            lease=self.lease, inbox_check=self.inbox_check,
        )  # fmt: skip

    def reconcile(self) -> ReconcileReport:
        """Resolve items whose lease expired (cheap when none did)."""
        return reconcile_in_flight(self.services.db, clock=self.services.clock)

    def run_schedules(self) -> list[ScheduleFire]:
        """Enrol the audience of every scheduled automation whose trigger fell due."""
        s = self.services
        now = s.clock.now()
        fired = []
        with s.db.read() as session:
            scheduled = schedules.scheduled_automations(session)
        for automation_id, name, raw, created_at in scheduled:
            try:
                fire = self._fire_one(automation_id, raw, created_at, now)
            except (UserInputError, ValueError) as exc:
                log.warning("schedule of '%s' is not usable: %s", name, exc)
                continue
            if fire is not None:
                fired.append(ScheduleFire(name, fire))
        return fired

    def _fire_one(
        self, automation_id: int, raw: str, created_at: datetime, now: datetime
    ) -> int | None:
        import json

        s = self.services
        schedule = json.loads(raw)
        trigger = schedules.build_trigger(schedule, s.settings.business_timezone)
        audience = Audience.from_json(schedule.get("audience") or {})
        with s.db.write() as session:
            previous = schedules.last_fire(session, automation_id)
            fire = schedules.latest_due_fire(trigger, previous or created_at, now)
            if fire is None or not schedules.claim_fire(session, automation_id, previous, fire):
                return None
            result = automations.enroll(
                session, automation_id, audience, actor="Schedule", clock=s.clock
            )
        log.info("schedule fired for automation %s: %s", automation_id, result.describe())
        return len(result.enrolled)

    def dispatch(self, *, honour_pause: bool = True) -> DispatchReport:
        """Reconcile expired claims, then claim and run the due Auto Queue items."""
        self.reconcile()
        return self.run_due(honour_pause=honour_pause)

    def run_due(self, *, honour_pause: bool = True) -> DispatchReport:
        """Claim and run the due Auto Queue items (anything that must happen before a
        text goes out, like reading the inbox, goes before this)."""
        return self._dispatcher().dispatch_due(honour_pause=honour_pause)

    def run_once(self) -> JobReport:
        messages = []
        recovered = self.reconcile()  # every cycle: a dead process's items come back
        if recovered.touched:
            messages.append(recovered.describe())
        with self.services.db.read() as session:
            paused = is_paused(session)
        if paused:
            return JobReport(True, "Automations are paused.")
        fired = self.run_schedules()
        messages.extend(f"'{f.automation_name}' enrolled {f.enrolled}" for f in fired)
        report = self.run_due()
        messages.append(report.describe())
        return JobReport(report.failed == 0, "; ".join(messages))


def build_jobs(services: AppServices) -> list[BackgroundJob]:
    return [AutomationRunner(services)]
