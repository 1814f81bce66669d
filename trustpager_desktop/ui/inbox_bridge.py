"""Qt adapter for the inbox poller: its status as signals, "Check inbox now" off the GUI thread.

The poller calls its listeners on whatever thread ran the cycle (the scheduler's
pool or this bridge's pool). Emitting a signal from there is safe: receivers in
the GUI thread get it queued. Nothing here touches a widget.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from trustpager_desktop.runtime.inbox_poller import InboxPoller, InboxStatus, status_text


class _CheckNow(QRunnable):
    def __init__(self, bridge: InboxBridge) -> None:
        super().__init__()
        self._bridge = bridge

    def run(self) -> None:
        self._bridge._run_check()


class InboxBridge(QObject):
    """Signals for the window: status bar text, opt-out notices, the Needs review count."""

    status_changed = Signal(str)  # "Inbox checked 10:04" / "Twilio unreachable, next try 10:06"
    opted_out = Signal(list)  # list[core.inbox.OptOutNotice], for desktop notifications
    review_count_changed = Signal(int)
    checking_changed = Signal(bool)  # True while "Check inbox now" runs

    def __init__(self, poller: InboxPoller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._poller = poller
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # a second click waits for the first check
        self._review_count = -1
        poller.add_listener(self._on_status)

    @property
    def status_text(self) -> str:
        return status_text(self._poller.status)

    @Slot()
    def check_now(self) -> None:
        """Run one cycle now, ignoring any back-off wait, on a worker thread."""
        self.checking_changed.emit(True)
        self._pool.start(_CheckNow(self))

    def _run_check(self) -> None:
        try:
            self._poller.check_now()
        finally:
            self.checking_changed.emit(False)

    def _on_status(self, status: InboxStatus) -> None:
        # Called on the poller's thread: only emit, never touch widgets.
        self.status_changed.emit(status_text(status))
        if status.opt_outs:
            self.opted_out.emit(status.opt_outs)
        if status.needs_review != self._review_count:
            self._review_count = status.needs_review
            self.review_count_changed.emit(status.needs_review)

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Stop listening and wait for a running check (call before the window closes)."""
        self._poller.remove_listener(self._on_status)
        self._pool.waitForDone(timeout_ms)
