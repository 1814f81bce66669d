"""The one outbound path: every SMS the application sends goes through ``OutboundGateway.send``.

Two transactions around one provider call:

1. *Record*: validate, resolve the number, and (for automations) ask the one
   suppression rule, ``consent.may_automation_text``, in the same transaction
   that inserts the outbound record. A blocked send is stored as
   ``suppressed`` and never reaches the provider (DESIGN promise 1). A manual
   send records whether the recipient was opted out and goes on (promise 3).
   The record is committed as ``sending`` *before* the provider is called, so
   a crash afterwards leaves evidence that a send may have happened and the
   runner looks it up instead of sending again (promise 8).
2. *Finish*: store the provider's answer: SID and ``sent``, or the failure
   with Twilio's code and a plain reason. 21610 means Twilio holds the number
   as unsubscribed: the number is opted out here too (promise 7).

Callers may pass hooks that run inside those transactions (the automation
runner uses them to move its queue item in step with the message): ``owned``
runs first in the record transaction and leaves out requests the caller no
longer owns (its claim was taken over), ``on_recorded`` runs at its end,
``on_finished`` in every transaction that settles texts, and ``before_call``
right before each provider call (the runner renews its lease there, and a
``False`` withdraws the text: nothing is sent).

``send_batch`` is the same path for many texts at once (``send`` is a batch of
one): one record transaction asks the consent rule for every text
(``consent.may_automation_text_many``, the rule itself), the provider is
called per text, and one finish transaction stores every answer.

Fresh consent. No automation text reaches the provider on a consent answer
older than ``CONSENT_MAX_AGE`` (1 s of real time): when the provider is slow,
the rest of the batch is asked again (one query) before the next call, and
texts an opt-out saved meanwhile now blocks are settled ``suppressed``. On a
fast provider a batch of 50 goes out on the one answer.

May have been sent. An error that came after the request reached the provider
(HTTP 5xx, a read timeout, a connection dropped mid-answer) leaves the text
``unknown``: the provider may have it. ``confirm_uncertain`` lists what the
provider sent to that number since the attempt, matches the body, and records
what it finds (its SID: ``sent``) or that it has nothing (``failed``, so the
caller may send again). Only a send the provider certainly never took is
``failed`` as retryable at once.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.inbox_state import InboxFreshness
from trustpager_desktop.core.journal import WriteJournal
from trustpager_desktop.core.phone import parse_phone
from trustpager_desktop.core.segments import MessageBodyError, count_segments, validate_body
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentSource,
    MessageOrigin,
    MessageStatus,
    SuppressionResult,
)
from trustpager_desktop.providers.base import (
    FailureKind,
    ProviderError,
    SendResult,
    SentRecord,
    SmsProvider,
)
from trustpager_desktop.store import bulk
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact, OutboundMessage

log = logging.getLogger("trustpager.gateway")

# Seconds of real time a consent answer may be old when a text reaches the provider.
CONSENT_MAX_AGE = 1.0
# Re-asking the rule can itself be slow (a locked database): after this many answers that
# were already too old when they came, the rest of the batch waits for a retry instead.
MAX_CONSENT_RECHECKS = 3
# Clocks here and at the provider may disagree a little: a lookup starts this much earlier.
LOOKUP_MARGIN = timedelta(minutes=2)


# The old name of the statuses, kept while code written against it moves to MessageStatus.
Status = MessageStatus


class NotOwned(Exception):
    """The caller no longer owns this send (another process took its claim over).

    Returned in a request's place by ``send_batch``: either nothing was recorded, or
    the record stays ``sending`` for whoever took over (it is looked up, never resent
    blindly). The provider was not called."""


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


@dataclass(slots=True, kw_only=True)
class OutboundText:
    """An outbound record as plain data, with the column names of ``OutboundMessage``
    (``id``, ``status``, ``error_message``, ...). The batch path works on these, not
    on ORM objects: building and flushing those was most of the cost of a batch."""

    id: int | None
    contact_id: int | None
    to_e164: str
    body: str
    origin: str  # manual | automation | confirmation
    action_type: str
    actor: str | None
    screen: str | None
    automation_id: int | None
    automation_name: str | None
    step_id: int | None
    step_position: int | None
    queue_item_id: int | None
    suppression_checked: bool
    suppression_result: str
    suppression_reason: str | None
    recipient_opted_out: bool
    status: str
    provider: str
    provider_sid: str | None
    error_code: int | None
    error_message: str | None
    segments: int
    encoding: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    delivery_status: str | None
    delivery_error_code: int | None
    delivery_updated_at: datetime | None
    # Not columns:
    contact_name: str = ""  # for the log
    failure_kind: FailureKind | None = None  # for the caller's hooks: how a failed send failed
    inbox: InboxFreshness | None = None  # for the log: how fresh the inbox was at the send

    @property
    def message_id(self) -> int:
        """The record's id; the text is recorded before anyone asks."""
        if self.id is None:
            raise RuntimeError("the outbound text has not been recorded yet")
        return self.id

    @property
    def item_id(self) -> int:
        """The Auto Queue item an automation text belongs to."""
        if self.queue_item_id is None:
            raise RuntimeError("the outbound text is not an Auto Queue step")
        return self.queue_item_id


Hook = Callable[[Session, OutboundText], None]
# Called once per transaction with every text of the batch it concerns: lets a caller
# write its own rows for the whole batch in one statement.
BatchHook = Callable[[Session, list[tuple["SendRequest", OutboundText]]], None]
# First thing in the record transaction: for each request, does the caller still own it?
OwnedCheck = Callable[[Session, list["SendRequest"]], list[bool]]
# Right before each provider call, outside any transaction: False withdraws the text.
BeforeCall = Callable[[OutboundText], bool]


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
    outcome: SendOutcome | None = None  # set once decided (suppressed) or answered
    withdrawn: bool = False  # the caller's claim was lost before the provider call


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
        return self.status == MessageStatus.SENT

    @property
    def may_have_been_sent(self) -> bool:
        return self.status == MessageStatus.UNKNOWN


Result = SendOutcome | UserInputError | NotFoundError | NotOwned


def origin_label(message: OutboundMessage | OutboundText) -> str:
    """'Manual, by Ann' or "Automation 'Appointment reminder', step 2"."""
    if message.origin == MessageOrigin.MANUAL:
        return f"Manual, by {message.actor or 'unknown'}"
    if message.origin == MessageOrigin.CONFIRMATION:
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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.provider = provider
        self.clock = clock
        self.default_region = default_region
        # Real elapsed time, for the age of a consent answer (the clock may be a test's).
        self.monotonic = monotonic

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
        owned: OwnedCheck | None = None,
        before_call: BeforeCall | None = None,
        inbox: InboxFreshness | None = None,
    ) -> list[Result]:
        """Send several texts with the same two transactions ``send`` uses for one.

        The consent rule is asked for each text inside the one transaction that
        records them all; the provider is then called for each allowed text (the
        rule asked again first whenever its answer is over ``CONSENT_MAX_AGE``
        old) and all answers are stored in one second transaction.
        ``on_recorded`` runs at the end of the first transaction with every
        recorded text (suppressed ones included), ``on_finished`` in each
        transaction that settles texts: the finish, and a re-check that blocks
        some. ``owned`` runs first in the record transaction; ``before_call``
        before each provider call (see the module docstring). A request with bad
        input gets its UserInputError/NotFoundError in its place in the result
        (or raised, with ``raise_errors``) and records nothing; a request the
        caller no longer owns gets ``NotOwned``. ``inbox`` (how fresh the inbox was,
        read just before by dispatch) is recorded on each automation text: in its
        log details, and in its reason when the inbox could not be read.
        """
        recorded, checked_at = self._record(requests, raise_errors, on_recorded, owned, inbox)
        pending = [r for r in recorded if isinstance(r, _Recorded) and r.outcome is None]
        if pending:
            self._deliver(pending, on_finished, checked_at, before_call)
        return [_result(r) for r in recorded]

    # -- transaction 1 ------------------------------------------------------------

    def _record(
        self,
        requests: Sequence[SendRequest],
        raise_errors: bool,
        hook: BatchHook | None,
        owned: OwnedCheck | None,
        inbox: InboxFreshness | None = None,
    ) -> tuple[list[_Recorded | UserInputError | NotFoundError | NotOwned], float]:
        with self.db.write() as session:
            journal = WriteJournal(session, self.clock)
            still_owned = owned(session, list(requests)) if owned else [True] * len(requests)
            contacts = self._load_recipients(session, requests)
            resolved: list[_Resolved | UserInputError | NotFoundError | NotOwned] = []
            for request, mine in zip(requests, still_owned, strict=True):
                if not mine:
                    resolved.append(NotOwned())
                    continue
                try:
                    resolved.append(self._resolve(request, contacts))
                except (UserInputError, NotFoundError) as exc:
                    if raise_errors:
                        raise
                    resolved.append(exc)
            valid = [r for r in resolved if isinstance(r, _Resolved)]
            checked_at = self.monotonic()  # the answer is as old as the query that gives it
            # THE consent rule, for every text of the batch, inside this transaction.
            decisions = iter(
                consent.may_automation_text_many(
                    session,
                    [(r.request.contact_id, r.e164) for r in valid],
                    clock=self.clock,
                    automation_ids=[_automation_id(r.request.origin) for r in valid],
                )  # fmt: skip
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
                self._settle(journal, item)
            if hook and texts:
                hook(session, [(r.request, r.text) for r in texts])
            journal.flush()
            return recorded, checked_at

    @staticmethod
    def _load_recipients(
        session: Session, requests: Sequence[SendRequest]
    ) -> dict[int, _Recipient]:
        """The batch's contacts in one query, as plain rows."""
        ids = sorted({r.contact_id for r in requests if r.contact_id is not None})
        found: dict[int, _Recipient] = {}
        connection = session.connection()
        for chunk in bulk.chunks(ids):
            rows = connection.execute(_RECIPIENTS.where(
                bulk.id_in(Contact.id, chunk, connection.dialect.name)))  # fmt: skip
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
            _block(text, decision)
        return _Recorded(resolved.request, text, decision.reason)

    @staticmethod
    def _insert_messages(session: Session, texts: list[OutboundText]) -> None:
        """One bulk INSERT (executemany) for the batch's records; sets each text's id."""
        if not texts:
            return
        table = OutboundMessage.__table__
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # SQLite cannot order RETURNING rows, so SQLAlchemy would insert one row per
            # statement. Under the write lock (BEGIN IMMEDIATE) nobody else inserts, and a
            # plain executemany gives consecutive rowids in order: read them back.
            before = connection.execute(_LAST_ID).scalar_one()
            connection.execute(insert(table), [_columns(t) for t in texts])
            ids = list(connection.execute(_IDS_AFTER, {"before": before}).scalars())
        else:
            # One statement of arrays that takes the ids from the sequence, inserts, and
            # returns the ids in the texts' order (store.bulk): SQLAlchemy's INSERT ..
            # RETURNING in parameter order was a new 40 kB statement for every batch.
            ids = bulk.insert_rows_returning_ids(connection, table, [_columns(t) for t in texts])
        for text, message_id in zip(texts, ids, strict=True):
            text.id = message_id

    def _settle(self, journal: WriteJournal, item: _Recorded) -> None:
        """Log a blocked send now that the message has an id; it is decided already."""
        text = item.text
        if text.status == MessageStatus.SUPPRESSED:
            self._log(journal, text, ActivityKind.AUTOMATION_SKIPPED,
                      f"Automation text skipped: {item.reason}")  # fmt: skip
            item.outcome = self._outcome(text, retryable=False)
        elif text.status == MessageStatus.HELD:
            self._log(journal, text, ActivityKind.AUTOMATION_HELD,
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
        confirmation = origin if isinstance(origin, ConfirmationOrigin) else None
        return OutboundText(
            id=None,
            contact_id=contact.id if contact else None,
            contact_name=contact.display_name if contact else "",
            to_e164=resolved.e164 or "",
            body=resolved.body,
            origin=MessageOrigin.AUTOMATION
            if is_automation
            else MessageOrigin.CONFIRMATION
            if confirmation
            else MessageOrigin.MANUAL,
            action_type=automation.action_type
            if automation
            else "opt_out_confirmation"
            if confirmation
            else "manual_sms",
            actor=manual.actor if manual else confirmation.actor if confirmation else None,
            screen=manual.screen if manual else None,
            automation_id=automation.automation_id if automation else None,
            automation_name=automation.automation_name if automation else None,
            step_id=automation.step_id if automation else None,
            step_position=automation.step_position if automation else None,
            queue_item_id=automation.queue_item_id if automation else None,
            suppression_checked=True,
            suppression_result=_suppression_result(
                decision, is_automation, confirmation is not None
            ),
            suppression_reason=decision.reason,
            recipient_opted_out=decision.recipient_opted_out,
            status=MessageStatus.SENDING,
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

    def _deliver(
        self,
        recorded: list[_Recorded],
        hook: BatchHook | None,
        checked_at: float,
        before_call: BeforeCall | None,
    ) -> None:
        """Call the provider for each text (consent fresh, claim still held), then store
        every answer in one transaction."""
        answered: list[tuple[_Recorded, SendResult | ProviderError]] = []
        for index, item in enumerate(recorded):
            if not _still_to_go(item):  # blocked by a re-check, or taken over
                continue
            if before_call is not None and not before_call(item.text):
                item.withdrawn = True
                continue
            rechecks = 0
            while self.monotonic() - checked_at > CONSENT_MAX_AGE and _still_to_go(item):
                if rechecks == MAX_CONSENT_RECHECKS:
                    break
                checked_at = self._recheck(recorded[index:], hook)
                rechecks += 1
            if not _still_to_go(item):
                continue
            if self.monotonic() - checked_at > CONSENT_MAX_AGE:
                answered.append((item, _CONSENT_TOO_SLOW))
                continue
            answered.append((item, self._call_provider(item.text.to_e164, item.text.body)))
        if answered:
            self._finish(answered, hook)

    def _finish(
        self, answered: list[tuple[_Recorded, SendResult | ProviderError]], hook: BatchHook | None
    ) -> None:
        """Store the answers: each record changes only while still ``sending`` (one another
        process settled meanwhile, after our claim ran out, keeps what it found), and only
        the records that changed are logged and handed to the hook."""
        now = self.clock.now()
        with self.db.write() as session:
            journal = WriteJournal(session, self.clock)
            for item, answer in answered:
                _apply_answer(item.text, answer, now)
            changed = _update_texts(session, [item.text for item, _ in answered])
            kept = []
            for item, answer in answered:
                item.withdrawn = item.text.id not in changed
                if not item.withdrawn:
                    item.outcome = self._record_answer(journal, item, answer)
                    kept.append(item)
            if hook and kept:
                hook(session, [(item.request, item.text) for item in kept])
            journal.flush()

    def _recheck(self, rest: list[_Recorded], hook: BatchHook | None) -> float:
        """Ask the consent rule again for the automation texts still to go (one query) and
        settle the ones it now blocks. Returns when the new answer was taken."""
        waiting = [r for r in rest if _still_to_go(r) and r.text.origin == MessageOrigin.AUTOMATION]
        asked_at = self.monotonic()
        if not waiting:
            return asked_at
        with self.db.read() as session:
            decisions = self._ask_again(session, waiting)
        blocked = [r for r, d in zip(waiting, decisions, strict=True) if not d.allowed]
        if blocked:
            self._settle_blocked(blocked, hook)
        return asked_at

    def _ask_again(self, session: Session, items: list[_Recorded]) -> list[consent.SendDecision]:
        """The rule once more for recorded texts. Without the frequency cap: that was
        decided when they were recorded, and they would now count against themselves."""
        return consent.may_automation_text_many(
            session, _recipients(items), clock=self.clock, frequency_cap=False,
            automation_ids=[i.text.automation_id for i in items],
        )  # fmt: skip

    def _settle_blocked(self, blocked: list[_Recorded], hook: BatchHook | None) -> None:
        """Store as suppressed the texts an opt-out saved since they were recorded now
        blocks (the rule asked once more, in the transaction that settles them)."""
        with self.db.write() as session:
            journal = WriteJournal(session, self.clock)
            decisions = self._ask_again(session, blocked)
            now_blocked = [(i, d) for i, d in zip(blocked, decisions, strict=True) if not d.allowed]
            for item, decision in now_blocked:  # (a re-consent in between lets it go)
                _block(item.text, decision)
                item.reason = decision.reason
                item.text.updated_at = self.clock.now()
            changed = _update_texts(session, [i.text for i, _ in now_blocked], _BLOCK_COLUMNS)
            settled = [item for item, _ in now_blocked if item.text.id in changed]
            for item, _ in now_blocked:  # settled by another process meanwhile: not ours
                item.withdrawn = item.text.id not in changed
            for item in settled:
                self._settle(journal, item)
            if hook and settled:
                hook(session, [(i.request, i.text) for i in settled])
            journal.flush()

    def _call_provider(self, to: str, body: str) -> SendResult | ProviderError:
        try:
            return self.provider.send(to, body)
        except ProviderError as exc:
            return exc
        except Exception as exc:  # a bug or an unforeseen library error: record it, never crash
            log.exception("unexpected error from the %s provider", self.provider.name)
            return ProviderError(FailureKind.PERMANENT, f"Unexpected error while sending: {exc}")

    def _record_answer(
        self, journal: WriteJournal, item: _Recorded, answer: SendResult | ProviderError
    ) -> SendOutcome:
        """Log a stored answer (and act on 21610); returns the outcome for the caller."""
        text = item.text
        if not isinstance(answer, ProviderError):
            self._log_sent(journal, text)
            return self._outcome(text)
        summary = f"Text not sent: {answer.reason}"
        if answer.kind is FailureKind.UNSUBSCRIBED:
            self._record_twilio_opt_out(journal, text)
        elif answer.kind is FailureKind.UNKNOWN:
            summary = f"Text may have been sent: {answer.reason}"
        kind = (
            ActivityKind.AUTOMATION_FAILED
            if text.origin == MessageOrigin.AUTOMATION
            else ActivityKind.SEND_FAILED
        )
        self._log(journal, text, kind, summary)
        retryable = answer.retryable and isinstance(item.request.origin, AutomationOrigin)
        return self._outcome(text, retryable=retryable, reason=answer.reason)

    def _log_sent(self, journal: WriteJournal, text: OutboundText, note: str = "") -> None:
        if text.origin == MessageOrigin.AUTOMATION:
            kind = ActivityKind.AUTOMATION_SENT
            summary = f"Automation text sent ({origin_label(text)}){note}"
        elif text.origin == MessageOrigin.CONFIRMATION:
            kind, summary = (
                ActivityKind.OPT_OUT_CONFIRMATION,
                f"Opt-out confirmation text sent{note}",
            )
        elif text.recipient_opted_out:
            kind = ActivityKind.MANUAL_SEND_OPTED_OUT
            summary = (
                f"Manual text sent to an opted-out contact by {text.actor}, after a warning{note}"
            )
        else:
            kind, summary = ActivityKind.MANUAL_SEND, f"Manual text sent by {text.actor}{note}"
        self._log(journal, text, kind, summary)

    def _record_twilio_opt_out(self, journal: WriteJournal, text: OutboundText) -> None:
        # Twilio blocks the number until the customer's START: re-consent by other means
        # must show that instead of failing (and re-opting out) silently next time.
        session = journal.session
        consent.record_provider_block(session, text.to_e164, source=ConsentSource.TWILIO_21610,
                                      at=self.clock.now(), clock=self.clock)  # fmt: skip
        item = consent.NumberOptOut(
            text.to_e164,
            source=ConsentSource.TWILIO_21610,
            actor="Twilio",
            evidence=f"Send refused with error 21610 (outbound message {text.id})",
            summary="Opted out: Twilio reports this number unsubscribed (error 21610)",
        )
        consent.opt_out_numbers(session, [item], clock=self.clock, journal=journal)

    # -- a send that may have happened ---------------------------------------------------

    def confirm_uncertain(self, message_id: int, *, on_settled: Hook | None = None) -> SendOutcome:
        """Find out whether an ``unknown`` text reached the provider, and record it.

        Lists what the provider sent to the text's number since the attempt (less
        ``LOOKUP_MARGIN``) and matches the body; a match no other outbound record
        claims makes the text ``sent`` with that SID, no match makes it ``failed``
        ("not sent": the caller may send again). ``on_settled`` runs in the
        transaction that records it. A text no longer ``unknown`` is returned as
        it is. Raises ProviderError when the provider cannot be asked: nothing
        changes, and nothing may be resent.
        """
        text = self._load_text(message_id)
        if text.status != MessageStatus.UNKNOWN:  # settled already: the caller's record follows it
            if on_settled:
                with self.db.write() as session:
                    on_settled(session, text)
            return self._outcome(text)
        since = text.created_at - LOOKUP_MARGIN
        matches = [r for r in self.provider.list_sent(text.to_e164, since)
                   if _same_text(r.body, text.body)]  # fmt: skip
        with self.db.write() as session:
            journal = WriteJournal(session, self.clock)
            current = session.connection().execute(_STATUS_FOR_UPDATE, {"id": message_id})
            if current.scalar_one() != MessageStatus.UNKNOWN:  # settled by someone else meanwhile
                text = self._load_text(message_id, session)
                if on_settled:
                    on_settled(session, text)
                return self._outcome(text)
            found = self._unclaimed(session, matches)
            text.updated_at = self.clock.now()
            if found is not None:
                text.status, text.provider_sid, text.sent_at = (
                    MessageStatus.SENT,
                    found.sid,
                    text.updated_at,
                )
                text.error_message = None
                self._log_sent(journal, text, note=" (found at Twilio after an unclear answer)")
            else:
                text.status, text.error_message = MessageStatus.FAILED, NOT_AT_PROVIDER
                kind = (
                    ActivityKind.AUTOMATION_FAILED
                    if text.origin == MessageOrigin.AUTOMATION
                    else ActivityKind.SEND_FAILED
                )
                self._log(journal, text, kind, f"Text not sent: {NOT_AT_PROVIDER}")
            _update_texts(session, [text], was=MessageStatus.UNKNOWN)
            if on_settled:
                on_settled(session, text)
            journal.flush()
        return self._outcome(text)

    def _load_text(self, message_id: int, session: Session | None = None) -> OutboundText:
        if session is None:
            with self.db.read() as reading:
                return self._load_text(message_id, reading)
        row = session.connection().execute(_TEXT_WITH_NAME, {"id": message_id}).one()
        values = {k: v for k, v in row._mapping.items() if k in _TEXT_FIELDS}
        name = f"{row.first_name or ''} {row.last_name or ''}".strip()
        return OutboundText(**values, contact_name=name)

    @staticmethod
    def _unclaimed(session: Session, matches: list[SentRecord]) -> SentRecord | None:
        """The earliest match no outbound record has claimed yet: the same words sent to
        the same number twice must each find their own message."""
        sids = [m.sid for m in matches]
        claimed = set(session.scalars(select(OutboundMessage.provider_sid)
                                      .where(OutboundMessage.provider_sid.in_(sids)))) if sids else set()  # fmt: skip
        free = [m for m in matches if m.sid not in claimed]
        return min(free, key=lambda m: m.created_at) if free else None

    # -- helpers ---------------------------------------------------------------------

    def _log(
        self, journal: WriteJournal, text: OutboundText, kind: ActivityKind, summary: str
    ) -> None:
        """Sign the text's log entry now; it is written at the journal's flush, with the
        transaction's others."""
        journal.log(
            activity.LogEntry(
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
                    **(text.inbox.details() if text.inbox else {}),
                },
            )
        )

    @staticmethod
    def _outcome(
        text: OutboundText, *, retryable: bool = False, reason: str | None = None
    ) -> SendOutcome:
        return SendOutcome(
            message_id=text.message_id,
            status=text.status,
            reason=reason or text.error_message or text.suppression_reason or "",
            recipient_opted_out=text.recipient_opted_out,
            provider_sid=text.provider_sid,
            error_code=text.error_code,
            retryable=retryable,
        )


_TEXT_FIELDS = {f.name for f in fields(OutboundText)}
# The columns a batch writes: every column the text carries (a column added to the table
# without a field here keeps its database default on the batch path).
_COLUMNS = [c.key for c in OutboundMessage.__table__.columns
            if c.key != "id" and c.key in _TEXT_FIELDS]  # fmt: skip
# What the finish transaction may change on a record.
_FINISH_COLUMNS = ("status", "provider_sid", "error_code", "error_message", "sent_at", "updated_at")
# What a consent re-check that blocks a recorded text changes on it.
_BLOCK_COLUMNS = (
    "status", "error_message", "suppression_result", "suppression_reason",
    "recipient_opted_out", "updated_at",
)  # fmt: skip
NOT_AT_PROVIDER = "Twilio has no record of this text (looked up after an unclear answer)"
_CONSENT_TOO_SLOW = ProviderError(
    FailureKind.TEMPORARY,
    "The opt-out check could not be made fresh within a second (the database is slow); "
    "the text waits for a retry",
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})  # fmt: skip


def _block(text: OutboundText, decision: consent.SendDecision) -> None:
    """Mark an automation text the consent rule stopped: held (it waits for a decision) or
    skipped. Either way it is never handed to the provider."""
    text.status = MessageStatus.HELD if decision.hold else MessageStatus.SUPPRESSED
    text.error_message = f"{'held' if decision.hold else 'skipped'}: {decision.reason}"
    text.suppression_result = _suppression_result(decision, True, False)
    text.suppression_reason = decision.reason
    text.recipient_opted_out = decision.recipient_opted_out


def _still_to_go(item: _Recorded) -> bool:
    return item.outcome is None and not item.withdrawn


def _automation_id(origin: Origin) -> int | None:
    """The sending automation (its purpose applies); None for manual and confirmation texts."""
    return origin.automation_id if isinstance(origin, AutomationOrigin) else None


def _recipients(items: list[_Recorded]) -> list[tuple[int | None, str | None]]:
    return [(i.text.contact_id, i.text.to_e164 or None) for i in items]


def _result(item: _Recorded | UserInputError | NotFoundError | NotOwned) -> Result:
    if isinstance(item, Exception):
        return item
    if item.withdrawn:
        return NotOwned()
    assert item.outcome is not None
    return item.outcome


def _same_text(sent: str, ours: str) -> bool:
    """Bodies compared as a person would read them: a provider may swap typographic quotes
    and dashes for plain ones (Twilio's smart encoding) or trim spaces."""

    def plain(body: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", body).translate(_QUOTES).split())

    return plain(sent) == plain(ours)


# Statements the batch path runs hundreds of times, built once.
_TABLE = OutboundMessage.__table__
_RECIPIENTS = select(Contact.id, Contact.phone_e164, Contact.first_name, Contact.last_name)
_LAST_ID = select(func.coalesce(func.max(_TABLE.c.id), 0))
_IDS_AFTER = select(_TABLE.c.id).where(_TABLE.c.id > bindparam("before")).order_by(_TABLE.c.id)
_STATUS_FOR_UPDATE = select(_TABLE.c.status).where(_TABLE.c.id == bindparam("id")).with_for_update()
_TEXT_WITH_NAME = (
    select(_TABLE, Contact.first_name, Contact.last_name)
    .outerjoin(Contact, Contact.id == _TABLE.c.contact_id)
    .where(_TABLE.c.id == bindparam("id"))
)


def _suppression_result(
    decision: consent.SendDecision, is_automation: bool, confirmation: bool
) -> str:
    """allowed | blocked | held for automations; advisory for manual sends; confirmation."""
    if confirmation:
        return SuppressionResult.CONFIRMATION
    if not is_automation:
        return SuppressionResult.ADVISORY
    if decision.allowed:
        return SuppressionResult.ALLOWED
    return SuppressionResult.HELD if decision.hold else SuppressionResult.BLOCKED


def _columns(text: OutboundText) -> dict[str, Any]:
    return {key: getattr(text, key) for key in _COLUMNS}


def _update_texts(
    session: Session,
    texts: list[OutboundText],
    columns: Sequence[str] = _FINISH_COLUMNS,
    *,
    was: str = MessageStatus.SENDING,
) -> set[int]:
    """Store what happened to the texts, in one statement, on the records still in status
    ``was`` (a compare-and-set); returns the ids of the records that changed."""
    rows = [{"text_id": t.id, **{key: getattr(t, key) for key in columns}} for t in texts]
    return bulk.update_rows(session.connection(), _TABLE, rows, key="text_id",
                            only_where={"status": was})  # fmt: skip


def _apply_answer(text: OutboundText, answer: SendResult | ProviderError, now: datetime) -> None:
    """Put the provider's answer on the text (nothing stored yet)."""
    text.updated_at = now
    if not isinstance(answer, ProviderError):
        text.status, text.provider_sid, text.sent_at = MessageStatus.SENT, answer.sid, now
        return
    text.error_code, text.error_message, text.failure_kind = (
        answer.code, answer.reason, answer.kind
    )  # fmt: skip
    text.status = {
        FailureKind.UNSUBSCRIBED: MessageStatus.SUPPRESSED,
        FailureKind.UNKNOWN: MessageStatus.UNKNOWN,
    }.get(answer.kind, MessageStatus.FAILED)


def _note_inbox(texts: list[_Recorded], inbox: InboxFreshness) -> None:
    """Put the inbox's freshness on each automation text: the log details always, the
    reason too when the inbox could not be read before the send."""
    for item in texts:
        if item.text.origin != MessageOrigin.AUTOMATION:
            continue
        item.text.inbox = inbox
        if inbox.stale and item.outcome is None and item.text.status == MessageStatus.SENDING:
            item.text.suppression_reason = f"{item.text.suppression_reason}; {inbox.note()}"


def _single(hook: Hook | None) -> BatchHook | None:
    """A per-text hook as a batch hook (``send`` is a batch of one)."""
    if hook is None:
        return None

    def each(session: Session, items: list[tuple[SendRequest, OutboundText]]) -> None:
        for _, text in items:
            hook(session, text)

    return each
