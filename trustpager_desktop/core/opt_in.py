"""The opt-in consent record and per-purpose SMS preferences of a contact (issue 15).

The record says when and how a contact agreed to texts (date and time, source, method,
evidence); the purposes say which kinds of automation texts they declined while staying
subscribed ("Marketing" but not "Reminders"). Both are plain columns on the contact; every
change writes an activity-log entry with the actor in the caller's transaction.

What the rule does with them lives in ``core.consent.consent_states`` (the one state):
this module only reads, validates, formats and writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.core.timefmt import DATE_FORMAT, business_zone, format_time
from trustpager_desktop.store.models import CONSENT_SOURCE_MAX, PURPOSES_MAX, Contact

# How the contact agreed. Keys are stored; labels are shown and accepted when typed.
METHODS = {
    "written": "Written",
    "verbal": "Verbal",
    "keyword_reply": "Keyword reply",
    "imported": "Imported",
    "web_form": "Web form",
    "other": "Other",
}
EVIDENCE_MAX = 2000
NO_CONSENT = "No consent on record"

# The "No consent on record" test in SQL (the contact list's filter, insights' coverage):
# none of the record's fields is filled in, as ``ConsentRecord.on_record`` reads it.
NO_CONSENT_ON_RECORD = and_(
    Contact.consent_at.is_(None), Contact.consent_source.is_(None),
    Contact.consent_method.is_(None),
)  # fmt: skip

# A manual re-consent's method -> the record's method.
_RECONSENT_METHODS = {"start_reply": "keyword_reply"}


@dataclass(frozen=True)
class ConsentRecord:
    """When and how a contact agreed to texts; empty (``on_record`` False) when unknown."""

    at: datetime | None = None
    source: str = ""
    method: str | None = None
    evidence: str = ""

    @property
    def on_record(self) -> bool:
        return self.at is not None or bool(self.source) or self.method is not None

    @property
    def method_label(self) -> str:
        return METHODS.get(self.method or "", self.method or "")

    def summary(self, zone: str) -> str:
        """'15 Mar 2026, web form, spring promo' (the date in the business ``zone``), or
        'No consent on record'."""
        if not self.on_record:
            return NO_CONSENT
        parts = []
        if self.at is not None:
            parts.append(self.at.astimezone(business_zone(zone)).strftime(DATE_FORMAT))
        parts.append(self.source or self.method_label.lower())
        return ", ".join(p for p in parts if p)

    def line(self, zone: str) -> str:
        """'Consent: 15 Mar 2026, web form, spring promo' or 'No consent on record'."""
        return f"Consent: {self.summary(zone)}" if self.on_record else NO_CONSENT

    def full(self, zone: str) -> str:
        """Every field in words, for tooltips, reports and the log."""
        if not self.on_record:
            return NO_CONSENT
        parts = [format_time(self.at, zone) if self.at else "date unknown"]
        if self.source:
            parts.append(self.source)
        if self.method:
            parts.append(f"method: {self.method_label.lower()}")
        if self.evidence:
            parts.append(f"evidence: {self.evidence}")
        return "; ".join(parts)


@dataclass(frozen=True)
class ConsentInput:
    """A consent record as typed in the form or the CLI, or read from an import file."""

    source: str = ""
    date: str | datetime | None = None
    method: str = ""
    evidence: str = ""

    def validate(self, zone: str, now: datetime) -> ConsentRecord:
        return validate_record(source=self.source, date=self.date, method=self.method,
                               evidence=self.evidence, zone=zone, now=now)  # fmt: skip


def record_of(contact: Contact) -> ConsentRecord:
    return ConsentRecord(contact.consent_at, contact.consent_source or "",
                         contact.consent_method, contact.consent_evidence or "")  # fmt: skip


def record_from_row(
    at: datetime | None, source: str | None, method: str | None, evidence: str | None
) -> ConsentRecord:
    return ConsentRecord(at, source or "", method, evidence or "")


# ---- reading what people type -------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%m/%d/%Y", "%b %d %Y", "%B %d %Y")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p")


def parse_method(text: str | None) -> str | None:
    """'keyword reply', 'Keyword-Reply', 'keyword_reply' -> 'keyword_reply'; '' -> None.
    Raises UserInputError for anything else."""
    if not (text or "").strip():
        return None
    key = re.sub(r"[\s\-]+", "_", (text or "").strip().lower())
    if key in METHODS:
        return key
    for method, label in METHODS.items():
        if key == label.lower().replace(" ", "_"):
            return method
    choices = ", ".join(label.lower() for label in METHODS.values())
    raise UserInputError(f"Unknown consent method '{text}': use one of {choices}.",
                         field="consent_method")  # fmt: skip


def parse_consent_date(text: str | None, zone: str) -> datetime | None:
    """'2026-03-15', '2026-03-15 14:30', '15 Mar 2026', '03/15/2026 2:30 PM' or an ISO
    time with offset -> an aware time (a date alone is midnight in the business ``zone``).
    '' -> None. Raises UserInputError for text that is not a date."""
    text = " ".join((text or "").replace(",", " ").split())
    if not text:
        return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _parse_words(text)
    if parsed is None:
        raise UserInputError(
            f"'{text}' is not a date: use e.g. 2026-03-15 or 2026-03-15 14:30.",
            field="consent_date",
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=business_zone(zone))


def _parse_words(text: str) -> datetime | None:
    for date_format in _DATE_FORMATS:
        for time_format in ("", *_TIME_FORMATS):
            pattern = f"{date_format} {time_format}".strip()
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
    return None


def validate_record(
    *, source: str | None, date: str | datetime | None, method: str | None,
    evidence: str | None, zone: str, now: datetime,
) -> ConsentRecord:  # fmt: skip
    """A record from what was typed or imported. A record needs a date or a source;
    a time in the future is refused. Raises UserInputError naming the field."""
    source = " ".join((source or "").split())
    evidence = (evidence or "").strip()
    at = date if isinstance(date, datetime) or date is None else parse_consent_date(date, zone)
    if isinstance(date, datetime) and date.tzinfo is None:
        at = date.replace(tzinfo=business_zone(zone))
    if at is not None and at > now + timedelta(days=1):  # a day's slack for time zones
        raise UserInputError("The consent date is in the future.", field="consent_date")
    if len(source) > CONSENT_SOURCE_MAX:
        raise UserInputError(f"The consent source is too long ({CONSENT_SOURCE_MAX} characters "
                             "at most).", field="consent_source")  # fmt: skip
    if len(evidence) > EVIDENCE_MAX:
        raise UserInputError(f"The consent evidence is too long ({EVIDENCE_MAX} characters "
                             "at most).", field="consent_evidence")  # fmt: skip
    parsed_method = parse_method(method)
    record = ConsentRecord(at, source, parsed_method, evidence)
    if (parsed_method or evidence) and at is None and not source:
        raise UserInputError("Say when (consent date) or where (consent source) the contact "
                             "agreed to texts.", field="consent_source")  # fmt: skip
    return record


# ---- writing ----------------------------------------------------------------------------


def set_record(
    session: Session,
    contact: Contact,
    record: ConsentRecord,
    *,
    actor: str,
    zone: str = "UTC",
    why: str = "",
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Store ``record`` as the contact's consent record and log the change (with the actor
    and the old and new record). False (nothing written) when it is unchanged."""
    old = record_of(contact)
    if old == record:
        return False
    contact.consent_at = record.at
    contact.consent_source = record.source or None
    contact.consent_method = record.method
    contact.consent_evidence = record.evidence or None
    contact.updated_at = clock.now()
    session.flush()
    verb = "Consent record removed" if not record.on_record else (
        "Consent recorded" if not old.on_record else "Consent record changed")  # fmt: skip
    summary = f"{verb}: {record.summary(zone)}" if record.on_record else verb
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.CONSENT_RECORD,
            summary=summary + (f" ({why})" if why else ""),
            actor=actor,
            contact=contact,
            details={"old": _details(old), "new": _details(record)},
        ),
        clock=clock,
    )
    return True


def _details(record: ConsentRecord) -> dict[str, str | None]:
    return {
        "consent_at": record.at.isoformat() if record.at else None,
        "consent_source": record.source,
        "consent_method": record.method,
        "consent_evidence": record.evidence,
    }


def record_from_reconsent(
    method: str, note: str, received_at: datetime, message_sid: str | None, label: str
) -> ConsentRecord:
    """The record a re-consent leaves: a START/YES reply is a keyword reply at the reply's
    time; a re-consent recorded by hand keeps its method and note."""
    record_method = _RECONSENT_METHODS.get(method, method)
    if record_method not in METHODS:
        record_method = "other"
    evidence = note + (f" ({message_sid})" if message_sid and message_sid not in note else "")
    return ConsentRecord(received_at, f"re-consent: {label}", record_method, evidence.strip())


def keyword_record(
    keyword: str, received_at: datetime, message_sid: str, body: str
) -> ConsentRecord:
    """The record a START-type reply leaves ('START reply', method keyword reply)."""
    word = (keyword or body.strip().split()[0] if body.strip() else "START").upper()
    return ConsentRecord(received_at, f"{word} reply", "keyword_reply",
                         f"Reply: {body.strip()[:200]} ({message_sid})")  # fmt: skip


# ---- purposes ---------------------------------------------------------------------------


def parse_declined(text: str | None) -> tuple[str, ...]:
    """'Marketing; Promotions' -> ('Marketing', 'Promotions'), each once, in order."""
    found: dict[str, str] = {}
    for part in re.split(r"[;,]", text or ""):
        name = " ".join(part.split())
        if name:
            found.setdefault(name.casefold(), name[0].upper() + name[1:])
    return tuple(found.values())


def join_declined(purposes: tuple[str, ...] | list[str]) -> str:
    return ";".join(parse_declined(";".join(purposes)))


def declines(declined: str | None, purpose: str | None) -> bool:
    """Whether a contact's declined list (the stored column) covers ``purpose``."""
    if not purpose or not declined:
        return False
    return purpose.casefold() in {p.casefold() for p in parse_declined(declined)}


def validate_declined(purposes: tuple[str, ...] | list[str], known: tuple[str, ...]) -> str:
    """The column value for ``purposes``, each one of the business's ``known`` purposes
    (matched case-insensitively, stored as the business spells it). Raises UserInputError."""
    by_key = {k.casefold(): k for k in known}
    chosen = []
    for name in parse_declined(";".join(purposes)):
        if name.casefold() not in by_key:
            raise UserInputError(f"'{name}' is not one of the SMS purposes "
                                 f"({', '.join(known)}).", field="declined_purposes")  # fmt: skip
        chosen.append(by_key[name.casefold()])
    value = ";".join(chosen)
    if len(value) > PURPOSES_MAX:
        raise UserInputError("Too many declined purposes.", field="declined_purposes")
    return value


def set_declined(
    session: Session,
    contact: Contact,
    declined: str,
    *,
    actor: str,
    why: str = "",
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Store the contact's declined purposes (a validated column value) and log each
    purpose declined or allowed again. False when nothing changed."""
    old = parse_declined(contact.declined_purposes)
    new = parse_declined(declined)
    if {p.casefold() for p in old} == {p.casefold() for p in new}:
        return False
    contact.declined_purposes = ";".join(new)
    contact.updated_at = clock.now()
    session.flush()
    added = [p for p in new if p.casefold() not in {o.casefold() for o in old}]
    removed = [p for p in old if p.casefold() not in {n.casefold() for n in new}]
    parts = [f"Declined {p} texts" for p in added] + [f"Allowed {p} texts again" for p in removed]
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.PURPOSE_PREFERENCE,
            summary="; ".join(parts) + (f" ({why})" if why else ""),
            actor=actor,
            contact=contact,
            details={"declined": list(added), "allowed": list(removed)},
        ),
        clock=clock,
    )
    return True
