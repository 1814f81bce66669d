"""One transaction's deferred writes: activity-log entries and opt-out records (issue 17).

A unit of work that logs many entries or opts out many numbers in one transaction
(the inbox's batch, the gateway's record and finish, an Auto Queue claim, an
enrolment) creates a ``WriteJournal`` on its session, hands it to the code it calls
and flushes it before it commits. Entries keep the order of the calls that add
them; ``flush`` chains and signs them in that order (taking the log's append lock
late, so it is held only to the commit) and writes everything with one statement
per table. The journal is bound to its transaction: an immediate
``activity.append`` in the same transaction flushes it first (entry ids stay in
chain order), a rollback drops it, and consent finds it (``WriteJournal.current``)
so every opt-out of the transaction goes through the one journal.

The journal also keeps what consent read and decided in this transaction (each
number's contacts and whether they are opted out, its suppression), so a STOP is
answered at once and written with the batch's others. That knowledge holds until
the next flush: whoever changes consent another way (START, a review) flushes first.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.store.models import ConsentEvent, Contact, NumberSuppression

log = logging.getLogger("trustpager.journal")


class UnflushedJournalWarning(UserWarning):
    """A transaction committed with journal writes its unit of work never flushed."""


@dataclass
class ContactState:
    """A contact as consent's batch opt-out sees it: plain columns, kept current."""

    id: int
    phone_e164: str | None
    name: str
    opted_out: bool


@dataclass
class ConsentRows:
    """The opt-out records added since the last flush, one list per statement."""

    flags: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    new_suppressions: list[dict[str, Any]] = field(default_factory=list)
    renewed_suppressions: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.flags or self.events or self.new_suppressions
                    or self.renewed_suppressions)  # fmt: skip


_CONTACTS = Contact.__table__
_EVENTS = ConsentEvent.__table__
_SET_OPTED_OUT = (
    update(_CONTACTS).where(_CONTACTS.c.id == bindparam("contact_id")).values(sms_opted_out=True)
)
_SUPPRESSIONS = NumberSuppression.__table__
_RENEW_SUPPRESSION = update(_SUPPRESSIONS).where(_SUPPRESSIONS.c.phone_e164 == bindparam("number"))


class WriteJournal:
    """The log entries and opt-out records of one transaction, written together in order."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK) -> None:
        """A new journal for the session's transaction (``open`` to share the one open)."""
        current = WriteJournal.current(session)
        if current is not None and current.pending:  # two journals would fork the order
            raise RuntimeError("this transaction's write journal holds unwritten writes")
        self.session = session
        self.clock = clock
        self.entries: list[dict[str, Any]] = []  # activity rows, in the order of the calls
        self.consent = ConsentRows()
        # What consent knows of a number in this transaction (see the module docstring).
        self.contacts: dict[str, list[ContactState]] = {}
        self.suppressions: dict[str, bool] = {}  # number -> held (lifted: False; none: absent)
        self.known_numbers: set[str] = set()
        # Bound to the transaction from the start (begun now if the session has none yet).
        self._transaction = session.get_transaction() or session.begin()
        session.info[activity.OPEN_JOURNAL] = self
        if not event.contains(session, "before_commit", _flush_forgotten):
            event.listen(session, "before_commit", _flush_forgotten)

    @classmethod
    def current(cls, session: Session) -> WriteJournal | None:
        """The journal open in this session's transaction, if any."""
        journal = session.info.get(activity.OPEN_JOURNAL)
        if isinstance(journal, cls) and journal._transaction is session.get_transaction():
            return journal
        return None

    @classmethod
    def open(cls, session: Session, clock: Clock = SYSTEM_CLOCK) -> WriteJournal:
        """The journal open in this session's transaction, or a new one."""
        return cls.current(session) or cls(session, clock)

    # -- log entries -------------------------------------------------------------------

    def log(self, entry: activity.LogEntry) -> None:
        """Add ``entry`` after the ones before it; it is chained, signed and written at
        the next flush (so the append lock is taken late, and held only to the commit)."""
        if entry.contact is not None and entry.contact.id is None:
            self.session.flush()  # a new contact needs its id before we can name it
        self.entries.append(activity.entry_row(entry, clock=self.clock))

    # -- what consent knows ------------------------------------------------------------

    def unknown(self, numbers: list[str]) -> list[str]:
        """The numbers (sorted, once each) consent has not read in this journal yet."""
        return sorted({n for n in numbers if n} - self.known_numbers)

    def remember(
        self,
        numbers: list[str],
        contacts: dict[str, list[ContactState]],
        suppressions: dict[str, bool],
    ) -> None:
        self.contacts.update(contacts)
        self.suppressions.update(suppressions)
        self.known_numbers.update(numbers)

    # -- writing -----------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return bool(self.entries or self.consent)

    def flush(self) -> None:
        """Write everything added so far: the opt-out records, then the log entries (one
        executemany per table). What consent knew is forgotten: it is read again."""
        rows, self.consent = self.consent, ConsentRows()
        entries, self.entries = self.entries, []
        self.contacts, self.suppressions, self.known_numbers = {}, {}, set()
        if rows:
            self._write_consent(rows)
        activity.write_rows(self.session, entries)

    def _write_consent(self, rows: ConsentRows) -> None:
        session = self.session
        run = session.connection().execute
        if rows.flags:
            run(_SET_OPTED_OUT, rows.flags)
            _expire(session, Contact, [f["contact_id"] for f in rows.flags])
        if rows.events:
            run(insert(_EVENTS), rows.events)
        if rows.new_suppressions:
            run(insert(_SUPPRESSIONS), rows.new_suppressions)
        if rows.renewed_suppressions:
            run(_RENEW_SUPPRESSION, rows.renewed_suppressions)
            numbers = [r["number"] for r in rows.renewed_suppressions]
            ids = session.scalars(
                select(NumberSuppression.id).where(NumberSuppression.phone_e164.in_(numbers))
            )
            _expire(session, NumberSuppression, list(ids))


def _expire(session: Session, model: type, ids: list[int]) -> None:
    """Objects of these rows already in the session were changed by a bulk statement,
    behind the ORM's back: make the next attribute access read them again."""
    for row_id in ids:
        obj = session.identity_map.get(identity_key(model, row_id))
        if obj is not None:
            session.expire(obj)


def _flush_forgotten(session: Session) -> None:
    """A safety net on sessions that opened a journal (not on every Session): writes a
    journal its unit of work forgot to flush, rather than lose entries, and says so."""
    journal = WriteJournal.current(session)
    if journal is not None and journal.pending:
        warnings.warn(
            "A write journal was still holding writes at commit; flushed it now",
            UnflushedJournalWarning,
            stacklevel=2,
        )
        journal.flush()
