"""The Activity Log screen: what it reads and does, as plain frozen data.

Every method here runs on the window's background runner (a page never reads on the GUI
thread): the filter choices, the first page of a filter, the next page after a keyset
cursor, the entries newer than the newest one shown, the contact search beside the
filter, and the two long jobs (verify, export) that report progress. The paging and the
chain check themselves are core's (core.activity_query, core.log_verify, core.exports).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from trustpager_desktop.core import contacts, exports, log_verify
from trustpager_desktop.core.activity import ActivityView
from trustpager_desktop.core.activity_query import (
    KIND_CHOICES,
    PAGE_SIZE,
    KindChoice,
    LogFilter,
    automation_choices,
    latest_id,
    newer_entries,
    query_entries,
)
from trustpager_desktop.core.log_verify import LogReport
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.usecases.base import ScreenService

# A poll that finds this many new entries stops and the page reads its filter afresh.
NEW_ENTRIES_MAX = 1000
# A text search scans a bounded slice per query; keep scanning this long per fetch.
FETCH_TIME_BUDGET_S = 0.25
CONTACT_MATCHES_MAX = 50


@dataclass(frozen=True)
class AutomationChoice:
    id: int
    name: str


@dataclass(frozen=True)
class ContactChoice:
    id: int
    name: str
    phone_display: str


@dataclass(frozen=True)
class ContactMatches:
    """The contacts matching ``query`` (none for an empty query)."""

    query: str
    contacts: tuple[ContactChoice, ...]


@dataclass(frozen=True)
class EntryPage:
    """Entries matching ``log_filter``, newest first. ``next_before_id`` is the keyset
    cursor for the next (older) page, None when nothing older can match; ``newest_id``
    is the newest entry in the whole log when the page was read (the poll looks above it)."""

    log_filter: LogFilter
    entries: tuple[ActivityView, ...]
    next_before_id: int | None
    newest_id: int = 0


@dataclass(frozen=True)
class NewEntries:
    """Entries added above ``after_id`` that match, newest first, up to ``newest_id``.
    ``flooded``: more came than one look reads; the page should read its filter afresh."""

    entries: tuple[ActivityView, ...]
    newest_id: int
    flooded: bool = False


@dataclass(frozen=True)
class ExportResult:
    path: str
    count: int
    log_head: str  # 'Log head: entry #8, hash 3fa2…': ties the file to the chain

    def describe(self) -> str:
        return f"Exported {self.count} entries to {self.path}. {self.log_head}."


class ActivityService(ScreenService):
    @property
    def kinds(self) -> tuple[KindChoice, ...]:
        """The "Kind" filter's choices: a fixed list, no database read."""
        return KIND_CHOICES

    def automations(self) -> tuple[AutomationChoice, ...]:
        """The automation filter's choices, by name."""
        with self.db.read() as s:
            return tuple(AutomationChoice(i, name) for i, name in automation_choices(s))

    def first_page(self, flt: LogFilter) -> EntryPage:
        """The newest entries matching ``flt``, and the log's newest id at that moment."""
        with self.db.read() as s:
            newest = latest_id(s)
            page = query_entries(s, flt, before_id=newest + 1)
        return EntryPage(flt, tuple(page.entries), page.next_before_id, newest)

    def next_page(self, flt: LogFilter, before_id: int) -> EntryPage:
        """The next entries below ``before_id``. A text search scans a bounded slice per
        query, so slices with no match are skipped for up to FETCH_TIME_BUDGET_S; the
        page may still come back empty with a cursor (the scan stopped, not the log)."""
        deadline = time.monotonic() + FETCH_TIME_BUDGET_S
        cursor: int | None = before_id
        found: list[ActivityView] = []
        with self.db.read() as s:
            while cursor is not None:
                page = query_entries(s, flt, before_id=cursor, limit=PAGE_SIZE)
                found, cursor = page.entries, page.next_before_id
                if found or time.monotonic() >= deadline:
                    break
        return EntryPage(flt, tuple(found), cursor)

    def newer_than(self, flt: LogFilter, after_id: int) -> NewEntries:
        """Entries matching ``flt`` added since ``after_id`` (the live poll)."""
        # No BEGIN/ROLLBACK: usually one statement, one round trip (up_to_id bounds the rest).
        with self.db.read(snapshot=False) as s:
            top = latest_id(s)
            if top <= after_id:
                return NewEntries((), after_id)
            fresh = newer_entries(s, flt, after_id, up_to_id=top, limit=NEW_ENTRIES_MAX)
        return NewEntries(tuple(fresh), top, flooded=len(fresh) == NEW_ENTRIES_MAX)

    def find_contacts(self, query: str) -> ContactMatches:
        """Contacts for the contact filter, by name, phone or email."""
        query = query.strip()
        if not query:
            return ContactMatches(query, ())
        with self.db.read() as s:
            rows = contacts.search_contacts(
                s, query, limit=CONTACT_MATCHES_MAX, default_region=self.region
            )
        return ContactMatches(
            query, tuple(ContactChoice(r.id, r.name, r.phone_display) for r in rows)
        )

    def verify(self, *, full: bool = False, progress: Progress | None = None) -> LogReport:
        """Check the log (from the last checkpoint, or all of it when ``full``), this
        computer's head and the opt-out state. Raises Cancelled when ``progress`` says stop."""
        db = self.db
        return log_verify.verify_log(
            db, full=full, clock=self.clock, read_only=db.read_only, progress=progress
        )

    def export(
        self, flt: LogFilter, path: str | os.PathLike[str], progress: Progress | None = None
    ) -> ExportResult:
        """Write the entries matching ``flt`` to a CSV file at ``path``, with the log head
        that ties it to the chain. Raises OSError, or Cancelled when ``progress`` says stop."""
        with self.db.read() as s:
            count = exports.export_log(s, flt, path, progress)
            return ExportResult(str(path), count, log_verify.describe_tip(s))
