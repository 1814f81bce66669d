"""The Communication Preferences card: a contact's SMS opt-out by hand, re-consent with
how it was obtained, and the purposes they decline. Each write goes through
``core.preferences`` (which calls ``core.consent``), so the card and every other path
share one rule; the service adds the session, the actor, the clock and the outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustpager_desktop.core import contacts, preferences
from trustpager_desktop.core.contacts import ContactView
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt

# A consent change writes consent events and the activity log (and may queue the
# confirmation text): the views of both re-read.
CONSENT_TOPICS = frozenset({topic.CONTACTS, topic.ACTIVITY})


@dataclass(frozen=True)
class ReConsent:
    """How the contact agreed to texts again: a method (core.consent.RECONSENT_METHODS)
    and a note; both are required."""

    method: str
    note: str


@dataclass(frozen=True)
class ConsentChange:
    """What one Save on the card changes, applied together in one transaction.

    ``declined``: the purposes now declined (None: unchanged); ``opt_out``: tick the
    opt-out (with its one confirmation text when ``send_confirmation``); ``re_consent``:
    untick it, saying how consent was obtained."""

    declined: tuple[str, ...] | None = None
    opt_out: bool = False
    send_confirmation: bool = False
    re_consent: ReConsent | None = None


class ConsentService(ScreenService):
    @property
    def purposes(self) -> tuple[str, ...]:
        """The business's SMS purposes ('Appointment', 'Marketing'), in its order."""
        return tuple(self.settings.purposes)

    @property
    def confirmation_offered(self) -> bool:
        """Whether a staff opt-out should ask about a confirmation text (the setting)."""
        return self.settings.confirm_opt_outs

    def save(self, contact_id: int, change: ConsentChange) -> Outcome[ContactView]:
        """Apply ``change`` and return the contact as it now is. A refused re-consent or
        purpose changes nothing (``message``); a contact deleted meanwhile is ``gone``."""
        steps = self._steps(contact_id, change)

        def write() -> ContactView:
            with self.db.write() as s:
                for step in steps:
                    step(s)
            with self.db.read() as s:
                return contacts.get_contact(s, contact_id, self.region)

        outcome = attempt(write)
        if outcome.ok or outcome.gone:
            self.publish(CONSENT_TOPICS)
        return outcome

    def opt_out(self, contact_id: int, *, send_confirmation: bool = False) -> Outcome[ContactView]:
        return self.save(contact_id, ConsentChange(opt_out=True,
                                                   send_confirmation=send_confirmation))  # fmt: skip

    def re_consent(self, contact_id: int, method: str, note: str) -> Outcome[ContactView]:
        return self.save(contact_id, ConsentChange(re_consent=ReConsent(method, note)))

    def set_declined(self, contact_id: int, declined: tuple[str, ...]) -> Outcome[ContactView]:
        return self.save(contact_id, ConsentChange(declined=declined))

    def _steps(self, contact_id: int, change: ConsentChange) -> list[Callable[[Session], object]]:
        actor, clock = self.actor, self.clock
        steps: list[Callable[[Session], object]] = []
        if change.declined is not None:
            declined = list(change.declined)
            steps.append(lambda s: preferences.set_declined_by_hand(
                s, contact_id, declined, actor=actor, clock=clock))  # fmt: skip
        if change.opt_out:
            confirm = change.send_confirmation
            steps.append(lambda s: preferences.opt_out_by_hand(
                s, contact_id, actor=actor, clock=clock, send_confirmation=confirm))  # fmt: skip
        if change.re_consent is not None:
            how = change.re_consent
            steps.append(lambda s: preferences.re_consent_by_hand(
                s, contact_id, method=how.method, note=how.note, actor=actor, clock=clock))  # fmt: skip
        return steps
