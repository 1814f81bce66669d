"""Help menu for any QMainWindow: "Open log folder" and "About"; the main window adds the
opt-out guide and the keyboard shortcuts (their words are here, with the dialog that shows
them)."""

from __future__ import annotations

import html
import platform
from collections.abc import Callable
from pathlib import Path

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop import APP_NAME, __version__
from trustpager_desktop.logging_setup import default_log_dir
from trustpager_desktop.ui.icons import app_icon
from trustpager_desktop.usecases.settings import SettingsService

UrlOpener = Callable[[QUrl], bool]

# The opt-out guide (Help -> SMS opt-out guide, F1): (heading, paragraph) in plain words.
OPT_OUT_GUIDE: tuple[tuple[str, str], ...] = (
    ("Subscribed", "The contact may get automated texts (inside the sending hours) and manual "
     "texts."),
    ("Opted out", "The contact, or their number, asked not to be texted. Automations skip every "
     "text to them and record each skipped step with the reason; other steps (tasks, waits) "
     "still run. A manual text asks you to confirm first and is recorded as a send to an "
     "opted-out contact. If Twilio itself holds the number as unsubscribed (error 21610), no "
     "text reaches them at all until they text START."),
    ("Opted out through the number", "Opt-out follows the phone number. When anyone with that "
     "number opts out (another contact, a list, or a STOP from a number no contact has yet), "
     "every contact with the number is opted out, including a contact added later."),
    ("Held: a reply waits for review", "A reply that might mean \"stop\" (a longer phrase, a "
     "misspelling, another language) holds automated texts to that number until a person "
     "decides on the Needs review page."),
    ("No consent on record", "Nothing says the contact agreed to texts. Record how they agreed "
     "before texting them."),
    ("What STOP does", "A reply of STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE or "
     "OPTOUT, as the whole message, in any case) opts out every contact with that number at "
     "once, with no step by you. The activity log keeps the time the reply was received and "
     "its Twilio message SID. Twilio also blocks your number from texting them until they "
     "text START."),
    ("Re-consent: texting someone again", "Untick \"Opted out of SMS\" on the contact's "
     "Communication Preferences card and press Save: TrustPager asks how they agreed again "
     "(for example on the phone, in writing) and for a note, and logs both with your name. A "
     "START reply from the contact re-subscribes them by itself and is its own evidence (or "
     "waits for review, if Settings ask for that)."),
    ("The 10 business days", "Since April 2025 the FCC rule says an opt-out made by any "
     "reasonable means must be honoured within 10 business days at the latest. TrustPager "
     "honours a STOP at once. A reply on the Needs review list holds automated texts "
     "meanwhile; decide it well within those 10 business days. The log shows when, and by "
     "whom, it was decided."),
    ("Proof", "Every opt-out and re-consent is in the Activity Log, which is hash-chained: "
     "\"Verify log\" shows it has not been altered. A contact's page saves their whole "
     "consent history as a PDF or CSV report (Consent report…)."),
)  # fmt: skip


def opt_out_guide_text() -> str:
    """The guide as plain text (what a test or "copy" sees)."""
    return "\n\n".join(f"{title}\n{body}" for title, body in OPT_OUT_GUIDE)


def opt_out_guide_html() -> str:
    """The guide with headings, for the Help dialog (every word escaped)."""
    sections = "".join(
        f"<h3>{html.escape(title)}</h3><p>{html.escape(body)}</p>" for title, body in OPT_OUT_GUIDE
    )
    return f"<h2>SMS opt-outs in TrustPager: what each state means</h2>{sections}"


# (keys, what they do): what Help -> Keyboard shortcuts lists. The main window registers
# the ones marked window-wide; a test checks each of those really exists.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+F", "Find a contact (the search box on Contacts)"),
    ("Enter or Down", "In the search box: go to the results"),
    ("Enter", "In the results: open the selected contact"),
    ("Ctrl+N", "New contact"),
    ("Ctrl+S", "Save the contact or the settings you are editing"),
    ("Ctrl+Enter", "In the message box: send the text"),
    ("Tab / Shift+Tab", "Move between fields (the message box too)"),
    ("Alt+Left", "Back (from a contact to the list or the opportunity you came from)"),
    (
        "Ctrl+1 … Ctrl+8",
        "Contacts, Opportunities, Automations, Activity Log, Needs review, Opt-outs, Insights, "
        "Settings",
    ),
    ("Ctrl+I", "Check the inbox now"),
    ("Ctrl+Shift+P", "Pause or resume automations"),
    ("F1", "This opt-out guide"),
    ("Ctrl+Q", "Quit TrustPager (the inbox and automations stop)"),
)


def shortcuts_text() -> str:
    """The shortcut list as plain text, one 'keys: what' per line."""
    return "\n".join(f"{keys}: {what}" for keys, what in SHORTCUTS)


def shortcuts_html() -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(keys)}</b>&nbsp;&nbsp;</td><td>{html.escape(what)}</td></tr>"
        for keys, what in SHORTCUTS
    )
    return f"<h2>Keyboard shortcuts</h2><table cellpadding='3'>{rows}</table>"


def help_dialog(title: str, html_text: str, parent: QWidget | None = None) -> QDialog:
    """A read-only help dialog (selectable, scrollable, wraps to its width) with Close."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    view = QTextBrowser()
    view.setOpenLinks(False)
    view.setHtml(html_text)
    view.setAccessibleName(title)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(view, 1)
    layout.addWidget(buttons)
    dialog.resize(620, 520)
    dialog.viewer = view  # type: ignore[attr-defined]
    return dialog


def about_text(service: SettingsService, log_dir: Path | None = None) -> str:
    """The About box text: version, database (password hidden), provider, log folder."""
    facts = service.about()
    return "\n".join(
        [
            f"{APP_NAME} {__version__}",
            "SMS for small businesses, with opt-outs handled right.",
            "",
            f"Database: {facts.database}",
            f"Sending: {facts.sending}",
            f"Log folder: {log_dir or default_log_dir()}",
            "",
            f"Python {platform.python_version()}, Qt for Python {PYSIDE_VERSION}",
        ]
    )


def about_box(service: SettingsService, parent: QWidget | None = None) -> QMessageBox:
    """The About dialog, built but not shown (plain text: the URL and names are data)."""
    box = QMessageBox(parent)
    box.setWindowTitle(f"About {APP_NAME}")
    box.setIcon(QMessageBox.Icon.Information)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(about_text(service))
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
    service: SettingsService,
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
    about.triggered.connect(lambda: about_box(service, window).exec())
    return open_logs, about
