"""The Messaging card: a contact's conversation, and a manual text sent through the one
outbound gateway (slow: a provider call, so the window runs it on the background runner)."""

from __future__ import annotations

from dataclasses import dataclass

from trustpager_desktop.core import conversation, delivery
from trustpager_desktop.core.conversation import ConversationItem
from trustpager_desktop.core.gateway import ManualOrigin, SendOutcome
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt


@dataclass(frozen=True)
class Conversation:
    items: tuple[ConversationItem, ...]
    problem: delivery.DeliveryProblem | None  # the number's delivery failures, if any


class MessagingService(ScreenService):
    def conversation(self, contact_id: int, phone_e164: str | None) -> Conversation:
        """The contact's messages and their number's delivery failures (any thread)."""
        with self.db.read(snapshot=False) as s:
            items = conversation.conversation_for_contact(s, contact_id)
            problem = delivery.delivery_problem(s, phone_e164)
        return Conversation(tuple(items), problem)

    def send(
        self, contact_id: int, body: str, screen: str = "contact page"
    ) -> Outcome[SendOutcome]:
        """Send a manual text; the gateway records it (and why, when it refuses)."""
        outcome = attempt(
            lambda: self._app.gateway.send(
                body=body,
                origin=ManualOrigin(actor=self.actor, screen=screen),
                contact_id=contact_id,
            )
        )
        self.publish({topic.MESSAGES})
        return outcome

    def clear_delivery_block(self, phone_e164: str) -> Outcome[delivery.DeliveryProblem]:
        """A person says the number can receive texts again: forget its failures (logged).
        Fails (``message``) when nothing is recorded against the number."""
        outcome = attempt(
            lambda: delivery.clear_block(
                self.db, phone_e164, actor=self.actor, clock=self.clock,
                default_region=self.region,
            )
        )  # fmt: skip
        if outcome.ok:
            self.publish({topic.MESSAGES, topic.ACTIVITY})
        return outcome

    @property
    def can_simulate_replies(self) -> bool:
        """The sandbox provider (no Twilio account set up) can pretend a contact replied."""
        return self._app.provider_choice.is_sandbox

    def simulate_reply(self, from_number: str, body: str) -> None:
        """Sandbox only: leave a reply from ``from_number`` for the inbox poller to find."""
        if self.can_simulate_replies:
            self._app.provider_choice.provider.simulate_reply(  # type: ignore[attr-defined]  # sandbox only
                from_number=from_number, body=body
            )
