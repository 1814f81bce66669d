"""`trustpager automations ...`: list, export/import JSON, enrol, run due items, show the queue."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from trustpager_desktop.core import auto_queue, automation_file, automations
from trustpager_desktop.core.automations import Audience
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.number_contacts import contacts_with_number
from trustpager_desktop.core.phone import parse_phone
from trustpager_desktop.runtime.automation_runner import AutomationRunner
from trustpager_desktop.services import AppServices


def register(cli) -> None:  # type: ignore[no-untyped-def]
    cli.group("automations", "list, export, import and enrol automations; run the Auto Queue")
    cli.command(
        "list",
        "list automations with their last-run counts",
        list_cmd,
        group="automations",
        reads_only=True,
    )
    exp = cli.command(
        "export",
        "write every automation to a JSON file",
        export_cmd,
        group="automations",
        reads_only=True,
    )
    exp.add_argument("file")
    imp = cli.command("import", "add automations from a JSON file", import_cmd, group="automations")
    imp.add_argument("file")
    imp.add_argument(
        "--replace", action="store_true", help="replace automations with the same name"
    )
    enr = cli.command("enroll", "enrol contacts in an automation", enroll_cmd, group="automations")
    enr.add_argument("name", help="the automation's name")
    who = enr.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="the contact with this phone number")
    who.add_argument("--tag", help="every contact with this tag")
    who.add_argument("--stage", help="every contact with an opportunity in this stage")
    who.add_argument("--all", action="store_true", help="every contact")
    run = cli.command(
        "run-due", "run the due Auto Queue items now", run_due_cmd, group="automations"
    )
    run.add_argument(
        "--ignore-pause", action="store_true", help="run even if automations are paused"
    )
    q = cli.command("queue", "show the Auto Queue", queue_cmd, group="automations", reads_only=True)
    q.add_argument("--status", choices=auto_queue.STATUSES)
    q.add_argument("--limit", type=int, default=50)
    purpose = cli.command("purpose", "set the SMS purpose an automation serves", purpose_cmd,
                          group="automations")  # fmt: skip
    purpose.add_argument("name", help="the automation's name")
    purpose.add_argument("purpose", help="one of the SMS purposes in Settings, e.g. Reminders")
    pause = cli.command("pause", "pause every automation", pause_cmd, group="automations")
    pause.set_defaults(paused=True)
    resume = cli.command("resume", "resume automations", pause_cmd, group="automations")
    resume.set_defaults(paused=False)


def list_cmd(_args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s:
        rows = automations.list_rows(s)
        paused = auto_queue.is_paused(s)
    if paused:
        print("Automations are PAUSED.")
    if not rows:
        print("No automations yet.")
    for r in rows:
        state = "enabled " if r.enabled else "disabled"
        print(
            f"{r.name:<30} {state} {r.purpose:<12} {r.step_count} step(s)  sent {r.sent}, "
            f"skipped {r.skipped}, failed {r.failed}, upcoming {r.pending}"
        )
    return 0


def purpose_cmd(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.write() as s:
        found = automations.find_by_name(s, args.name)
        view = automations.update_automation(
            s, found.id, dataclasses.replace(found.as_input(), purpose=args.purpose)
        )
    print(f"'{view.name}' serves {view.purpose}: contacts who declined {view.purpose} texts "
          "are skipped.")  # fmt: skip
    return 0


def export_cmd(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s:
        data = automations.export_automations(s)
    Path(args.file).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"Exported {len(data['automations'])} automation(s) to {args.file}.")
    return 0


def import_cmd(args: argparse.Namespace, services: AppServices) -> int:
    data = automation_file.read_file(args.file)  # size, text and depth checked first
    with services.db.write() as s:
        names = automations.import_automations(s, data, replace=args.replace, clock=services.clock)
    print(f"Imported {len(names)} automation(s): {', '.join(names)}.")
    return 0


def enroll_cmd(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.write() as s:
        automation = automations.find_by_name(s, args.name)
        result = automations.enroll(
            s,
            automation.id,
            _audience(args, s, services),
            actor=services.actor,
            clock=services.clock,
        )
    print(result.describe())
    return 0


def _audience(args: argparse.Namespace, session, services: AppServices) -> Audience:  # type: ignore[no-untyped-def]
    if args.all:
        return Audience(everyone=True)
    if args.tag:
        return Audience(tag=args.tag)
    if args.stage:
        return Audience(stage=args.stage)
    e164 = parse_phone(args.phone, services.settings.default_country).e164
    ids = tuple(c.id for c in contacts_with_number(session, e164))
    if not ids:
        raise NotFoundError(f"No contact has the number {args.phone}.")
    return Audience(contact_ids=ids)


def run_due_cmd(args: argparse.Namespace, services: AppServices) -> int:
    runner = AutomationRunner(services)
    recovered = runner.reconcile()
    if recovered.touched:
        print(recovered.describe())
    report = runner.run_due(honour_pause=not args.ignore_pause)
    print(report.describe())
    return 0


def queue_cmd(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s:
        rows = auto_queue.list_queue(
            s, statuses=[args.status] if args.status else None, limit=args.limit
        )
    for r in rows:
        due = r.due_at.strftime("%Y-%m-%d %H:%M")
        print(
            f"{r.id:>6} {due} UTC  {r.status_label:<12} {r.automation_name[:24]:<24} "
            f"step {r.step_position} {r.action_label:<11} {r.contact_name[:24]:<24} {r.reason}"
        )
    if not rows:
        print(
            "The Auto Queue has no items" + (f" with status {args.status}." if args.status else ".")
        )
    return 0


def pause_cmd(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.write() as s:
        auto_queue.set_paused(s, args.paused, actor=services.actor, clock=services.clock)
    print("Automations paused." if args.paused else "Automations resumed.")
    return 0
