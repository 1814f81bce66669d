"""Consent: opting out, re-consent, and the one rule for automation sends.

Every change here writes the flag, a consent event and an activity-log entry
in the caller's transaction, so they land together or not at all.

``may_automation_text`` is the only place that decides whether an automation
may text a contact or number. The outbound gateway calls it in the same
transaction that records the send (DESIGN promise 1).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from trustpager_desktop.core import activity, delivery
from trustpager_desktop.core.activity import Kind
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.store.models import ConsentEvent, Contact, NumberSuppression


class Source:
    """How an opt-out or re-consent reached us."""

    MANUAL_TOGGLE = "manual_toggle"
    STOP_REPLY = "stop_reply"
    TWILIO_21610 = "twilio_21610"
    IMPORT = "import"
    REVIEW = "review_decision"
    NUMBER_SUPPRESSION = "number_suppression"  # a contact created with a suppressed number
    START_REPLY = "start_reply"


SOURCE_LABELS = {
    Source.MANUAL_TOGGLE: "manual toggle",
    Source.STOP_REPLY: "STOP reply",
    Source.TWILIO_21610: "Twilio (number unsubscribed, error 21610)",
    Source.IMPORT: "import",
    Source.REVIEW: "review of a reply",
    Source.NUMBER_SUPPRESSION: "earlier opt-out of this number",
    Source.START_REPLY: "START reply",
}

# Sources that speak for the phone number, not just one contact record.
NUMBER_LEVEL_SOURCES = {Source.STOP_REPLY, Source.TWILIO_21610, Source.REVIEW}

RECONSENT_METHODS = {
    "verbal": "Verbal",
    "written": "Written",
    "web_form": "Web form",
    "start_reply": "START reply",
    "other": "Other",
}
NOTE_MAX = 2000


@dataclass(frozen=True)
class SendDecision:
    allowed: bool
    reason: str
    is_opt_out: bool = True  # False when the "no" is not about consent (a number that fails)


@dataclass(frozen=True)
class NumberOptOutResult:
    contact_ids: list[int]
    number_suppressed: bool


# The rule's three lookups, built once: a batch of sends runs them hundreds of times.
_VALUES = bindparam("values", expanding=True)
_OPTED_OUT_NUMBERS = select(Contact.phone_e164).where(
    Contact.sms_opted_out.is_(True), Contact.phone_e164.in_(_VALUES)
)
_SUPPRESSED_NUMBERS = select(NumberSuppression.phone_e164).where(
    NumberSuppression.phone_e164.in_(_VALUES), NumberSuppression.lifted_at.is_(None)
)
_OPTED_OUT_IDS = select(Contact.id).where(Contact.sms_opted_out.is_(True), Contact.id.in_(_VALUES))


def may_automation_text(session: Session, contact_id: int | None, e164: str | None) -> SendDecision:
    """May an automation text this contact at this number right now?

    No when: the number is missing; the contact is opted out; any contact with
    the same E.164 number is opted out (opt-out follows the number); or the
    number carries an active suppression. Call it inside the transaction that
    records the send so a just-saved opt-out is seen.
    """
    return may_automation_text_many(session, [(contact_id, e164)])[0]


def may_automation_text_many(
    session: Session, recipients: Sequence[tuple[int | None, str | None]]
) -> list[SendDecision]:
    """``may_automation_text`` for several (contact id, number) pairs, in two queries.

    This is the rule itself (the single form calls it), so a batch of sends and
    a single send can never disagree. Same transaction requirement.
    """
    numbers = {e164 for _, e164 in recipients if e164}
    ids = {cid for cid, e164 in recipients if cid is not None and e164}
    opted_out_ids: set[int] = set()
    opted_out_numbers: set[str] = set()
    suppressed: set[str] = set()
    run = session.connection().execute
    for chunk in _chunks(sorted(numbers), 500):
        opted_out_numbers.update(run(_OPTED_OUT_NUMBERS, {"values": chunk}).scalars())
        suppressed.update(run(_SUPPRESSED_NUMBERS, {"values": chunk}).scalars())
    for chunk in _chunks(sorted(ids), 500):
        opted_out_ids.update(run(_OPTED_OUT_IDS, {"values": chunk}).scalars())
    decisions = [
        _decide(cid, e164, opted_out_ids, opted_out_numbers, suppressed) for cid, e164 in recipients
    ]
    return _skip_undeliverable(session, recipients, decisions)


def _skip_undeliverable(
    session: Session,
    recipients: Sequence[tuple[int | None, str | None]],
    decisions: list[SendDecision],
) -> list[SendDecision]:
    """Numbers whose texts keep failing (landline, unreachable: ``core.delivery``) are
    skipped with their own reason; an opt-out reason, when there is one, comes first."""
    blocked = delivery.blocked_numbers(session, (e164 for _, e164 in recipients if e164))
    if not blocked:
        return decisions
    return [
        SendDecision(False, blocked[e164], is_opt_out=False)
        if decision.allowed and e164 in blocked
        else decision
        for (_, e164), decision in zip(recipients, decisions, strict=True)
    ]


def _decide(
    contact_id: int | None,
    e164: str | None,
    opted_out_ids: set[int],
    opted_out_numbers: set[str],
    suppressed: set[str],
) -> SendDecision:
    if not e164:
        return SendDecision(False, "contact has no valid phone number")
    if contact_id in opted_out_ids or e164 in opted_out_numbers:
        return SendDecision(False, "contact opted out of SMS")
    if e164 in suppressed:
        return SendDecision(False, "number opted out of SMS")
    return SendDecision(True, "contact subscribed")


def _chunks(values: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for start in range(0, len(values), size):
        yield values[start : start + size]


def is_number_suppressed(session: Session, e164: str | None) -> NumberSuppression | None:
    if not e164:
        return None
    return session.scalar(
        select(NumberSuppression).where(
            NumberSuppression.phone_e164 == e164, NumberSuppression.lifted_at.is_(None)
        )
    )


def _event(
    session: Session,
    *,
    kind: str,
    contact: Contact | None,
    phone: str | None,
    source: str,
    actor: str,
    evidence: str,
    message_sid: str | None,
    received_at: datetime,
    now: datetime,
    method: str | None = None,
) -> None:
    session.add(
        ConsentEvent(
            contact_id=contact.id if contact else None,
            phone_e164=phone,
            kind=kind,
            source=source,
            method=method,
            evidence=evidence,
            message_sid=message_sid,
            actor=actor,
            received_at=received_at,
            recorded_at=now,
        )
    )


@dataclass(frozen=True)
class NumberOptOut:
    """One opt-out of a phone number, for ``opt_out_numbers`` (``opt_out_number``'s arguments)."""

    e164: str
    source: str
    actor: str
    evidence: str = ""
    message_sid: str | None = None
    received_at: datetime | None = None
    summary: str | None = None


@dataclass
class _ContactState:
    """A contact as the batch opt-out sees it: plain columns, kept current through the batch."""

    id: int
    phone_e164: str | None
    name: str
    opted_out: bool


def opt_out_contact(
    session: Session,
    contact: Contact,
    *,
    source: str,
    actor: str,
    evidence: str = "",
    message_sid: str | None = None,
    received_at: datetime | None = None,
    summary: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Opt one contact out. Returns False (and records nothing) if already opted out."""
    session.flush()  # a new or edited contact must be in the database before we write
    if contact.sms_opted_out:
        return False
    state = _ContactState(contact.id, contact.phone_e164, contact.display_name, False)
    item = NumberOptOut(contact.phone_e164 or "", source, actor, evidence, message_sid,
                        received_at, summary)  # fmt: skip
    writes = _Writes()
    _opt_out_contact(session, state, item, clock.now(), writes, clock)
    writes.apply(session)
    return True


def opt_out_number(
    session: Session,
    e164: str,
    *,
    source: str,
    actor: str,
    evidence: str = "",
    message_sid: str | None = None,
    received_at: datetime | None = None,
    summary: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> NumberOptOutResult:
    """Opt out every contact with this number and hold the number itself as suppressed,
    so a contact created later with it starts opted out (DESIGN promise 6).
    ``opt_out_numbers`` for one number: the same rule."""
    item = NumberOptOut(e164, source, actor, evidence, message_sid, received_at, summary)
    return opt_out_numbers(session, [item], clock=clock)[0]


def opt_out_numbers(
    session: Session, items: Sequence[NumberOptOut], *, clock: Clock = SYSTEM_CLOCK
) -> list[NumberOptOutResult]:
    """``opt_out_number`` for many numbers, in order, in the caller's transaction.

    Exactly the records the single form makes, one after the other (a number listed
    twice is opted out once), written with a few statements for the whole batch:
    the contacts are read in one query, flags, consent events and suppressions
    written with one executemany each, and the activity entries with one insert.
    Returns one result per item."""
    session.flush()  # contacts added or edited in this transaction are read below
    numbers = sorted({item.e164 for item in items})
    contacts = _contacts_by_number(session, numbers)
    suppressions = _suppressions_by_number(session, numbers)
    writes = _Writes()
    results = []
    for item in items:
        now = clock.now()
        found = contacts.get(item.e164, [])
        changed = [c.id for c in found if _opt_out_contact(session, c, item, now, writes, clock)]
        suppressed = _suppress_number(session, item, suppressions, not found, now, writes, clock)
        results.append(NumberOptOutResult(contact_ids=changed, number_suppressed=suppressed))
    writes.apply(session)
    return results


def hold_number(session: Session, item: NumberOptOut, *, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Hold ``item.e164`` as suppressed without a consent event or log entry of its own
    (the caller records why, e.g. deleting an opted-out contact). False if already held."""
    suppressions = _suppressions_by_number(session, [item.e164])
    writes = _Writes()
    held = _suppress_number(session, item, suppressions, False, clock.now(), writes, clock)
    writes.apply(session)
    return held


def _contacts_by_number(session: Session, numbers: list[str]) -> dict[str, list[_ContactState]]:
    found: dict[str, list[_ContactState]] = {}
    for chunk in _chunks(numbers, 500):
        rows = session.execute(
            select(Contact.id, Contact.phone_e164, Contact.first_name, Contact.last_name,
                   Contact.sms_opted_out)
            .where(Contact.phone_e164.in_(chunk))
            .order_by(Contact.id)
        )  # fmt: skip
        for cid, phone, first, last, opted_out in rows:
            state = _ContactState(cid, phone, f"{first} {last}".strip(), bool(opted_out))
            found.setdefault(phone, []).append(state)
    return found


def _suppressions_by_number(session: Session, numbers: list[str]) -> dict[str, bool]:
    """Number -> whether its suppression is active (lifted ones: False; none: absent)."""
    found: dict[str, bool] = {}
    for chunk in _chunks(numbers, 500):
        rows = session.execute(
            select(NumberSuppression.phone_e164, NumberSuppression.lifted_at).where(
                NumberSuppression.phone_e164.in_(chunk)
            )
        )
        found.update({phone: lifted is None for phone, lifted in rows})
    return found


class _Writes:
    """The rows a batch of opt-outs writes, collected in order and written together."""

    def __init__(self) -> None:
        self.flags: list[dict] = []
        self.events: list[dict] = []
        self.new_suppressions: list[dict] = []
        self.renewed_suppressions: list[dict] = []

    def apply(self, session: Session) -> None:
        run = session.connection().execute
        if self.flags:
            run(_SET_OPTED_OUT, self.flags)
            _expire(session, Contact, [f["contact_id"] for f in self.flags])
        if self.events:
            run(insert(ConsentEvent.__table__), self.events)
        if self.new_suppressions:
            run(insert(NumberSuppression.__table__), self.new_suppressions)
        if self.renewed_suppressions:
            run(_RENEW_SUPPRESSION, self.renewed_suppressions)
            ids = session.scalars(
                select(NumberSuppression.id).where(
                    NumberSuppression.phone_e164.in_(
                        [r["number"] for r in self.renewed_suppressions]
                    )
                )
            )
            _expire(session, NumberSuppression, list(ids))
        activity.write_pending(session)  # the log entries land now, as the records do


_CONTACTS = Contact.__table__
_SET_OPTED_OUT = (
    update(_CONTACTS).where(_CONTACTS.c.id == bindparam("contact_id")).values(sms_opted_out=True)
)
_SUPPRESSIONS = NumberSuppression.__table__
_RENEW_SUPPRESSION = update(_SUPPRESSIONS).where(_SUPPRESSIONS.c.phone_e164 == bindparam("number"))


def _expire(session: Session, model: type, ids: list[int]) -> None:
    """Objects of these rows already in the session were changed behind the ORM's back:
    make the next attribute access read them again."""
    for row_id in ids:
        obj = session.identity_map.get(identity_key(model, row_id))
        if obj is not None:
            session.expire(obj)


def _event_row(
    item: NumberOptOut, contact_id: int | None, phone: str | None, now: datetime
) -> dict:
    return {
        "contact_id": contact_id,
        "phone_e164": phone,
        "kind": "opt_out",
        "source": item.source,
        "method": None,
        "evidence": item.evidence,
        "message_sid": item.message_sid,
        "actor": item.actor,
        "received_at": item.received_at or now,
        "recorded_at": now,
    }


def _opt_out_contact(
    session: Session,
    contact: _ContactState,
    item: NumberOptOut,
    now: datetime,
    writes: _Writes,
    clock: Clock,
) -> bool:
    """The per-contact rule: flag, consent event, log entry; nothing when already opted out."""
    if contact.opted_out:
        return False
    contact.opted_out = True
    received = item.received_at or now
    writes.flags.append({"contact_id": contact.id, "sms_opted_out_at": received,
                         "sms_opt_out_source": item.source, "updated_at": now})  # fmt: skip
    writes.events.append(_event_row(item, contact.id, contact.phone_e164, now))
    activity.append(
        session,
        kind=Kind.OPT_OUT,
        summary=item.summary
        or f"Opted out of SMS by {SOURCE_LABELS.get(item.source, item.source)}",
        actor=item.actor,
        contact_id=contact.id,
        contact_name=contact.name,
        details={"source": item.source, "evidence": item.evidence, "message_sid": item.message_sid},
        occurred_at=received,
        clock=clock,
        flush=False,
    )
    return True


def _suppress_number(
    session: Session,
    item: NumberOptOut,
    suppressions: dict[str, bool],
    log_it: bool,
    now: datetime,
    writes: _Writes,
    clock: Clock,
) -> bool:
    """Record a number-level suppression; the event and log entry only when no contact has it.
    False when the number is already held."""
    if suppressions.get(item.e164):
        return False
    values = {"source": item.source, "evidence": item.evidence, "message_sid": item.message_sid,
              "lifted_at": None, "created_at": now}  # fmt: skip
    if item.e164 in suppressions:  # lifted earlier: hold it again
        writes.renewed_suppressions.append({"number": item.e164, **values})
    else:
        writes.new_suppressions.append({"phone_e164": item.e164, **values})
    suppressions[item.e164] = True
    if log_it:
        received = item.received_at or now
        writes.events.append(_event_row(item, None, item.e164, now))
        label = SOURCE_LABELS.get(item.source, item.source)
        activity.append(
            session,
            kind=Kind.OPT_OUT,
            summary=(item.summary or f"Number {item.e164} opted out by {label}")
            + " (no contact has this number yet)",
            actor=item.actor,
            details={
                "source": item.source,
                "phone": item.e164,
                "evidence": item.evidence,
                "message_sid": item.message_sid,
            },  # fmt: skip
            occurred_at=received,
            clock=clock,
            flush=False,
        )
    return True


def validate_reconsent(method: str, note: str, message_sid: str | None = None) -> str:
    """Check a re-consent request; returns the cleaned note or raises UserInputError."""
    if method not in RECONSENT_METHODS:
        raise UserInputError(
            "Choose how consent was obtained: verbal, written, web form, START reply or other.",
            field="method",
        )
    note = (note or "").strip()
    if method == "start_reply" and not (message_sid or note):
        raise UserInputError(
            "A START reply re-consent needs the reply's message SID.", field="note"
        )
    if method != "start_reply" and not note:
        raise UserInputError(
            "Add a note saying how and when the contact agreed to receive texts again.",
            field="note",
        )
    if len(note) > NOTE_MAX:
        raise UserInputError(f"The note is too long ({NOTE_MAX} characters at most).", field="note")
    return note


def re_consent_contact(
    session: Session,
    contact: Contact,
    *,
    method: str,
    note: str,
    actor: str,
    message_sid: str | None = None,
    received_at: datetime | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Remove an opt-out, recording how consent was obtained (DESIGN promise 5).

    Raises UserInputError without changing anything when method or note is
    missing. Returns False if the contact was not opted out. Also lifts a
    suppression held on the contact's number: the person behind it agreed again.
    """
    note = validate_reconsent(method, note, message_sid)
    if not contact.sms_opted_out:
        return False
    now = clock.now()
    received = received_at or now
    contact.sms_opted_out = False
    contact.sms_opted_out_at = None
    contact.sms_opt_out_source = None
    contact.updated_at = now
    _event(
        session,
        kind="re_consent",
        contact=contact,
        phone=contact.phone_e164,
        source=Source.START_REPLY if method == "start_reply" else Source.MANUAL_TOGGLE,
        method=method,
        actor=actor,
        evidence=note,
        message_sid=message_sid,
        received_at=received,
        now=now,
    )
    _lift_suppression(session, contact.phone_e164, now)
    label = RECONSENT_METHODS[method]
    sid_text = f" ({message_sid})" if message_sid else ""
    activity.append(
        session,
        kind=Kind.RE_CONSENT,
        summary=f"Re-consent recorded: {label}{sid_text}" + (f": {note}" if note else ""),
        actor=actor,
        contact=contact,
        details={"method": method, "note": note, "message_sid": message_sid},
        occurred_at=received,
        clock=clock,
    )
    return True


def _lift_suppression(session: Session, e164: str | None, now: datetime) -> None:
    row = is_number_suppressed(session, e164)
    if row is not None:
        row.lifted_at = now


def re_consent_number(
    session: Session,
    e164: str,
    *,
    message_sid: str,
    received_at: datetime,
    body: str,
    actor: str = "Inbox",
    clock: Clock = SYSTEM_CLOCK,
) -> list[int]:
    """A START reply: re-consent every opted-out contact with this number and lift its suppression."""
    contacts = session.scalars(
        select(Contact).where(Contact.phone_e164 == e164, Contact.sms_opted_out.is_(True))
    )
    changed = [
        c.id
        for c in contacts
        if re_consent_contact(
            session,
            c,
            method="start_reply",
            note=f"Reply: {body.strip()[:200]}",
            actor=actor,
            message_sid=message_sid,
            received_at=received_at,
            clock=clock,
        )
    ]
    if not changed and is_number_suppressed(session, e164) is not None:
        now = clock.now()
        _lift_suppression(session, e164, now)
        _event(
            session,
            kind="re_consent",
            contact=None,
            phone=e164,
            source=Source.START_REPLY,
            method="start_reply",
            actor=actor,
            evidence=f"Reply: {body.strip()[:200]}",
            message_sid=message_sid,
            received_at=received_at,
            now=now,
        )
        activity.append(
            session,
            kind=Kind.RE_CONSENT,
            summary=f"Number {e164} opted back in by START reply ({message_sid})",
            actor=actor,
            details={"phone": e164, "message_sid": message_sid},
            occurred_at=received_at,
            clock=clock,
        )
    return changed


def number_is_opted_out(session: Session, e164: str | None) -> bool:
    """True when anyone holds an opt-out on this number (a contact or a suppression)."""
    return not may_automation_text(session, None, e164).allowed if e164 else False


def consent_history(session: Session, contact_id: int) -> list[ConsentEvent]:
    """Every consent event for the contact, oldest first (for reports)."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id == contact_id)
            .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
        )
    )


def status_line(contact: Contact, zone: str = "UTC") -> str:
    """'Opted out since 26 Nov 2026, 10:04 by STOP reply' (time in the business ``zone``)
    or 'Subscribed'."""
    if not contact.sms_opted_out:
        return "Subscribed"
    when = contact.sms_opted_out_at
    when_text = format_time(when, zone) if when else "an unknown time"
    source = SOURCE_LABELS.get(contact.sms_opt_out_source or "", contact.sms_opt_out_source or "")
    return f"Opted out since {when_text} by {source}"
