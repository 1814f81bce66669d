"""The conversation with one contact: texts they sent us and texts we sent them, as plain data.

Inbound messages are matched by the contact's E.164 number (a reply belongs to
the number, not to one record); outbound messages by the contact id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
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
    contact = session.get(Contact, contact_id)
    if contact is None:
        return []
    items = [_outbound_item(m) for m in _outbound(session, contact_id, limit)]
    if contact.phone_e164:
        items += [_inbound_item(m) for m in _inbound(session, contact.phone_e164, limit)]
    items.sort(key=lambda item: item.time)
    return items[-limit:]


def _outbound(session: Session, contact_id: int, limit: int) -> list[OutboundMessage]:
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.contact_id == contact_id)
            .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
            .limit(limit)
        )
    )


def _inbound(session: Session, e164: str, limit: int) -> list[InboundMessage]:
    return list(
        session.scalars(
            select(InboundMessage)
            .where(InboundMessage.from_e164 == e164)
            .order_by(InboundMessage.date_sent.desc(), InboundMessage.id.desc())
            .limit(limit)
        )
    )


def _outbound_item(message: OutboundMessage) -> ConversationItem:
    return ConversationItem(
        direction=OUTBOUND,
        body=message.body,
        time=message.sent_at or message.created_at,
        status=message.status,
        origin=origin_label(message),
        error=message.error_message or "",
        recipient_opted_out=message.recipient_opted_out,
        delivery=delivery.label(message.delivery_status, message.delivery_error_code),
    )


def _inbound_item(message: InboundMessage) -> ConversationItem:
    return ConversationItem(
        direction=INBOUND, body=message.body, time=message.date_sent, status="received"
    )
