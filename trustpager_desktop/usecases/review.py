"""Needs review: replies that may be opt-outs (or START replies) waiting for a person,
and texts from unknown senders."""

from __future__ import annotations

from dataclasses import dataclass

from trustpager_desktop.core import inbox
from trustpager_desktop.core.confirmations import send_due_confirmations
from trustpager_desktop.core.inbox import ReviewItem, ReviewOutcome, UnknownSender
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt


@dataclass(frozen=True)
class ReviewLists:
    items: tuple[ReviewItem, ...]
    unknown_senders: tuple[UnknownSender, ...]


class ReviewService(ScreenService):
    def count(self) -> int:
        """How many replies wait for a decision (the navigation badge)."""
        with self.db.read() as s:
            return inbox.count_needs_review(s)

    def lists(self) -> ReviewLists:
        """Both lists, in one short session."""
        with self.db.read() as s:
            items = inbox.list_needs_review(s, self.region)
            senders = inbox.list_unknown_senders(s, self.region)
        return ReviewLists(tuple(items), tuple(senders))

    def urgent(self) -> list[ReviewItem]:
        """Replies within two business days of their deadline, or past it."""
        with self.db.read() as s:
            return inbox.urgent_reviews(s, self.clock.now(), self.region)

    def decide(self, inbound_id: int, decision: str) -> Outcome[ReviewOutcome]:
        """Record a decision; refused (changing nothing) when it does not fit or the reply
        was decided meanwhile, perhaps on another desktop."""
        outcome = attempt(
            lambda: inbox.decide_review(self.db, inbound_id, decision, self.actor, self.clock)
        )
        if outcome.ok:
            self.publish({topic.MESSAGES, topic.CONTACTS})
        return outcome

    def send_confirmations(self) -> None:
        """Send due opt-out confirmation texts now (slow: a provider call; off the GUI thread)."""
        send_due_confirmations(self.db, self._app.gateway, clock=self.clock)
