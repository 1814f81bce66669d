"""What the Communication Preferences card saves: the SMS opt-out flag of one contact, by hand.

Thin wrappers over ``core.consent`` taking a contact id, so the card never
handles ORM objects. Both run in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from trustpager_desktop.core import consent
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.contacts import get_contact_row


def opt_out_by_hand(
    session: Session, contact_id: int, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> bool:
    """Opt the contact out with the manual toggle. False if already opted out.

    Raises NotFoundError when the contact no longer exists.
    """
    contact = get_contact_row(session, contact_id)
    return consent.opt_out_contact(
        session,
        contact,
        source=consent.Source.MANUAL_TOGGLE,
        actor=actor,
        evidence="Communication Preferences card",
        clock=clock,
    )


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
