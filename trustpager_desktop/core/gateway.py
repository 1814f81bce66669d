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
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent
from trustpager_desktop.core.activity import Kind
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.inbox_state import InboxFreshness
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
    HELD = "held"  # automation text not handed to the provider: a reply waits for review
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


@dataclass(frozen=True)
class ConfirmationOrigin:
    """The one confirmation text of an opt-out (``core.confirmations``). Not an
    automation: the opt-out it confirms must never block it, and it is never marketing."""

    confirmation_id: int
    actor: str = "Opt-out confirmation"


Origin = ManualOrigin | AutomationOrigin | ConfirmationOrigin


class OutboundText(SimpleNamespace):
    """An outbound record as plain data, with the column names of ``OutboundMessage``
    (``id``, ``status``, ``error_message``, ...). The batch path works on these, not
    on ORM objects: building and flushing those was most of the cost of a batch."""


Hook = Callable[[Session, OutboundText], None]
# Called once per transaction with every text of the batch it concerns: lets a caller
# write its own rows for the whole batch in one statement.
BatchHook = Callable[[Session, list[tuple["SendRequest", OutboundText]]], None]


@dataclass(frozen=True)
class SendRequest:
    """One text for ``OutboundGateway.send_batch`` (the same arguments ``send`` takes)."""

    body: str
    origin: Origin
    contact_id: int | None = None
    to: str | None = None


@dataclass(frozen=True)
class _Recipient:
    """The contact columns a send needs (a plain row, not an ORM object)."""

    id: int
    phone_e164: str | None
    display_name: str


@dataclass(frozen=True)
class _Resolved:
    request: SendRequest
    body: str
    contact: _Recipient | None
    e164: str | None


@dataclass
class _Recorded:
    request: SendRequest
    text: OutboundText
    reason: str
    outcome: SendOutcome | None = None  # set when transaction 1 already decided (suppressed)


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
    if message.origin == "confirmation":
        return "Opt-out confirmation"
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

        The hooks, when given, run inside the record and the finish transaction
        with the message as an ``OutboundText``. Raises UserInputError (nothing
        recorded) for an empty or over-long body, an unknown contact, or a
        missing/invalid number on a manual send. Provider failures do not raise:
        they come back in the outcome and are recorded on the message and in the
        activity log.
        """
        result = self.send_batch(
            [SendRequest(body, origin, contact_id, to)],
            raise_errors=True,
            on_recorded=_single(on_recorded),
            on_finished=_single(on_finished),
        )[0]
        assert isinstance(result, SendOutcome)
        return result

    def send_batch(
        self,
        requests: Sequence[SendRequest],
        *,
        raise_errors: bool = False,
        on_recorded: BatchHook | None = None,
        on_finished: BatchHook | None = None,
        inbox: InboxFreshness | None = None,
    ) -> list[SendOutcome | UserInputError | NotFoundError]:
        """Send several texts with the same two transactions ``send`` uses for one.

        The consent rule is asked for each text inside the one transaction that
        records them all; the provider is then called for each allowed text and
        all answers are stored in one second transaction. ``on_recorded`` runs
        at the end of the first transaction with every recorded text (suppressed
        ones included), ``on_finished`` at the end of the second with the texts
        handed to the provider. A request with bad input gets its
        UserInputError/NotFoundError in its place in the result (or raised, with
        ``raise_errors``) and records nothing. ``inbox`` (how fresh the inbox was, read
        just before by dispatch) is recorded on each automation text: in its log
        details, and in its reason when the inbox could not be read.
        """
        recorded = self._record(requests, raise_errors, on_recorded, inbox)
        pending = [r for r in recorded if isinstance(r, _Recorded) and r.outcome is None]
        if pending:
            self._deliver(pending, on_finished)
        return [r if isinstance(r, Exception) else r.outcome for r in recorded]  # type: ignore[misc]

    # -- transaction 1 ------------------------------------------------------------

    def _record(
        self,
        requests: Sequence[SendRequest],
        raise_errors: bool,
        hook: BatchHook | None,
        inbox: InboxFreshness | None = None,
    ) -> list[_Recorded | UserInputError | NotFoundError]:
        with self.db.write() as session:
            contacts = self._load_recipients(session, requests)
            resolved: list[_Resolved | UserInputError | NotFoundError] = []
            for request in requests:
                try:
                    resolved.append(self._resolve(request, contacts))
                except (UserInputError, NotFoundError) as exc:
                    if raise_errors:
                        raise
                    resolved.append(exc)
            valid = [r for r in resolved if isinstance(r, _Resolved)]
            # THE consent rule, for every text of the batch, inside this transaction.
            decisions = iter(
                consent.may_automation_text_many(
                    session, [(r.request.contact_id, r.e164) for r in valid], clock=self.clock
                )
            )
            recorded = [
                r if isinstance(r, Exception) else self._prepare(r, next(decisions))
                for r in resolved
            ]
            texts = [r for r in recorded if isinstance(r, _Recorded)]
            if inbox is not None:
                _note_inbox(texts, inbox)
            self._insert_messages(session, [r.text for r in texts])
            for item in texts:
                self._settle(session, item)
            if hook and texts:
                hook(session, [(r.request, r.text) for r in texts])
            return recorded

    @staticmethod
    def _load_recipients(
        session: Session, requests: Sequence[SendRequest]
    ) -> dict[int, _Recipient]:
        """The batch's contacts in one query, as plain rows."""
        ids = sorted({r.contact_id for r in requests if r.contact_id is not None})
        found: dict[int, _Recipient] = {}
        for start in range(0, len(ids), 500):
            rows = session.connection().execute(_RECIPIENTS, {"ids": ids[start : start + 500]})
            for cid, phone, first, last in rows:
                found[cid] = _Recipient(cid, phone, f"{first} {last}".strip())
        return found

    def _resolve(self, request: SendRequest, contacts: dict[int, _Recipient]) -> _Resolved:
        """Validate the body and find the contact and number; raises for bad input."""
        try:
            body = validate_body(request.body)
        except MessageBodyError as exc:
            raise UserInputError(str(exc), field="body") from exc
        contact = None
        if request.contact_id is not None:
            contact = contacts.get(request.contact_id)
            if contact is None:
                raise NotFoundError(f"Contact {request.contact_id} no longer exists.")
        e164 = self._recipient(contact, request.to, request.origin)
        return _Resolved(request, body, contact, e164)

    def _prepare(self, resolved: _Resolved, decision: consent.SendDecision) -> _Recorded:
        """The outbound record for one text (inserted by the caller with the others)."""
        origin = resolved.request.origin
        is_automation = isinstance(origin, AutomationOrigin)
        text = self._new_text(resolved, decision, is_automation)
        if is_automation and not decision.allowed:
            text.status = Status.HELD if decision.hold else Status.SUPPRESSED
            text.error_message = f"{'held' if decision.hold else 'skipped'}: {decision.reason}"
        return _Recorded(resolved.request, text, decision.reason)

    @staticmethod
    def _insert_messages(session: Session, texts: list[OutboundText]) -> None:
        """One bulk INSERT (executemany) for the batch's records; sets each text's id."""
        if not texts:
            return
        table = OutboundMessage.__table__
        rows = [_columns(t) for t in texts]
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # SQLite cannot order RETURNING rows, so SQLAlchemy would insert one row per
            # statement. Under the write lock (BEGIN IMMEDIATE) nobody else inserts, and a
            # plain executemany gives consecutive rowids in order: read them back.
            before = connection.execute(_LAST_ID).scalar_one()
            connection.execute(insert(table), rows)
            ids = list(connection.execute(_IDS_AFTER, {"before": before}).scalars())
        else:
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids = list(connection.execute(statement, rows).scalars())
        for text, message_id in zip(texts, ids, strict=True):
            text.id = message_id

    def _settle(self, session: Session, item: _Recorded) -> None:
        """Log a blocked send now that the message has an id; it is decided already."""
        text = item.text
        if text.status == Status.SUPPRESSED:
            self._log(session, text, Kind.AUTOMATION_SKIPPED,
                      f"Automation text skipped: {item.reason}")  # fmt: skip
            item.outcome = self._outcome(text, retryable=False)
        elif text.status == Status.HELD:
            self._log(session, text, Kind.AUTOMATION_HELD,
                      f"Automation text held: {item.reason}")  # fmt: skip
            item.outcome = self._outcome(text, retryable=False)

    def _recipient(self, contact: _Recipient | None, to: str | None, origin: Origin) -> str | None:
        if to:
            return parse_phone(to, self.default_region).e164
        if contact is not None and contact.phone_e164:
            return contact.phone_e164
        if isinstance(origin, ManualOrigin):
            raise UserInputError("This contact has no phone number to text.", field="phone")
        return None  # an automation step to a contact without a number is skipped, not an error

    def _new_text(
        self, resolved: _Resolved, decision: consent.SendDecision, is_automation: bool
    ) -> OutboundText:
        now = self.clock.now()
        info = count_segments(resolved.body)
        origin, contact = resolved.request.origin, resolved.contact
        automation = origin if isinstance(origin, AutomationOrigin) else None
        manual = origin if isinstance(origin, ManualOrigin) else None
        confirmation = isinstance(origin, ConfirmationOrigin)
        return OutboundText(
            id=None,
            contact_id=contact.id if contact else None,
            contact_name=contact.display_name if contact else "",  # for the log; not a column
            to_e164=resolved.e164 or "",
            body=resolved.body,
            origin="automation" if is_automation else "confirmation" if confirmation else "manual",
            action_type=automation.action_type
            if automation
            else "opt_out_confirmation"
            if confirmation
            else "manual_sms",
            actor=manual.actor if manual else origin.actor if confirmation else None,
            screen=manual.screen if manual else None,
            automation_id=automation.automation_id if automation else None,
            automation_name=automation.automation_name if automation else None,
            step_id=automation.step_id if automation else None,
            step_position=automation.step_position if automation else None,
            queue_item_id=automation.queue_item_id if automation else None,
            suppression_checked=True,
            suppression_result=_suppression_result(decision, is_automation, confirmation),
            suppression_reason=decision.reason,
            recipient_opted_out=decision.recipient_opted_out,
            status=Status.SENDING,
            provider=self.provider.name,
            provider_sid=None,
            error_code=None,
            error_message=None,
            segments=info.segments,
            encoding=info.encoding,
            attempts=1,
            created_at=now,
            sent_at=None,
            updated_at=now,
            delivery_status=None,  # filled in later by the inbox poller (core.delivery)
            delivery_error_code=None,
            delivery_updated_at=None,
        )

    # -- the provider calls and transaction 2 -----------------------------------------

    def _deliver(self, recorded: list[_Recorded], hook: BatchHook | None) -> None:
        """Call the provider for each text, then store every answer in one transaction."""
        answers = [(item, self._call_provider(item.text.to_e164, item.text.body))
                   for item in recorded]  # fmt: skip
        with self.db.write() as session:
            for item, answer in answers:
                if isinstance(answer, ProviderError):
                    item.outcome = self._finish_failed(session, item.text, answer,
                                                       item.request.origin)  # fmt: skip
                else:
                    item.outcome = self._finish_sent(session, item.text, answer)
            _update_texts(session, [item.text for item in recorded])
            if hook:
                hook(session, [(item.request, item.text) for item in recorded])

    def _call_provider(self, to: str, body: str) -> SendResult | ProviderError:
        try:
            return self.provider.send(to, body)
        except ProviderError as exc:
            return exc
        except Exception as exc:  # a bug or an unforeseen library error: record it, never crash
            log.exception("unexpected error from the %s provider", self.provider.name)
            return ProviderError(FailureKind.PERMANENT, f"Unexpected error while sending: {exc}")

    def _finish_sent(self, session: Session, text: OutboundText, result: SendResult) -> SendOutcome:
        text.status = Status.SENT
        text.provider_sid = result.sid
        text.sent_at = text.updated_at = self.clock.now()
        self._log_sent(session, text)
        return self._outcome(text)

    def _log_sent(self, session: Session, text: OutboundText) -> None:
        if text.origin == "automation":
            kind, summary = Kind.AUTOMATION_SENT, f"Automation text sent ({origin_label(text)})"
        elif text.origin == "confirmation":
            kind, summary = Kind.OPT_OUT_CONFIRMATION, "Opt-out confirmation text sent"
        elif text.recipient_opted_out:
            kind = Kind.MANUAL_SEND_OPTED_OUT
            summary = f"Manual text sent to an opted-out contact by {text.actor}, after a warning"
        else:
            kind, summary = Kind.MANUAL_SEND, f"Manual text sent by {text.actor}"
        self._log(session, text, kind, summary)

    def _finish_failed(
        self, session: Session, text: OutboundText, error: ProviderError, origin: Origin
    ) -> SendOutcome:
        text.error_code = error.code
        text.error_message = error.reason
        text.updated_at = self.clock.now()
        if error.kind is FailureKind.UNSUBSCRIBED:
            text.status = Status.SUPPRESSED
            self._record_twilio_opt_out(session, text)
        else:
            text.status = Status.FAILED
        kind = Kind.AUTOMATION_FAILED if text.origin == "automation" else Kind.SEND_FAILED
        self._log(session, text, kind, f"Text not sent: {error.reason}")
        retryable = error.retryable and isinstance(origin, AutomationOrigin)
        return self._outcome(text, retryable=retryable, reason=error.reason)

    def _record_twilio_opt_out(self, session: Session, text: OutboundText) -> None:
        # Twilio blocks the number until the customer's START: re-consent by other means
        # must show that instead of failing (and re-opting out) silently next time.
        consent.record_provider_block(session, text.to_e164, source=consent.Source.TWILIO_21610,
                                      at=self.clock.now(), clock=self.clock)  # fmt: skip
        consent.opt_out_number(
            session,
            text.to_e164,
            source=consent.Source.TWILIO_21610,
            actor="Twilio",
            evidence=f"Send refused with error 21610 (outbound message {text.id})",
            summary="Opted out: Twilio reports this number unsubscribed (error 21610)",
            clock=self.clock,
        )

    # -- helpers ---------------------------------------------------------------------

    def _log(self, session: Session, text: OutboundText, kind: str, summary: str) -> None:
        activity.append(
            session,
            kind=kind,
            summary=summary,
            actor=text.actor or (text.automation_name or "Automation"),
            contact_id=text.contact_id,
            contact_name=text.contact_name,
            automation_id=text.automation_id,
            details={
                "message_id": text.id,
                "to": text.to_e164,
                "body": text.body,
                "origin": origin_label(text),
                "provider": text.provider,
                "provider_sid": text.provider_sid,
                "error_code": text.error_code,
                "error_message": text.error_message,
                "recipient_opted_out": text.recipient_opted_out,
                "suppression_result": text.suppression_result,
                **(text.inbox.details() if getattr(text, "inbox", None) else {}),
            },
            clock=self.clock,
            flush=False,  # flushed with the rest of the batch: one INSERT for many entries
        )

    @staticmethod
    def _outcome(
        text: OutboundText, *, retryable: bool = False, reason: str | None = None
    ) -> SendOutcome:
        return SendOutcome(
            message_id=text.id,
            status=text.status,
            reason=reason or text.error_message or text.suppression_reason or "",
            recipient_opted_out=text.recipient_opted_out,
            provider_sid=text.provider_sid,
            error_code=text.error_code,
            retryable=retryable,
        )


_COLUMNS = [c.key for c in OutboundMessage.__table__.columns if c.key != "id"]
# What the finish transaction may change on a record.
_FINISH_COLUMNS = ("status", "provider_sid", "error_code", "error_message", "sent_at", "updated_at")


# Statements the batch path runs hundreds of times, built once.
_TABLE = OutboundMessage.__table__
_RECIPIENTS = select(Contact.id, Contact.phone_e164, Contact.first_name, Contact.last_name).where(
    Contact.id.in_(bindparam("ids", expanding=True))
)
_LAST_ID = select(func.coalesce(func.max(_TABLE.c.id), 0))
_IDS_AFTER = select(_TABLE.c.id).where(_TABLE.c.id > bindparam("before")).order_by(_TABLE.c.id)
_UPDATE_TEXT = update(_TABLE).where(_TABLE.c.id == bindparam("text_id"))


def _suppression_result(
    decision: consent.SendDecision, is_automation: bool, confirmation: bool
) -> str:
    """allowed | blocked | held for automations; advisory for manual sends; confirmation."""
    if confirmation:
        return "confirmation"
    if not is_automation:
        return "advisory"
    return "allowed" if decision.allowed else "held" if decision.hold else "blocked"


def _columns(text: OutboundText) -> dict[str, Any]:
    return {key: getattr(text, key) for key in _COLUMNS}


def _update_texts(session: Session, texts: list[OutboundText]) -> None:
    """Store the provider's answers: one executemany UPDATE for the whole batch."""
    rows = [{"text_id": t.id, **{key: getattr(t, key) for key in _FINISH_COLUMNS}} for t in texts]
    session.connection().execute(_UPDATE_TEXT, rows)


def _note_inbox(texts: list[_Recorded], inbox: InboxFreshness) -> None:
    """Put the inbox's freshness on each automation text: the log details always, the
    reason too when the inbox could not be read before the send."""
    for item in texts:
        if item.text.origin != "automation":
            continue
        item.text.inbox = inbox
        if inbox.stale and item.outcome is None and item.text.status == Status.SENDING:
            item.text.suppression_reason = f"{item.text.suppression_reason}; {inbox.note()}"


def _single(hook: Hook | None) -> BatchHook | None:
    """A per-text hook as a batch hook (``send`` is a batch of one)."""
    if hook is None:
        return None

    def each(session: Session, items: list[tuple[SendRequest, OutboundText]]) -> None:
        for _, text in items:
            hook(session, text)

    return each
