"""CSV exports: the activity log, the opt-out list, contacts, one contact's consent history.

Choices, so a business can hand these files to an auditor or another tool:

- Encoding: UTF-8 with a byte-order mark. Excel (Windows and Mac) only reads a
  CSV as UTF-8 when the BOM is there; without it accented names turn into
  mojibake. LibreOffice, Google Sheets and Python's ``utf-8-sig`` read it too.
- Formula injection: a cell that begins with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return could be run as a formula by a spreadsheet. Such a cell gets a
  single quote ``'`` in front (OWASP's advice), so it shows as text. Our own
  importer removes that quote again, so an export re-imports unchanged.
- Times are ISO 8601 in UTC. The file is written next to its target and moved
  into place at the end: a failed or cancelled export leaves no partial file.
- Only database content is exported; the Twilio auth token lives in the keyring
  and never reaches any of these files.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core import consent, opt_in
from trustpager_desktop.core.activity_query import LogFilter, count_entries, iter_entries
from trustpager_desktop.core.contacts import get_contact_row
from trustpager_desktop.core.progress import Progress, report
from trustpager_desktop.core.states import ConsentEventKind
from trustpager_desktop.store.models import ConsentEvent, Contact, NumberSuppression

CSV_ENCODING = "utf-8-sig"
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 500

LOG_COLUMNS = [
    "id",
    "occurred_at",
    "recorded_at",
    "kind",
    "kind_label",
    "contact_id",
    "contact_name",
    "automation_id",
    "actor",
    "summary",
    "details",
]
OPTOUT_COLUMNS = ["number", "contacts", "opted_out_at", "source", "evidence", "message_sid"]
CONTACT_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "phone_e164",
    "tags",
    "sms_opt_out",
    "opted_out_at",
    "opt_out_source",
    "consent_date",
    "consent_source",
    "consent_method",
    "consent_evidence",
    "declined_purposes",
]
CONSENT_COLUMNS = [
    "received_at",
    "recorded_at",
    "kind",
    "source",
    "method",
    "evidence",
    "message_sid",
    "actor",
    "phone",
]


def neutralise(value: Any) -> str:
    """The cell as text, with a leading quote when a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


@contextmanager
def _atomic_csv(path: str | os.PathLike[str]) -> Iterator[Any]:
    """A csv.writer on a temporary file that replaces ``path`` only on success."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".csv", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding=CSV_ENCODING, newline="") as handle:
            yield _SafeWriter(handle)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_table(
    path: str | os.PathLike[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    progress: Progress | None = None,
) -> int:
    """Write one table (header, rows) like every export; returns the row count."""
    rows = list(rows)
    return _write_rows(path, header, rows, len(rows), progress)


def csv_file(path: str | os.PathLike[str]) -> AbstractContextManager[Any]:
    """For files with their own layout (reports): a writer with ``row(values)`` on a
    temporary file that replaces ``path`` only when the ``with`` block succeeds. Same
    encoding and formula-safe cells as every export."""
    return _atomic_csv(path)


class _SafeWriter:
    def __init__(self, handle: TextIO) -> None:
        self._writer = csv.writer(handle)

    def row(self, values: Sequence[Any]) -> None:
        self._writer.writerow([neutralise(v) for v in values])


def _write_rows(
    path: str | os.PathLike[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    total: int | None,
    progress: Progress | None,
) -> int:
    written = 0
    with _atomic_csv(path) as out:
        out.row(header)
        for row in rows:
            out.row(row)
            written += 1
            if written % PROGRESS_EVERY == 0:
                report(progress, written, total)
        report(progress, written, total)
    return written


# --- activity log ----------------------------------------------------------------------


def export_log(
    session: Session,
    flt: LogFilter | None,
    path: str | os.PathLike[str],
    progress: Progress | None = None,
) -> int:
    """Write every entry matching ``flt`` (newest first) to ``path``; returns the row count.

    Raises OSError when the file cannot be written, Cancelled when ``progress`` says stop."""
    flt = flt or LogFilter()
    total = None if flt.words else count_entries(session, flt)
    rows = (
        [
            e.id,
            e.occurred_at,
            e.recorded_at,
            e.kind,
            e.kind_label,
            e.contact_id,
            e.contact_name,
            e.automation_id,
            e.actor,
            e.summary,
            json.dumps(e.details, ensure_ascii=False, sort_keys=True),
        ]
        for e in iter_entries(session, flt)
    )
    return _write_rows(path, LOG_COLUMNS, rows, total, progress)


# --- opt-outs ----------------------------------------------------------------------------


@dataclass
class OptOutRow:
    """One opted-out number (or one opted-out contact that has no number)."""

    number: str
    contacts: list[str]
    opted_out_at: datetime | None
    source: str
    evidence: str
    message_sid: str


def _latest_opt_out_events(
    session: Session,
) -> tuple[dict[str, ConsentEvent], dict[int, ConsentEvent]]:
    by_number: dict[str, ConsentEvent] = {}
    by_contact: dict[int, ConsentEvent] = {}
    events = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.kind == ConsentEventKind.OPT_OUT)
        .order_by(ConsentEvent.id)
    )
    for event in events:  # later events overwrite earlier ones
        if event.phone_e164:
            by_number[event.phone_e164] = event
        if event.contact_id is not None:
            by_contact[event.contact_id] = event
    return by_number, by_contact


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def optout_rows(session: Session) -> list[OptOutRow]:
    """Every opt-out in force, one row per number: from opted-out contacts and from
    number-level suppressions (numbers that opted out before any contact had them)."""
    by_number, by_contact = _latest_opt_out_events(session)
    rows: dict[str, OptOutRow] = {}
    for c in session.scalars(
        select(Contact).where(Contact.sms_opted_out.is_(True)).order_by(Contact.id)
    ):
        key = c.phone_e164 or f"contact:{c.id}"
        event = by_contact.get(c.id) or (by_number.get(c.phone_e164) if c.phone_e164 else None)
        row = rows.setdefault(key, _new_row(c.phone_e164 or "", c.sms_opt_out_source, event))
        row.contacts.append(c.display_name)
        row.opted_out_at = _earliest(row.opted_out_at, c.sms_opted_out_at)
    for s in session.scalars(
        select(NumberSuppression).where(NumberSuppression.lifted_at.is_(None))
    ):
        row = rows.setdefault(
            s.phone_e164, _new_row(s.phone_e164, s.source, by_number.get(s.phone_e164))
        )
        if not row.evidence:
            row.evidence = s.evidence
        row.message_sid = row.message_sid or (s.message_sid or "")
        if not row.contacts:
            row.opted_out_at = _earliest(row.opted_out_at, s.created_at)
    return sorted(rows.values(), key=lambda r: (r.number == "", r.number, r.contacts))


def _new_row(number: str, source: str | None, event: ConsentEvent | None) -> OptOutRow:
    source = (event.source if event else None) or source or ""
    return OptOutRow(
        number=number,
        contacts=[],
        opted_out_at=event.received_at if event else None,
        source=consent.SOURCE_LABELS.get(source, source),
        evidence=event.evidence if event else "",
        message_sid=(event.message_sid or "") if event else "",
    )


def export_optouts(
    session: Session, path: str | os.PathLike[str], progress: Progress | None = None
) -> int:
    """Write the opt-out list (number, contacts, opted out at, source, evidence, SID)."""
    rows = optout_rows(session)
    values = (
        [r.number, "; ".join(r.contacts), r.opted_out_at, r.source, r.evidence, r.message_sid]
        for r in rows
    )
    return _write_rows(path, OPTOUT_COLUMNS, values, len(rows), progress)


# --- contacts ------------------------------------------------------------------------------


def _contacts_by_id(session: Session, batch: int = 1000) -> Iterator[Contact]:
    """Every contact in id order, ``batch`` at a time (keyset pages: any session works,
    with or without a transaction, unlike a server-side cursor)."""
    last = 0
    while True:
        page = session.scalars(
            select(Contact).where(Contact.id > last).order_by(Contact.id).limit(batch)
        ).all()
        yield from page
        if len(page) < batch:
            return
        last = page[-1].id


def export_contacts(
    session: Session, path: str | os.PathLike[str], progress: Progress | None = None
) -> int:
    """Write every contact; the columns re-import with ``imports.import_contacts_csv``."""
    total = session.query(Contact).count()
    contacts = _contacts_by_id(session)
    rows = (
        [
            c.id,
            c.first_name,
            c.last_name,
            c.company,
            c.email,
            c.phone_raw,
            c.phone_e164,
            c.tags,
            c.sms_opted_out,
            c.sms_opted_out_at,
            consent.SOURCE_LABELS.get(c.sms_opt_out_source or "", c.sms_opt_out_source),
            c.consent_at,
            c.consent_source,
            opt_in.METHODS.get(c.consent_method or "", c.consent_method),
            c.consent_evidence,
            c.declined_purposes,
        ]
        for c in contacts
    )
    return _write_rows(path, CONTACT_COLUMNS, rows, total, progress)


def consent_history_rows(session: Session, contact_id: int) -> list[list[Any]]:
    """The contact's consent events, oldest first, as export/report cells."""
    return [
        [
            e.received_at,
            e.recorded_at,
            "Opt-out" if e.kind == ConsentEventKind.OPT_OUT else "Re-consent",
            consent.SOURCE_LABELS.get(e.source, e.source),
            consent.RECONSENT_METHODS.get(e.method or "", e.method or ""),
            e.evidence,
            e.message_sid or "",
            e.actor,
            e.phone_e164 or "",
        ]
        for e in consent.consent_history(session, contact_id)
    ]


def export_consent_history_csv(
    session: Session, contact_id: int, path: str | os.PathLike[str]
) -> int:
    """Write one contact's consent history. Raises NotFoundError for an unknown contact."""
    contact = get_contact_row(session, contact_id)
    rows = [consent_record_row(contact), *consent_history_rows(session, contact_id)]
    return _write_rows(path, CONSENT_COLUMNS, rows, len(rows), None)


def consent_record_row(contact: Contact) -> list[Any]:
    """The contact's opt-in consent record as the first row of a consent history
    (in ``CONSENT_COLUMNS``): 'No consent on record' when there is none."""
    record = opt_in.record_of(contact)
    if not record.on_record:
        return ["", "", opt_in.NO_CONSENT, "", "", "", "", "", contact.phone_e164 or ""]
    declined = opt_in.parse_declined(contact.declined_purposes)
    evidence = record.evidence + (f" (declined: {', '.join(declined)})" if declined else "")
    return [record.at, "", "Opt-in consent record", record.source, record.method_label,
            evidence.strip(), "", "", contact.phone_e164 or ""]  # fmt: skip
