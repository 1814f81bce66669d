"""The one way tests create a contact: through ``contacts.create_contact``, as the app does.

``add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")`` -> the new contact's id.
Pass a Session instead of a Database to add it inside a transaction the test already holds.
``opted_out=True`` then opts the contact out the way ``opt_out_source`` says: a staff toggle
by default, or a STOP reply (``ConsentSource.STOP_REPLY``, recorded by the inbox with "STOP" as
evidence); ``opted_out_at`` dates the customer's word (default: now on the clock).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from trustpager_desktop.core import consent, contacts
from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.store.database import Database


def add_contact(
    where: Database | Session,
    clock: Clock,
    first: str = "Ann",
    last: str = "",
    *,
    phone: str = "",
    opted_out: bool = False,
    opt_out_source: str = ConsentSource.MANUAL_TOGGLE,
    opted_out_at: datetime | None = None,
    **fields: Any,
) -> int:
    def create(s: Session) -> int:
        data = ContactInput(first, last, phone=phone, **fields)
        contact = contacts.create_contact(s, data, actor="Test", clock=clock)
        if opted_out:
            by_reply = opt_out_source == ConsentSource.STOP_REPLY
            consent.opt_out_contact(
                s,
                contact,
                source=opt_out_source,
                actor="Inbox" if by_reply else "Test",
                evidence="STOP" if by_reply else "",
                received_at=opted_out_at,
                clock=clock,
            )
        return contact.id

    if isinstance(where, Session):
        return create(where)
    with where.write() as s:
        return create(s)
