"""Rebuild today's opt-out state from the consent events and compare it with the database.

The consent events are the evidence; ``contacts.sms_opted_out`` and
``number_suppressions`` are what the send rule reads. Someone with database
access who clears a flag or deletes a suppression makes the two disagree, and
``log verify`` names each disagreement.

The rebuild replays the events in the order they were recorded (id order: the
order the application applied them):

- a contact's last event decides it: ``opt_out`` -> opted out, ``re_consent`` ->
  subscribed; a contact with no event is subscribed;
- a number is held (an active suppression) after an ``opt_out`` event that speaks
  for the number: one with no contact (nobody had the number yet) or one whose
  source is number-level (a STOP reply, Twilio 21610, a review decision); a
  ``re_consent`` event for the number lifts it;
- an opted-out contact that was deleted leaves its number held (the deletion's
  log entry names the number); a later re-consent on that number lifts it.

A suppression with no event behind it is not reported: holding a number is the
safe direction, and the application holds numbers for reasons that have no
consent event of their own (a STOP for a number whose contacts were all opted
out already).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core.consent import NUMBER_LEVEL_SOURCES, SOURCE_LABELS
from trustpager_desktop.core.states import ActivityKind, ConsentEventKind
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent, Contact, NumberSuppression

HELD_NUMBER_DETAIL = "held_number"  # set on a CONTACT_DELETED entry by contacts.delete_contact


@dataclass
class AuditResult:
    contacts_opted_out: int = 0
    numbers_held: int = 0
    mismatches: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.mismatches:
            return "\n".join(self.mismatches)
        return (
            "Opt-out state matches the consent events "
            f"({self.contacts_opted_out:,} contacts opted out, {self.numbers_held:,} numbers held)."
        )


@dataclass(frozen=True)
class _Evidence:
    event_id: int
    source: str
    received_at: datetime

    def describe(self) -> str:
        label = SOURCE_LABELS.get(self.source, self.source)
        return f"consent event {self.event_id} ({label}, {self.received_at:%Y-%m-%d %H:%M} UTC)"


@dataclass
class _Expected:
    contacts: dict[int, tuple[bool, _Evidence]] = field(default_factory=dict)
    numbers: dict[str, tuple[bool, _Evidence | None, datetime]] = field(default_factory=dict)


def rebuild(session: Session) -> _Expected:
    """Replay the consent events (and deletions that held a number) into the expected state."""
    expected = _Expected()
    events = session.execute(
        select(
            ConsentEvent.id, ConsentEvent.kind, ConsentEvent.contact_id, ConsentEvent.phone_e164,
            ConsentEvent.source, ConsentEvent.received_at, ConsentEvent.recorded_at,
        ).order_by(ConsentEvent.id)
    )  # fmt: skip
    for event_id, kind, contact_id, phone, source, received_at, recorded_at in events:
        evidence = _Evidence(event_id, source, received_at)
        if kind == ConsentEventKind.OPT_OUT:
            if contact_id is not None:
                expected.contacts[contact_id] = (True, evidence)
            if phone and (contact_id is None or source in NUMBER_LEVEL_SOURCES):
                expected.numbers[phone] = (True, evidence, recorded_at)
        elif kind == ConsentEventKind.RE_CONSENT:
            if contact_id is not None:
                expected.contacts[contact_id] = (False, evidence)
            if phone:
                expected.numbers[phone] = (False, evidence, recorded_at)
    _add_deletion_holds(session, expected)
    return expected


def _add_deletion_holds(session: Session, expected: _Expected) -> None:
    deletions = session.execute(
        select(ActivityEntry.contact_id, ActivityEntry.details, ActivityEntry.recorded_at).where(
            ActivityEntry.kind == ActivityKind.CONTACT_DELETED,
            ActivityEntry.details.contains(HELD_NUMBER_DETAIL),
        )
    )
    for contact_id, details, recorded_at in deletions:
        phone = json.loads(details or "{}").get(HELD_NUMBER_DETAIL)
        state = expected.contacts.get(contact_id) if contact_id is not None else None
        if not phone or state is None or not state[0]:
            continue
        current = expected.numbers.get(phone)
        if current is None or current[2] <= recorded_at:  # no later event on the number
            expected.numbers[phone] = (True, state[1], recorded_at)


def audit(session: Session) -> AuditResult:
    """Compare the rebuilt state with the contacts' flags and the active suppressions."""
    expected = rebuild(session)
    result = AuditResult()
    flags = session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.sms_opted_out)
    )
    for contact_id, first, last, opted_out in flags:
        result.contacts_opted_out += bool(opted_out)
        problem = _contact_problem(contact_id, f"{first} {last}".strip(), bool(opted_out),
                                   expected.contacts.get(contact_id))  # fmt: skip
        if problem:
            result.mismatches.append(problem)
    held = set(
        session.scalars(
            select(NumberSuppression.phone_e164).where(NumberSuppression.lifted_at.is_(None))
        )
    )
    result.numbers_held = len(held)
    for phone, (should_hold, evidence, _at) in sorted(expected.numbers.items()):
        if should_hold and phone not in held:
            result.mismatches.append(
                f"Number {phone} should be held as opted out "
                f"({evidence.describe() if evidence else 'no record'}) "
                "but its suppression is missing or lifted."
            )
    return result


def _contact_problem(
    contact_id: int, name: str, opted_out: bool, expected: tuple[bool, _Evidence] | None
) -> str:
    should_be_out = expected is not None and expected[0]
    if opted_out == should_be_out:
        return ""
    who = f"Contact {contact_id} ({name})"
    if expected is not None and should_be_out:
        return (
            f"{who} is marked subscribed, but {expected[1].describe()} opted them out "
            "and no re-consent follows."
        )
    if expected is None:
        return f"{who} is marked opted out, but no consent event records an opt-out."
    return f"{who} is marked opted out, but their last consent event, {expected[1].describe()}, subscribed them."
