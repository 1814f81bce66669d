"""The Opportunities page, its panel and the New opportunity dialog: what they read and do.

Reads return plain frozen data and run off the GUI thread (the page calls them through
the background runner); writes return an :class:`Outcome` and tell the window's views
what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from trustpager_desktop.core import consent, contacts, opportunities
from trustpager_desktop.core.consent import ConsentState
from trustpager_desktop.core.contacts import ContactRow
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.opportunities import OpportunityInput, OpportunityRow
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt

T = TypeVar("T")
PAGE_SIZE = 200
CONTACT_CHOICES = 50
CHANGED = (topic.OPPORTUNITIES, topic.ACTIVITY)  # an opportunity change is noted in the log


@dataclass(frozen=True)
class OpportunityFilter:
    """What the list shows: one stage (None: every stage) and a search in titles and names."""

    stage: str | None = None
    query: str = ""


@dataclass(frozen=True)
class OpportunityList:
    """The first page of a filter, how many match in all, and the pipeline's stages."""

    filter: OpportunityFilter
    rows: tuple[OpportunityRow, ...]
    total: int
    stages: tuple[str, ...]


@dataclass(frozen=True)
class OpportunityDetail:
    """One opportunity for the panel, with its contact's consent state (None when the
    contact no longer exists) and the stages its editor offers."""

    opportunity: OpportunityRow
    consent: ConsentState | None
    stages: tuple[str, ...]


class OpportunitiesService(ScreenService):
    def first_page(
        self, wanted: OpportunityFilter | None = None, limit: int = PAGE_SIZE
    ) -> OpportunityList:
        """The first page of ``wanted``, its count and the stages, in one short session."""
        wanted = wanted or OpportunityFilter()
        with self.db.read() as s:
            rows = opportunities.list_opportunities(
                s, limit=limit, stage=wanted.stage, query=wanted.query
            )
            total = opportunities.count_opportunities(s, wanted.stage, wanted.query)
            stages = opportunities.stages(s)
        return OpportunityList(wanted, tuple(rows), total, tuple(stages))

    def rows(
        self, wanted: OpportunityFilter, offset: int, limit: int = PAGE_SIZE
    ) -> tuple[OpportunityRow, ...]:
        """One more page of ``wanted`` (newest first), from ``offset``."""
        with self.db.read() as s:
            return tuple(
                opportunities.list_opportunities(
                    s, offset=offset, limit=limit, stage=wanted.stage, query=wanted.query
                )
            )

    def count(self, wanted: OpportunityFilter | None = None) -> int:
        wanted = wanted or OpportunityFilter()
        with self.db.read() as s:
            return opportunities.count_opportunities(s, wanted.stage, wanted.query)

    def stages(self) -> tuple[str, ...]:
        """The default pipeline in order, then any other stage in use."""
        with self.db.read() as s:
            return tuple(opportunities.stages(s))

    def opportunity(self, opportunity_id: int) -> Outcome[OpportunityDetail]:
        """One opportunity and its contact's consent state (the one the automation rule
        enforces); ``gone`` when the opportunity was deleted meanwhile."""

        def read() -> OpportunityDetail:
            with self.db.read() as s:
                row = opportunities.get_opportunity(s, opportunity_id)
                try:
                    state: ConsentState | None = consent.contact_consent_state(s, row.contact_id)
                except NotFoundError:
                    state = None
                stages = opportunities.stages(s)
            return OpportunityDetail(row, state, tuple(stages))

        return attempt(read)

    def find_contacts(self, query: str, limit: int = CONTACT_CHOICES) -> tuple[ContactRow, ...]:
        """Contacts matching a name or part of a number, for the dialog's contact list."""
        with self.db.read() as s:
            found = contacts.search_contacts(s, query.strip(), limit=limit,
                                             default_region=self.region)  # fmt: skip
        return tuple(found)

    def create(self, data: OpportunityInput) -> Outcome[OpportunityRow]:
        """Add an opportunity; ``field`` names a refused value, ``gone`` a deleted contact."""

        def write() -> OpportunityRow:
            with self.db.write() as s:
                return opportunities.create_opportunity(s, data, actor=self.actor,
                                                        clock=self.clock)  # fmt: skip

        return self._published(attempt(write))

    def update(self, opportunity_id: int, data: OpportunityInput) -> Outcome[OpportunityRow]:
        """Change title, value and stage; ``gone`` when it was deleted meanwhile."""

        def write() -> OpportunityRow:
            with self.db.write() as s:
                return opportunities.update_opportunity(
                    s, opportunity_id, data, actor=self.actor, clock=self.clock
                )

        return self._published(attempt(write))

    def delete(self, opportunity_id: int) -> Outcome[int]:
        """Delete an opportunity; ``gone`` when another desktop already deleted it."""

        def write() -> int:
            with self.db.write() as s:
                opportunities.delete_opportunity(s, opportunity_id, actor=self.actor,
                                                 clock=self.clock)  # fmt: skip
            return opportunity_id

        return self._published(attempt(write))

    def _published(self, outcome: Outcome[T]) -> Outcome[T]:
        if outcome.ok or outcome.gone:
            self.publish(CHANGED)
        return outcome
