"""``trustpager agent``: the background work without a window."""

from __future__ import annotations

import argparse

from trustpager_desktop.logging_setup import register_known_secrets, setup_logging
from trustpager_desktop.runtime import agent
from trustpager_desktop.services import AppServices


def register(cli) -> None:  # type: ignore[no-untyped-def]
    sub = cli.command(
        "agent",
        "run the inbox poller and the automation runner without a window",
        run_agent,
    )
    sub.add_argument(
        "--once", action="store_true", help="run one cycle and exit (non-zero on failure)"
    )


def run_agent(args: argparse.Namespace, services: AppServices) -> int:
    # The agent runs unattended: keep a rotating log file (secrets scrubbed) like the window.
    setup_logging()
    register_known_secrets(services)
    services.role = "agent"  # other desktops show "Inbox checked by HOST (agent)"
    if args.once:
        return agent.run_once(services)
    return agent.run_forever(services)
