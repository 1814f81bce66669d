"""Delivery of the texts we sent, as the provider reports it later, and numbers that cannot
receive texts.

The status set, in one place. An ``outbound_messages`` row has two status columns:

``status`` (set by the gateway when it hands the text over; ``core.gateway.Status``)
    ``sending``    recorded, the provider call under way (or cut short by a crash)
    ``sent``       the provider accepted it (it has a message SID)
    ``failed``     the provider refused it (``error_code``/``error_message`` say why)
    ``suppressed`` never handed over: the consent rule said no, or Twilio answered 21610

``delivery_status`` (set by the inbox poller from Twilio's message list; NULL until read)
    ``queued``      waiting at Twilio (Twilio: accepted, scheduled, queued)
    ``sent``        handed to the carrier (Twilio: sending, sent)
    ``delivered``   the carrier confirmed delivery (Twilio: delivered, read)
    ``undelivered`` the carrier could not deliver it (``delivery_error_code``, e.g. 30003)
    ``failed``      Twilio could not send it (Twilio: failed, canceled)

A delivery status only moves forward (queued -> sent -> delivered/undelivered/failed),
so a listing read late never undoes a newer answer.

Numbers that cannot receive texts: each undelivered/failed text with a code in
``BLOCK_AFTER`` counts a failure against its number; a delivered text resets the
count. When the count reaches the limit for its code the number is blocked:
``consent.may_automation_text_many`` then skips it with the reason "number cannot
receive texts: landline (30006)", and the contact shows it. A person clears the
block (window or ``trustpager delivery clear``); both are logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.journal import WriteJournal
from trustpager_desktop.core.number_contacts import contacts_with_number
from trustpager_desktop.core.phone import parse_phone
from trustpager_desktop.core.states import ActivityKind, DeliveryStatus
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.store import bulk
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact, OutboundMessage, UndeliverableNumber

ACTOR = "Twilio"

STATUSES = tuple(DeliveryStatus)
LABELS: dict[str, str] = {
    DeliveryStatus.QUEUED: "Queued at Twilio",
    DeliveryStatus.SENT: "Sent to the carrier",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.UNDELIVERED: "Not delivered",
    DeliveryStatus.FAILED: "Delivery failed",
}
_FROM_TWILIO: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
_RANK: dict[str, int] = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.UNDELIVERED: 2,
    DeliveryStatus.FAILED: 2,
}

# Error code -> failures in a row before automations skip the number. A landline or an
# unknown number will not start receiving texts; an unreachable handset may be switched
# off for a while, so it gets one more try.
BLOCK_AFTER = {30006: 2, 30005: 2, 30003: 3}
CODE_LABELS = {30006: "landline", 30005: "unreachable", 30003: "unreachable"}
CODE_MEANINGS = {
    30003: "the handset is unreachable (switched off or out of coverage)",
    30005: "the number is unknown or no longer in service",
    30006: "a landline or a carrier that cannot receive texts",
}


def from_provider(status: str) -> str | None:
    """Our delivery status for a Twilio message status, or None for one we do not record."""
    return _FROM_TWILIO.get(status.lower()) if isinstance(status, str) else None


def label(status: str | None, error_code: int | None = None) -> str:
    """'Delivered', 'Not delivered (30006)'; '' before the provider has said anything."""
    if not status:
        return ""
    text = LABELS.get(status, status)
    return (
        f"{text} ({error_code})"
        if error_code and status in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED)
        else text
    )


def block_reason(error_code: int) -> str:
    """'landline (30006)' / 'unreachable (30003)'."""
    return f"{CODE_LABELS.get(error_code, 'cannot receive texts')} ({error_code})"


# ---- recording what Twilio says -----------------------------------------------------------


@dataclass(frozen=True)
class DeliveryUpdate:
    """What one batch of listed outbound records changed."""

    changed: int = 0
    blocked: tuple[str, ...] = ()  # numbers that just became blocked


_CURRENT = select(OutboundMessage.provider_sid, OutboundMessage.delivery_status).where(
    OutboundMessage.provider_sid.in_(bindparam("sids", expanding=True))
)


def record_statuses(
    db: Database, records: Iterable[MessageRecord], clock: Clock = SYSTEM_CLOCK
) -> DeliveryUpdate:
    """Store the delivery status of every listed outbound text we sent, oldest first.

    Unknown SIDs (texts sent by other software on the account) and statuses that
    would move a text backwards are ignored, so replaying a listing changes
    nothing. Reads first and writes only when something changed."""
    wanted: dict[str, tuple[str, int | None, datetime]] = {}
    for record in records:
        status = from_provider(record.status) if record.outbound else None
        if status is not None:
            wanted[record.sid] = (status, record.error_code, record.date_sent)
    if not wanted:
        return DeliveryUpdate()
    current: dict[str, str | None] = {}
    sids = sorted(wanted)
    with db.read() as session:
        for chunk in bulk.chunks(sids):
            rows = session.execute(_CURRENT, {"sids": chunk})
            current.update({sid: status for sid, status in rows if sid is not None})
    changes = sorted(
        ((sid, *wanted[sid]) for sid, old in current.items() if _moves(old, wanted[sid][0])),
        key=lambda change: change[3],
    )
    if not changes:
        return DeliveryUpdate()
    return _apply(db, changes, clock)


def _moves(old: str | None, new: str) -> bool:
    return old is None or _RANK.get(new, -1) > _RANK.get(old, -1)


def _apply(
    db: Database, changes: list[tuple[str, str, int | None, datetime]], clock: Clock
) -> DeliveryUpdate:
    changed, blocked = 0, []
    now = clock.now()
    table = OutboundMessage.__table__
    with db.write() as session:
        activity.lock_chain(session)  # before any row lock: blocking a number logs it
        journal = WriteJournal(session, clock)
        for sid, status, code, _when in changes:
            lower = [s for s, rank in _RANK.items() if rank < _RANK[status]]
            row = session.execute(
                update(table)
                .where(
                    table.c.provider_sid == sid,
                    or_(table.c.delivery_status.is_(None), table.c.delivery_status.in_(lower)),
                )
                .values(
                    delivery_status=status,
                    delivery_error_code=code
                    if status in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED)
                    else None,
                    delivery_updated_at=now,
                )
                .returning(table.c.to_e164)
            ).first()
            if row is None:
                continue  # another poller got there first
            changed += 1
            if status == DeliveryStatus.DELIVERED:
                _delivered(journal, row.to_e164, now)
            elif (
                code is not None
                and _counts_against(status, code, row.to_e164)
                and _failed(journal, row.to_e164, code, now)
            ):
                blocked.append(row.to_e164)
        journal.flush()
    return DeliveryUpdate(changed, tuple(blocked))


def _counts_against(status: str, code: int | None, e164: str | None) -> bool:
    """A failure that says the number cannot receive texts (not, e.g., a carrier hiccup)."""
    return (
        status in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED)
        and code in BLOCK_AFTER
        and bool(e164)
    )


def _locked_row(session: Session, e164: str) -> UndeliverableNumber | None:
    return session.scalar(
        select(UndeliverableNumber).where(UndeliverableNumber.phone_e164 == e164).with_for_update()
    )


def _failed(journal: WriteJournal, e164: str, code: int, now: datetime) -> bool:
    """Count one failure; True when this one blocks the number."""
    session = journal.session
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(UndeliverableNumber)
        .values(
            phone_e164=e164, error_code=code, failures=0, first_failed_at=now, last_failed_at=now
        )
        .on_conflict_do_nothing(index_elements=["phone_e164"])
    )
    row = _locked_row(session, e164)
    assert row is not None
    if row.failures == 0:
        row.first_failed_at = now
    row.failures += 1
    row.error_code = code
    row.last_failed_at = now
    if row.blocked_at is not None or row.failures < BLOCK_AFTER[code]:
        return False
    row.blocked_at = now
    _log(
        journal,
        e164,
        ActivityKind.DELIVERY_BLOCKED,
        f"Texts to this number fail: {block_reason(code)}, {row.failures} texts in a row "
        "not delivered; automations will skip it until someone clears it",
        {"error_code": code, "failures": row.failures, "meaning": CODE_MEANINGS.get(code, "")},
        "Twilio",
    )
    return True


def _delivered(journal: WriteJournal, e164: str, now: datetime) -> None:
    """A delivered text proves the number receives texts: forget its failures."""
    row = _locked_row(journal.session, e164)
    if row is None or row.failures == 0:
        return
    was_blocked = row.blocked_at is not None
    row.failures, row.blocked_at = 0, None
    if was_blocked:
        _log(
            journal,
            e164,
            ActivityKind.DELIVERY_UNBLOCKED,
            "A text to this number was delivered; automations may text it again",
            {"error_code": row.error_code},
            "Twilio",
        )


def _log(
    journal: WriteJournal,
    e164: str,
    kind: ActivityKind,
    summary: str,
    details: dict[str, object],
    actor: str,
) -> None:
    """One entry per contact with the number, or one for the number itself."""
    contacts: list[Contact | None] = [*contacts_with_number(journal.session, e164)]
    for contact in contacts or [None]:
        journal.log(
            activity.LogEntry(
                kind=kind,
                summary=summary if contact else f"{summary} ({e164})",
                actor=actor,
                contact_id=contact.id if contact else None,
                contact_name=contact.display_name if contact else "",
                details={"number": e164, **details},
            )
        )


# ---- what the rule and the screens ask ------------------------------------------------------

# A number automations skip (also read by core.consent, in its one query).
IS_BLOCKED = UndeliverableNumber.blocked_at.is_not(None)
_BLOCKED = select(UndeliverableNumber.phone_e164, UndeliverableNumber.error_code).where(
    IS_BLOCKED, UndeliverableNumber.phone_e164.in_(bindparam("numbers", expanding=True))
)


def undeliverable_reason(error_code: int) -> str:
    """Why automations skip a blocked number: 'number cannot receive texts: landline (30006)'."""
    return f"number cannot receive texts: {block_reason(error_code)}"


def blocked_numbers(session: Session, numbers: Iterable[str]) -> dict[str, str]:
    """Which of ``numbers`` cannot receive texts: number -> the reason automations skip it,
    e.g. 'number cannot receive texts: landline (30006)'."""
    wanted = sorted({n for n in numbers if n})
    found: dict[str, str] = {}
    for chunk in bulk.chunks(wanted):
        rows = session.connection().execute(_BLOCKED, {"numbers": chunk})
        for number, code in rows:
            found[number] = undeliverable_reason(code)
    return found


@dataclass(frozen=True)
class DeliveryProblem:
    """Failures in a row to one number, for the contact page."""

    phone_e164: str
    error_code: int
    failures: int
    since: datetime
    blocked: bool

    @property
    def headline(self) -> str:
        """'Texts to this number fail: landline (30006)'."""
        return f"Texts to this number fail: {block_reason(self.error_code)}"

    def describe(self) -> str:
        texts = "text" if self.failures == 1 else "texts"
        line = f"{self.failures} {texts} in a row not delivered"
        meaning = CODE_MEANINGS.get(self.error_code)
        if meaning:
            line += f" ({meaning})"
        if self.blocked:
            return f"{line}. Automations skip this number until you clear it."
        limit = BLOCK_AFTER.get(self.error_code, 0)
        return f"{line}. Automations skip it after {limit} in a row."


def delivery_problem(session: Session, e164: str | None) -> DeliveryProblem | None:
    """The number's failures in a row, or None when its texts are delivered (or unknown)."""
    if not e164:
        return None
    row = session.scalar(select(UndeliverableNumber).where(UndeliverableNumber.phone_e164 == e164))
    if row is None or row.failures == 0:
        return None
    return DeliveryProblem(
        row.phone_e164,
        row.error_code,
        row.failures,
        row.first_failed_at,
        row.blocked_at is not None,
    )


def list_blocked(session: Session) -> list[DeliveryProblem]:
    """Every number automations skip because texts to it fail, most recent first."""
    rows = session.scalars(
        select(UndeliverableNumber)
        .where(UndeliverableNumber.blocked_at.is_not(None))
        .order_by(UndeliverableNumber.blocked_at.desc())
    )
    return [
        DeliveryProblem(r.phone_e164, r.error_code, r.failures, r.first_failed_at, True)
        for r in rows
    ]


def clear_block(
    db: Database,
    number: str,
    *,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
    default_region: str = "US",
) -> DeliveryProblem:
    """A person says: try texting this number again. Forgets its failures, logs who did it.

    Returns the problem as it was. Raises UserInputError for a number that cannot be
    read and NotFoundError when nothing is recorded against the number."""
    e164 = parse_phone(number, default_region).e164
    with db.write() as session:
        activity.lock_chain(session)
        journal = WriteJournal(session, clock)
        row = _locked_row(session, e164) if e164 else None
        if row is None or row.failures == 0:
            raise NotFoundError(f"No delivery failures are recorded for {number}.")
        before = DeliveryProblem(
            row.phone_e164,
            row.error_code,
            row.failures,
            row.first_failed_at,
            row.blocked_at is not None,
        )
        row.failures, row.blocked_at = 0, None
        row.cleared_at, row.cleared_by = clock.now(), actor[:100]
        _log(
            journal,
            e164,
            ActivityKind.DELIVERY_UNBLOCKED,
            f"Delivery block cleared by {actor}: automations may text this number again "
            f"(was: {before.headline.lower()}, {before.failures} in a row)",
            {"error_code": before.error_code, "failures": before.failures},
            actor,
        )
        journal.flush()
    return before


def delivery_for_sids(
    session: Session, sids: Sequence[str]
) -> dict[str, tuple[str | None, int | None]]:
    """sid -> (delivery status, error code), for tests and reports."""
    rows = session.execute(
        select(
            OutboundMessage.provider_sid,
            OutboundMessage.delivery_status,
            OutboundMessage.delivery_error_code,
        ).where(OutboundMessage.provider_sid.in_(list(sids)))
    )
    return {sid: (status, code) for sid, status, code in rows if sid is not None}


__all__ = [
    "BLOCK_AFTER",
    "STATUSES",
    "DeliveryProblem",
    "DeliveryUpdate",
    "block_reason",
    "blocked_numbers",
    "clear_block",
    "delivery_problem",
    "from_provider",
    "label",
    "list_blocked",
    "record_statuses",
]
