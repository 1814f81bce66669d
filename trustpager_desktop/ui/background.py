"""Background work inside the window process: the scheduler running every job
(inbox poller, automation runner) and the Qt bridge the window listens to.

Jobs run on the scheduler's threads and never touch a widget; the inbox poller
reports through ``InboxBridge`` signals, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from trustpager_desktop.runtime.agent import close_jobs
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.runtime.jobs import (
    BackgroundJob,
    build_all_jobs,
    make_scheduler,
    schedule_jobs,
)
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.inbox_bridge import InboxBridge

log = logging.getLogger("trustpager.ui")


class BackgroundWork(QObject):
    """Owns the scheduler for this window; ``start()`` once shown, ``shutdown()`` on quit."""

    def __init__(self, services: AppServices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.jobs: list[BackgroundJob] = build_all_jobs(services)
        self.scheduler = make_scheduler()
        schedule_jobs(self.scheduler, self.jobs)
        poller = next(j for j in self.jobs if isinstance(j, InboxPoller))
        self.inbox = InboxBridge(poller, self)

    def start(self) -> None:
        """Start the scheduler and run every job once now (catch-up after downtime)."""
        self.scheduler.start()
        now = self.services.clock.now()
        for job in self.jobs:
            self.scheduler.modify_job(job.job_id, next_run_time=now)
        log.info("background jobs started: %s", ", ".join(j.job_id for j in self.jobs))

    def shutdown(self) -> None:
        """Stop the scheduler (waiting for a running cycle) and the bridge's own worker."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.inbox.shutdown()
        close_jobs(self.jobs)  # the inbox lease goes to another desktop at once


def opt_out_names(notices: list) -> list[str]:  # list[core.inbox.OptOutNotice]
    """Who opted out, for a notification: contact names, or the number when nobody has it."""
    names: list[str] = []
    for notice in notices:
        names.extend(notice.contact_names or (notice.phone_e164,))
    return names
