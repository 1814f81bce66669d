"""The contacts that have a phone number: one query, whoever asks.

Opt-out follows the number (DESIGN promise 6), so the inbox, consent, delivery and the
command line all ask "which contacts have this number?"; they ask it here. Numbers are
E.164, as ``contacts.phone_e164`` stores them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.store import bulk
from trustpager_desktop.store.models import Contact


def contacts_with_number(session: Session, e164: str | None) -> list[Contact]:
    """Every contact with the number ``e164``, oldest first; none for no number."""
    if not e164:
        return []
    return list(
        session.scalars(select(Contact).where(Contact.phone_e164 == e164).order_by(Contact.id))
    )


def contacts_by_number(session: Session, numbers: Iterable[str | None]) -> dict[str, list[Contact]]:
    """``contacts_with_number`` for many numbers at once: every number given (a key even
    when no contact has it) -> its contacts, oldest first."""
    wanted = sorted({n for n in numbers if n})
    found: dict[str, list[Contact]] = {number: [] for number in wanted}
    for chunk in bulk.chunks(wanted):
        query = select(Contact).where(Contact.phone_e164.in_(chunk)).order_by(Contact.id)
        for contact in session.scalars(query):
            found[contact.phone_e164 or ""].append(contact)
    return found


def names_by_number(session: Session, numbers: Iterable[str | None]) -> dict[str, tuple[str, ...]]:
    """The names of the contacts with each number, by last then first name; a number no
    contact has is left out."""
    found = contacts_by_number(session, numbers)
    return {
        number: tuple(c.display_name for c in sorted(people, key=_by_name))
        for number, people in found.items()
        if people
    }


def _by_name(contact: Contact) -> tuple[str, str]:
    return (contact.last_name, contact.first_name)
