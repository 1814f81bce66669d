"""The Insights service (issue 16 item 2): the figures for a period and the monthly
compliance report, read in the business time zone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.desktop import app_services
from tests.support.history import History
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.usecases.insights import InsightsService


def test_figures_count_the_period_asked_for(db, clock):
    history = History(db, clock)
    reminder = history.automation("Reminder", "See you tomorrow")
    ann = history.contact("Ann", "+14155550101")
    now = clock.now()
    history.at(now - timedelta(weeks=6)).text(reminder, 1, ann)
    history.at(now - timedelta(days=1)).text(reminder, 1, ann)
    history.at(now)
    service = InsightsService(app_services(db, clock))
    assert service.figures(12).total.sent == 2
    recent = service.figures(4)
    assert recent.total.sent == 1 and len(recent.weeks) == 4


def test_report_months_start_from_this_month_in_the_business_zone(db, clock):
    clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # still 30 November in New York
    months = InsightsService(app_services(db, clock)).report_months()
    assert months[0] == date(2026, 11, 1) and months[-1] == date(2025, 11, 1)
    assert len(months) == 13


def test_the_compliance_report_is_written_as_csv_or_cancelled(db, clock, tmp_path):
    history = History(db, clock)
    ann = history.at(clock.now() - timedelta(days=3)).contact("Ann", "+14155550101")
    history.staff_opt_out(ann, actor="Dana")
    history.at(clock.now() + timedelta(days=3))
    service = InsightsService(app_services(db, clock))
    month = date(2026, 11, 1)
    target = tmp_path / "report.csv"
    report = service.compliance_report(month, csv_path=target)
    assert report.month == month and "Dana" in target.read_text(encoding="utf-8-sig")
    assert service.compliance_report(month).month == month  # no file asked for: none written
    with pytest.raises(Cancelled):
        service.compliance_report(
            month, csv_path=tmp_path / "stopped.csv", progress=lambda _d, _t: False
        )
    assert not (tmp_path / "stopped.csv").exists()
