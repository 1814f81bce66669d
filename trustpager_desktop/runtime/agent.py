"""The headless agent: the inbox poller and the automation runner without a window."""

from __future__ import annotations

import logging
import signal
import threading

from trustpager_desktop.runtime.jobs import build_all_jobs, make_scheduler, schedule_jobs
from trustpager_desktop.services import AppServices

log = logging.getLogger("trustpager.agent")


def run_once(services: AppServices) -> int:
    """One cycle of every job, in order; 0 if all succeeded, 1 otherwise (for cron)."""
    failures = 0
    for job in build_all_jobs(services):
        try:
            report = job.run_once()
        except Exception:
            log.exception("%s failed", job.job_id)
            failures += 1
            continue
        print(f"{job.job_id}: {report.message}")
        (log.info if report.ok else log.warning)("%s: %s", job.job_id, report.message)
        failures += 0 if report.ok else 1
    return 1 if failures else 0


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
    return 0
