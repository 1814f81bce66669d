"""Background jobs (inbox poller, automation runner) on one APScheduler scheduler.

A job is a plain object with ``run_once()``; it never touches a widget. The
window watches jobs through Qt signals in ``ui``; the headless agent just logs.
Each job module exposes ``build_jobs(services) -> list[BackgroundJob]`` and is
listed in ``job_modules``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices

log = logging.getLogger("trustpager.jobs")


def job_modules() -> tuple[ModuleType, ...]:
    """Modules with build_jobs(services); each feature adds its own line. Imported here,
    not at the top: each job module imports this one."""
    from trustpager_desktop.runtime import automation_runner, confirmation_sender, inbox_poller

    return (inbox_poller, automation_runner, confirmation_sender)


def new_worker_id() -> str:
    """host:pid:random, so claims and leases from different processes can be told apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def process_label(role: str) -> str:
    """How other desktops name this process: 'OFFICE-PC (agent)'."""
    return f"{socket.gethostname()} ({role})"


@dataclass(frozen=True)
class JobReport:
    ok: bool
    message: str


class BackgroundJob(Protocol):
    job_id: str  # stable id, e.g. "inbox-poller"

    def interval_seconds(self) -> float:
        """How often the scheduler should call ``run_once``."""
        ...

    def run_once(self) -> JobReport:
        """Do one cycle. Must not raise for expected trouble (network, provider);
        report it instead. Must be safe to run while another process runs it too."""
        ...


def build_all_jobs(services: AppServices) -> list[BackgroundJob]:
    jobs: list[BackgroundJob] = []
    for module in job_modules():
        jobs.extend(module.build_jobs(services))
    return jobs


def make_scheduler() -> BackgroundScheduler:
    """A background scheduler whose jobs never pile up: one instance each, missed runs merged."""
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone="UTC",
    )


def _guarded(job: BackgroundJob) -> Callable[[], None]:
    def run() -> None:
        try:
            report = job.run_once()
        except Exception:  # a bug must not stop the scheduler: log it and try next time
            log.exception("background job %s failed", job.job_id)
            return
        (log.info if report.ok else log.warning)("%s: %s", job.job_id, report.message)

    return run


def schedule_jobs(scheduler: BackgroundScheduler, jobs: list[BackgroundJob]) -> None:
    for job in jobs:
        scheduler.add_job(
            _guarded(job),
            IntervalTrigger(seconds=job.interval_seconds()),
            id=job.job_id,
            name=job.job_id,
            replace_existing=True,
        )
