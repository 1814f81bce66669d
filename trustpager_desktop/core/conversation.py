"""The conversation with one contact: texts they sent us and texts we sent them, as plain data.

Inbound messages are matched by the contact's E.164 number (a reply belongs to
the number, not to one record); outbound messages by the contact id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, cast, false, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from trustpager_desktop.core import delivery
from trustpager_desktop.core.gateway import origin_label
from trustpager_desktop.store.models import Contact, InboundMessage, OutboundMessage

INBOUND = "inbound"
OUTBOUND = "outbound"


@dataclass(frozen=True)
class ConversationItem:
    """One message in the Messaging card. ``origin`` and ``error`` are empty for inbound."""

    direction: str  # "inbound" or "outbound"
    body: str
    time: datetime
    status: str  # outbound: sending/sent/failed/suppressed; inbound: "received"
    origin: str = ""  # "Manual, by Ann" or "Automation 'Appointment reminder', step 2"
    error: str = ""
    recipient_opted_out: bool = False
    delivery: str = ""  # outbound, once Twilio says: "Delivered", "Not delivered (30006)"


def conversation_for_contact(
    session: Session, contact_id: int, limit: int = 200
) -> list[ConversationItem]:
    """The last ``limit`` messages to and from the contact, oldest first (newest last).

    Returns an empty list for an unknown contact.
    """
    e164 = session.scalar(select(Contact.phone_e164).where(Contact.id == contact_id))
    return items_from_rows(session.execute(conversation_select(contact_id, e164, limit)), limit)


def conversation_select(contact_id: int, e164: str | None, limit: int = 200) -> Select[Any]:
    """One statement (one round trip) for both directions: the last ``limit`` texts sent
    to the contact and the last ``limit`` received from its number, as rows for
    ``items_from_rows``."""
    sent = (
        select(
            literal(OUTBOUND).label("direction"),
            OutboundMessage.id,
            OutboundMessage.body,
            func.coalesce(OutboundMessage.sent_at, OutboundMessage.created_at).label("time"),
            OutboundMessage.status,
            OutboundMessage.origin,
            OutboundMessage.actor,
            OutboundMessage.automation_name,
            OutboundMessage.step_position,
            OutboundMessage.error_message,
            OutboundMessage.recipient_opted_out,
            OutboundMessage.delivery_status,
            OutboundMessage.delivery_error_code,
        )
        .where(OutboundMessage.contact_id == contact_id)
        .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
        .limit(limit)
        .subquery()
    )
    received = (
        select(
            literal(INBOUND).label("direction"),
            InboundMessage.id,
            InboundMessage.body,
            InboundMessage.date_sent.label("time"),
            *(_nothing(c.type).label(c.name) for c in list(sent.c)[4:]),
        )
        .where(InboundMessage.from_e164 == e164 if e164 else false())
        .order_by(InboundMessage.date_sent.desc(), InboundMessage.id.desc())
        .limit(limit)
        .subquery()
    )
    return union_all(select(*sent.c), select(*received.c))  # type: ignore[return-value]  # a UNION stands where one SELECT is typed; callers only read rows


def _nothing(type_: Any) -> Any:
    return cast(null(), type_)


def items_from_rows(rows: Iterable[Any], limit: int = 200) -> list[ConversationItem]:
    """``conversation_select``'s rows as items, oldest first, the last ``limit``."""
    items = [_outbound_item(r) if r.direction == OUTBOUND else _inbound_item(r) for r in rows]
    items.sort(key=lambda item: item.time)
    return items[-limit:]


def _outbound_item(row: Any) -> ConversationItem:
    return ConversationItem(
        direction=OUTBOUND,
        body=row.body,
        time=row.time,
        status=row.status,
        origin=origin_label(row),
        error=row.error_message or "",
        recipient_opted_out=bool(row.recipient_opted_out),
        delivery=delivery.label(row.delivery_status, row.delivery_error_code),
    )


def _inbound_item(row: Any) -> ConversationItem:
    return ConversationItem(direction=INBOUND, body=row.body, time=row.time, status="received")
