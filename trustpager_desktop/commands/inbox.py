"""`trustpager inbox status` and `trustpager delivery list | clear NUMBER`."""

from __future__ import annotations

import argparse

from trustpager_desktop.core import delivery, inbox_state
from trustpager_desktop.core.number_contacts import names_by_number
from trustpager_desktop.core.phone import format_for_reading
from trustpager_desktop.services import AppServices


def register(cli) -> None:  # type: ignore[no-untyped-def]
    cli.group("inbox", "who reads the Twilio inbox for this database, and when it last did")
    cli.command(
        "status", "show who polls the inbox and when it was last read", status_cmd, group="inbox"
    )
    cli.group("delivery", "numbers whose texts keep failing (landline, unreachable)")
    cli.command(
        "list", "list the numbers automations skip because texts to them fail", list_cmd,
        group="delivery",
    )  # fmt: skip
    clear = cli.command(
        "clear", "let automations text a number again (logged)", clear_cmd, group="delivery"
    )
    clear.add_argument("number", help="the phone number, in any format")


def status_cmd(_args: argparse.Namespace, services: AppServices) -> int:
    now = services.clock.now()
    with services.db.read() as s:
        last = inbox_state.last_read(s)
        sweep = inbox_state.last_sweep(s)
        lease = inbox_state.read_lease(s)
    if lease is not None and lease.active(now):
        print(f"Polled by: {lease.label}" + (f" (reports: {lease.error})" if lease.error else ""))
    else:
        print("Polled by: nobody right now (no desktop or agent is running)")
    if last is None:
        print("Last read: never")
    else:
        age = (now - last.at).total_seconds()
        print(f"Last read: {last.at:%Y-%m-%d %H:%M:%S} UTC by {last.label} ({age:.0f} s ago)")
    print(f"Last look-back sweep: {f'{sweep:%Y-%m-%d %H:%M:%S} UTC' if sweep else 'never'}")
    return 0


def list_cmd(_args: argparse.Namespace, services: AppServices) -> int:
    region = services.settings.default_country
    with services.db.read() as s:
        problems = delivery.list_blocked(s)
        names = names_by_number(s, (p.phone_e164 for p in problems))
    if not problems:
        print("No numbers are skipped for failed deliveries.")
        return 0
    for p in problems:
        who = ", ".join(names.get(p.phone_e164, [])) or "no contact"
        print(
            f"{format_for_reading(p.phone_e164, region):<18} {delivery.block_reason(p.error_code):<20} "
            f"{p.failures} in a row since {p.since:%d %b %Y}  {who}"
        )
    return 0


def clear_cmd(args: argparse.Namespace, services: AppServices) -> int:
    before = delivery.clear_block(
        services.db,
        args.number,
        actor=services.actor,
        clock=services.clock,
        default_region=services.settings.default_country,
    )
    print(
        f"Cleared {before.phone_e164}: automations may text it again "
        f"(was: {delivery.block_reason(before.error_code)}, {before.failures} in a row)."
    )
    return 0
