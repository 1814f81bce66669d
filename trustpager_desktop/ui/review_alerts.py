"""Escalation of replies waiting for review as their 10-business-day deadline nears.

From two business days before the deadline a reply is "due soon": the navigation count
turns red and, once per reply and session, a tray/desktop notification says so. The
check runs when the review count changes and every few minutes (time alone makes a
reply due soon). Deadlines come from ``core.inbox`` (``core.business_days``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from trustpager_desktop.core import inbox
from trustpager_desktop.core.business_days import Urgency
from trustpager_desktop.core.inbox import ReviewItem
from trustpager_desktop.services import AppServices

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
    """Watches the Needs review list; ``urgent_changed(count)`` drives the red count and
    ``newly_urgent(items)`` a notification (each reply once per session)."""

    urgent_changed = Signal(int)
    newly_urgent = Signal(list)  # list[ReviewItem]

    def __init__(self, services: AppServices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._notified: set[int] = set()
        self.urgent: list[ReviewItem] = []
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_EVERY_MS)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        self.timer.start()
        self.check()

    def check(self) -> list[ReviewItem]:
        """Read the due-soon and overdue replies now; emit what changed."""
        s = self._services
        with s.db.read() as session:
            urgent = inbox.urgent_reviews(session, s.clock.now(), s.settings.default_country)
        changed = len(urgent) != len(self.urgent)
        self.urgent = urgent
        if changed:
            self.urgent_changed.emit(len(urgent))
        fresh = [i for i in urgent if i.inbound_id not in self._notified]
        if fresh:
            self._notified.update(i.inbound_id for i in fresh)
            self.newly_urgent.emit(fresh)
        return urgent

    def is_overdue(self, item: ReviewItem) -> bool:
        return item.urgency(self._services.clock.now()) is Urgency.OVERDUE
