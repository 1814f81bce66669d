"""Compliance records on the command line: the activity log, opt-outs, contact import/export."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from trustpager_desktop.commands.progress_line import TerminalProgress
from trustpager_desktop.core import activity, exports, imports
from trustpager_desktop.core.activity import KIND_LABELS
from trustpager_desktop.core.activity_query import LogFilter
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.services import AppServices


def register(cli) -> None:  # type: ignore[no-untyped-def]
    cli.group("log", "export and verify the activity log")
    export = cli.command("export", "export the activity log to CSV", export_log, group="log")
    export.add_argument("file", metavar="FILE.csv")
    export.add_argument(
        "--kind", action="append", default=[], choices=sorted(KIND_LABELS), help="repeatable"
    )
    export.add_argument("--contact", type=int, metavar="ID")
    export.add_argument("--automation", type=int, metavar="ID")
    export.add_argument("--since", metavar="DATE", help="YYYY-MM-DD (local day) or ISO time")
    export.add_argument("--until", metavar="DATE", help="YYYY-MM-DD (whole day included)")
    export.add_argument("--search", default="", metavar="TEXT")
    cli.command("verify", "check that no log entry was changed or removed", verify_log, group="log")
    cli.group("optouts", "the list of opted-out numbers")
    opt = cli.command(
        "export", "export every opt-out in force to CSV", export_optouts, group="optouts"
    )
    opt.add_argument("file", metavar="FILE.csv")
    cli.group("contacts", "add, list, import and export contacts")
    cexp = cli.command("export", "export every contact to CSV", export_contacts, group="contacts")
    cexp.add_argument("file", metavar="FILE.csv")
    cimp = cli.command(
        "import",
        "import contacts from CSV (name, company, email, phone, sms_opt_out columns)",
        import_contacts,
        group="contacts",
    )
    cimp.add_argument("file", metavar="FILE.csv")
    cimp.add_argument(
        "--good-rows",
        action="store_true",
        help="add the good rows and list the bad ones (default: nothing goes in if any row is bad)",
    )


def parse_when(text: str | None, *, end: bool) -> datetime | None:
    """A day (local midnight; the whole day when ``end``) or an ISO time; aware UTC."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time()).astimezone().astimezone(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UserInputError(f"'{text}' is not a date (use YYYY-MM-DD).") from exc
    return (when if when.tzinfo else when.astimezone()).astimezone(UTC)


def export_log(args: argparse.Namespace, services: AppServices) -> int:
    flt = LogFilter(
        kinds=tuple(args.kind),
        contact_id=args.contact,
        automation_id=args.automation,
        since=parse_when(args.since, end=False),
        until=parse_when(args.until, end=True),
        text=args.search,
    )
    with (
        services.db.read() as s,
        TerminalProgress("Exporting the activity log", "entries") as shown,
    ):
        count = exports.export_log(s, flt, args.file, shown)
    print(f"Exported {count} log entries to {args.file}")
    return 0


def verify_log(_args: argparse.Namespace, services: AppServices) -> int:
    with (
        services.db.read() as s,
        TerminalProgress("Verifying the activity log", "entries") as shown,
    ):
        result = activity.verify_chain(s, progress=shown)
    print(result.describe())
    return 0 if result.ok else 1


def export_optouts(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s, TerminalProgress("Exporting opt-outs", "numbers") as shown:
        count = exports.export_optouts(s, args.file, shown)
    print(f"Exported {count} opted-out numbers to {args.file}")
    return 0


def export_contacts(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s, TerminalProgress("Exporting contacts", "contacts") as shown:
        count = exports.export_contacts(s, args.file, shown)
    print(f"Exported {count} contacts to {args.file}")
    return 0


def import_contacts(args: argparse.Namespace, services: AppServices) -> int:
    with TerminalProgress("Importing contacts", "rows") as shown:
        result = imports.import_contacts_csv(
            services.db,
            args.file,
            mode="good_rows" if args.good_rows else "all_or_nothing",
            actor=services.actor,
            default_region=services.settings.default_country,
            clock=services.clock,
            progress=shown,
        )
    for line, reason in result.skipped_rows:
        print(f"line {line}: {reason}", file=sys.stderr)
    print(result.describe())
    return 1 if result.refused else 0
