"""The inbox: store received texts, then act on each one exactly once (DESIGN promises 4, 6, 8).

Two steps, each safe to repeat:

1. ``store_inbound`` writes every message the provider listed into
   ``inbound_messages`` *before* anything acts on it. The UNIQUE message SID
   de-duplicates (INSERT ... ON CONFLICT DO NOTHING), so polling a look-back
   window that lists the same message many times stores it once.
2. ``process_pending`` takes the stored, unprocessed messages, oldest first, and
   classifies and acts on each in a transaction that also sets its
   ``processed_at``: STOP opts out every contact with the number (or suppresses
   the number), START records re-consent, HELP and ordinary replies are logged,
   and wording that might be an opt-out goes to a person ("Needs review").
   Messages go in batches (one transaction per batch, so 10,000 replies take
   seconds, not minutes); if a batch fails it is rolled back whole and its
   messages retried one transaction each, so one bad message is left for the
   next run and never holds up the STOPs behind it. A crash between the two
   steps leaves rows with ``processed_at IS NULL``; the next run finishes them.
   Two pollers never act on one message twice: each transaction first takes the
   activity log's append lock (PostgreSQL advisory lock; SQLite's BEGIN
   IMMEDIATE), claims rows ``FOR UPDATE SKIP LOCKED`` and re-checks
   ``processed_at`` inside the transaction.

Everything handed out is plain dataclasses, safe for widgets and threads.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, auto_queue, confirmations, consent
from trustpager_desktop.core.business_days import ReviewDeadline, Urgency, review_deadline
from trustpager_desktop.core.clock import Clock
from trustpager_desktop.core.counts import add_counts
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.journal import WriteJournal
from trustpager_desktop.core.number_contacts import (
    contacts_by_number,
    contacts_with_number,
    names_by_number,
)
from trustpager_desktop.core.phone import format_for_reading, try_e164
from trustpager_desktop.core.replies import (
    ReplyClassification,
    ReplyKind,
    classify_reply,
    twilio_acts_on,
)
from trustpager_desktop.core.settings import AppSettings, load_settings
from trustpager_desktop.core.states import ActivityKind, ConsentSource, ReviewDecision, ReviewStatus
from trustpager_desktop.core.timefmt import business_zone
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact, InboundMessage

log = logging.getLogger("trustpager.inbox")

ACTOR = "Inbox"
STORE_BATCH = 500
BODY_MAX = 10_000  # a concatenated SMS is at most ~1,600 characters; keep junk bounded

# decision -> (classification it applies to, resulting review_status)
DECISIONS: dict[str, tuple[ReplyKind, ReviewStatus]] = {
    ReviewDecision.OPT_OUT: (ReplyKind.POSSIBLE_OPT_OUT, ReviewStatus.OPTED_OUT),
    ReviewDecision.NOT_OPT_OUT: (ReplyKind.POSSIBLE_OPT_OUT, ReviewStatus.NOT_OPT_OUT),
    ReviewDecision.RE_CONSENT: (ReplyKind.OPT_IN, ReviewStatus.RE_CONSENTED),
    ReviewDecision.KEEP_OPTED_OUT: (ReplyKind.OPT_IN, ReviewStatus.KEPT_OPTED_OUT),
}
DECISION_LABELS: dict[str, str] = {
    ReviewStatus.OPTED_OUT: "opted out",
    ReviewStatus.NOT_OPT_OUT: "not an opt-out",
    ReviewStatus.RE_CONSENTED: "re-consent recorded",
    ReviewStatus.KEPT_OPTED_OUT: "kept opted out",
}


# ---- results -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreResult:
    """How many listed messages were new, already stored, or unreadable."""

    new: int = 0
    duplicates: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class OptOutNotice:
    """One STOP acted on: enough for a desktop notification."""

    phone_e164: str
    contact_ids: tuple[int, ...]
    contact_names: tuple[str, ...]
    message_sid: str
    received_at: datetime


@dataclass
class ProcessResult:
    """What ``process_pending`` did in one run."""

    processed: int = 0
    opted_out: int = 0
    re_consented: int = 0
    help_requests: int = 0
    needs_review: int = 0
    other: int = 0
    unknown_sender: int = 0
    failed: int = 0  # left unprocessed because of an error; retried next run
    opt_outs: list[OptOutNotice] = field(default_factory=list)

    @property
    def opted_out_contact_ids(self) -> list[int]:
        return [cid for notice in self.opt_outs for cid in notice.contact_ids]

    @property
    def opted_out_numbers(self) -> list[str]:
        return [notice.phone_e164 for notice in self.opt_outs]


@dataclass(frozen=True)
class ReviewItem:
    """A reply waiting for a person's decision (plain data for the Needs review list)."""

    inbound_id: int
    message_sid: str
    from_number: str
    from_display: str
    from_e164: str | None
    contact_names: tuple[str, ...]
    body: str
    received_at: datetime
    classification: str  # possible_opt_out | opt_in
    reason: str
    # The FCC's 10 business days (possible opt-outs only; a held START has none).
    deadline: ReviewDeadline | None = None

    def urgency(self, now: datetime) -> Urgency:
        return self.deadline.urgency(now) if self.deadline else Urgency.ON_TIME


@dataclass(frozen=True)
class UnknownSender:
    """A number that texted us but belongs to no contact."""

    from_number: str
    from_display: str
    from_e164: str | None
    message_count: int
    last_received_at: datetime
    last_body: str
    opted_out: bool
    consent: consent.ConsentState | None = None  # the number's consent state


@dataclass(frozen=True)
class ReviewOutcome:
    inbound_id: int
    review_status: str
    contact_ids: tuple[int, ...]
    message: str
    confirmation_requested: bool = False  # an opt-out confirmation text waits to be sent


# ---- storing -------------------------------------------------------------------------


def _clean_text(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; nothing a person reads needs it.
    return value.replace("\x00", "")[:limit]


def _row(record: InboundRecord, default_region: str, now: datetime) -> dict[str, Any] | None:
    """The column values for one record, or None (logged) when it cannot be stored."""
    sid = record.sid if isinstance(record.sid, str) else ""
    sender = record.from_number if isinstance(record.from_number, str) else ""
    if not sid.strip() or not sender.strip():
        log.warning("Skipped an inbound message without %s", "SID" if not sid.strip() else "sender")
        return None
    sent = record.date_sent if isinstance(record.date_sent, datetime) else None
    if sent is None:
        log.warning("Skipped inbound message %s: no date sent", sid)
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    body = record.body if isinstance(record.body, str) else ""
    return {
        "sid": sid.strip()[:64],
        "from_number": _clean_text(sender.strip(), 40),
        "from_e164": _e164(sender, default_region),
        "to_number": _clean_text(record.to_number if isinstance(record.to_number, str) else "", 40),
        "body": _clean_text(body, BODY_MAX),
        "date_sent": sent.astimezone(UTC),
        "fetched_at": now,
    }


@functools.lru_cache(maxsize=4096)
def _e164(sender: str, default_region: str) -> str | None:
    # Parsing is the slowest part of storing; busy senders repeat.
    return try_e164(sender, default_region)


def _batches(items: Iterable[InboundRecord], size: int) -> Iterator[list[InboundRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT (sid) DO NOTHING; returns how many rows were new."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = InboundMessage.__table__
    # executemany form: one cached statement, sent as batched multi-row INSERTs by the
    # driver layer ("insertmanyvalues"); compiling a 500-row VALUES clause each time is slow.
    stmt = insert(table).on_conflict_do_nothing(index_elements=["sid"]).returning(table.c.id)
    return len(session.connection().execute(stmt, rows).all())


def store_inbound(
    db: Database,
    records: Iterable[InboundRecord],
    clock: Clock,
    *,
    default_region: str = "US",
    batch_size: int = STORE_BATCH,
) -> StoreResult:
    """Store every record not stored before, in batches (one transaction per batch).

    ``records`` may be a generator straight from the provider. A record without
    SID, sender or date is logged and skipped; the rest are still stored.
    Returns the counts. Raises DatabaseError when the database cannot be written
    (batches committed before that stay stored).
    """
    new = duplicates = skipped = 0
    now = clock.now()
    for batch in _batches(records, batch_size):
        rows: dict[str, dict[str, Any]] = {}
        for record in batch:
            row = _row(record, default_region, now)
            if row is None:
                skipped += 1
            elif row["sid"] in rows:
                duplicates += 1
            else:
                rows[row["sid"]] = row
        if not rows:
            continue
        with db.write() as session:
            inserted = _insert_ignoring_duplicates(session, list(rows.values()))
        new += inserted
        duplicates += len(rows) - inserted
    return StoreResult(new=new, duplicates=duplicates, skipped=skipped)


# ---- processing ----------------------------------------------------------------------


def received_text(when: datetime, timezone_name: str) -> str:
    """'26 Nov 2026 10:04:17' in the business time zone (UTC if the name is bad)."""
    return when.astimezone(business_zone(timezone_name)).strftime("%d %b %Y %H:%M:%S")


def pending_ids(session: Session, limit: int | None = None) -> list[int]:
    """Ids of stored messages not yet acted on, oldest first (so STOP then START keeps order)."""
    query = (
        select(InboundMessage.id)
        .where(InboundMessage.processed_at.is_(None))
        .order_by(InboundMessage.date_sent, InboundMessage.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _claim(session: Session, inbound_id: int) -> InboundMessage | None:
    """The message if it is still unprocessed and nobody else holds it, locked for us."""
    query = select(InboundMessage).where(
        InboundMessage.id == inbound_id, InboundMessage.processed_at.is_(None)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


class _WordTimes:
    """Newest opt-out / START-type word per number (the customer's time), read once per
    batch and kept current as the batch's replies are acted on (promise 11)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.times: dict[str, consent.ConsentTimes] = {}
        self.loaded: set[str] = set()

    def load(self, numbers: Iterable[str]) -> None:
        wanted = sorted({n for n in numbers if n} - self.loaded)
        if wanted:
            self.times.update(consent.consent_times(self.session, wanted))
            self.loaded.update(wanted)

    def for_number(self, e164: str) -> consent.ConsentTimes | None:
        self.load([e164])
        return self.times.get(e164)

    def note_word(self, e164: str, kind: str, sent_at: datetime) -> None:
        """Remember a reply's word ("opt_out" or "opt_in") for the rest of the batch."""
        old = self.times.get(e164) or consent.ConsentTimes()
        mine = old.opt_out if kind == ReplyKind.OPT_OUT else old.opt_in
        if mine is None or sent_at > mine:
            # not a state: the names of ConsentTimes' two fields
            key = "opt_out" if kind == ReplyKind.OPT_OUT else "opt_in"
            self.times[e164] = dataclasses.replace(old, **{key: sent_at})


@dataclass
class _Batch:
    """One transaction's messages: its write journal (log entries and STOP opt-outs,
    written together in call order at its flush) and the words the replies said."""

    journal: WriteJournal
    times: _WordTimes

    @classmethod
    def open(cls, session: Session, clock: Clock) -> _Batch:
        return cls(WriteJournal(session, clock), _WordTimes(session))


def _hold_for_review(
    journal: WriteJournal,
    message: InboundMessage,
    contacts: list[Contact],
    verdict: ReplyClassification,
    result: ProcessResult,
    summary: str,
) -> None:
    """Put the message on the Needs review list (never silently ignored) and log it."""
    message.review_status = ReviewStatus.PENDING
    result.needs_review += 1
    _log_reply(
        journal,
        message,
        contacts,
        kind=ActivityKind.INBOUND_MESSAGE,
        summary=summary,
        verdict=verdict,
    )


def _log_reply(
    journal: WriteJournal,
    message: InboundMessage,
    contacts: list[Contact],
    *,
    kind: ActivityKind,
    summary: str,
    verdict: ReplyClassification,
    actor: str = ACTOR,
    decided_at: datetime | None = None,
) -> None:
    """One activity entry per contact with the number, or one for the number itself.

    The entry happens when the reply was sent, or, for a person's decision on it
    (``decided_at``), when they decided; the reply's own time stays in the details."""
    details: dict[str, str] = {
        "message_sid": message.sid,
        "from": message.from_number,
        "body": message.body,
        "classification": verdict.kind.value,
        "reason": verdict.reason,
    }
    if decided_at is not None:
        details["received_at"] = message.date_sent.isoformat()
    recipients: list[Contact | None] = [*contacts] or [None]
    for contact in recipients:
        journal.log(
            activity.LogEntry(
                kind=kind,
                summary=summary
                if contact
                else f"{summary} from unknown number {message.from_number}",
                actor=actor,
                contact_id=contact.id if contact else None,
                contact_name=contact.display_name if contact else "",
                details=details,
                occurred_at=decided_at or message.date_sent,
            )
        )


def _classify(
    session: Session, message: InboundMessage, journal: WriteJournal, settings: AppSettings
) -> tuple[ReplyClassification, bool]:
    """The verdict, and whether the sender is opted out (looked up only when it matters:
    for opt-in wording such as START or YES, after earlier opt-outs are written). YES
    also counts from a number Twilio still blocks after re-consent: Twilio lifts it too."""
    words = settings.keywords
    plain = classify_reply(message.body, keywords=words)
    if plain.kind is ReplyKind.OPT_IN or (
        classify_reply(message.body, sender_opted_out=True, keywords=words).kind is not plain.kind
    ):
        journal.flush()
        opted_out = blocked = False
        if message.from_e164:
            state = consent.consent_state(session, None, message.from_e164, settings=settings)
            opted_out, blocked = state.opted_out, state.provider_refuses
        verdict = classify_reply(message.body, sender_opted_out=opted_out or blocked,
                                 keywords=words)  # fmt: skip
        return verdict, opted_out
    return plain, False


def _act(
    session: Session,
    message: InboundMessage,
    settings: AppSettings,
    clock: Clock,
    result: ProcessResult,
    batch: _Batch,
    known: dict[str, list[Contact]] | None = None,
) -> None:
    """Classify one claimed message and do what it asks, in the caller's transaction.

    ``known`` maps numbers to their contacts when the caller loaded them for a batch."""
    e164 = message.from_e164
    journal = batch.journal
    verdict, opted_out = _classify(session, message, journal, settings)
    contacts = (
        known[e164] if known is not None and e164 in known else contacts_with_number(session, e164)
    )
    message.classification = verdict.kind.value
    if not contacts:
        result.unknown_sender += 1
    quoted = message.body.strip()[:200]
    twilio = twilio_acts_on(message.body)
    lifted = False
    stale = None
    if twilio is ReplyKind.OPT_IN and e164:  # Twilio lifts its block on START, UNSTOP, YES
        lifted = consent.clear_provider_block(session, e164, at=message.date_sent,
                                              message_sid=message.sid, clock=clock)  # fmt: skip
    if e164 and verdict.kind in (ReplyKind.OPT_OUT, ReplyKind.OPT_IN):
        stale = consent.stale_reply(verdict.kind.value, message.date_sent,
                                    batch.times.for_number(e164), settings.business_timezone)  # fmt: skip
        batch.times.note_word(e164, verdict.kind.value, message.date_sent)
        if stale and (verdict.kind is ReplyKind.OPT_OUT or opted_out):
            result.other += 1
            _log_reply(journal, message, contacts, kind=ActivityKind.INBOUND_MESSAGE,
                       summary=f"{stale}: “{quoted}”", verdict=verdict)  # fmt: skip
            return

    if verdict.kind is ReplyKind.OPT_OUT and e164:
        if twilio is ReplyKind.OPT_OUT:  # Twilio confirmed it and blocks the number itself
            consent.record_provider_block(session, e164, source=ConsentSource.STOP_REPLY,
                                          at=message.date_sent, message_sid=message.sid,
                                          clock=clock)  # fmt: skip
        when = received_text(message.date_sent, settings.business_timezone)
        item = consent.NumberOptOut(
            e164,
            source=ConsentSource.STOP_REPLY,
            actor=ACTOR,
            evidence=message.body,
            message_sid=message.sid,
            received_at=message.date_sent,
            summary=f"Opted out by STOP reply received {when} ({message.sid}): “{quoted}”",
        )
        # Decided now; written with the batch's other STOPs at the journal's flush, in order.
        outcome = consent.opt_out_numbers(session, [item], clock=clock, journal=journal)[0]
        if outcome.contact_ids or outcome.number_suppressed:
            names_by_id = {c.id: c.display_name for c in contacts}
            names = tuple(names_by_id[cid] for cid in outcome.contact_ids)
            result.opt_outs.append(OptOutNotice(e164, tuple(outcome.contact_ids), names,
                                                message.sid, message.date_sent))  # fmt: skip
            if twilio is None:  # Twilio confirms only its own keywords: we confirm the rest
                confirmations.request_confirmation(
                    session, key=confirmations.reply_key(message.sid), e164=e164,
                    contact_id=outcome.contact_ids[0] if outcome.contact_ids else None,
                    language=verdict.language, requested_at=message.date_sent,
                    requested_by=ACTOR, settings=settings, clock=clock,
                )  # fmt: skip
        result.opted_out += 1
        return
    if verdict.kind is ReplyKind.OPT_OUT:
        # A STOP from a sender we cannot read as a phone number: a person must look.
        verdict = ReplyClassification(
            ReplyKind.POSSIBLE_OPT_OUT,
            verdict.keyword,
            f"{verdict.reason} The sender {message.from_number!r} is not a phone number "
            "we can opt out automatically.",
        )
        message.classification = verdict.kind.value

    if verdict.kind is ReplyKind.OPT_IN and opted_out and e164:
        if settings.start_replies_need_review:
            _hold_for_review(journal, message, contacts, verdict, result,
                             f"START reply waiting for review: “{quoted}”")  # fmt: skip
            return
        journal.flush()
        consent.re_consent_number(
            session,
            e164,
            message_sid=message.sid,
            received_at=message.date_sent,
            body=message.body,
            actor=ACTOR,
            clock=clock,
        )
        result.re_consented += 1
        return

    if verdict.kind is ReplyKind.OPT_IN and e164 and contacts and not stale:
        journal.flush()  # START from a subscribed contact: consent by keyword reply
        consent.record_keyword_consent(session, e164, message_sid=message.sid,
                                       received_at=message.date_sent, body=message.body,
                                       actor=ACTOR, clock=clock)  # fmt: skip
    if verdict.kind is ReplyKind.POSSIBLE_OPT_OUT:
        _hold_for_review(journal, message, contacts, verdict, result,
                         f"Reply may be an opt-out, waiting for review: “{quoted}”")  # fmt: skip
        return
    if verdict.kind is ReplyKind.HELP:
        result.help_requests += 1
        _log_reply(
            journal,
            message,
            contacts,
            kind=ActivityKind.HELP_REQUEST,
            summary=f"Asked for help by text: “{quoted}”",
            verdict=verdict,
        )
        return
    result.other += 1
    summary = f"Text received: “{quoted}”"
    if lifted:  # re-consent was recorded earlier; this was the word Twilio waited for
        summary = f"START reply received: Twilio texts this number again: “{quoted}”"
    _log_reply(journal, message, contacts, kind=ActivityKind.INBOUND_MESSAGE, summary=summary,
               verdict=verdict)  # fmt: skip


def process_one(
    db: Database, inbound_id: int, settings: AppSettings, clock: Clock, result: ProcessResult
) -> bool:
    """Act on one stored message in one transaction that also marks it processed.

    Returns False when it was already processed (or is being processed by
    another poller). Any error rolls the whole message back, unprocessed.
    """
    with db.write() as session:
        activity.lock_chain(session)
        message = _claim(session, inbound_id)
        if message is None:
            return False
        batch = _Batch.open(session, clock)
        _act(session, message, settings, clock, result, batch)
        batch.journal.flush()
        message.processed_at = clock.now()
    return True


PROCESS_BATCH = 200


def _claim_batch(session: Session, size: int, skip: set[int]) -> list[InboundMessage]:
    """The oldest unprocessed messages, locked for us (PostgreSQL skips rows another
    poller holds; SQLite's BEGIN IMMEDIATE already made us the only writer)."""
    query = (
        select(InboundMessage)
        .where(InboundMessage.processed_at.is_(None))
        .order_by(InboundMessage.date_sent, InboundMessage.id)
        .limit(size)
    )
    if skip:
        query = query.where(InboundMessage.id.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _process_batch(
    db: Database,
    size: int,
    settings: AppSettings,
    clock: Clock,
    result: ProcessResult,
    skip: set[int],
) -> list[int] | None:
    """Act on up to ``size`` messages in one transaction; each message's action and its
    processed mark commit together. Returns the ids done ([] when none were pending),
    or None when the batch failed and was rolled back (the caller retries one by one)."""
    batch = ProcessResult()
    try:
        with db.write() as session:
            activity.lock_chain(session)  # before any row lock: see lock_chain
            messages = _claim_batch(session, size, skip)
            known = contacts_by_number(session, (m.from_e164 for m in messages))
            writes = _Batch.open(session, clock)
            writes.times.load(known)  # one read for the batch's numbers
            consent.load_numbers(writes.journal, list(known))  # and one for their consent
            for message in messages:
                _act(session, message, settings, clock, batch, writes, known)
                message.processed_at = clock.now()
                batch.processed += 1
            writes.journal.flush()
            ids = [m.id for m in messages]
    except Exception:
        log.warning("A batch of inbound messages failed; retrying them one at a time")
        return None
    _merge(result, batch)
    return ids


def _merge(into: ProcessResult, part: ProcessResult) -> None:
    add_counts(into, part)
    into.opt_outs.extend(part.opt_outs)


def process_pending(
    db: Database,
    clock: Clock,
    *,
    settings: AppSettings | None = None,
    limit: int | None = None,
    batch_size: int = PROCESS_BATCH,
) -> ProcessResult:
    """Act on every stored message not yet processed (at most ``limit``), oldest first.

    Messages are handled in batches, one transaction each, so a message's action
    and its processed mark always commit together. If a batch fails, its messages
    are retried one per transaction: the one that fails is logged and left
    unprocessed for the next run, the others go through. Safe to run from several
    pollers at once and after a crash. Returns the counts and the opt-outs made.
    """
    if settings is None:
        with db.read() as session:
            settings = load_settings(session)
    result = ProcessResult()
    failed: set[int] = set()  # not retried again in this run
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        done = _process_batch(db, size, settings, clock, result, failed)
        if done is None:
            done = _process_one_by_one(db, size, settings, clock, result, failed)
        if not done:
            break
        if remaining is not None:
            remaining -= len(done)
    return result


def _process_one_by_one(
    db: Database,
    size: int,
    settings: AppSettings,
    clock: Clock,
    result: ProcessResult,
    failed: set[int],
) -> list[int]:
    """Fallback after a failed batch: one transaction per message, errors isolated.
    Failing ids are added to ``failed``. Returns the ids attempted."""
    with db.read() as session:
        ids = [i for i in pending_ids(session, size + len(failed)) if i not in failed][:size]
    for inbound_id in ids:
        try:
            if process_one(db, inbound_id, settings, clock, result):
                result.processed += 1
        except Exception:  # one bad message must not hold up the STOPs behind it
            log.exception("Could not process inbound message %s; will retry", inbound_id)
            result.failed += 1
            failed.add(inbound_id)
    return ids


# ---- review --------------------------------------------------------------------------


def _review_reason(message: InboundMessage, settings: AppSettings) -> str:
    words = settings.keywords
    if message.classification == ReplyKind.OPT_IN.value:
        return (
            classify_reply(message.body, sender_opted_out=True, keywords=words).reason
            + " Settings send START replies to review before re-consent is recorded."
        )
    return classify_reply(message.body, keywords=words).reason


def list_needs_review(session: Session, default_region: str = "US") -> list[ReviewItem]:
    """Replies waiting for a decision, oldest first, each possible opt-out with its
    deadline (10 business days from receipt, in the business time zone)."""
    settings = load_settings(session)
    messages = list(
        session.scalars(
            select(InboundMessage)
            .where(InboundMessage.review_status == ReviewStatus.PENDING)
            .order_by(InboundMessage.date_sent, InboundMessage.id)
        )
    )
    names = names_by_number(session, {m.from_e164 for m in messages if m.from_e164})
    return [
        ReviewItem(
            inbound_id=m.id,
            message_sid=m.sid,
            from_number=m.from_number,
            from_display=format_for_reading(m.from_e164, default_region) or m.from_number,
            from_e164=m.from_e164,
            contact_names=names.get(m.from_e164 or "", ()),
            body=m.body,
            received_at=m.date_sent,
            classification=m.classification or ReplyKind.POSSIBLE_OPT_OUT.value,
            reason=_review_reason(m, settings),
            deadline=None
            if m.classification == ReplyKind.OPT_IN.value
            else review_deadline(m.date_sent, settings.business_timezone),
        )
        for m in messages
    ]


def urgent_reviews(session: Session, now: datetime, default_region: str = "US") -> list[ReviewItem]:
    """Possible opt-outs within two business days of their deadline, or past it: the red
    count and the desktop notification."""
    return [
        item
        for item in list_needs_review(session, default_region)
        if item.urgency(now) is not Urgency.ON_TIME
    ]


def count_needs_review(session: Session) -> int:
    """How many replies wait for a decision (for the navigation badge)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.review_status == ReviewStatus.PENDING)
        )
        or 0
    )


def decide_review(
    db: Database, inbound_id: int, decision: str, actor: str, clock: Clock
) -> ReviewOutcome:
    """Record a person's decision on a reply waiting for review.

    ``decision``: "opt_out" or "not_opt_out" for a possible opt-out;
    "re_consent" or "keep_opted_out" for a START reply held for review. The
    decision and who made it go to the activity log. Raises NotFoundError for
    an unknown id and UserInputError (changing nothing) for a decision that does
    not fit or a reply that was already decided.
    """
    if decision not in DECISIONS:
        raise UserInputError(f"Unknown review decision '{decision}'.", field="decision")
    with db.write() as session:
        activity.lock_chain(session)
        query = select(InboundMessage).where(InboundMessage.id == inbound_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        message = session.scalar(query)
        if message is None:
            raise NotFoundError("That reply no longer exists.")
        _check_decidable(message, decision)
        settings = load_settings(session)
        unchanged = _stale_decision(session, message, decision, settings)
        contact_ids, confirm = ([], False) if unchanged else _apply_decision(
            session, message, decision, actor, clock, settings)  # fmt: skip
        status = DECISIONS[decision][1]
        message.review_status = status
        message.reviewed_by = actor[:100]
        message.reviewed_at = clock.now()
        if message.from_e164:  # texts held for this reply go on, or are skipped
            auto_queue.release_held_in(session, clock=clock, numbers=[message.from_e164])
        label = DECISION_LABELS[status] + (f" ({unchanged})" if unchanged else "")
        contacts = contacts_with_number(session, message.from_e164)
        verdict = ReplyClassification(
            ReplyKind(message.classification or ReplyKind.OTHER), None, ""
        )
        journal = WriteJournal(session, clock)
        _log_reply(
            journal,
            message,
            contacts,
            kind=ActivityKind.REVIEW_DECISION,
            summary=f"Reviewed by {actor}: {label} ({message.sid}): “{message.body.strip()[:200]}”",
            verdict=verdict,
            actor=actor,
            decided_at=message.reviewed_at,
        )
        journal.flush()
    return ReviewOutcome(inbound_id, status, tuple(contact_ids), f"Marked as {label}.", confirm)


def _stale_decision(
    session: Session, message: InboundMessage, decision: str, settings: AppSettings
) -> str | None:
    """Why the decision changes no consent: the customer said the opposite later."""
    if decision not in (ReviewDecision.OPT_OUT, ReviewDecision.RE_CONSENT) or not message.from_e164:
        return None
    kind = ReplyKind.OPT_OUT if decision == ReviewDecision.OPT_OUT else ReplyKind.OPT_IN
    times = consent.consent_times(session, [message.from_e164], exclude_inbound_id=message.id)
    return consent.stale_reply(kind, message.date_sent, times.get(message.from_e164),
                               settings.business_timezone)  # fmt: skip


def _check_decidable(message: InboundMessage, decision: str) -> None:
    if message.review_status != ReviewStatus.PENDING:
        if message.review_status in DECISION_LABELS:
            when = message.reviewed_at.strftime("%d %b %Y %H:%M") if message.reviewed_at else ""
            raise UserInputError(
                f"This reply was already reviewed by {message.reviewed_by or 'someone'}"
                f"{' on ' + when + ' UTC' if when else ''}: "
                f"{DECISION_LABELS[message.review_status]}. Nothing was changed."
            )
        raise UserInputError("This reply is not waiting for review.")
    wanted = DECISIONS[decision][0]
    if (message.classification or ReplyKind.POSSIBLE_OPT_OUT.value) != wanted:
        raise UserInputError(f"'{decision}' does not apply to this reply.", field="decision")


def _apply_decision(
    session: Session,
    message: InboundMessage,
    decision: str,
    actor: str,
    clock: Clock,
    settings: AppSettings,
) -> tuple[list[int], bool]:
    """Apply a decision; (contacts changed, whether a confirmation text was requested)."""
    e164 = message.from_e164
    if decision in (ReviewDecision.OPT_OUT, ReviewDecision.RE_CONSENT) and not e164:
        raise UserInputError(
            f"The sender {message.from_number!r} is not a phone number that can be "
            "opted out or in; mark it the other way or handle it in Twilio."
        )
    if decision == ReviewDecision.OPT_OUT and e164:
        zone = settings.business_timezone
        outcome = consent.opt_out_number(
            session,
            e164,
            source=ConsentSource.REVIEW,
            actor=actor,
            evidence=message.body,
            message_sid=message.sid,
            received_at=message.date_sent,
            summary=f"Opted out after review by {actor} of a reply received "
            f"{received_text(message.date_sent, zone)} ({message.sid})",
            clock=clock,
        )
        confirm = False
        if outcome.contact_ids or outcome.number_suppressed:  # Twilio never confirms these
            verdict = classify_reply(message.body, keywords=settings.keywords)
            confirm = confirmations.request_confirmation(
                session, key=confirmations.reply_key(message.sid), e164=e164,
                contact_id=outcome.contact_ids[0] if outcome.contact_ids else None,
                language=verdict.language, requested_at=message.date_sent, requested_by=actor,
                settings=settings, clock=clock,
            )  # fmt: skip
        return outcome.contact_ids, confirm
    if decision == ReviewDecision.RE_CONSENT and e164:
        changed = consent.re_consent_number(
            session,
            e164,
            message_sid=message.sid,
            received_at=message.date_sent,
            body=message.body,
            actor=actor,
            clock=clock,
        )
        return changed, False
    return [], False


def list_unknown_senders(
    session: Session, default_region: str = "US", limit: int = 500
) -> list[UnknownSender]:
    """Numbers that texted us but match no contact, most recent first."""
    known = exists().where(Contact.phone_e164 == InboundMessage.from_e164)
    grouped = list(
        session.execute(
            select(
                InboundMessage.from_number,
                func.count(InboundMessage.id),
                func.max(InboundMessage.id),
            )
            .where(~known)
            .group_by(InboundMessage.from_number)
            .order_by(func.max(InboundMessage.date_sent).desc())
            .limit(limit)
        )
    )
    latest = {
        m.id: m
        for m in session.scalars(
            select(InboundMessage).where(InboundMessage.id.in_([row[2] for row in grouped]))
        )
    }
    states = consent.consent_states(session, [(None, latest[r[2]].from_e164) for r in grouped])
    senders = []
    for (from_number, count, last_id), state in zip(grouped, states, strict=True):
        last = latest[last_id]
        senders.append(
            UnknownSender(
                from_number=from_number,
                from_display=format_for_reading(last.from_e164, default_region) or from_number,
                from_e164=last.from_e164,
                message_count=count,
                last_received_at=last.date_sent,
                last_body=last.body,
                opted_out=state.opted_out,
                consent=state,
            )
        )
    return senders
