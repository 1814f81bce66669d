"""Compliance records on the command line: the activity log, opt-outs, contact import/export."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from trustpager_desktop.commands.progress_line import TerminalProgress
from trustpager_desktop.core import dnc_list, exports, imports, log_keys, log_verify
from trustpager_desktop.core.activity import KIND_LABELS, database_name
from trustpager_desktop.core.activity_query import LogFilter
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.services import AppServices


def register(cli) -> None:  # type: ignore[no-untyped-def]
    cli.group("log", "export and verify the activity log")
    export = cli.command(
        "export", "export the activity log to CSV", export_log, group="log", reads_only=True
    )
    export.add_argument("file", metavar="FILE.csv")
    export.add_argument(
        "--kind", action="append", default=[], choices=sorted(KIND_LABELS), help="repeatable"
    )
    export.add_argument("--contact", type=int, metavar="ID")
    export.add_argument("--automation", type=int, metavar="ID")
    export.add_argument("--since", metavar="DATE", help="YYYY-MM-DD (local day) or ISO time")
    export.add_argument("--until", metavar="DATE", help="YYYY-MM-DD (whole day included)")
    export.add_argument("--search", default="", metavar="TEXT")
    verify = cli.command(
        "verify",
        "check that no log entry was changed or removed, and that the opt-out state matches "
        "the consent events (exit 1: something was altered; 3: some entries need another "
        "desktop's key)",
        verify_log,
        group="log",
        reads_only=True,
    )
    verify.add_argument(
        "--full",
        action="store_true",
        help="re-read every entry (default: only those added since the last checkpoint)",
    )
    kexp = cli.command(
        "export-key",
        "back up this computer's log keys to a file (keep it private and safe)",
        export_key,
        group="log",
        reads_only=True,
    )
    kexp.add_argument("file", metavar="FILE.json")
    kimp = cli.command(
        "import-key",
        "add log keys exported on another desktop (to check the entries it signed)",
        import_key,
        group="log",
        reads_only=True,
    )
    kimp.add_argument("file", metavar="FILE.json")
    cli.command(
        "keys", "list the log keys on this computer", list_keys, group="log", reads_only=True
    )
    cli.command(
        "forget-head",
        "forget this computer's record of the log's head (only after replacing the database "
        "on purpose)",
        forget_head,
        group="log",
        reads_only=True,
    )
    cli.group("optouts", "the list of opted-out numbers")
    opt = cli.command(
        "export",
        "export every opt-out in force to CSV",
        export_optouts,
        group="optouts",
        reads_only=True,
    )
    opt.add_argument("file", metavar="FILE.csv")
    dnc = cli.command(
        "import",
        "import a do-not-contact list (one phone number per line, any format, header or "
        "none): contacts with a listed number are opted out, unknown numbers suppressed",
        import_optouts,
        group="optouts",
    )
    dnc.add_argument("file", metavar="FILE")
    dnc.add_argument(
        "--good-rows",
        action="store_true",
        help="import the good rows and list the bad ones (default: nothing goes in if any "
        "row is bad)",
    )
    dnc.add_argument(
        "--dry-run", action="store_true", help="check the file and say what would change"
    )
    cli.group("contacts", "add, list, import and export contacts")
    cexp = cli.command(
        "export", "export every contact to CSV", export_contacts, group="contacts", reads_only=True
    )
    cexp.add_argument("file", metavar="FILE.csv")
    cimp = cli.command(
        "import",
        "import contacts from CSV (name, company, email, phone, and an opt-out column: "
        "sms_opt_out, Do Not Text, Unsubscribed, DNC, ...); says how many before importing",
        import_contacts,
        group="contacts",
    )
    cimp.add_argument("file", metavar="FILE.csv")
    cimp.add_argument(
        "--good-rows",
        action="store_true",
        help="add the good rows and list the bad ones (default: nothing goes in if any row is bad)",
    )
    cimp.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and say what would be imported, without importing",
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
        head = log_verify.describe_tip(s)
    print(f"Exported {count} log entries to {args.file}")
    print(head)
    return 0


EXIT_ALTERED = 1
EXIT_INCOMPLETE = 3


def verify_log(args: argparse.Namespace, services: AppServices) -> int:
    with TerminalProgress("Verifying the activity log", "entries") as shown:
        report = log_verify.verify_log(
            services.db,
            full=args.full,
            clock=services.clock,
            read_only=services.db.read_only,
            progress=shown,
        )
    print(report.describe())
    if not report.ok:
        return EXIT_ALTERED
    return 0 if report.complete else EXIT_INCOMPLETE


KEY_WARNING = (
    "Keep this file private and safe (a password manager or an encrypted drive): it holds "
    "the secret that proves the activity log is genuine. Anyone holding it could re-sign a "
    "changed log; if this computer is lost and no copy exists, the entries it signed can "
    "no longer be proved."
)


def export_key(args: argparse.Namespace, _services: AppServices) -> int:
    count = log_keys.key_ring().export_to(args.file)
    print(f"Wrote {count} log key(s) to {args.file}.")
    print(KEY_WARNING)
    return 0


def import_key(args: argparse.Namespace, _services: AppServices) -> int:
    new = log_keys.key_ring().import_from(args.file)
    if not new:
        print(f"No new keys in {args.file}; this computer already holds them.")
    for key in new:
        print(f"Added log key {key.key_id} ({key.label}, created {key.created_at[:10]}).")
    return 0


def list_keys(_args: argparse.Namespace, _services: AppServices) -> int:
    ring = log_keys.key_ring()
    own = ring.own_key()
    for key in ring.all_keys():
        mine = " (this computer's own key)" if key.key_id == own.key_id else ""
        print(f"{key.key_id}  {key.label}  created {key.created_at[:10]}{mine}")
    print(f"Kept in {ring.path} (owner-only). Back it up with `trustpager log export-key FILE`.")
    return 0


def forget_head(_args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s:
        name = database_name(s)
    if log_keys.chain_heads().forget(name):
        print(f"Forgot this computer's record of the log head for {name}.")
    else:
        print(f"This computer had no record of the log head for {name}.")
    return 0


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
    mode = "good_rows" if args.good_rows else "all_or_nothing"
    region = services.settings.default_country
    plan = imports.preview_import(services.db, args.file, region)
    for line, reason in plan.problems:
        print(f"line {line}: {reason}", file=sys.stderr)
    print(plan.describe(mode), flush=True)  # before anything is written
    if args.dry_run:
        return 1 if plan.problems and mode == "all_or_nothing" else 0
    with TerminalProgress("Importing contacts", "rows") as shown:
        result = imports.import_contacts_csv(
            services.db,
            args.file,
            mode=mode,
            actor=services.actor,
            default_region=region,
            clock=services.clock,
            progress=shown,
            plan=plan,
        )
    print(result.describe())
    return 1 if result.refused else 0


def import_optouts(args: argparse.Namespace, services: AppServices) -> int:
    mode = "good_rows" if args.good_rows else "all_or_nothing"
    region = services.settings.default_country
    plan = dnc_list.read_dnc_file(args.file, region)
    for line, reason in plan.problems:
        print(f"line {line}: {reason}", file=sys.stderr)
    print(plan.describe(mode), flush=True)  # before anything is written
    with TerminalProgress("Importing the do-not-contact list", "numbers") as shown:
        outcome = dnc_list.import_dnc_list(
            services.db,
            args.file,
            actor=services.actor,
            mode=mode,
            dry_run=args.dry_run,
            default_region=region,
            clock=services.clock,
            progress=shown,
            plan=plan,
        )
    print(outcome.describe())
    return 1 if outcome.refused else 0
