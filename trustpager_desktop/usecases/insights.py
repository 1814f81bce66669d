"""The Insights screen: the figures for a period and the monthly compliance report, read
on the window's background runner (core.insights and core.compliance do the counting)."""

from __future__ import annotations

import os
from datetime import date

from trustpager_desktop.core import compliance, insights
from trustpager_desktop.core.compliance import ComplianceReport
from trustpager_desktop.core.insights import Insights
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.core.timefmt import business_today
from trustpager_desktop.usecases.base import ScreenService

REPORT_MONTHS = 13  # this month and the twelve before it


class InsightsService(ScreenService):
    def figures(self, weeks: int) -> Insights:
        """What the texts did in the last ``weeks`` whole weeks (this one included), in
        the business time zone."""
        now, zone = self.clock.now(), self.zone
        since = insights.default_since(now, zone, weeks)
        with self.db.read() as s:
            return insights.gather_insights(s, since=since, until=now, timezone_name=zone)

    def report_months(self) -> tuple[date, ...]:
        """The compliance report's months (first days), this month first; no database read."""
        today = business_today(self.clock.now(), self.zone)
        month = date(today.year, today.month, 1)
        months = []
        for _ in range(REPORT_MONTHS):
            months.append(month)
            month = compliance.previous_month(month)
        return tuple(months)

    def compliance_report(
        self,
        month: date,
        *,
        csv_path: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> ComplianceReport:
        """Gather ``month``'s report (verifying the log; Cancelled when ``progress`` says
        stop) and, given ``csv_path``, write it there as CSV. A PDF is painted by the
        window (Qt needs the GUI thread for it)."""
        with self.db.read() as s:
            report = compliance.gather_compliance(
                s, month, timezone_name=self.zone, now=self.clock.now(), progress=progress
            )
        if csv_path is not None:
            compliance.write_csv(report, csv_path)
        return report
