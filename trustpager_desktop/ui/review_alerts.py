"""Escalation of replies waiting for review as their 10-business-day deadline nears.

From two business days before the deadline a reply is "due soon": the navigation count
turns red and, once per reply and session, a tray/desktop notification says so. The
check runs when the review count changes and every few minutes (time alone makes a
reply due soon). Deadlines come from ``core.inbox`` (``core.business_days``).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from trustpager_desktop.core.business_days import Urgency
from trustpager_desktop.core.inbox import ReviewItem
from trustpager_desktop.ui.runner import BackgroundTask
from trustpager_desktop.usecases.review import ReviewService

log = logging.getLogger("trustpager.ui")

CHECK_EVERY_MS = 5 * 60 * 1000


def alert_text(items: list[ReviewItem]) -> tuple[str, str]:
    """(title, message) for a notification about replies that became due soon or overdue."""
    count = len(items)
    title = ("A possible opt-out needs a decision" if count == 1
             else f"{count} possible opt-outs need a decision")  # fmt: skip
    first = items[0]
    who = ", ".join(first.contact_names) or first.from_display
    message = f"{who}: “{' '.join(first.body.split())[:80]}”."
    if count > 1:
        message += f" And {count - 1} more."
    return title, message + " Open Needs review before the 10-business-day deadline."


class ReviewEscalation(QObject):
    """Watches the Needs review list; ``urgent_changed(count)`` drives the red count,
    ``newly_urgent(items)`` a notification (each reply once per session) and ``checked(items)``
    fires after every check. The list is read off the GUI thread."""

    urgent_changed = Signal(int)
    newly_urgent = Signal(list)  # list[ReviewItem]
    checked = Signal(list)  # list[ReviewItem]: the due-soon and overdue replies now

    def __init__(self, service: ReviewService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._notified: set[int] = set()
        self.urgent: list[ReviewItem] = []
        self._reading: BackgroundTask | None = None
        self._check_again = False
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_EVERY_MS)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        self.timer.start()
        self.check()

    @property
    def is_checking(self) -> bool:
        return self._reading is not None

    def check(self) -> None:
        """Read the due-soon and overdue replies off the GUI thread; emit what changed. A
        check asked for while one runs runs once more after it (the latest state wins)."""
        if self._reading is not None:
            self._check_again = True
            return
        service = self._service  # the pool thread gets the service, never this object
        self._reading = BackgroundTask(lambda _progress: service.urgent(), self)
        self._reading.finished.connect(self._show)
        self._reading.errored.connect(self._failed)
        self._reading.start()

    def _show(self, urgent: list[ReviewItem]) -> None:
        self._reading = None
        changed = len(urgent) != len(self.urgent)
        self.urgent = urgent
        if changed:
            self.urgent_changed.emit(len(urgent))
        fresh = [i for i in urgent if i.inbound_id not in self._notified]
        if fresh:
            self._notified.update(i.inbound_id for i in fresh)
            self.newly_urgent.emit(fresh)
        self.checked.emit(urgent)
        self._next()

    def _failed(self, error: Exception) -> None:
        self._reading = None
        log.warning("could not read the replies near their deadline: %s", error)
        self._next()

    def _next(self) -> None:
        if self._check_again:
            self._check_again = False
            self.check()

    def is_overdue(self, item: ReviewItem) -> bool:
        return item.urgency(self._service.clock.now()) is Urgency.OVERDUE
