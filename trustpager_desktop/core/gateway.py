"""The one outbound path: every SMS the application sends goes through ``OutboundGateway.send``.

Two transactions around one provider call:

1. *Record*: validate, resolve the number, and (for automations) ask the one
   suppression rule, ``consent.may_automation_text``, in the same transaction
   that inserts the outbound record. A blocked send is stored as
   ``suppressed`` and never reaches the provider (DESIGN promise 1). A manual
   send records whether the recipient was opted out and goes on (promise 3).
   The record is committed as ``sending`` *before* the provider is called, so
   a crash afterwards leaves evidence that a send may have happened and the
   runner puts it up for review instead of sending again (promise 8).
2. *Finish*: store the provider's answer: SID and ``sent``, or the failure
   with Twilio's code and a plain reason. 21610 means Twilio holds the number
   as unsubscribed: the number is opted out here too (promise 7).

Callers may pass hooks that run inside those two transactions (the automation
runner uses them to move its queue item in step with the message).

``send_batch`` is the same path for many texts at once (``send`` is a batch of
one): one record transaction asks the consent rule for every text
(``consent.may_automation_text_many``, the rule itself), the provider is
called per text, and one finish transaction stores every answer. The Auto
Queue uses it for speed; a kill during a batch leaves its texts ``sending``,
which the runner puts up for review.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent
from trustpager_desktop.core.activity import Kind
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.phone import parse_phone
from trustpager_desktop.core.segments import MessageBodyError, count_segments, validate_body
from trustpager_desktop.providers.base import FailureKind, ProviderError, SendResult, SmsProvider
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact, OutboundMessage

log = logging.getLogger("trustpager.gateway")


class Status:
    SENDING = "sending"  # recorded, provider call under way (or interrupted by a crash)
    SENT = "sent"
    SUPPRESSED = "suppressed"  # never handed to the provider, or refused by Twilio as 21610
    FAILED = "failed"


@dataclass(frozen=True)
class ManualOrigin:
    """A person pressed Send."""

    actor: str
    screen: str = "contact page"


@dataclass(frozen=True)
class AutomationOrigin:
    """An Auto Queue step is sending."""

    automation_id: int
    automation_name: str
    step_id: int
    step_position: int
    queue_item_id: int | None = None
    action_type: str = "send_sms"


Origin = ManualOrigin | AutomationOrigin
Hook = Callable[[Session, OutboundMessage], None]


@dataclass(frozen=True)
class SendRequest:
    """One text for ``OutboundGateway.send_batch`` (the same arguments ``send`` takes)."""

    body: str
    origin: Origin
    contact_id: int | None = None
    to: str | None = None
    on_recorded: Hook | None = None
    on_finished: Hook | None = None


@dataclass(frozen=True)
class _Resolved:
    request: SendRequest
    body: str
    contact: Contact | None
    e164: str | None


@dataclass(frozen=True)
class _Prepared:
    request: SendRequest
    message: OutboundMessage
    contact: Contact | None
    reason: str


@dataclass(frozen=True)
class _Recorded:
    message_id: int
    to: str
    body: str
    request: SendRequest
    outcome: SendOutcome | None  # set when transaction 1 already decided (suppressed)


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one send, as plain data for the caller."""

    message_id: int
    status: str
    reason: str
    recipient_opted_out: bool
    provider_sid: str | None = None
    error_code: int | None = None
    retryable: bool = False

    @property
    def delivered_to_provider(self) -> bool:
        return self.status == Status.SENT


def origin_label(message: OutboundMessage) -> str:
    """'Manual, by Ann' or "Automation 'Appointment reminder', step 2"."""
    if message.origin == "manual":
        return f"Manual, by {message.actor or 'unknown'}"
    return f"Automation '{message.automation_name}', step {message.step_position}"


class OutboundGateway:
    def __init__(
        self,
        db: Database,
        provider: SmsProvider,
        *,
        clock: Clock = SYSTEM_CLOCK,
        default_region: str = "US",
    ) -> None:
        self.db = db
        self.provider = provider
        self.clock = clock
        self.default_region = default_region

    def send(
        self,
        *,
        body: str,
        origin: Origin,
        contact_id: int | None = None,
        to: str | None = None,
        on_recorded: Hook | None = None,
        on_finished: Hook | None = None,
    ) -> SendOutcome:
        """Send ``body`` to a contact (or a bare number) on behalf of ``origin``.

        Raises UserInputError (nothing recorded) for an empty or over-long body,
        an unknown contact, or a missing/invalid number on a manual send.
        Provider failures do not raise: they come back in the outcome and are
        recorded on the message and in the activity log.
        """
        request = SendRequest(body, origin, contact_id, to, on_recorded, on_finished)
        result = self.send_batch([request], raise_errors=True)[0]
        assert isinstance(result, SendOutcome)
        return result

    def send_batch(
        self, requests: Sequence[SendRequest], *, raise_errors: bool = False
    ) -> list[SendOutcome | UserInputError | NotFoundError]:
        """Send several texts with the same two transactions ``send`` uses for one.

        The consent rule is asked for each text inside the one transaction that
        records them all; the provider is then called for each allowed text and
        all answers are stored in one second transaction. A request with bad
        input gets its UserInputError/NotFoundError in its place in the result
        (or raised, with ``raise_errors``) and records nothing.
        """
        recorded = self._record(requests, raise_errors)
        pending = [r for r in recorded if isinstance(r, _Recorded) and r.outcome is None]
        delivered = self._deliver(pending) if pending else {}
        results: list[SendOutcome | UserInputError | NotFoundError] = []
        for item in recorded:
            if not isinstance(item, _Recorded):
                results.append(item)
            else:
                results.append(item.outcome or delivered[item.message_id])
        return results

    # -- transaction 1 ------------------------------------------------------------

    def _record(
        self, requests: Sequence[SendRequest], raise_errors: bool
    ) -> list[_Recorded | UserInputError | NotFoundError]:
        with self.db.write() as session:
            loaded = self._preload_contacts(session, requests)  # noqa: F841 - keeps them alive
            resolved: list[_Resolved | UserInputError | NotFoundError] = []
            for request in requests:
                try:
                    resolved.append(self._resolve(session, request))
                except (UserInputError, NotFoundError) as exc:
                    if raise_errors:
                        raise
                    resolved.append(exc)
            valid = [r for r in resolved if isinstance(r, _Resolved)]
            # THE consent rule, for every text of the batch, inside this transaction.
            decisions = iter(
                consent.may_automation_text_many(
                    session, [(r.request.contact_id, r.e164) for r in valid]
                )
            )
            prepared = [
                r if isinstance(r, Exception) else self._prepare(session, r, next(decisions))
                for r in resolved
            ]
            self._insert_messages(
                session, [p.message for p in prepared if isinstance(p, _Prepared)]
            )
            return [p if isinstance(p, Exception) else self._settle(session, p) for p in prepared]

    def _preload_contacts(self, session: Session, requests: Sequence[SendRequest]) -> list[Contact]:
        """One query puts every contact in the session, so the per-text lookups are free.
        The caller holds the list: the session's identity map only keeps weak references."""
        ids = {r.contact_id for r in requests if r.contact_id is not None}
        if len(ids) < 2:
            return []
        return list(session.scalars(select(Contact).where(Contact.id.in_(ids))))

    def _resolve(self, session: Session, request: SendRequest) -> _Resolved:
        """Validate the body and find the contact and number; raises for bad input."""
        try:
            body = validate_body(request.body)
        except MessageBodyError as exc:
            raise UserInputError(str(exc), field="body") from exc
        contact = self._contact(session, request.contact_id)
        e164 = self._recipient(contact, request.to, request.origin)
        return _Resolved(request, body, contact, e164)

    def _prepare(
        self, session: Session, resolved: _Resolved, decision: consent.SendDecision
    ) -> _Prepared:
        """Add the outbound record for one text (flushed by the caller with the others)."""
        origin = resolved.request.origin
        is_automation = isinstance(origin, AutomationOrigin)
        message = self._new_message(
            session, resolved.body, origin, resolved.contact, resolved.e164, decision, is_automation
        )
        if is_automation and not decision.allowed:
            message.status = Status.SUPPRESSED
            message.error_message = f"skipped: {decision.reason}"
        return _Prepared(resolved.request, message, resolved.contact, decision.reason)

    @staticmethod
    def _insert_messages(session: Session, messages: list[OutboundMessage]) -> None:
        """One bulk INSERT ... RETURNING for the batch's records; sets each message's id.

        The messages stay plain (unattached) objects: the session's per-object
        bookkeeping was most of the cost of a large batch."""
        if not messages:
            return
        table = OutboundMessage.__table__
        columns = [c.key for c in table.columns if c.key != "id"]
        rows = [{key: getattr(m, key) for key in columns} for m in messages]
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # SQLite cannot order RETURNING rows, so SQLAlchemy would insert one row per
            # statement. Under the write lock (BEGIN IMMEDIATE) nobody else inserts, and a
            # plain executemany gives consecutive rowids in order: read them back.
            before = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
            connection.execute(insert(table), rows)
            ids = list(
                connection.execute(
                    select(table.c.id).where(table.c.id > before).order_by(table.c.id)
                ).scalars()
            )
        else:
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids = list(connection.execute(statement, rows).scalars())
        for message, message_id in zip(messages, ids, strict=True):
            message.id = message_id

    def _settle(self, session: Session, prepared: _Prepared) -> _Recorded:
        """Log a blocked send and run the caller's hook, now that the message has an id."""
        message, outcome = prepared.message, None
        if message.status == Status.SUPPRESSED:
            self._log(session, message, prepared.contact, Kind.AUTOMATION_SKIPPED,
                      f"Automation text skipped: {prepared.reason}")  # fmt: skip
            outcome = self._outcome(message, retryable=False)
        if prepared.request.on_recorded:
            prepared.request.on_recorded(session, message)
        return _Recorded(message.id, message.to_e164, message.body, prepared.request, outcome)

    def _contact(self, session: Session, contact_id: int | None) -> Contact | None:
        if contact_id is None:
            return None
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise NotFoundError(f"Contact {contact_id} no longer exists.")
        return contact

    def _recipient(self, contact: Contact | None, to: str | None, origin: Origin) -> str | None:
        if to:
            return parse_phone(to, self.default_region).e164
        if contact is not None and contact.phone_e164:
            return contact.phone_e164
        if isinstance(origin, ManualOrigin):
            raise UserInputError("This contact has no phone number to text.", field="phone")
        return None  # an automation step to a contact without a number is skipped, not an error

    def _new_message(
        self,
        session: Session,
        body: str,
        origin: Origin,
        contact: Contact | None,
        e164: str | None,
        decision: consent.SendDecision,
        is_automation: bool,
    ) -> OutboundMessage:
        now = self.clock.now()
        info = count_segments(body)
        message = OutboundMessage(
            contact_id=contact.id if contact else None,
            to_e164=e164 or "",
            body=body,
            origin="automation" if is_automation else "manual",
            action_type=origin.action_type if is_automation else "manual_sms",  # type: ignore[union-attr]
            suppression_checked=True,
            suppression_result=("allowed" if decision.allowed else "blocked")
            if is_automation
            else "advisory",
            suppression_reason=decision.reason,
            recipient_opted_out=not decision.allowed,
            status=Status.SENDING,
            provider=self.provider.name,
            segments=info.segments,
            encoding=info.encoding,
            attempts=1,
            created_at=now,
            updated_at=now,
        )
        if isinstance(origin, AutomationOrigin):
            message.automation_id = origin.automation_id
            message.automation_name = origin.automation_name
            message.step_id = origin.step_id
            message.step_position = origin.step_position
            message.queue_item_id = origin.queue_item_id
        else:
            message.actor = origin.actor
            message.screen = origin.screen
        return message  # inserted with the rest of the batch by _insert_messages

    # -- the provider calls and transaction 2 -----------------------------------------

    def _deliver(self, recorded: list[_Recorded]) -> dict[int, SendOutcome]:
        answers = [(item, self._call_provider(item.to, item.body)) for item in recorded]
        outcomes: dict[int, SendOutcome] = {}
        with self.db.write() as session:
            messages = {
                m.id: m
                for m in session.scalars(
                    select(OutboundMessage).where(
                        OutboundMessage.id.in_([item.message_id for item in recorded])
                    )
                )
            }
            contact_ids = {m.contact_id for m in messages.values() if m.contact_id}
            loaded = list(session.scalars(select(Contact).where(Contact.id.in_(contact_ids))))  # noqa: F841
            for item, answer in answers:
                message = messages[item.message_id]
                if isinstance(answer, ProviderError):
                    outcome = self._finish_failed(session, message, answer, item.request.origin)
                else:
                    outcome = self._finish_sent(session, message, answer)
                if item.request.on_finished:
                    item.request.on_finished(session, message)
                outcomes[item.message_id] = outcome
        return outcomes

    def _call_provider(self, to: str, body: str) -> SendResult | ProviderError:
        try:
            return self.provider.send(to, body)
        except ProviderError as exc:
            return exc
        except Exception as exc:  # a bug or an unforeseen library error: record it, never crash
            log.exception("unexpected error from the %s provider", self.provider.name)
            return ProviderError(FailureKind.PERMANENT, f"Unexpected error while sending: {exc}")

    def _finish_sent(
        self, session: Session, message: OutboundMessage, result: SendResult
    ) -> SendOutcome:
        message.status = Status.SENT
        message.provider_sid = result.sid
        message.sent_at = message.updated_at = self.clock.now()
        contact = session.get(Contact, message.contact_id) if message.contact_id else None
        self._log_sent(session, message, contact)
        return self._outcome(message)

    def _log_sent(
        self, session: Session, message: OutboundMessage, contact: Contact | None
    ) -> None:
        if message.origin == "automation":
            kind, summary = Kind.AUTOMATION_SENT, f"Automation text sent ({origin_label(message)})"
        elif message.recipient_opted_out:
            kind = Kind.MANUAL_SEND_OPTED_OUT
            summary = (
                f"Manual text sent to an opted-out contact by {message.actor}, after a warning"
            )
        else:
            kind, summary = Kind.MANUAL_SEND, f"Manual text sent by {message.actor}"
        self._log(session, message, contact, kind, summary)

    def _finish_failed(
        self, session: Session, message: OutboundMessage, error: ProviderError, origin: Origin
    ) -> SendOutcome:
        message.error_code = error.code
        message.error_message = error.reason
        message.updated_at = self.clock.now()
        contact = session.get(Contact, message.contact_id) if message.contact_id else None
        if error.kind is FailureKind.UNSUBSCRIBED:
            message.status = Status.SUPPRESSED
            self._record_twilio_opt_out(session, message)
        else:
            message.status = Status.FAILED
        kind = Kind.AUTOMATION_FAILED if message.origin == "automation" else Kind.SEND_FAILED
        self._log(session, message, contact, kind, f"Text not sent: {error.reason}")
        retryable = error.retryable and isinstance(origin, AutomationOrigin)
        return self._outcome(message, retryable=retryable, reason=error.reason)

    def _record_twilio_opt_out(self, session: Session, message: OutboundMessage) -> None:
        consent.opt_out_number(
            session,
            message.to_e164,
            source=consent.Source.TWILIO_21610,
            actor="Twilio",
            evidence=f"Send refused with error 21610 (outbound message {message.id})",
            summary="Opted out: Twilio reports this number unsubscribed (error 21610)",
            clock=self.clock,
        )

    # -- helpers ---------------------------------------------------------------------

    def _log(
        self,
        session: Session,
        message: OutboundMessage,
        contact: Contact | None,
        kind: str,
        summary: str,
    ) -> None:
        activity.append(
            session,
            kind=kind,
            summary=summary,
            actor=message.actor or (message.automation_name or "Automation"),
            contact=contact,
            automation_id=message.automation_id,
            details={
                "message_id": message.id,
                "to": message.to_e164,
                "body": message.body,
                "origin": origin_label(message),
                "provider": message.provider,
                "provider_sid": message.provider_sid,
                "error_code": message.error_code,
                "error_message": message.error_message,
                "recipient_opted_out": message.recipient_opted_out,
                "suppression_result": message.suppression_result,
            },
            clock=self.clock,
            flush=False,  # flushed with the rest of the batch: one INSERT for many entries
        )

    @staticmethod
    def _outcome(
        message: OutboundMessage, *, retryable: bool = False, reason: str | None = None
    ) -> SendOutcome:
        return SendOutcome(
            message_id=message.id,
            status=message.status,
            reason=reason or message.error_message or message.suppression_reason or "",
            recipient_opted_out=message.recipient_opted_out,
            provider_sid=message.provider_sid,
            error_code=message.error_code,
            retryable=retryable,
        )
