"""The error net: an exception nobody caught (in a slot, a timer, a worker thread) is
logged, shown in a plain dialog with "Copy details", and the application keeps running.

Qt for Python hands an exception raised in a slot to ``sys.excepthook`` and carries on;
by default that only prints to stderr, which nobody at a desktop sees. ``install`` puts
a hook there (and on ``threading.excepthook``); a report made on another thread is
shown on the GUI thread through a queued signal. The details (what a support person
needs: the traceback, the version, the platform) pass through ``logging_setup.scrub``,
so a Twilio token or a database password never reaches the clipboard.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop import APP_NAME, __version__
from trustpager_desktop.logging_setup import scrub

log = logging.getLogger("trustpager.errors")

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def error_details(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> str:
    """The report "Copy details" puts on the clipboard, secrets hidden."""
    lines = traceback.format_exception(kind, error, tb)
    header = (
        f"{APP_NAME} {__version__}; Python {platform.python_version()}; "
        f"Qt for Python {PYSIDE_VERSION}; {platform.platform()}\n\n"
    )
    return scrub(header + "".join(lines))


def error_summary(error: BaseException) -> str:
    """One sentence for the dialog: what went wrong, in the error's own words."""
    text = scrub(str(error)).strip() or "no further detail"
    return f"{type(error).__name__}: {text}"


class ErrorNet(QObject):
    """Catches what nothing else caught. ``reported(summary, details)`` fires for each one
    (on the GUI thread); ``show_dialog`` is replaceable so tests can look without a modal."""

    reported = Signal(str, str)
    _from_thread = Signal(str, str)

    def __init__(self, parent_widget: Callable[[], QWidget | None] = lambda: None) -> None:
        super().__init__()
        self._parent_widget = parent_widget
        self._previous_hook: ExceptHook | None = None
        self._previous_thread_hook = None
        self._showing = False
        self._from_thread.connect(self._show)

    def install(self) -> ErrorNet:
        """Become sys.excepthook and threading.excepthook (until ``uninstall``)."""
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread
        return self

    def uninstall(self) -> None:
        if self._previous_hook is not None:
            sys.excepthook = self._previous_hook
            threading.excepthook = self._previous_thread_hook  # type: ignore[assignment]
            self._previous_hook = None

    def handle(
        self, kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        """Log the error and show it; Ctrl+C (KeyboardInterrupt) still stops the program."""
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        details = error_details(kind, error, tb)
        log.error("unexpected error:\n%s", details)
        summary = error_summary(error)
        if threading.current_thread() is threading.main_thread():
            self._show(summary, details)
        else:
            self._from_thread.emit(summary, details)

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    @Slot(str, str)
    def _show(self, summary: str, details: str) -> None:
        self.reported.emit(summary, details)
        if self._showing:  # one dialog at a time; the others are in the log
            return
        self._showing = True
        try:
            self.show_dialog(summary, details)
        finally:
            self._showing = False

    def show_dialog(self, summary: str, details: str) -> None:
        ErrorDialog(summary, details, self._parent_widget()).exec()


class ErrorDialog(QDialog):
    """What happened in a sentence, that the app goes on, the details, and "Copy details"."""

    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME}: something went wrong")
        self.details = details
        self.message = QLabel(
            "Something went wrong, and what you were doing may not have finished.\n\n"
            f"{summary}\n\n"
            f"{APP_NAME} keeps running. If this happens again, press Copy details and send "
            "the text to whoever supports you (no passwords or tokens are in it)."
        )
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_view = QPlainTextEdit(details)
        self.details_view.setReadOnly(True)
        self.details_view.setAccessibleName("Error details")
        self.details_view.setMaximumHeight(160)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)
        self.setMinimumWidth(480)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)


def install_error_net(parent_widget: Callable[[], QWidget | None] = lambda: None) -> ErrorNet:
    """Install the net for the whole application; returns it (keep a reference)."""
    return ErrorNet(parent_widget).install()
