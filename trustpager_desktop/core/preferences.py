"""What the Communication Preferences card saves: the SMS opt-out flag of one contact, by hand.

Thin wrappers over ``core.consent`` taking a contact id, so the card never
handles ORM objects. Both run in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from trustpager_desktop.core import confirmations, consent, opt_in
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.contacts import get_contact_row
from trustpager_desktop.core.settings import load_settings
from trustpager_desktop.core.states import ConsentSource


def opt_out_by_hand(
    session: Session,
    contact_id: int,
    *,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
    send_confirmation: bool = False,
) -> bool:
    """Opt the contact out with the manual toggle. False if already opted out.

    With ``send_confirmation`` (the person said yes when asked; the default is no) the
    opt-out gets its one confirmation text, sent within five minutes by the
    confirmation sender. Raises NotFoundError when the contact no longer exists.
    """
    contact = get_contact_row(session, contact_id)
    changed = consent.opt_out_contact(
        session,
        contact,
        source=ConsentSource.MANUAL_TOGGLE,
        actor=actor,
        evidence="Communication Preferences card",
        clock=clock,
    )
    if changed and send_confirmation and contact.phone_e164:
        now = clock.now()
        confirmations.request_confirmation(
            session, key=confirmations.toggle_key(contact_id, now), e164=contact.phone_e164,
            contact_id=contact_id, language="en", requested_at=now, requested_by=actor,
            settings=load_settings(session), clock=clock,
        )  # fmt: skip
    return changed


def confirmation_offered(session: Session) -> bool:
    """Whether a staff opt-out should ask about a confirmation text (the setting is on)."""
    return load_settings(session).confirm_opt_outs


def re_consent_by_hand(
    session: Session,
    contact_id: int,
    *,
    method: str,
    note: str,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Remove the contact's opt-out, recording how consent was obtained.

    Raises UserInputError (nothing changed) for a missing method or note, and
    NotFoundError when the contact no longer exists.
    """
    contact = get_contact_row(session, contact_id)
    return consent.re_consent_contact(
        session, contact, method=method, note=note, actor=actor, clock=clock
    )


def set_declined_by_hand(
    session: Session,
    contact_id: int,
    declined: list[str],
    *,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Store the SMS purposes the contact declines (each a purpose of the business's list;
    declined purposes no longer on the list are kept). Each change is logged. Raises
    UserInputError for an unknown purpose, NotFoundError when the contact is gone."""
    contact = get_contact_row(session, contact_id)
    known = load_settings(session).purposes
    kept = [p for p in opt_in.parse_declined(contact.declined_purposes)
            if p.casefold() not in {k.casefold() for k in known}]  # fmt: skip
    value = opt_in.validate_declined([*kept, *declined], (*known, *kept))
    return opt_in.set_declined(session, contact, value, actor=actor, clock=clock)
