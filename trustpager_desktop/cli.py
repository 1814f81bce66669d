"""The ``trustpager`` command line.

Each command lives in ``trustpager_desktop/commands/<name>.py`` with a
``register(cli)`` function; add a module to ``COMMAND_MODULES`` to plug it in.
Every command prints one clear line on stderr and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from trustpager_desktop import APP_NAME, __version__
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import DatabaseError

COMMAND_MODULES = ("basics", "agent", "records", "automations", "review")

Handler = Callable[[argparse.Namespace, AppServices], int]


class CommandLine:
    """Builds the parser; command modules add groups and commands to it."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            prog="trustpager",
            description=f"{APP_NAME} on the command line: contacts, opt-outs, the inbox agent, "
            "automations and the activity log.",
        )
        self.parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
        self.parser.add_argument(
            "--db",
            metavar="URL",
            help="database URL (default: TRUSTPAGER_DB_URL or the local file)",
        )
        self.parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
        self._top = self.parser.add_subparsers(dest="command", metavar="COMMAND")
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def command(
        self, name: str, help: str, handler: Handler, group: str | None = None
    ) -> argparse.ArgumentParser:
        parent = self._groups[group] if group else self._top
        sub = parent.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    def group(self, name: str, help: str) -> None:
        if name not in self._groups:
            sub = self._top.add_parser(name, help=help, description=help)
            self._groups[name] = sub.add_subparsers(
                dest=f"{name}_command", metavar="COMMAND", required=True
            )


def build_cli() -> CommandLine:
    cli = CommandLine()
    for name in COMMAND_MODULES:
        importlib.import_module(f"trustpager_desktop.commands.{name}").register(cli)
    return cli


def fail(message: str, code: int = 1) -> int:
    print(f"trustpager: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    cli = build_cli()
    args = cli.parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        cli.parser.print_help()
        return 0
    try:
        services = AppServices.open(args.db)
    except DatabaseError as exc:
        return fail(str(exc), 2)
    try:
        return handler(args, services)
    except (UserInputError, NotFoundError, DatabaseError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return 130
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main())
