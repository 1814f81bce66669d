"""The contact browser and the contact page: listing, opening, saving, deleting."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, contact_tasks, contacts, imports, opportunities
from trustpager_desktop.core.contact_page_data import ContactPageData, load_contact_page
from trustpager_desktop.core.contacts import ContactInput, ContactRow, ContactView
from trustpager_desktop.core.imports import ImportPlan, ImportReport
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt


@dataclass(frozen=True)
class ContactsPage:
    """One page of the browser: its rows and how many match in all."""

    rows: tuple[ContactRow, ...]
    total: int


# A search's count stops here: "10,000+ contacts found" says enough, and counting every
# match of a common word would cost more than the search.
SEARCH_COUNT_CAP = 10_000


@dataclass(frozen=True)
class ContactSearch:
    """What the browser lists: the search box's text, the order, and the "No consent on
    record" filter. Frozen, so a read on a worker thread uses the search it was given."""

    query: str = ""
    sort: str = "name"
    descending: bool = False
    no_consent: bool = False

    @property
    def searching(self) -> bool:
        """A search or a filter: its count is capped and says "found"."""
        return bool(self.query) or self.no_consent


@dataclass(frozen=True)
class ContactPageView:
    """What the contact page shows besides its cards' own reads."""

    contact: ContactView
    timeline: tuple[activity.ActivityView, ...]
    tasks: tuple[contact_tasks.TaskView, ...]
    opportunities: tuple[opportunities.OpportunityRow, ...]


class ContactsService(ScreenService):
    def page(
        self, query: str = "", *, offset: int = 0, limit: int = 200, sort: str = "name"
    ) -> ContactsPage:
        """One page of rows for ``query`` and the number of matches, in one session."""
        with self.db.read() as s:
            rows = contacts.search_contacts(
                s, query, offset=offset, limit=limit, sort=sort, default_region=self.region
            )
            total = contacts.count_contacts(s, query, self.region)
        return ContactsPage(tuple(rows), total)

    def rows(self, search: ContactSearch, offset: int, limit: int) -> tuple[ContactRow, ...]:
        """One page of the browser's rows (any thread: one statement, no BEGIN/ROLLBACK)."""
        with self.db.read(snapshot=False) as s:
            return tuple(self._rows(s, search, offset, limit))

    def first_page(self, search: ContactSearch, limit: int) -> ContactsPage:
        """The first page of a search and its count (capped at ``SEARCH_COUNT_CAP`` + 1
        while searching), in one session: what the browser shows once a search is in."""
        with self.db.read(snapshot=False) as s:
            rows = self._rows(s, search, 0, limit)
            cap = SEARCH_COUNT_CAP + 1 if search.searching else None
            total = contacts.count_contacts(
                s, search.query, self.region, cap=cap, no_consent=search.no_consent
            )
        return ContactsPage(tuple(rows), total)

    def _rows(self, s: Session, search: ContactSearch, offset: int, limit: int) -> list[ContactRow]:
        settings = self.settings
        return contacts.search_contacts(
            s, search.query, offset=offset, limit=limit, sort=search.sort,
            descending=search.descending, default_region=settings.default_country,
            settings=settings, no_consent=search.no_consent,
        )  # fmt: skip

    def contact(self, contact_id: int) -> Outcome[ContactView]:
        """One contact as the edit dialog fills it; ``gone`` when it was deleted."""

        def read() -> ContactView:
            with self.db.read() as s:
                return contacts.get_contact(s, contact_id, self.region)

        return attempt(read)

    def page_data(self, contact_id: int) -> ContactPageData:
        """Everything the contact page shows, in five round trips (any thread). Raises
        NotFoundError when the contact no longer exists."""
        with self.db.read(snapshot=False) as s:
            return load_contact_page(s, contact_id, self.settings)

    def contact_page(self, contact_id: int) -> Outcome[ContactPageView]:
        """Everything the contact page shows; ``gone`` when the contact was deleted."""

        def read() -> ContactPageView:
            with self.db.read() as s:
                contact = contacts.get_contact(s, contact_id, self.region)
                timeline = activity.for_contact(s, contact_id)
                tasks = contact_tasks.tasks_for_contact(s, contact_id)
                deals = opportunities.list_opportunities(s, contact_id=contact_id, limit=50)
            return ContactPageView(contact, tuple(timeline), tuple(tasks), tuple(deals))

        return attempt(read)

    def number_warning(self, phone: str, contact_id: int | None = None) -> str | None:
        """Why saving this number deserves a second look (opted out, suppressed), or None."""
        with self.db.read() as s:
            return contacts.number_warning(s, phone, self.region, contact_id)

    def create(self, data: ContactInput) -> Outcome[int]:
        def write() -> int:
            with self.db.write() as s:
                contact = contacts.create_contact(
                    s, data, actor=self.actor, default_region=self.region, clock=self.clock
                )
                s.flush()
                return contact.id

        return self._published(attempt(write))

    def update(self, contact_id: int, data: ContactInput) -> Outcome[int]:
        """Save edits; ``field`` names a refused value, ``gone`` a contact deleted meanwhile."""

        def write() -> int:
            with self.db.write() as s:
                contacts.update_contact(
                    s, contact_id, data, actor=self.actor, default_region=self.region,
                    clock=self.clock,
                )  # fmt: skip
            return contact_id

        return self._published(attempt(write))

    def delete(self, contact_id: int) -> Outcome[int]:
        """Delete a contact (its opt-out stays on the number); ``gone`` when already deleted."""

        def write() -> int:
            with self.db.write() as s:
                contacts.delete_contact(s, contact_id, actor=self.actor, clock=self.clock)
            return contact_id

        return self._published(attempt(write))

    def preview_import(self, path: str | os.PathLike[str]) -> ImportPlan:
        """Read a spreadsheet and check it against the database; changes nothing."""
        return imports.preview_import(self.db, path, self.region)

    def import_csv(
        self,
        path: str | os.PathLike[str],
        *,
        mode: str,
        plan: ImportPlan | None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import ``path`` in one transaction (``plan``: the previewed rows, re-checked)."""
        report = imports.import_contacts_csv(
            self.db, path, mode=mode, actor=self.actor, default_region=self.region,
            clock=self.clock, progress=progress, plan=plan,
        )  # fmt: skip
        self.publish({topic.CONTACTS, topic.ACTIVITY})
        return report

    def _published(self, outcome: Outcome[int]) -> Outcome[int]:
        if outcome.ok or outcome.gone:
            self.publish({topic.CONTACTS})
        return outcome
