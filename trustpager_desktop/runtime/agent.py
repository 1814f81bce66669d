"""The headless agent: the inbox poller and the automation runner without a window."""

from __future__ import annotations

import logging
import signal
import threading

from trustpager_desktop.runtime.jobs import (
    BackgroundJob,
    build_all_jobs,
    make_scheduler,
    schedule_jobs,
)
from trustpager_desktop.services import AppServices

log = logging.getLogger("trustpager.agent")


def run_once(services: AppServices) -> int:
    """One cycle of every job, in order; 0 if all succeeded, 1 otherwise (for cron).

    A one-off run reads the inbox whatever the schedule and the poller lease say
    (``check_now``): whoever runs it wants the inbox read now."""
    failures = 0
    jobs = build_all_jobs(services)
    for job in jobs:
        try:
            report = getattr(job, "check_now", job.run_once)()
        except Exception:
            log.exception("%s failed", job.job_id)
            failures += 1
            continue
        print(f"{job.job_id}: {report.message}")
        (log.info if report.ok else log.warning)("%s: %s", job.job_id, report.message)
        failures += 0 if report.ok else 1
    close_jobs(jobs)
    return 1 if failures else 0


def close_jobs(jobs: list[BackgroundJob]) -> None:
    """Let jobs give up what they hold (the inbox poller's lease) on a clean stop."""
    for job in jobs:
        close = getattr(job, "close", None)
        if close is not None:
            close()


def run_forever(services: AppServices, stop: threading.Event | None = None) -> int:
    """Run every job on its interval until SIGINT/SIGTERM (or ``stop`` is set)."""
    stop = stop or threading.Event()
    jobs = build_all_jobs(services)
    scheduler = make_scheduler()
    schedule_jobs(scheduler, jobs)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    # Run each job once at start so items that fell due while closed go out promptly.
    for job in jobs:
        scheduler.modify_job(job.job_id, next_run_time=services.clock.now())
    log.info("agent running with %d jobs: %s", len(jobs), ", ".join(j.job_id for j in jobs))
    stop.wait()
    scheduler.shutdown(wait=True)
    close_jobs(jobs)
    return 0
