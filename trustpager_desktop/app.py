"""``trustpager-desktop``: wires the pieces together and opens the window."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence

from trustpager_desktop import APP_NAME, __version__

log = logging.getLogger("trustpager")
PALETTE_ENV = "TRUSTPAGER_PALETTE"
EXIT_MISSING_LIBRARIES = 3


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
        "queue, activity, review, insights, settings",
    )
    parser.add_argument(
        "--size", metavar="WxH", default="1280x800", help="window size for --screenshot"
    )
    parser.add_argument(
        "--palette",
        choices=("system", "light", "dark"),
        default=os.environ.get(PALETTE_ENV, "system"),
        help=f"colours: follow the system (default), or force light or dark (also {PALETTE_ENV})",
    )
    return parser


_COLLECTORS: list = []  # the window's GuiThreadCollector, once started


def _resume_garbage_collection() -> None:
    """After the first paint: keep what start-up built out of future collections, then
    collect, on the GUI thread only (ui.collector says why)."""
    if _COLLECTORS:
        return
    from trustpager_desktop.ui.collector import GuiThreadCollector

    gc.freeze()
    collector = GuiThreadCollector()
    collector.start()
    _COLLECTORS.append(collector)


def _end_garbage_collection() -> None:
    """Give collection back to the interpreter as the window closes."""
    while _COLLECTORS:
        _COLLECTORS.pop().stop()
    gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up allocates hundreds of thousands of objects (SQLAlchemy, Qt, the models)
    # and almost none are garbage; collecting during it costs ~0.2 s of the cold start.
    gc.disable()
    try:
        return _run(argv)
    finally:
        _end_garbage_collection()


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot:
        # Offscreen rendering needs no display; set before Qt starts.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    else:
        from trustpager_desktop.platform_check import install_hint, missing_platform_libraries

        missing = missing_platform_libraries()
        if missing:  # Qt would abort with a message nobody understands: say what to install
            print(install_hint(missing), file=sys.stderr)
            return EXIT_MISSING_LIBRARIES
    from trustpager_desktop.logging_setup import setup_logging

    log_file = setup_logging()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.store.database import DatabaseError, resolve_database_url
    from trustpager_desktop.ui.error_net import install_error_net
    from trustpager_desktop.ui.icons import app_icon
    from trustpager_desktop.ui.single_instance import SingleInstance, instance_key
    from trustpager_desktop.ui.theme import apply_palette

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_palette(app, args.palette)
    windows: list = []  # the error dialog's parent, once the window exists
    if not args.screenshot:  # a screenshot shows no dialogs; an error there is an exit code
        error_net = install_error_net(lambda: windows[0] if windows else None)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("TrustPager")
    app.setDesktopFileName("org.trustpager.TrustPagerDesktop")
    app.setWindowIcon(app_icon())
    instance = None
    if not args.screenshot:
        instance = SingleInstance(instance_key(resolve_database_url(args.db)))
        try:
            if not instance.claim(list(sys.argv[1:])):
                log.info("TrustPager already runs for this database: brought it to the front")
                return 0
        except OSError as exc:  # still usable, just without the hand-off
            log.warning("single-instance check unavailable: %s", exc)
    log.info("%s %s starting; log file %s", APP_NAME, __version__, log_file)
    try:
        services = AppServices.open(args.db)
    except DatabaseError as exc:
        if args.screenshot:
            print(f"trustpager-desktop: {exc}", file=sys.stderr)
        else:
            QMessageBox.critical(None, APP_NAME, f"The database could not be opened.\n\n{exc}")
        return 2
    from trustpager_desktop.logging_setup import register_known_secrets
    from trustpager_desktop.ui.common import dispose_widgets
    from trustpager_desktop.ui.desktop import install_desktop_integration
    from trustpager_desktop.ui.main_window import MainWindow
    from trustpager_desktop.ui.single_instance import bring_to_front

    register_known_secrets(services)
    if not args.screenshot and not (services.settings.first_run_done and services.local.name_asked):
        from trustpager_desktop.ui.first_run import run_first_run  # only ever needed once
        from trustpager_desktop.usecases.settings import SettingsService

        _resume_garbage_collection()  # the assistant waits on a person: collect as usual

        run_first_run(SettingsService(services))  # cancelled: asked again at the next start
    window = MainWindow(services)
    windows.append(window)
    from trustpager_desktop.ui.first_paint import report_first_paint

    report_first_paint(window)  # only with TRUSTPAGER_PRINT_FIRST_PAINT=1 (benchmarks)
    desktop = install_desktop_integration(window, services, app, with_tray=not args.screenshot)
    if args.screenshot:
        return _screenshot(app, window, args)
    if instance is not None:
        instance.activated.connect(lambda _argv: bring_to_front(window))
    from trustpager_desktop.ui.background import BackgroundWork, opt_out_names

    work = BackgroundWork(services)
    window.attach_background(work)
    if desktop.tray is not None:
        work.inbox.opted_out.connect(
            lambda notices: desktop.tray.notify_opt_out(opt_out_names(notices))
        )
        work.inbox.status_changed.connect(desktop.tray.set_inbox_status)
    from trustpager_desktop.ui.review_alerts import alert_text

    def review_due(items: list) -> None:  # a reply nears its 10-business-day deadline
        QApplication.alert(window)
        if desktop.tray is not None:
            desktop.tray.notify(*alert_text(items), error=True)

    window.review_alerts.newly_urgent.connect(review_due)
    window.show()
    QTimer.singleShot(0, _resume_garbage_collection)  # right after the first paint
    work.start()
    window.start_live_updates()  # other desktops' and the agent's changes, within 2 s
    code = app.exec()
    error_net.uninstall()
    window.shutdown()
    dispose_widgets(window)
    if instance is not None:
        instance.release()
    services.close()
    return code


def _screenshot(app, window, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from trustpager_desktop.ui.common import dispose_widgets

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
    # A page that loads off the GUI thread (Insights) is pictured once its figures are in.
    wait_until_loaded = getattr(window.stack.currentWidget(), "wait_until_loaded", None)
    if callable(wait_until_loaded):
        wait_until_loaded()
        app.sendPostedEvents()  # the layout requests of what the load added, then paint
        app.processEvents()
    load_error = getattr(window.stack.currentWidget(), "load_error", None)
    if load_error:  # a contact that does not exist (read off the GUI thread)
        print(f"trustpager-desktop: {load_error}", file=sys.stderr)
        return 2
    _resume_garbage_collection()
    ok = window.grab().save(args.screenshot)
    window.shutdown()
    dispose_widgets(window)
    if not ok:
        print(f"trustpager-desktop: could not write {args.screenshot}", file=sys.stderr)
        return 1
    print(args.screenshot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
