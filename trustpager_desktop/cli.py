"""The ``trustpager`` command line.

Each command lives in ``trustpager_desktop/commands/<name>.py`` with a
``register(cli)`` function; add a module to ``build_cli`` to plug it in.
Every command prints one clear line on stderr and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from trustpager_desktop import APP_NAME, __version__
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.log_keys import LogKeyError
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import DatabaseError, describe_url, explain_error

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
        self.parser.add_argument(
            "--as",
            dest="acting_as",
            metavar="NAME",
            help="act under this name in the activity log (default: this computer's name, "
            "set with `trustpager name NAME`, else 'login on HOST')",
        )
        self.parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
        self._top = self.parser.add_subparsers(dest="command", metavar="COMMAND")
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def command(
        self,
        name: str,
        help: str,
        handler: Handler,
        group: str | None = None,
        *,
        reads_only: bool = False,
    ) -> argparse.ArgumentParser:
        """Add a command. ``reads_only``: it works on a database this user cannot write
        (opened read-only, with a note on stderr) instead of failing."""
        parent = self._groups[group] if group else self._top
        sub = parent.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler, reads_only=reads_only)
        return sub

    def group(self, name: str, help: str) -> None:
        if name not in self._groups:
            sub = self._top.add_parser(name, help=help, description=help)
            self._groups[name] = sub.add_subparsers(
                dest=f"{name}_command", metavar="COMMAND", required=True
            )


def build_cli() -> CommandLine:
    # Imported here, not at the top: each command module imports this one.
    from trustpager_desktop.commands import (
        agent,
        automations,
        basics,
        inbox,
        records,
        report,
        review,
    )

    cli = CommandLine()
    for module in (basics, agent, records, automations, report, inbox, review):
        module.register(cli)
    return cli


def fail(message: str, code: int = 1) -> int:
    print(f"trustpager: {message}", file=sys.stderr)
    return code


def undecodable_argument(argv: Sequence[str]) -> str | None:
    """A sentence about the first argument that is not valid text (bytes the terminal's
    encoding could not decode reach Python as lone surrogates), or None."""
    for position, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
            return (
                f"argument {position} ('{shown[:60]}') is not valid text: it holds bytes that "
                "are not UTF-8. Check the terminal's character set, or retype it."
            )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    problem = undecodable_argument(argv)
    if problem:
        return fail(problem, 2)
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
        services = AppServices.open(
            args.db, allow_read_only=args.reads_only, acting_as=args.acting_as
        )
    except (DatabaseError, UserInputError) as exc:
        return fail(str(exc), 2)
    services.role = "command"  # `agent` says "agent"; other desktops show who read the inbox
    if services.db.read_only:
        print(
            f"trustpager: note: {describe_url(services.db.url)} is read-only for this user; "
            "opened read-only (exports and verify work, nothing can be changed).",
            file=sys.stderr,
        )
    try:
        return handler(args, services)
    except (UserInputError, NotFoundError, DatabaseError, LogKeyError) as exc:
        return fail(str(exc))
    except SQLAlchemyError as exc:
        return fail(explain_error(exc, services.db.url))
    except OSError as exc:
        return fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return 130
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main())
