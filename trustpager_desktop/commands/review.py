"""`trustpager review ...`: the Needs review list and its decisions, without a window.

The same core calls as the Review page (``core.inbox.list_needs_review`` and
``decide_review``), so the decision, its log entry, the release of held texts and the
opt-out confirmation are exactly what the window does.
"""

from __future__ import annotations

import argparse

from trustpager_desktop.core import inbox
from trustpager_desktop.core.confirmations import send_due_confirmations
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.states import ReviewDecision
from trustpager_desktop.services import AppServices

# What a person types -> the decision core knows.
DECISION_WORDS = {
    "opt-out": ReviewDecision.OPT_OUT,
    "not-opt-out": ReviewDecision.NOT_OPT_OUT,
    "re-consent": ReviewDecision.RE_CONSENT,
    "keep-opted-out": ReviewDecision.KEEP_OPTED_OUT,
}


def register(cli) -> None:  # type: ignore[no-untyped-def]
    cli.group("review", "replies that may be opt-outs: list them and decide")
    cli.command("list", "list the replies waiting for a decision, oldest first", list_cmd,
                group="review")  # fmt: skip
    decide = cli.command(
        "decide",
        "decide one reply: opt-out or not-opt-out (a START held for review: re-consent or "
        "keep-opted-out)",
        decide_cmd,
        group="review",
    )
    decide.add_argument("id", type=int, help="the reply's id from `trustpager review list`")
    decide.add_argument("decision", choices=list(DECISION_WORDS))


def list_cmd(_args: argparse.Namespace, services: AppServices) -> int:
    settings = services.settings
    now = services.clock.now()
    with services.db.read() as session:
        items = inbox.list_needs_review(session, settings.default_country)
    if not items:
        print("Nothing waits for review.")
        return 0
    for item in items:
        who = ", ".join(item.contact_names) or "unknown sender"
        when = inbox.received_text(item.received_at, settings.business_timezone)
        deadline = item.deadline.describe(now) if item.deadline else "START reply held"
        body = " ".join(item.body.split())
        print(f"{item.inbound_id:>6}  {when}  {item.from_display} ({who})  {deadline}")
        print(f"        “{body[:160]}”")
        print(f"        why: {item.reason}")
    return 0


def decide_cmd(args: argparse.Namespace, services: AppServices) -> int:
    decision = DECISION_WORDS.get(args.decision)
    if decision is None:
        raise UserInputError(f"Unknown decision '{args.decision}'.")
    outcome = inbox.decide_review(services.db, args.id, decision, services.actor, services.clock)
    print(f"Reply {args.id}: {outcome.message}")
    sent = send_due_confirmations(services.db, services.gateway, clock=services.clock)
    if sent.sent:
        print("Opt-out confirmation text sent.")
    return 0
