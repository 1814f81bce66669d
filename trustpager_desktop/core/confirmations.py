"""Opt-out confirmation texts: one per opt-out that Twilio did not confirm itself.

The FCC allows a single text confirming a revocation, sent within five minutes of the
request and carrying no marketing. Twilio sends its own when the reply is one of its
default keywords on its number, so we confirm only the rest: Spanish words, repeated
keywords, review decisions, staff toggles (when the person chooses to).

- ``request_confirmation`` (in the opt-out's own transaction) adds a row keyed by the
  opt-out (``reply:SID``, ``toggle:...``); the unique key makes it at most one request.
- ``send_due_confirmations`` sends pending rows through the gateway with a
  ``ConfirmationOrigin``: not an automation, so the opt-out it confirms never blocks it.
  The row moves pending -> sending inside the gateway's record transaction, guarded by
  ``WHERE status = 'pending'``: a second desktop, or a retry after a crash, finds it taken
  and sends nothing. A row still pending five minutes after the request is expired.

The five minutes run from the customer's request: the reply's sending time, or the
moment a person recorded an opt-out by hand. A review decided later than that gets no
confirmation (the log says why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.gateway import (
    ConfirmationOrigin,
    OutboundGateway,
    OutboundText,
    SendOutcome,
)
from trustpager_desktop.core.settings import AppSettings, load_settings
from trustpager_desktop.core.states import ActivityKind, ConfirmationStatus, MessageStatus
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import OptOutConfirmation

log = logging.getLogger("trustpager.confirmations")

CONFIRM_WITHIN = timedelta(minutes=5)
_FALLBACK_BUSINESS = {"en": "this number", "es": "este número"}


@dataclass
class ConfirmationReport:
    """What one ``send_due_confirmations`` run did."""

    sent: int = 0
    failed: int = 0
    expired: int = 0
    skipped: int = 0
    taken: int = 0  # another desktop (or an earlier run) had it already

    def describe(self) -> str:
        return (f"opt-out confirmations: {self.sent} sent, {self.failed} failed, "
                f"{self.expired} too late, {self.skipped} not needed")  # fmt: skip


def reply_key(message_sid: str) -> str:
    """The opt-out key of a reply (a STOP-type reply or a reply decided as an opt-out)."""
    return f"reply:{message_sid}"


def toggle_key(contact_id: int, at: datetime) -> str:
    """The opt-out key of a staff toggle: the contact and the moment it was saved."""
    return f"toggle:{contact_id}:{at.isoformat()}"


def render(settings: AppSettings, language: str) -> str:
    """The confirmation text in ``language`` ("es" or anything else for English)."""
    template = settings.confirmation_text_es if language == "es" else settings.confirmation_text
    business = settings.business_name.strip() or _FALLBACK_BUSINESS.get(language, "this number")
    return template.replace("{business}", business)


def request_confirmation(
    session: Session,
    *,
    key: str,
    e164: str,
    contact_id: int | None,
    language: str,
    requested_at: datetime,
    requested_by: str,
    settings: AppSettings,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Ask for the confirmation of one opt-out, in the opt-out's transaction.

    Does nothing when the setting is off or this opt-out was asked for already (the key
    is unique). Returns True when a request was added."""
    if not settings.confirm_opt_outs:
        return False
    values = {
        "opt_out_key": key[:100], "phone_e164": e164, "contact_id": contact_id,
        "language": "es" if language == "es" else "en", "requested_at": requested_at,
        "expires_at": requested_at + CONFIRM_WITHIN, "status": ConfirmationStatus.PENDING,
        "requested_by": requested_by[:100], "created_at": clock.now(),
    }  # fmt: skip
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OptOutConfirmation.__table__)
        .on_conflict_do_nothing(index_elements=["opt_out_key"])
        .returning(OptOutConfirmation.__table__.c.id)
    )
    return session.connection().execute(statement, values).first() is not None


class _Taken(Exception):
    """Raised inside the gateway's record transaction: someone else is sending it."""


def send_due_confirmations(
    db: Database, gateway: OutboundGateway, *, clock: Clock = SYSTEM_CLOCK
) -> ConfirmationReport:
    """Send every pending confirmation still inside its five minutes; expire the rest.

    Safe to run from several desktops at once and after a crash: each confirmation
    reaches the provider at most once. Provider failures are recorded, not retried."""
    report = ConfirmationReport()
    now = clock.now()
    with db.read() as session:
        settings = load_settings(session)
        due = list(session.execute(
            select(OptOutConfirmation.id, OptOutConfirmation.expires_at)
            .where(OptOutConfirmation.status == ConfirmationStatus.PENDING)
            .order_by(OptOutConfirmation.requested_at, OptOutConfirmation.id)
        ))  # fmt: skip
    for row_id, expires_at in due:
        if expires_at < now:
            _close(db, row_id, ConfirmationStatus.EXPIRED, "not sent: more than 5 minutes after the opt-out "
                   "request (the FCC allows a confirmation only within 5 minutes)", clock, report)  # fmt: skip
        else:
            _send_one(db, gateway, row_id, settings, clock, report)
    return report


def _close(
    db: Database, row_id: int, status: str, reason: str, clock: Clock, report: ConfirmationReport
) -> None:
    """Mark a pending row expired or skipped (if still pending) and log why."""
    with db.write() as session:
        activity.lock_chain(session)
        row = session.get(OptOutConfirmation, row_id)
        if row is None or row.status != ConfirmationStatus.PENDING:
            report.taken += 1
            return
        row.status, row.reason, row.finished_at = status, reason, clock.now()
        activity.append(
            session,
            activity.LogEntry(
                kind=ActivityKind.OPT_OUT_CONFIRMATION,
                summary=f"Opt-out confirmation {reason}",
                actor="Opt-out confirmation",
                contact_id=row.contact_id,
                # not a state: "opt_out" names the details field of the opt-out's key
                details={"phone": row.phone_e164, "opt_out": row.opt_out_key},
            ),
            clock=clock,
        )
    setattr(report, status, getattr(report, status) + 1)


def _send_one(
    db: Database,
    gateway: OutboundGateway,
    row_id: int,
    settings: AppSettings,
    clock: Clock,
    report: ConfirmationReport,
) -> None:
    with db.read() as session:
        row = session.get_one(OptOutConfirmation, row_id)
        state = consent.consent_state(session, None, row.phone_e164, settings=settings)
        phone, contact_id, language = row.phone_e164, row.contact_id, row.language
    if state.provider_refuses:
        _close(db, row_id, ConfirmationStatus.SKIPPED, "not sent: Twilio blocks this number after a STOP reply "
               "and confirmed that opt-out itself", clock, report)  # fmt: skip
        return
    if not state.opted_out:
        _close(
            db,
            row_id,
            ConfirmationStatus.SKIPPED,
            "not sent: the number is no longer opted out",
            clock,
            report,
        )
        return

    def claim(session: Session, text: OutboundText) -> None:
        taken = session.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
            update(OptOutConfirmation)
            .where(
                OptOutConfirmation.id == row_id,
                OptOutConfirmation.status == ConfirmationStatus.PENDING,
            )
            .values(status=ConfirmationStatus.SENDING, outbound_message_id=text.id)
        ).rowcount
        if taken != 1:
            raise _Taken

    def finish(session: Session, text: OutboundText) -> None:
        ok = text.status == MessageStatus.SENT
        session.execute(
            update(OptOutConfirmation).where(OptOutConfirmation.id == row_id)
            .values(status=ConfirmationStatus.SENT if ok else ConfirmationStatus.FAILED, finished_at=clock.now(),
                    reason=None if ok else f"not sent: {text.error_message}")
        )  # fmt: skip

    def send(to_contact: int | None) -> SendOutcome:
        return gateway.send(
            body=render(settings, language), origin=ConfirmationOrigin(row_id), to=phone,
            contact_id=to_contact, on_recorded=claim, on_finished=finish,
        )  # fmt: skip

    try:
        try:
            outcome = send(contact_id)
        except NotFoundError:  # the contact was deleted meanwhile: the number still opted out
            outcome = send(None)
    except _Taken:
        report.taken += 1
        return
    except UserInputError as exc:  # e.g. a template that no longer fits
        _close(db, row_id, ConfirmationStatus.SKIPPED, f"not sent: {exc}", clock, report)
        return
    if outcome.status == MessageStatus.SENT:
        report.sent += 1
    else:
        report.failed += 1
        log.warning("opt-out confirmation %s not sent: %s", row_id, outcome.reason)
