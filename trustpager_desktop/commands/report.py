"""`trustpager report`: the Insights figures as a table (or CSV), and the monthly
compliance report (PDF, CSV or text)."""

from __future__ import annotations

import argparse
import os
from zoneinfo import ZoneInfo

from trustpager_desktop.commands.progress_line import TerminalProgress
from trustpager_desktop.commands.records import parse_when
from trustpager_desktop.core import compliance, exports, insights
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.services import AppServices


def register(cli) -> None:  # type: ignore[no-untyped-def]
    sub = cli.command(
        "report",
        "per automation and step: texts sent, delivered, replies, opt-outs, failures; "
        "or 'report compliance --month YYYY-MM' for the monthly compliance report",
        run_report,
    )
    sub.add_argument(
        "which",
        nargs="?",
        choices=["compliance"],
        metavar="compliance",
        help="the monthly compliance report instead of the figures",
    )
    sub.add_argument(
        "--since",
        metavar="DATE",
        help=f"figures from this day (YYYY-MM-DD; default: the last {insights.DEFAULT_WEEKS} weeks)",
    )
    sub.add_argument(
        "--month", metavar="YYYY-MM", help="compliance: the month (default: last month)"
    )
    sub.add_argument("--csv", metavar="FILE", help="also write the figures/report as CSV")
    sub.add_argument("--pdf", metavar="FILE", help="compliance: write the report as PDF")


def run_report(args: argparse.Namespace, services: AppServices) -> int:
    if args.which == "compliance":
        if args.since:
            raise UserInputError("--since is for the figures; the compliance report takes --month.")
        return compliance_report(args, services)
    if args.month or args.pdf:
        raise UserInputError("--month and --pdf belong to 'trustpager report compliance'.")
    return figures_report(args, services)


def figures_report(args: argparse.Namespace, services: AppServices) -> int:
    now = services.clock.now()
    zone = services.settings.business_timezone
    since = parse_when(args.since, end=False) or insights.default_since(now, zone)
    if since >= now:
        raise UserInputError(f"'{args.since}' is not in the past.")
    with services.db.read() as s:
        result = insights.gather_insights(s, since=since, until=now, timezone_name=zone)
    if args.csv:
        rows = insights.table_rows(result, empty="")
        count = exports.write_table(args.csv, insights.REPORT_COLUMNS, rows)
        print(f"Wrote {count} rows to {args.csv}")
    print(insights.describe(result))
    return 0


def compliance_report(args: argparse.Namespace, services: AppServices) -> int:
    now = services.clock.now()
    zone = services.settings.business_timezone
    month = (
        compliance.parse_month(args.month)
        if args.month
        else compliance.previous_month(now.astimezone(ZoneInfo(zone)).date())
    )
    with (
        services.db.read() as s,
        TerminalProgress("Verifying the activity log", "entries") as shown,
    ):
        report = compliance.gather_compliance(s, month, timezone_name=zone, now=now, progress=shown)
    if args.csv:
        compliance.write_csv(report, args.csv)
        print(f"Wrote the compliance report for {month:%B %Y} to {args.csv}")
    if args.pdf:
        _ensure_gui_application()
        from trustpager_desktop.pdf import compliance_report  # Qt: loaded only for a PDF

        compliance_report.write_pdf(report, args.pdf)
        print(f"Wrote the compliance report for {month:%B %Y} to {args.pdf}")
    if not (args.csv or args.pdf):
        print(compliance.describe(report))
    else:
        for line in report.summary_lines():
            print(line)
    return 0 if report.log.ok else 1


_APP = None


def _ensure_gui_application() -> None:
    """Qt's PDF writer needs fonts, so a QGuiApplication; the command line shows no window,
    so it runs on the offscreen platform unless told otherwise."""
    global _APP
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = QGuiApplication([])
