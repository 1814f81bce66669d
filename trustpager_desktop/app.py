"""``trustpager-desktop``: wires the pieces together and opens the window."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from trustpager_desktop import APP_NAME, __version__

log = logging.getLogger("trustpager")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trustpager-desktop",
        description=f"{APP_NAME}: SMS for small businesses, with opt-outs handled right.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: TRUSTPAGER_DB_URL or the local file)"
    )
    parser.add_argument(
        "--screenshot",
        metavar="FILE.png",
        help="render the window offscreen to a PNG and exit (no dialogs are shown)",
    )
    parser.add_argument(
        "--show",
        metavar="WHAT",
        default="contacts",
        help="with --screenshot: contacts, contact:ID, opportunities, opportunity:ID, automations, "
        "activity, settings",
    )
    parser.add_argument(
        "--size", metavar="WxH", default="1280x800", help="window size for --screenshot"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot:
        # Offscreen rendering needs no display; set before Qt starts.
        import os

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QMessageBox

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.store.database import DatabaseError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("TrustPager")
    try:
        services = AppServices.open(args.db)
    except DatabaseError as exc:
        if args.screenshot:
            print(f"trustpager-desktop: {exc}", file=sys.stderr)
        else:
            QMessageBox.critical(None, APP_NAME, f"The database could not be opened.\n\n{exc}")
        return 2
    from trustpager_desktop.ui.main_window import MainWindow, offer_demo_data

    if not args.screenshot:
        offer_demo_data(services)
    window = MainWindow(services)
    if args.screenshot:
        return _screenshot(app, window, args)
    window.show()
    code = app.exec()
    window.shutdown()
    services.close()
    return code


def _screenshot(app, window, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"trustpager-desktop: --size wants WIDTHxHEIGHT, not '{args.size}'", file=sys.stderr)
        return 2
    window.resize(width, height)
    try:
        window.show_target(args.show)
    except (ValueError, LookupError) as exc:
        print(f"trustpager-desktop: {exc}", file=sys.stderr)
        return 2
    window.show()
    app.processEvents()
    ok = window.grab().save(args.screenshot)
    window.shutdown()
    if not ok:
        print(f"trustpager-desktop: could not write {args.screenshot}", file=sys.stderr)
        return 1
    print(args.screenshot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
