"""The Insights page on 100,000 contacts and 1,000,000 log entries (issue 19).

    QT_QPA_PLATFORM=offscreen python benchmarks/insights_page.py [--runs 7]

Builds (once; cached under /tmp) the combined database plus a year of texting behind
it: 400,000 texts with Twilio delivery statuses and error codes, about 100,000
replies, 2 % opt-outs and 60 replies waiting for review. Then measures, offscreen:

- open: ``InsightsPage(InsightsService(services))`` built and shown until its figures are painted (the
  ``loaded`` signal) and until its charts are drawn; the first time in the process
  (figures first, then pyqtgraph and numpy imported on a worker for the charts) and
  again (warm, figures and charts together); target under 500 ms;
- the GUI thread meanwhile: the longest gap between ticks of a 5 ms timer while the
  page loads (how long the window could not answer);
- ``gather_insights`` alone (the worker's queries) for 12 and 52 weeks;
- the monthly compliance report's queries without the log verification (that walk is
  the one long job, reported by benchmarks/activity_log.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks._cache import insights_db  # noqa: E402
from benchmarks._timing import measure, report  # noqa: E402
from benchmarks.datasets import HISTORY_NOW  # noqa: E402
from trustpager_desktop.core import compliance, insights  # noqa: E402
from trustpager_desktop.core.clock import FixedClock  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402

ZONE = "America/New_York"


def open_page(services) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Seconds from construction to the figures painted, to the charts drawn, and the
    longest GUI-thread stall meanwhile."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from trustpager_desktop.ui.insights_page import InsightsPage
    from trustpager_desktop.usecases.insights import InsightsService

    ticks: list[float] = []
    heartbeat = QTimer(interval=5)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    clock = QElapsedTimer()
    loop = QEventLoop()
    heartbeat.start()
    clock.start()
    began = time.perf_counter()
    page = InsightsPage(InsightsService(services))
    page.resize(1024, 700)
    page.show()
    page.loaded.connect(loop.quit)
    page.load_failed.connect(lambda message: (print("load failed:", message), loop.quit()))
    loop.exec()
    page.repaint()
    QApplication.processEvents()
    elapsed = time.perf_counter() - began
    page.wait_until_loaded(30_000)
    page.repaint()
    QApplication.processEvents()
    charts = time.perf_counter() - began
    heartbeat.stop()
    marks = [began, *ticks, time.perf_counter()]
    stall = max(b - a for a, b in zip(marks, marks[1:], strict=False))
    page.close()
    page.deleteLater()
    QApplication.processEvents()
    return elapsed, charts, stall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path = insights_db()
    from PySide6.QtWidgets import QApplication

    from trustpager_desktop.services import AppServices

    app = QApplication.instance() or QApplication([])
    db = Database.open(f"sqlite:///{path}")
    services = AppServices(db, clock=FixedClock(HISTORY_NOW))
    with db.read() as s:
        counts = {
            table: s.execute(__import__("sqlalchemy").text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("contacts", "activity_log", "outbound_messages", "inbound_messages",
                          "consent_events")
        }  # fmt: skip
    print("data set:", ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)

    cold, cold_charts, cold_stall = open_page(services)
    print(f"{'open the Insights page, first in the process (cold)':<48} figures {cold * 1000:.1f} ms,"
          f" charts {cold_charts * 1000:.1f} ms, longest GUI stall {cold_stall * 1000:.1f} ms,"
          f" target < 500 ms: {'MET' if cold < 0.5 else 'MISSED'}", flush=True)  # fmt: skip
    warm = [open_page(services) for _ in range(args.runs)]
    report("open the Insights page, warm (figures and charts)", [w[1] for w in warm], target_ms=500)
    stalls = [w[2] * 1000 for w in warm]
    print(f"{'  longest GUI-thread stall while it loads':<48} median {statistics.median(stalls):.1f} ms"
          f" (max {max(stalls):.1f})", flush=True)  # fmt: skip

    for weeks in (12, 52):
        since = insights.default_since(HISTORY_NOW, ZONE, weeks)

        def gather(since=since):  # type: ignore[no-untyped-def]
            with db.read() as s:
                return insights.gather_insights(
                    s, since=since, until=HISTORY_NOW, timezone_name=ZONE
                )

        result = gather()
        report(f"gather_insights, {weeks} weeks ({result.total.sent:,} texts)",
               measure(gather, runs=args.runs))  # fmt: skip

    def month_report():  # type: ignore[no-untyped-def]
        with db.read() as s:
            start, end = compliance.month_bounds(date(2026, 10, 1), ZONE)
            return (
                compliance._opt_outs(s, start, end, ZONE),
                compliance._reviews(s, start, end, ZONE, HISTORY_NOW),
                compliance._texts_to_opted_out(s, start, end),
            )

    opt_outs, _reviews, _texts = month_report()
    report(f"compliance report queries, one month ({len(opt_outs):,} opt-outs)",
           measure(month_report, runs=max(3, args.runs // 2)))  # fmt: skip
    db.close()
    del app


if __name__ == "__main__":
    main()
