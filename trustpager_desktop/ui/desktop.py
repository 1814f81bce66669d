"""One call that makes a main window a desktop citizen: icon, Help menu, tray, close-to-tray.

``install_desktop_integration(window, services, app)`` works on any QMainWindow, so the
window class needs no changes. Connect the returned tray's notification slots to the
signals that report opt-outs and failed sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow

from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.help_menu import install_help_menu
from trustpager_desktop.ui.icons import app_icon
from trustpager_desktop.ui.runner import BackgroundTask, run_in_background
from trustpager_desktop.ui.tray import TrayController, install_tray
from trustpager_desktop.usecases.settings import SettingsService

log = logging.getLogger("trustpager.desktop")


@dataclass
class DesktopIntegration:
    tray: TrayController | None
    open_log_folder: QAction
    about: QAction


_running: set[BackgroundTask] = set()  # fallback checks, kept alive while they run


def run_inbox_jobs_in_background(services: AppServices) -> None:
    """Fallback for "Check inbox now" when the window has no ``check_inbox_now``: one cycle
    of every inbox job on a worker thread (results go to the log)."""

    def work() -> None:
        from trustpager_desktop.runtime.jobs import build_all_jobs  # only when asked: a slow import

        for job in build_all_jobs(services):
            if "inbox" in job.job_id:
                try:
                    report = job.run_once()
                except Exception:
                    log.exception("%s failed", job.job_id)
                    continue
                (log.info if report.ok else log.warning)("%s: %s", job.job_id, report.message)

    def finished(_result: object) -> None:
        _running.discard(task)

    task = run_in_background(work, finished, finished)
    _running.add(task)


def install_desktop_integration(
    window: QMainWindow,
    services: AppServices,
    app: QApplication,
    *,
    with_tray: bool = True,
    log_dir: Path | None = None,
) -> DesktopIntegration:
    """Give ``window`` the app icon and Help menu and (``with_tray``) the tray with
    close-to-tray. "Check inbox now" calls ``window.check_inbox_now()`` when the window
    has one, else runs the inbox jobs once in the background."""
    icon = app_icon()
    app.setWindowIcon(icon)
    window.setWindowIcon(icon)
    screens = getattr(window, "screens", None)  # the main window's; else one of its own
    settings = screens.settings if screens is not None else SettingsService(services)
    open_logs, about = install_help_menu(window, settings, log_dir=log_dir)
    tray = None
    if with_tray:
        tray = install_tray(window, services, app, icon=icon, pause=getattr(window, "pause", None))
        check = getattr(window, "check_inbox_now", None)
        if callable(check):
            tray.check_inbox_requested.connect(check)
        else:
            tray.check_inbox_requested.connect(lambda: run_inbox_jobs_in_background(services))
    quit_requested = getattr(window, "quit_requested", None)
    if quit_requested is not None:  # File -> Quit leaves for real, tray or not
        quit_requested.connect(tray.quit if tray is not None else app.quit)
    return DesktopIntegration(tray, open_logs, about)
