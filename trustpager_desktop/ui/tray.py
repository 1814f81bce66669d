"""The system tray: keeps TrustPager running (poller and automations) with the window closed.

Menu: Open, Check inbox now, Pause automations (checkable, stored in the database so
the runner honours it), Quit. Notifications for an opt-out received and a failed send.
Closing the window hides it to the tray when ``settings.keep_in_tray`` is on and a tray
exists; otherwise closing quits. Works on any QMainWindow without changing its code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from trustpager_desktop import APP_NAME
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.pause import AutomationPause
from trustpager_desktop.ui.single_instance import bring_to_front
from trustpager_desktop.usecases.automations import AutomationsService

log = logging.getLogger("trustpager.tray")

NOTIFY_MS = 8000


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayController(QObject):
    """Owns the tray icon and its menu; the actions are plain slots (testable without a tray).

    ``check_inbox_requested`` is emitted by "Check inbox now"; connect it to whatever
    runs the inbox poller (the window's scheduler). ``quit_requested`` before quitting.
    """

    check_inbox_requested = Signal()
    quit_requested = Signal()
    pause_changed = Signal(bool)

    def __init__(
        self,
        window: QWidget,
        services: AppServices,
        *,
        icon: QIcon,
        quit_app: Callable[[], None] | None = None,
        pause: AutomationPause | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or window)
        self.window = window
        self.services = services
        # Shared with the window's menu and status bar when given, so all show one state.
        self.pause = pause or AutomationPause(AutomationsService(services), self)
        self.quitting = False
        self._quit_app = quit_app or QApplication.quit
        self._hidden_hint_shown = False
        self._paused = False
        self._inbox_status = ""
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip(APP_NAME)
        self.menu = QMenu()
        self.open_action = self._add("Open TrustPager", self.open_window)
        self.check_action = self._add("Check inbox now", self.check_inbox_now)
        self.pause_action = self._add("Pause automations", self.set_paused)
        self.pause_action.setCheckable(True)
        self.menu.addSeparator()
        self.quit_action = self._add("Quit", self.quit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_icon_activated)
        self.pause.changed.connect(self._show_pause)
        self.pause.ready_changed.connect(lambda _ready: self._show_pause(self.pause.paused))
        self.pause.failed.connect(lambda message: self.notify("Automations", message, error=True))
        self._show_pause(self.pause.paused)

    def _add(self, text: str, slot: Callable) -> QAction:  # type: ignore[type-arg]
        action = self.menu.addAction(text)
        action.triggered.connect(slot)
        return action

    def show(self) -> bool:
        """Show the icon if this desktop has a tray; returns whether it is shown."""
        if tray_available():
            self.icon.show()
        return self.icon.isVisible()

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    # ---- menu actions -----------------------------------------------------------------

    @Slot()
    def open_window(self) -> None:
        bring_to_front(self.window)

    @Slot()
    def check_inbox_now(self) -> None:
        self.check_inbox_requested.emit()

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        """Pause or resume automations (stored in the database, logged as a settings change)."""
        self.pause.set_paused(paused)
        self._show_pause(self.pause.paused)

    @Slot()
    def quit(self) -> None:
        self.quitting = True
        self.quit_requested.emit()
        self.icon.hide()
        self._quit_app()

    def refresh_pause_state(self) -> None:
        """Tick or untick "Pause automations" from the database (another desktop may change
        it); the read runs off the GUI thread and the tick follows when it arrives."""
        self.pause.refresh()
        self._show_pause(self.pause.paused)

    def _show_pause(self, paused: bool) -> None:
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)
        self.pause_action.setEnabled(self.pause.ready)  # not until known, nor while saving
        self._paused = paused
        self._update_tooltip()
        self.pause_changed.emit(paused)

    @Slot(str)
    def set_inbox_status(self, text: str) -> None:
        """Show the inbox line of the status bar in the tooltip too ('Inbox checked by
        OFFICE-PC (agent) 12 s ago')."""
        self._inbox_status = text
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        title = f"{APP_NAME} (automations paused)" if self._paused else APP_NAME
        inbox = self._inbox_status
        self.icon.setToolTip(f"{title}\n{inbox}" if inbox else title)

    # ---- notifications --------------------------------------------------------------------

    @Slot(list)
    def notify_opt_out(self, names_or_numbers: Sequence[str]) -> None:
        """Tell the user who opted out (names or numbers, plain text)."""
        who = [str(n) for n in names_or_numbers if str(n).strip()]
        if not who:
            return
        shown = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
        title = "Opt-out received" if len(who) == 1 else f"{len(who)} opt-outs received"
        self.notify(title, f"{shown} will get no more automated texts.")

    @Slot(str)
    def notify_send_failed(self, reason: str) -> None:
        self.notify("A text was not sent", reason or "The send failed.", error=True)

    def notify(self, title: str, message: str, *, error: bool = False) -> None:
        """A tray balloon (only while the icon is shown; always logged)."""
        (log.warning if error else log.info)("%s: %s", title, message)
        if self.icon.isVisible():
            kind = (
                QSystemTrayIcon.MessageIcon.Warning
                if error
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.icon.showMessage(title, message, kind, NOTIFY_MS)

    # ---- closing the window -------------------------------------------------------------

    def keep_running_on_close(self) -> bool:
        """Closing hides to the tray when the setting is on and a tray icon is shown."""
        return self.services.settings.keep_in_tray and self.icon.isVisible() and not self.quitting

    def hidden_to_tray(self) -> None:
        if not self._hidden_hint_shown:
            self._hidden_hint_shown = True
            self.notify(
                APP_NAME,
                "TrustPager keeps checking the inbox and running automations. "
                "Use the tray icon to open it again or to quit.",
            )

    def _on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_window()


class CloseToTrayFilter(QObject):
    """Event filter on the main window: Close hides it to the tray, or quits the app.

    ``keep_running`` decides (TrayController.keep_running_on_close); ``on_hidden`` runs
    after hiding; ``quit_app`` runs (queued) when the close is accepted.
    """

    def __init__(
        self,
        window: QWidget,
        keep_running: Callable[[], bool],
        *,
        on_hidden: Callable[[], None] = lambda: None,
        quit_app: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._keep_running = keep_running
        self._on_hidden = on_hidden
        self._quit_app = quit_app or QApplication.quit
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is not self._window or event.type() != QEvent.Type.Close:
            return False
        if self._keep_running():
            assert isinstance(event, QCloseEvent)
            event.ignore()
            self._window.hide()
            self._on_hidden()
            return True
        # The app does not quit on its own when a tray is in use: quit once the window has
        # really closed (its own closeEvent may still refuse, e.g. to ask about unsaved work).
        QTimer.singleShot(0, self._quit_if_closed)
        return False

    def _quit_if_closed(self) -> None:
        if not self._window.isVisible():
            self._quit_app()


def install_tray(
    window: QWidget,
    services: AppServices,
    app: QApplication,
    *,
    icon: QIcon,
    pause: AutomationPause | None = None,
) -> TrayController:
    """Add the tray icon (if this desktop has a tray) and close-to-tray to ``window``.

    The returned controller stays alive as a child of the window. Without a tray the
    menu slots still work and closing the window quits as usual.
    """
    tray = TrayController(window, services, icon=icon, quit_app=app.quit, pause=pause)
    shown = tray.show()
    if not shown:
        log.info("no system tray on this desktop: closing the window quits")
    app.setQuitOnLastWindowClosed(not shown)
    tray.close_filter = CloseToTrayFilter(  # type: ignore[attr-defined]
        window, tray.keep_running_on_close, on_hidden=tray.hidden_to_tray, quit_app=app.quit
    )
    return tray
