"""The opt-out confirmation sender: a background job that sends due confirmation texts.

Every 10 s (in the window or the agent) it runs ``core.confirmations.send_due_confirmations``,
so a confirmation goes out well inside the FCC's five minutes. It runs while automations
are paused: a confirmation is not an automation. Safe with several desktops on one
database: each confirmation reaches the provider at most once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustpager_desktop.core.confirmations import send_due_confirmations
from trustpager_desktop.runtime.jobs import BackgroundJob, JobReport

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices

JOB_ID = "opt-out-confirmations"
INTERVAL_SECONDS = 10.0


class ConfirmationSender:
    """The :class:`~trustpager_desktop.runtime.jobs.BackgroundJob` for confirmation texts."""

    job_id = JOB_ID

    def __init__(self, services: AppServices) -> None:
        self.services = services

    def interval_seconds(self) -> float:
        return INTERVAL_SECONDS

    def run_once(self) -> JobReport:
        s = self.services
        report = send_due_confirmations(s.db, s.gateway, clock=s.clock)
        return JobReport(report.failed == 0, report.describe())


def build_jobs(services: AppServices) -> list[BackgroundJob]:
    return [ConfirmationSender(services)]
