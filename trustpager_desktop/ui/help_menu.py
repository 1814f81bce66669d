"""Help menu for any QMainWindow: "Open log folder" and "About"."""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QWidget

from trustpager_desktop import APP_NAME, __version__
from trustpager_desktop.logging_setup import default_log_dir
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import describe_url
from trustpager_desktop.ui.icons import app_icon

UrlOpener = Callable[[QUrl], bool]


def about_text(services: AppServices, log_dir: Path | None = None) -> str:
    """The About box text: version, database (password hidden), provider, log folder."""
    db = services.db
    where = str(db.sqlite_path) if db.sqlite_path else describe_url(db.url)
    return "\n".join(
        [
            f"{APP_NAME} {__version__}",
            "SMS for small businesses, with opt-outs handled right.",
            "",
            f"Database: {where}",
            f"Sending: {services.provider_choice.description}",
            f"Log folder: {log_dir or default_log_dir()}",
            "",
            f"Python {platform.python_version()}, Qt for Python {PYSIDE_VERSION}",
        ]
    )


def about_box(services: AppServices, parent: QWidget | None = None) -> QMessageBox:
    """The About dialog, built but not shown (plain text: the URL and names are data)."""
    box = QMessageBox(parent)
    box.setWindowTitle(f"About {APP_NAME}")
    box.setIcon(QMessageBox.Icon.Information)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(about_text(services))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    icon = app_icon()
    if not icon.isNull():
        box.setIconPixmap(icon.pixmap(64, 64))
    return box


def help_menu(window: QMainWindow) -> QMenu:
    """The window's Help menu, created at the end of the menu bar if it has none."""
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == "Help":
            return menu
    return window.menuBar().addMenu("&Help")


def install_help_menu(
    window: QMainWindow,
    services: AppServices,
    *,
    log_dir: Path | None = None,
    opener: UrlOpener = QDesktopServices.openUrl,
) -> tuple[QAction, QAction]:
    """Add "Open log folder" and "About TrustPager Desktop" to Help; returns the two actions.

    ``opener`` opens the folder URL (replaceable in tests). The folder is created first,
    so the file manager never shows an error for a fresh install.
    """
    menu = help_menu(window)
    folder = log_dir or default_log_dir()

    def open_log_folder() -> bool:
        folder.mkdir(parents=True, exist_ok=True)
        return opener(QUrl.fromLocalFile(str(folder)))

    open_logs = menu.addAction("Open log folder")
    open_logs.triggered.connect(open_log_folder)
    menu.addSeparator()
    about = menu.addAction(f"About {APP_NAME}")
    about.setMenuRole(QAction.MenuRole.AboutRole)
    about.triggered.connect(lambda: about_box(services, window).exec())
    return open_logs, about
