"""Contacts: validation, create/edit/delete, and the paged search the browser uses.

Widgets get plain ``ContactView`` / ``ContactRow`` data, never live ORM objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    UnaryExpression,
    and_,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session, object_session

from trustpager_desktop.core import activity, consent, opt_in
from trustpager_desktop.core.clean_text import clean_line
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.phone import format_for_reading, parse_phone, phone_search_digits
from trustpager_desktop.core.settings import AppSettings, load_settings
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.models import COMPANY_MAX, EMAIL_MAX, NAME_MAX, Contact

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ContactInput:
    first_name: str
    last_name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""
    tags: str = ""
    # None leaves the contact's consent record / declined purposes as they are.
    consent: opt_in.ConsentInput | None = None
    declined_purposes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ContactView:
    id: int
    first_name: str
    last_name: str
    company: str
    email: str
    phone_raw: str
    phone_e164: str | None
    phone_display: str
    tags: str
    sms_opted_out: bool
    sms_opted_out_at: datetime | None
    sms_opt_out_source: str | None
    status_line: str
    consent: consent.ConsentState  # what every screen shows and the automation rule enforces
    record: opt_in.ConsentRecord = opt_in.ConsentRecord()  # the opt-in consent record
    declined_purposes: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _clean_text(value: str, label: str, limit: int, field: str, *, required: bool = False) -> str:
    text = clean_line(value)
    if _CONTROL.search(text):
        raise UserInputError(f"{label} contains control characters; remove them.", field=field)
    if required and not text:
        raise UserInputError(f"{label} is required.", field=field)
    if len(text) > limit:
        raise UserInputError(f"{label} is too long ({limit} characters at most).", field=field)
    return text


def _normalise_tags(raw: str) -> str:
    tags = [t.lower() for t in (clean_line(part) for part in (raw or "").split(",")) if t]
    result = ",".join(dict.fromkeys(tags))
    if len(result) > 500:
        raise UserInputError("Too many tags (500 characters at most).", field="tags")
    return result


def validate(data: ContactInput, default_region: str) -> dict[str, str | None]:
    """Check every field; return clean column values or raise UserInputError naming the field."""
    values: dict[str, str | None] = {
        "first_name": _clean_text(
            data.first_name, "First name", NAME_MAX, "first_name", required=True
        ),
        "last_name": _clean_text(data.last_name, "Last name", NAME_MAX, "last_name"),
        "company": _clean_text(data.company, "Company", COMPANY_MAX, "company"),
        "email": _clean_text(data.email, "Email", EMAIL_MAX, "email"),
        "tags": _normalise_tags(data.tags),
    }
    if values["email"] and not _EMAIL.match(values["email"] or ""):
        raise UserInputError(f"'{values['email']}' is not an email address.", field="email")
    if (data.phone or "").strip():
        number = parse_phone(data.phone, default_region)
        values["phone_raw"], values["phone_e164"] = number.raw, number.e164
    else:
        values["phone_raw"], values["phone_e164"] = "", None
    return values


def _search_text(values: dict[str, str | None]) -> str:
    parts = [values.get(k) or "" for k in ("first_name", "last_name", "company", "email")]
    digits = (values.get("phone_e164") or "").lstrip("+")
    return " ".join([*parts, digits]).lower()


def _carry_number_opt_out(session: Session, contact: Contact, actor: str, clock: Clock) -> None:
    """A contact given a number that someone opted out starts opted out (promise 6)."""
    if contact.sms_opted_out or not contact.phone_e164:
        return
    suppression = consent.is_number_suppressed(session, contact.phone_e164)
    if suppression is None:
        return
    consent.opt_out_contact(
        session,
        contact,
        source=ConsentSource.NUMBER_SUPPRESSION,
        actor=actor,
        evidence=f"{contact.phone_e164} was opted out earlier ({suppression.source})",
        message_sid=suppression.message_sid,
        received_at=suppression.created_at,
        summary=f"Starts opted out: {contact.phone_e164} was opted out earlier by "
        f"{consent.SOURCE_LABELS.get(suppression.source, suppression.source)}",
        clock=clock,
    )


def create_contact(
    session: Session,
    data: ContactInput,
    *,
    actor: str,
    default_region: str = "US",
    clock: Clock = SYSTEM_CLOCK,
) -> Contact:
    """Validate and add a contact. Raises UserInputError (nothing added) on bad input."""
    values = validate(data, default_region)
    if data.consent is not None or data.declined_purposes is not None:
        check_preferences(data, load_settings(session), clock.now())  # bad input: nothing added
    now = clock.now()
    contact = Contact(**values, search_text=_search_text(values), created_at=now, updated_at=now)
    session.add(contact)
    session.flush()
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.CONTACT_CREATED,
            summary="Contact created",
            actor=actor,
            contact=contact,
        ),
        clock=clock,
    )
    _carry_number_opt_out(session, contact, actor, clock)
    _save_preferences(session, contact, data, actor, clock)
    return contact


def check_preferences(
    data: ContactInput, settings: AppSettings, now: datetime
) -> tuple[opt_in.ConsentRecord | None, str | None]:
    """The consent record and declined-purposes column ``data`` asks for (None: leave as
    is). Raises UserInputError naming the field."""
    record = data.consent.validate(settings.business_timezone, now) if data.consent else None
    declined = (
        opt_in.validate_declined(data.declined_purposes, settings.purposes)
        if data.declined_purposes is not None
        else None
    )
    return record, declined


def _save_preferences(
    session: Session, contact: Contact, data: ContactInput, actor: str, clock: Clock
) -> None:
    """Store the consent record and declined purposes ``data`` carries (each change logged)."""
    if data.consent is None and data.declined_purposes is None:
        return
    settings = load_settings(session)
    record, declined = check_preferences(data, settings, clock.now())
    if record is not None:
        opt_in.set_record(session, contact, record, actor=actor,
                          zone=settings.business_timezone, clock=clock)  # fmt: skip
    if declined is not None:
        opt_in.set_declined(session, contact, declined, actor=actor, clock=clock)


def update_contact(
    session: Session,
    contact_id: int,
    data: ContactInput,
    *,
    actor: str,
    default_region: str = "US",
    clock: Clock = SYSTEM_CLOCK,
) -> Contact:
    """Validate and save edits. The opt-out flag is not touched here: that is consent's job."""
    contact = get_contact_row(session, contact_id)
    values = validate(data, default_region)
    if data.consent is not None or data.declined_purposes is not None:
        check_preferences(data, load_settings(session), clock.now())  # bad input: no change
    changed = [k for k, v in values.items() if getattr(contact, k) != v]
    if not changed:
        _save_preferences(session, contact, data, actor, clock)
        return contact
    for key in changed:
        setattr(contact, key, values[key])
    contact.search_text = _search_text(values)
    contact.updated_at = clock.now()
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.CONTACT_UPDATED,
            summary="Contact details changed: " + ", ".join(k.replace("_", " ") for k in changed),
            actor=actor,
            contact=contact,
        ),
        clock=clock,
    )
    _carry_number_opt_out(session, contact, actor, clock)
    _save_preferences(session, contact, data, actor, clock)
    return contact


def delete_contact(
    session: Session, contact_id: int, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Delete a contact. Its consent history and log entries stay, and an opt-out
    stays held on its number so re-adding the person does not lose it."""
    contact = get_contact_row(session, contact_id)
    details = {}
    if contact.sms_opted_out and contact.phone_e164:
        details["held_number"] = contact.phone_e164  # core.optout_audit rebuilds the hold from it
        held = consent.NumberOptOut(
            contact.phone_e164,
            source=contact.sms_opt_out_source or ConsentSource.MANUAL_TOGGLE,
            actor=actor,
            evidence=f"kept from deleted contact {contact.display_name}",
            received_at=contact.sms_opted_out_at,
        )
        consent.hold_number(session, held, clock=clock)
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.CONTACT_DELETED,
            summary="Contact deleted",
            actor=actor,
            contact=contact,
            details=details,
        ),
        clock=clock,
    )
    session.delete(contact)


def number_warning(
    session: Session, phone: str, default_region: str = "US", contact_id: int | None = None
) -> str | None:
    """What to tell a person before saving ``phone`` on a new contact (or on contact
    ``contact_id``, when the number changes): the number's own consent state when it is
    opted out, suppressed, waiting for START or held. None when there is nothing to say,
    including a number that does not parse (saving reports that itself)."""
    try:
        e164 = parse_phone(phone, default_region).e164 if (phone or "").strip() else None
    except UserInputError:
        return None
    if not e164:
        return None
    if contact_id is not None:
        current = session.scalar(select(Contact.phone_e164).where(Contact.id == contact_id))
        if current == e164:
            return None
    state = consent.consent_state(session, None, e164)
    if state.automation_allowed and not state.pending_replies:
        return None
    shown = format_for_reading(e164, default_region)
    return f"{shown}: {state.label}. {state.detail}"


def get_contact_row(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(f"Contact {contact_id} no longer exists.")
    return contact


def to_view(
    contact: Contact,
    default_region: str = "US",
    zone: str = "UTC",
    state: consent.ConsentState | None = None,
) -> ContactView:
    """Plain data for one contact; times in words are in the business ``zone``. Pass its
    ``consent.consent_state`` (``get_contact`` does); without one the state is read from
    the contact's session."""
    if state is None:
        session = object_session(contact)
        if session is None:
            raise ValueError("to_view needs the contact's consent state or a session")
        state = consent.consent_state(session, contact.id, contact.phone_e164)
    return ContactView(
        id=contact.id,
        first_name=contact.first_name,
        last_name=contact.last_name,
        company=contact.company,
        email=contact.email,
        phone_raw=contact.phone_raw,
        phone_e164=contact.phone_e164,
        phone_display=format_for_reading(contact.phone_e164, default_region),
        tags=contact.tags,
        sms_opted_out=contact.sms_opted_out,
        sms_opted_out_at=contact.sms_opted_out_at,
        sms_opt_out_source=contact.sms_opt_out_source,
        status_line=consent.status_line(contact, zone),
        consent=state,
        record=opt_in.record_of(contact),
        declined_purposes=opt_in.parse_declined(contact.declined_purposes),
    )


def get_contact(session: Session, contact_id: int, default_region: str = "US") -> ContactView:
    """One contact as plain data (its status line in the business time zone). Raises
    NotFoundError when it no longer exists."""
    zone = load_settings(session).business_timezone
    return to_view(get_contact_row(session, contact_id), default_region, zone)


# --- Search for the contact browser -------------------------------------------------

SORT_COLUMNS = {
    "name": (Contact.last_name, Contact.first_name),
    "phone": (Contact.phone_e164,),
    "email": (Contact.email,),
    "company": (Contact.company,),
    "sms": (Contact.sms_opted_out,),
}


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    phone_display: str
    email: str
    company: str
    sms_opted_out: bool
    consent: consent.ConsentState | None = None  # filled by search_contacts


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_match(words: list[str]) -> str:
    """An FTS5 query needing every word, each quoted so it is taken literally."""
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


def _fts_ids(words: list[str], limit: int | None = None) -> Select[Any]:
    """Ids of contacts whose search_text holds every word (all 3+ characters), from the index."""
    stmt: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(table("contacts_fts"))
        .where(literal_column("contacts_fts").op("MATCH")(_fts_match(words)))
    )
    return stmt if limit is None else stmt.limit(limit)


def _like(word: str) -> ColumnElement[bool]:
    return Contact.search_text.like(f"%{_escape_like(word)}%", escape="\\")


def _word_filter(words: list[str], dialect: str, *, use_index: bool = True) -> ColumnElement[bool]:
    """Every word must appear somewhere in search_text (already lower-case).

    SQLite answers words of 3+ characters from the FTS5 trigram index; shorter
    words, and PostgreSQL (whose pg_trgm GIN index serves LIKE), use LIKE.
    ``use_index=False`` asks for LIKE throughout, which lets SQLite walk the
    sort order's index and stop after one page (see ``_is_common``).
    """
    indexed = _indexed_words(words, dialect) if use_index else []
    clauses = [_like(w) for w in words if w not in indexed]
    if indexed:
        clauses.append(Contact.id.in_(_fts_ids(indexed)))
    return and_(*clauses)


def _indexed_words(words: list[str], dialect: str) -> list[str]:
    return [w for w in words if len(w) >= 3] if dialect == "sqlite" else []


def _search_words(query: str, default_region: str) -> tuple[list[str] | None, list[str]]:
    """(alternative digit strings or None, lower-case words) for what was typed in a
    search box. A phone-like query with one digit string to look for is just a word (the
    number's digits are in search_text), so it takes the same indexed path as a name."""
    query = _CONTROL.sub(" ", query or "").strip()  # a NUL cannot even reach PostgreSQL
    if not query:
        return None, []
    digits = phone_search_digits(query, default_region)
    if digits is not None and len(digits) > 1:
        return digits, []
    if digits is not None:
        return None, digits
    return None, query.lower().split()


def search_query(
    query: str, default_region: str = "US", dialect: str = "sqlite", *, use_index: bool = True
) -> Select[Any]:
    """The filter for a search box: every word must match name, email, company or phone;
    a phone-like query matches any run of a number's digits, whatever format is typed."""
    stmt = select(Contact.id)
    alternatives, words = _search_words(query, default_region)
    if alternatives is not None:
        return stmt.where(
            or_(*(_word_filter([d], dialect, use_index=use_index) for d in alternatives))
        )
    if not words:
        return stmt
    return stmt.where(_word_filter(words, dialect, use_index=use_index))


NO_CONSENT_ON_RECORD = opt_in.NO_CONSENT_ON_RECORD  # the browser's filter


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def count_contacts(
    session: Session, query: str = "", default_region: str = "US", *, cap: int | None = None,
    no_consent: bool = False,
) -> int:  # fmt: skip
    """How many contacts match ``query`` (and, with ``no_consent``, have no consent on
    record); with ``cap``, counting stops there (a search box needs "10,000+" quickly more
    than the exact figure), so the result is at most ``cap``."""
    dialect = _dialect(session)
    prefixes, words = _search_words(query, default_region)
    indexed = _indexed_words(words, dialect)
    if no_consent:
        ids = search_query(query, default_region, dialect).where(NO_CONSENT_ON_RECORD)
        ids = ids if cap is None else ids.limit(cap)
    elif prefixes is None and words and indexed == words:
        # Every word is in the trigram index: count there, without reading the contacts.
        ids = _fts_ids(words, cap)
    else:
        ids = search_query(query, default_region, dialect)
        ids = ids if cap is None else ids.limit(cap)
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


# A search matching at least one contact in COMMON_SHARE is "common": its first page is
# found faster by walking the sort order and testing each row (about COMMON_SHARE rows read
# per row shown) than by collecting and sorting every match from the trigram index.
COMMON_SHARE = 10
INDEXED_SORTS = ("name", "phone")


def _is_common(session: Session, words: list[str], sort: str) -> bool:
    """True when the walk in sort order beats the trigram index for this SQLite search.

    Costs two cheap queries: the highest id (about the table size) and a count of
    matches that stops at a tenth of it.
    """
    if sort not in INDEXED_SORTS or not _indexed_words(words, "sqlite"):
        return False
    size = session.scalar(select(func.max(Contact.id))) or 0
    enough = max(size // COMMON_SHARE, 1)
    sample = _fts_ids(_indexed_words(words, "sqlite"), enough).subquery()
    return (session.scalar(select(func.count()).select_from(sample)) or 0) >= enough


def search_contacts(
    session: Session,
    query: str = "",
    *,
    offset: int = 0,
    limit: int = 200,
    sort: str = "name",
    descending: bool = False,
    default_region: str = "US",
    no_consent: bool = False,
    settings: AppSettings | None = None,
) -> list[ContactRow]:
    """One page of the browser's rows, filtered and sorted in the database. Pass the
    ``settings`` the caller holds (they are read from the database otherwise).

    On SQLite a common word (say a first name every tenth contact has) is answered by
    walking the sort index with LIKE, a rare one from the trigram index: the same rows
    either way, each in a few milliseconds on 100,000 contacts. ``no_consent`` keeps
    only contacts with no consent on record.
    """
    dialect = _dialect(session)
    _prefixes, words = _search_words(query, default_region)
    use_index = not (dialect == "sqlite" and words and _is_common(session, words, sort))
    ids = search_query(query, default_region, dialect, use_index=use_index).whereclause
    columns = SORT_COLUMNS.get(sort, SORT_COLUMNS["name"])
    order: list[UnaryExpression[Any]] = [c.desc() if descending else c.asc() for c in columns]
    order.append(Contact.id.desc() if descending else Contact.id.asc())
    stmt = select(
        Contact.id,
        Contact.first_name,
        Contact.last_name,
        Contact.phone_e164,
        Contact.email,
        Contact.company,
        Contact.sms_opted_out,
    )
    if ids is not None:
        stmt = stmt.where(ids)
    if no_consent:  # the "No consent on record" filter
        stmt = stmt.where(NO_CONSENT_ON_RECORD)
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit)).all()
    # The SMS column shows the one consent state (number opt-outs, holds...), not the flag.
    states = consent.consent_states(session, [(r.id, r.phone_e164) for r in rows],
                                    settings=settings)  # fmt: skip
    return [
        ContactRow(
            id=r.id,
            name=f"{r.first_name} {r.last_name}".strip(),
            phone_display=format_for_reading(r.phone_e164, default_region),
            email=r.email,
            company=r.company,
            sms_opted_out=r.sms_opted_out,
            consent=state,
        )
        for r, state in zip(rows, states, strict=True)
    ]
