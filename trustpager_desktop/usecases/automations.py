"""The Automations page and the Auto Queue: what they show and do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from trustpager_desktop.core import auto_queue, automations, consent, opportunities
from trustpager_desktop.core.automation_pause import automations_paused, set_automations_paused
from trustpager_desktop.core.automations import (
    AutomationInput,
    AutomationRow,
    AutomationView,
    EnrollResult,
)
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt

T = TypeVar("T")


@dataclass(frozen=True)
class QueueView:
    """The Auto Queue under a filter: its rows and the counts for the footer."""

    rows: tuple[auto_queue.QueueRow, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class AutomationsOverview:
    """Everything the page shows at once: the list, the queue, and the pause."""

    automations: tuple[AutomationRow, ...]
    queue: QueueView
    paused: bool
    stages: tuple[str, ...]  # opportunity stages, for a schedule's audience


@dataclass(frozen=True)
class EnrolChoice:
    """An automation contacts can be enrolled in, as the Enrol dialog lists it."""

    id: int
    name: str
    enabled: bool
    purpose: str

    @property
    def label(self) -> str:
        return self.name if self.enabled else f"{self.name} (disabled)"


@dataclass(frozen=True)
class EnrolOptions:
    """What the Enrol dialog shows: the automations, and for each purpose they serve the
    warning about the chosen contacts ('' when every text may go), from the one consent
    state, so choosing another automation needs no further read."""

    choices: tuple[EnrolChoice, ...]
    warnings: dict[str, str]

    def warning_for(self, automation_id: int | None) -> str:
        choice = next((c for c in self.choices if c.id == automation_id), None)
        return self.warnings.get(choice.purpose, "") if choice is not None else ""


class AutomationsService(ScreenService):
    def overview(
        self, automation_id: int | None = None, statuses: Sequence[str] | None = None
    ) -> AutomationsOverview:
        """The list, the queue (filtered) and the pause, in one short session."""
        with self.db.read() as s:
            rows = tuple(automations.list_rows(s))
            if automation_id is not None and all(r.id != automation_id for r in rows):
                automation_id = None  # the filtered automation was deleted meanwhile
            queue = self._queue(s, automation_id, statuses)
            paused = automations_paused(s)
            stages = tuple(opportunities.stages(s))
        return AutomationsOverview(rows, queue, paused, stages)

    def queue(self, automation_id: int | None, statuses: Sequence[str] | None) -> QueueView:
        with self.db.read() as s:
            return self._queue(s, automation_id, statuses)

    @staticmethod
    def _queue(s: Session, automation_id: int | None, statuses: Sequence[str] | None) -> QueueView:
        rows = auto_queue.list_queue(s, automation_id=automation_id, statuses=statuses)
        counts = auto_queue.count_by_status(s, automation_id=automation_id)
        return QueueView(tuple(rows), counts)

    def automation(self, automation_id: int) -> Outcome[AutomationView]:
        """One automation for the editor; ``gone`` when it was deleted meanwhile."""

        def read() -> AutomationView:
            with self.db.read() as s:
                return automations.get_automation(s, automation_id)

        return attempt(read)

    def stages(self) -> list[str]:
        with self.db.read() as s:
            return opportunities.stages(s)

    def save(self, automation_id: int | None, data: AutomationInput) -> Outcome[AutomationView]:
        def write() -> AutomationView:
            with self.db.write() as s:
                if automation_id is None:
                    return automations.create_automation(s, data, clock=self.clock)
                return automations.update_automation(s, automation_id, data)

        return self._published(attempt(write))

    def delete(self, automation_id: int) -> Outcome[None]:
        """Delete an automation; ``gone`` when another desktop already deleted it."""

        def write() -> None:
            with self.db.write() as s:
                automations.delete_automation(s, automation_id)

        return self._published(attempt(write))

    def enrol_options(self, contact_ids: Sequence[int]) -> EnrolOptions:
        """The automations and the consent warning per purpose, in one short session."""
        with self.db.read() as s:
            choices = tuple(
                EnrolChoice(view.id, view.name, view.enabled, view.purpose)
                for view in automations.list_automations(s)
            )
            warnings = {
                purpose: consent.describe_audience(
                    list(consent.contact_states(s, contact_ids, purpose=purpose).values())
                )
                for purpose in {c.purpose for c in choices}
            }
        return EnrolOptions(choices, warnings)

    def enroll(self, automation_id: int, contact_ids: Sequence[int]) -> Outcome[EnrollResult]:
        """Enrol contacts; refused in words when the automation is disabled or gone."""
        outcome = attempt(
            lambda: automations.enroll_contacts(
                self.db, automation_id, contact_ids, actor=self.actor, clock=self.clock
            )
        )
        return self._published(outcome)

    def paused(self) -> bool:
        """The pause flag: one round trip (no BEGIN/ROLLBACK), read off the GUI thread."""
        with self.db.read(snapshot=False) as s:
            return automations_paused(s)

    def set_paused(self, paused: bool) -> Outcome[bool]:
        """Pause (True) or resume (False); the state now in force."""

        def write() -> bool:
            set_automations_paused(self.db, paused, actor=self.actor, clock=self.clock)
            return paused

        outcome = attempt(write)
        if outcome.ok:
            self.publish({topic.PAUSE})
        return outcome

    def _published(self, outcome: Outcome[T]) -> Outcome[T]:
        if outcome.ok or outcome.gone:
            self.publish({topic.AUTOMATIONS})
        return outcome
