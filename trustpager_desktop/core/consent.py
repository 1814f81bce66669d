"""Consent: opting out, re-consent, and the one rule for automation sends.

Every change here writes the flag, a consent event and an activity-log entry
in the caller's transaction, so they land together or not at all.

``may_automation_text`` is the only place that decides whether an automation
may text a contact or number. The outbound gateway calls it in the same
transaction that records the send (DESIGN promise 1).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Executable,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, delivery
from trustpager_desktop.core.business_days import review_deadline
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.journal import ContactState, WriteJournal
from trustpager_desktop.core.number_contacts import contacts_with_number
from trustpager_desktop.core.opt_in import (
    ConsentRecord,
    declines,
    keyword_record,
    parse_declined,
    record_from_reconsent,
    record_from_row,
    set_record,
)
from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.settings import AppSettings, load_settings, settings_from_stored
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentEventKind,
    ConsentSource,
    MessageOrigin,
    MessageStatus,
    ReviewStatus,
)
from trustpager_desktop.core.timefmt import business_zone, format_time
from trustpager_desktop.store import bulk
from trustpager_desktop.store.models import (
    Automation,
    ConsentEvent,
    Contact,
    InboundMessage,
    NumberSuppression,
    OutboundMessage,
    ProviderBlock,
    Setting,
    UndeliverableNumber,
)

# The old name of the sources, kept while code written against it moves to ConsentSource.
Source = ConsentSource


SOURCE_LABELS: dict[str, str] = {
    ConsentSource.MANUAL_TOGGLE: "manual toggle",
    ConsentSource.STOP_REPLY: "STOP reply",
    ConsentSource.TWILIO_21610: "Twilio (number unsubscribed, error 21610)",
    ConsentSource.IMPORT: "import",
    ConsentSource.REVIEW: "review of a reply",
    ConsentSource.NUMBER_SUPPRESSION: "earlier opt-out of this number",
    ConsentSource.START_REPLY: "START reply",
    ConsentSource.DNC_LIST: "do-not-contact list",
}

# Sources that speak for the phone number, not just one contact record.
NUMBER_LEVEL_SOURCES = {
    ConsentSource.STOP_REPLY, ConsentSource.TWILIO_21610, ConsentSource.REVIEW,
    ConsentSource.DNC_LIST,
}  # fmt: skip

RECONSENT_METHODS = {
    "verbal": "Verbal",
    "written": "Written",
    "web_form": "Web form",
    "start_reply": "START reply",
    "other": "Other",
}
NOTE_MAX = 2000


class ConsentStatus(enum.Enum):
    """What a person should know about texting a contact or a number (most serious first
    in ``consent_states``' order of checks)."""

    SUBSCRIBED = "subscribed"
    NO_NUMBER = "no_number"
    OPTED_OUT = "opted_out"  # this contact opted out
    NUMBER_OPTED_OUT = "number_opted_out"  # another contact with this number opted out
    NUMBER_SUPPRESSED = "number_suppressed"  # the number itself is held (earlier opt-out, list)
    AWAITING_START = "awaiting_start"  # re-consent recorded; Twilio still blocks the number
    HELD_FOR_REVIEW = "held_for_review"  # a reply that may be an opt-out waits for a person
    UNDELIVERABLE = "undeliverable"  # texts to the number keep failing (core.delivery)
    PURPOSE_DECLINED = "purpose_declined"  # the contact declined this automation's purpose
    NO_CONSENT_ON_RECORD = "no_consent_on_record"  # the setting asks for a record; none exists


class Severity(enum.Enum):
    """How a screen should colour a state."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    BLOCKED = "blocked"


class AutomationAnswer(enum.Enum):
    """What the automation rule does with a text to this recipient right now."""

    SEND = "send"
    WAIT = "wait"  # held: the Auto Queue item waits, neither sent nor skipped
    SKIP = "skip"


REASON_SUBSCRIBED = "contact subscribed"
REASON_NO_NUMBER = "contact has no valid phone number"
REASON_OPTED_OUT = "contact opted out of SMS"
REASON_NUMBER_OPTED_OUT = "number opted out of SMS"
REASON_AWAITING_START = "re-consent recorded; waiting for the customer's START reply"
REASON_HELD = "reply waiting for review"
REASON_NO_CONSENT = "no consent on record"


def purpose_reason(purpose: str) -> str:
    """'declined Marketing texts'."""
    return f"declined {purpose} texts"


@dataclass(frozen=True)
class ConsentState:
    """The consent state of one recipient, as plain data: what every screen shows and
    what the automation rule enforces (``may_automation_text_many`` is built on it).

    ``label`` is a short status ("Opted out"), ``detail`` one plain sentence with how and
    when, ``reason`` the rule's words in the Auto Queue ("contact opted out of SMS").
    ``opted_out``: an opt-out applies (contact, number or suppression).
    ``provider_refuses``: Twilio blocks the number until the customer texts START, so a
    manual text will not go through either."""

    status: ConsentStatus
    label: str
    detail: str
    severity: Severity
    automation: AutomationAnswer
    reason: str
    opted_out: bool = False
    provider_refuses: bool = False
    since: datetime | None = None
    source: str | None = None
    via: str = ""  # the other contact a number opt-out came through
    pending_replies: int = 0  # replies from this number waiting on Needs review
    # The contact's opt-in consent record (None for a bare number) and declined purposes.
    record: ConsentRecord | None = None
    declined_purposes: tuple[str, ...] = ()

    @property
    def automation_allowed(self) -> bool:
        return self.automation is AutomationAnswer.SEND

    @property
    def needs_confirmation(self) -> bool:
        """A manual send should be confirmed first (Send and Ctrl+Enter alike)."""
        return self.opted_out or self.provider_refuses or self.automation is AutomationAnswer.WAIT

    @property
    def banner(self) -> str:
        """The Messaging card's warning, true for this state ('' when there is none)."""
        return _banner(self)

    def send_question(self, name: str) -> str:
        """The question before a manual send (see ``needs_confirmation``)."""
        return _send_question(self, name)


@dataclass(frozen=True)
class SendDecision:
    """The rule's answer for one text: ``allowed``, and if not, ``hold`` (wait) or skip."""

    allowed: bool
    reason: str
    hold: bool = False
    recipient_opted_out: bool = False
    state: ConsentState | None = None


@dataclass(frozen=True)
class NumberOptOutResult:
    contact_ids: list[int]
    number_suppressed: bool


# The state's lookups, built once: a batch of sends runs them hundreds of times. They
# are one UNION ALL, so a state costs one round trip to a distant database, not six.
# Every branch has the same columns: kind, key (a number, or a contact id as text),
# first and last name, source, a time, and a number (a contact id, a count, a code).
_NUMBERS: BindParameter[Any] = bindparam("numbers", expanding=True)
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
# On PostgreSQL the lists go as one array each (``= ANY(:numbers)``): the statement's text
# is then the same for every batch, so psycopg parses it once and the server prepares it
# once, where an IN list of 100 numbers in six branches was a new 600-parameter statement.
_NUMBER_ARRAY: BindParameter[Any] = bindparam("numbers", type_=postgresql.ARRAY(String))
_ID_ARRAY: BindParameter[Any] = bindparam("ids", type_=postgresql.ARRAY(Integer))


def _kind(name: str) -> Any:
    """A branch's kind, written into the statement (a bound value each would make the
    statement longer than psycopg caches its parsing for)."""
    return literal_column(f"'{name}'", String)


def _nothing(type_: Any) -> Any:
    """A typed NULL, so every branch of the UNION ALL has the same column types."""
    return cast(null(), type_)


def _among(
    column: Any, values: BindParameter[Any], array: BindParameter[Any], postgres: bool
) -> Any:
    """``column IN (:values)``; on PostgreSQL ``column = ANY(:array)``."""
    return column == any_(array) if postgres else column.in_(values)


_AT = Contact.sms_opted_out_at.type


def _fact_selects(postgres: bool) -> list[Any]:  # Select[...] of seven typed columns each
    def number_in(column: Any) -> Any:
        return _among(column, _NUMBERS, _NUMBER_ARRAY, postgres)

    def id_in(column: Any) -> Any:
        return _among(column, _IDS, _ID_ARRAY, postgres)

    return [
        select(_kind("by_number").label("kind"), Contact.phone_e164.label("key"),
               Contact.first_name.label("first"), Contact.last_name.label("last"),
               Contact.sms_opt_out_source.label("source"), Contact.sms_opted_out_at.label("at"),
               Contact.id.label("n"))
        .where(Contact.sms_opted_out.is_(True), number_in(Contact.phone_e164)),
        select(_kind("suppressed"), NumberSuppression.phone_e164, _nothing(String),
               _nothing(String), NumberSuppression.source, NumberSuppression.created_at,
               _nothing(Integer))
        .where(number_in(NumberSuppression.phone_e164), NumberSuppression.lifted_at.is_(None)),
        select(_kind("blocked"), ProviderBlock.phone_e164, _nothing(String), _nothing(String),
               ProviderBlock.source, ProviderBlock.blocked_at, _nothing(Integer))
        .where(number_in(ProviderBlock.phone_e164), ProviderBlock.cleared_at.is_(None)),
        select(_kind("pending"), InboundMessage.from_e164, _nothing(String), _nothing(String),
               _nothing(String), func.min(InboundMessage.date_sent), func.count())
        .where(
            InboundMessage.review_status == ReviewStatus.PENDING,
            InboundMessage.classification == ReplyKind.POSSIBLE_OPT_OUT,
            number_in(InboundMessage.from_e164),
        )
        .group_by(InboundMessage.from_e164),
        # core.delivery's rule: a number is skipped once its failures blocked it.
        select(_kind("undeliverable"), UndeliverableNumber.phone_e164, _nothing(String),
               _nothing(String), _nothing(String), _nothing(_AT), UndeliverableNumber.error_code)
        .where(UndeliverableNumber.blocked_at.is_not(None),
               number_in(UndeliverableNumber.phone_e164)),
        select(_kind("opted_out_id"), cast(Contact.id, String), _nothing(String),
               _nothing(String), Contact.sms_opt_out_source, Contact.sms_opted_out_at, Contact.id)
        .where(Contact.sms_opted_out.is_(True), id_in(Contact.id)),
        # The contact's opt-in record and declined purposes (issue 15), one row per contact:
        # key = declined purposes, first/last = method/evidence, source and time of consent.
        select(_kind("record"), Contact.declined_purposes, Contact.consent_method,
               cast(Contact.consent_evidence, String), Contact.consent_source, Contact.consent_at,
               Contact.id)
        .where(id_in(Contact.id)),
    ]  # fmt: skip


_FACT_SELECTS = _fact_selects(postgres=False)
_FACTS = {postgres: union_all(*_fact_selects(postgres)) for postgres in (False, True)}


def fact_selects() -> list[Select[Any]]:
    """The branches of the consent facts' UNION ALL (parameters ``numbers`` and ``ids``),
    for a caller that adds branches of its own to the same statement (the contact page).
    ``Facts.add_rows`` reads the result and ignores kinds it does not know."""
    return list(_FACT_SELECTS)


@dataclass
class Facts:
    """Everything ``consent_states`` needs about a set of recipients, read in one query."""

    opted_out_ids: dict[int, tuple[str | None, datetime | None]] = field(default_factory=dict)
    by_number: dict[str, tuple[str, str | None, datetime | None]] = field(default_factory=dict)
    suppressed: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    blocked: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    pending: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    undeliverable: dict[str, str] = field(default_factory=dict)  # number -> the reason
    records: dict[int, ConsentRecord] = field(default_factory=dict)  # contact -> opt-in record
    declined: dict[int, str] = field(default_factory=dict)  # contact -> declined purposes

    @classmethod
    def load(cls, session: Session, recipients: Sequence[tuple[int | None, str | None]]) -> Facts:
        numbers = sorted({e164 for _, e164 in recipients if e164})
        ids = sorted({cid for cid, e164 in recipients if cid is not None and e164})
        postgres = session.get_bind().dialect.name == "postgresql"
        rows = _fact_rows(session, _FACTS[postgres], numbers, ids, {}, at_least_once=False)
        facts = cls()
        facts.add_rows(rows)
        return facts

    def add_rows(self, rows: Sequence[Any]) -> None:
        """Take in rows of ``fact_selects()`` (kind first); other kinds are left alone."""
        by_number = []
        for kind, key, first, last, source, at, n in rows:
            if kind == "by_number":
                by_number.append((at is not None, at, n, key, f"{first} {last}".strip(), source))
            elif kind == "suppressed":
                self.suppressed[key] = (source, at)
            elif kind == "blocked":
                self.blocked[key] = (source, at)
            elif kind == "pending":
                self.pending[key] = (n, at)
            elif kind == "undeliverable":
                self.undeliverable[key] = f"number cannot receive texts: {delivery.block_reason(n)}"
            elif kind == "opted_out_id":
                self.opted_out_ids[n] = (source, at)
            elif kind == "record":
                self.records[n] = record_from_row(at, source, first, last)
                self.declined[n] = key or ""
        # The earliest opt-out names the number's (as ORDER BY opted-out time, id did).
        for _dated, at, _id, key, name, source in sorted(by_number, key=lambda r: r[:3]):
            self.by_number.setdefault(key, (name, source, at))

    def state(
        self, contact_id: int | None, e164: str | None, settings: AppSettings,
        purpose: str | None = None,
    ) -> ConsentState:  # fmt: skip
        """THE state of one recipient these facts were read for (``purpose``: the
        automation's, None for none), carrying the contact's opt-in record."""
        return _with_record(_state(contact_id, e164, self, settings, purpose), contact_id, self)


def _fact_rows(
    session: Session, statement: Executable, numbers: list[str], ids: list[int],
    params: dict[str, Any], *, at_least_once: bool,
) -> list[Any]:  # fmt: skip
    """The rows of ``statement`` for these numbers and contact ids (a statement per
    ``bulk.IN_LIST_SIZE`` of them; with ``at_least_once`` one even for none)."""
    rows: list[Any] = []
    run = session.connection().execute
    size = bulk.IN_LIST_SIZE
    for start in range(0, max(len(numbers), len(ids), 1 if at_least_once else 0), size):
        chunk = {"numbers": numbers[start : start + size], "ids": ids[start : start + size]}
        rows += run(statement, {**params, **chunk}).all()
    return rows


def consent_states(
    session: Session,
    recipients: Sequence[tuple[int | None, str | None]],
    *,
    settings: AppSettings | None = None,
    purposes: Sequence[str | None] | None = None,
) -> list[ConsentState]:
    """THE consent state of each (contact id, E.164 number) pair, in one query.

    The automation rule (``may_automation_text_many``) and every screen use this, so
    what a person sees is what the rule does. Checked in this order: no number; this
    contact opted out; the number opted out through another contact; the number held
    by a suppression; Twilio's STOP block after re-consent (waiting for START); a reply
    waiting for review (held, unless the setting turns holding off); texts to the number
    keep failing (``core.delivery``: skipped, not an opt-out); the contact declined the
    purpose of the text (``purposes``, one per recipient: an automation's purpose, None
    for none); no consent on record while the setting asks for one; else subscribed.
    An opt-out covers every purpose: it is checked first. ``contact_id`` may be None for
    a bare number (no record, no purposes). Read in the caller's transaction."""
    settings = settings or load_settings(session)
    facts = Facts.load(session, recipients)
    wanted = list(purposes) if purposes is not None else [None] * len(recipients)
    return [
        facts.state(cid, e164, settings, purpose)
        for (cid, e164), purpose in zip(recipients, wanted, strict=True)
    ]


def _with_record(state: ConsentState, cid: int | None, facts: Facts) -> ConsentState:
    """Every state of a contact carries its opt-in record and declined purposes."""
    if cid is None or cid not in facts.records:
        return state
    return dataclasses.replace(state, record=facts.records[cid],
                               declined_purposes=parse_declined(facts.declined.get(cid)))  # fmt: skip


def consent_state(
    session: Session, contact_id: int | None, e164: str | None, *,
    settings: AppSettings | None = None,
) -> ConsentState:  # fmt: skip
    """``consent_states`` for one recipient."""
    return consent_states(session, [(contact_id, e164)], settings=settings)[0]


def contact_consent_state(session: Session, contact_id: int) -> ConsentState:
    """The state of a contact by id (its current number). Raises NotFoundError."""
    phone = session.scalar(select(Contact.phone_e164).where(Contact.id == contact_id))
    if phone is None and session.get(Contact, contact_id) is None:
        raise NotFoundError(f"Contact {contact_id} no longer exists.")
    return consent_state(session, contact_id, phone)


def contact_states(
    session: Session, contact_ids: Sequence[int], *, purpose: str | None = None
) -> dict[int, ConsentState]:
    """The state of each contact by id (their current numbers); missing ids are left out.
    With ``purpose`` (an automation's), a contact who declined it shows that."""
    phones: dict[int, str | None] = {}
    for chunk in bulk.chunks(sorted(set(contact_ids))):
        rows = session.execute(select(Contact.id, Contact.phone_e164).where(Contact.id.in_(chunk)))
        phones.update({cid: phone for cid, phone in rows})
    states = consent_states(session, list(phones.items()), purposes=[purpose] * len(phones))
    return dict(zip(phones, states, strict=True))


def describe_audience(states: Sequence[ConsentState]) -> str:
    """One warning for a group about to be enrolled: how many are opted out (or otherwise
    skipped) and how many are held. '' when every text may go."""
    total = len(states)
    skipped = [s for s in states if s.automation is AutomationAnswer.SKIP]
    held = sum(1 for s in states if s.automation is AutomationAnswer.WAIT)
    opted_out = sum(1 for s in skipped if s.opted_out)
    parts = []
    if opted_out:
        parts.append(f"{opted_out} of {total} opted out of SMS: their texts will be skipped.")
    others = [s for s in skipped if not s.opted_out]
    if others:
        reasons = ", ".join(dict.fromkeys(_AUDIENCE_REASONS.get(s.status, s.reason)
                                          for s in others))  # fmt: skip
        parts.append(f"{len(others)} of {total} cannot be texted now ({reasons}): their texts "
                     "will be skipped.")  # fmt: skip
    if held:
        parts.append(f"{held} of {total} held: a reply waits for review, so their texts "
                     "wait until someone decides.")  # fmt: skip
    return " ".join(parts)


_AUDIENCE_REASONS = {
    ConsentStatus.NO_NUMBER: "no number",
    ConsentStatus.AWAITING_START: "waiting for the customer's START reply",
}


def _state(
    cid: int | None, e164: str | None, facts: Facts, settings: AppSettings, purpose: str | None
) -> ConsentState:
    if not e164:
        return ConsentState(ConsentStatus.NO_NUMBER, "No phone number",
                            "Add a valid phone number to text this contact.", Severity.INFO,
                            AutomationAnswer.SKIP, REASON_NO_NUMBER)  # fmt: skip
    blocked = facts.blocked.get(e164)
    pending = facts.pending.get(e164, (0, None))[0]
    when = functools.partial(_when, zone=settings.business_timezone)
    if cid is not None and cid in facts.opted_out_ids:
        source, at = facts.opted_out_ids[cid]
        detail = f"Opted out since {when(at)} by {_label(source)}"
        return _blocked_state(ConsentStatus.OPTED_OUT, "Opted out", detail, REASON_OPTED_OUT,
                              blocked, at, source, "", pending)  # fmt: skip
    if e164 in facts.by_number:
        name, source, at = facts.by_number[e164]
        detail = (f"This number is opted out through {name or 'another contact'} "
                  f"({_label(source)}, {when(at)}). Automations skip it.")  # fmt: skip
        return _blocked_state(ConsentStatus.NUMBER_OPTED_OUT, "Number opted out", detail,
                              REASON_NUMBER_OPTED_OUT, blocked, at, source, name, pending)  # fmt: skip
    if e164 in facts.suppressed:
        source, at = facts.suppressed[e164]
        detail = (f"This number was opted out by {_label(source)} on {when(at)}; the opt-out "
                  "stays on the number. Automations skip it.")  # fmt: skip
        return _blocked_state(ConsentStatus.NUMBER_SUPPRESSED, "Number opted out", detail,
                              REASON_NUMBER_OPTED_OUT, blocked, at, source, "", pending)  # fmt: skip
    if blocked is not None:
        source, at = blocked
        detail = (f"Twilio refuses texts to this number since the {_label(source)} of "
                  f"{when(at)}, until the customer texts START. Automations skip it.")  # fmt: skip
        return ConsentState(ConsentStatus.AWAITING_START, "Re-consent recorded; waiting for "
                            "the customer's START reply", detail, Severity.WARNING,
                            AutomationAnswer.SKIP, REASON_AWAITING_START, provider_refuses=True,
                            since=at, source=source, pending_replies=pending)  # fmt: skip
    personal = _personal_state(cid, facts, settings, purpose, pending)
    if personal is not None:
        return personal
    if pending:
        held = _pending_state(pending, facts.pending[e164][1], settings)
        if not held.automation_allowed or e164 not in facts.undeliverable:
            return held
    if e164 in facts.undeliverable:
        reason = facts.undeliverable[e164]
        return ConsentState(ConsentStatus.UNDELIVERABLE, "Texts to this number fail",
                            f"Automations skip this number: {reason}.", Severity.WARNING,
                            AutomationAnswer.SKIP, reason, pending_replies=pending)  # fmt: skip
    return ConsentState(ConsentStatus.SUBSCRIBED, "Subscribed",
                        "Automations may text this contact.", Severity.OK,
                        AutomationAnswer.SEND, REASON_SUBSCRIBED)  # fmt: skip


def _personal_state(
    cid: int | None, facts: Facts, settings: AppSettings, purpose: str | None, pending: int
) -> ConsentState | None:
    """What the contact's own preferences say (after every opt-out, which covers all
    purposes): a declined purpose, or no consent on record when the setting asks."""
    if cid is None or cid not in facts.records:
        return None
    if purpose and declines(facts.declined.get(cid), purpose):
        return ConsentState(ConsentStatus.PURPOSE_DECLINED, f"Declined {purpose} texts",
                            f"This contact declined {purpose} texts; automations serving "
                            f"{purpose} skip them.", Severity.INFO, AutomationAnswer.SKIP,
                            purpose_reason(purpose), pending_replies=pending)  # fmt: skip
    if settings.automations_need_consent and not facts.records[cid].on_record:
        return ConsentState(ConsentStatus.NO_CONSENT_ON_RECORD, "No consent on record",
                            "No record of how this contact agreed to texts; automations "
                            "text only contacts with consent on record (Settings).",
                            Severity.INFO, AutomationAnswer.SKIP, REASON_NO_CONSENT,
                            pending_replies=pending)  # fmt: skip
    return None


def _blocked_state(
    status: ConsentStatus, label: str, detail: str, reason: str, blocked: object,
    at: datetime | None, source: str | None, via: str, pending: int,
) -> ConsentState:  # fmt: skip
    if blocked is not None:
        detail = detail.rstrip(".") + (". Twilio refuses texts to this number until the "
                                       "customer texts START.")  # fmt: skip
    return ConsentState(status, label, detail, Severity.BLOCKED, AutomationAnswer.SKIP, reason,
                        opted_out=True, provider_refuses=blocked is not None, since=at,
                        source=source, via=via, pending_replies=pending)  # fmt: skip


def _pending_state(count: int, first: datetime, settings: AppSettings) -> ConsentState:
    replies = "A reply" if count == 1 else f"{count} replies"
    received = _when(first, settings.business_timezone)
    due = review_deadline(first, settings.business_timezone).due_day.strftime("%a %d %b %Y")
    if settings.hold_while_pending:
        detail = (f"{replies} that may be an opt-out (received {received}) waiting on Needs "
                  f"review; decide by {due}. Automation texts wait until someone decides.")  # fmt: skip
        return ConsentState(ConsentStatus.HELD_FOR_REVIEW, "Held: reply waiting for review",
                            detail, Severity.WARNING, AutomationAnswer.WAIT, REASON_HELD,
                            since=first, pending_replies=count)  # fmt: skip
    detail = (f"{replies} that may be an opt-out (received {received}) waiting on Needs review. "
              "Holding is turned off in Settings: automations still text this number.")  # fmt: skip
    return ConsentState(ConsentStatus.SUBSCRIBED, "Subscribed (reply waiting for review)", detail,
                        Severity.WARNING, AutomationAnswer.SEND, REASON_SUBSCRIBED, since=first,
                        pending_replies=count)  # fmt: skip


def _label(source: str | None) -> str:
    return SOURCE_LABELS.get(source or "", source or "an earlier opt-out")


def _when(at: datetime | None, zone: str) -> str:
    """'26 Nov 2026, 10:04' in the business time zone (the one format of every screen)."""
    return format_time(at, zone) if at is not None else "an unknown time"


def _banner(state: ConsentState) -> str:
    refuses = (" Twilio refuses texts to this number until the customer texts START: a manual "
               "text will NOT go through.")  # fmt: skip
    goes = " A manual text still goes through after you confirm it."
    if state.status is ConsentStatus.OPTED_OUT:
        text = "This contact opted out of SMS. Automations will not text them."
    elif state.status is ConsentStatus.NUMBER_OPTED_OUT:
        text = (f"This number is opted out through {state.via or 'another contact'}. "
                "Automations will not text it.")  # fmt: skip
    elif state.status is ConsentStatus.NUMBER_SUPPRESSED:
        text = "This number was opted out earlier. Automations will not text it."
    elif state.status is ConsentStatus.AWAITING_START:
        return ("Re-consent is recorded, but Twilio refuses texts to this number until the "
                "customer texts START: a manual text will NOT go through, and automations "
                "skip it.")  # fmt: skip
    elif state.status is ConsentStatus.HELD_FOR_REVIEW:
        text = ("A reply from this number may be an opt-out and waits on Needs review. "
                "Automation texts are held until someone decides.")  # fmt: skip
    else:
        return ""
    return text + (refuses if state.provider_refuses else goes)


def _send_question(state: ConsentState, name: str) -> str:
    if state.provider_refuses:
        return (f"Twilio refuses texts to {name}'s number until they text START, so this "
                "text will not be delivered (Twilio answers error 21610 and the number is "
                "recorded as opted out again).\n\nTry to send it anyway?")  # fmt: skip
    if state.opted_out:
        return (f"{state.detail}\n\nSend this text to {name} anyway? It will be recorded as "
                "a manual send to an opted-out contact.")  # fmt: skip
    return f"{state.detail}\n\nSend this text to {name} anyway?"


def may_automation_text(session: Session, contact_id: int | None, e164: str | None) -> SendDecision:
    """May an automation text this contact at this number right now?

    ``may_automation_text_many`` for one recipient. Call it inside the transaction that
    records the send so a just-saved opt-out (or a just-stored reply) is seen.
    """
    return may_automation_text_many(session, [(contact_id, e164)])[0]


def may_automation_text_many(
    session: Session,
    recipients: Sequence[tuple[int | None, str | None]],
    *,
    clock: Clock = SYSTEM_CLOCK,
    frequency_cap: bool = True,
    automation_ids: Sequence[int | None] | None = None,
) -> list[SendDecision]:
    """THE automation rule, for several (contact id, number) pairs in one go.

    No (skip) when the consent state says skip (no number, opted out, number opted
    out, Twilio blocking after re-consent) and when the contact already had the
    setting's number of automation texts in the last 24 hours (``frequency_cap``;
    counted through the batch in order). No with ``hold`` (the text waits) while a
    reply that may be an opt-out waits for review. Same transaction requirement as
    ``may_automation_text``: the single form calls this, so they never disagree.
    ``automation_ids`` (one per recipient, None for none) name the automations sending:
    a contact who declined an automation's purpose is skipped (read here, in the
    same transaction).
    """
    lookups = _rule_lookups(session, recipients, automation_ids, clock.now() - _CAP_WINDOW,
                            frequency_cap)  # fmt: skip
    settings = lookups.settings
    states = [
        lookups.facts.state(cid, e164, settings, purpose)
        for (cid, e164), purpose in zip(recipients, lookups.purposes, strict=True)
    ]
    cap = settings.automation_texts_per_day if frequency_cap else 0
    sent = lookups.sent if cap else {}
    decisions = []
    for (cid, _e164), state in zip(recipients, states, strict=True):
        if not state.automation_allowed:
            decisions.append(SendDecision(False, state.reason, state.automation is
                                          AutomationAnswer.WAIT, state.opted_out, state))  # fmt: skip
        elif cap and cid is not None and sent.get(cid, 0) >= cap:
            decisions.append(SendDecision(False, frequency_cap_reason(cap), state=state))
        else:
            if cid is not None:
                sent[cid] = sent.get(cid, 0) + 1
            decisions.append(SendDecision(True, state.reason, state=state))
    return decisions


def automation_purposes(session: Session, automation_ids: Sequence[int | None]) -> list[str | None]:
    """The purpose of each automation (None where the id is None or no longer exists)."""
    ids = sorted({a for a in automation_ids if a is not None})
    found: dict[int, str] = {}
    for chunk in bulk.chunks(ids):
        rows = session.execute(select(Automation.id, Automation.purpose).where(
            Automation.id.in_(chunk)))  # fmt: skip
        found.update({aid: purpose for aid, purpose in rows})
    return [found.get(a) if a is not None else None for a in automation_ids]


_CAP_WINDOW = timedelta(hours=24)
_COUNTED_STATUSES = (MessageStatus.SENT, MessageStatus.SENDING)
# The same set said as its complement: "status IN" lets PostgreSQL's planner pick the
# status index, which during a big dispatch (statistics a minute behind) costs 20x the
# (contact_id, created_at) index that "NOT IN" leaves it (migration 0015).
_NOT_COUNTED_STATUSES = tuple(s for s in MessageStatus if s not in _COUNTED_STATUSES)


def frequency_cap_reason(cap: int) -> str:
    """'frequency cap: 3 texts in 24 hours'."""
    return f"frequency cap: {cap} text{'s' if cap != 1 else ''} in 24 hours"


_AUTOMATIONS: BindParameter[Any] = bindparam("automations", expanding=True)
_AUTOMATION_ARRAY: BindParameter[Any] = bindparam("automations", type_=postgresql.ARRAY(Integer))
_SINCE: BindParameter[Any] = bindparam("since", type_=OutboundMessage.created_at.type)


def _rule_selects(postgres: bool, frequency_cap: bool) -> list[Any]:
    """The facts' branches plus the rule's own lookups, so a batch's rule is ONE round
    trip: the settings, the purpose of each sending automation, and (``frequency_cap``)
    each contact's automation texts sent or being sent since ``since``."""
    selects = _fact_selects(postgres)
    selects.append(select(_kind("setting"), Setting.key, cast(Setting.value, String),
                          _nothing(String), _nothing(String), _nothing(_AT), _nothing(Integer)))  # fmt: skip
    selects.append(
        select(_kind("purpose"), Automation.purpose, _nothing(String), _nothing(String),
               _nothing(String), _nothing(_AT), Automation.id)
        .where(_among(Automation.id, _AUTOMATIONS, _AUTOMATION_ARRAY, postgres))
    )  # fmt: skip
    if frequency_cap:
        # Counted per contact through its (contact_id, created_at) index: a lookup of one
        # contact's texts stays an index lookup whatever the planner's statistics say
        # (a count over a list of contacts was planned as a scan of the whole table while
        # the statistics were older than a big dispatch).
        recent = (
            select(func.count())
            .where(OutboundMessage.contact_id == Contact.id,
                   OutboundMessage.origin == MessageOrigin.AUTOMATION,
                   OutboundMessage.status.not_in(_NOT_COUNTED_STATUSES),
                   OutboundMessage.created_at > _SINCE)
            .correlate(Contact)
            .scalar_subquery()
        )  # fmt: skip
        selects.append(
            select(_kind("recent"), cast(Contact.id, String), _nothing(String),
                   _nothing(String), _nothing(String), _nothing(_AT), recent)
            .where(_among(Contact.id, _IDS, _ID_ARRAY, postgres), recent > 0)
        )  # fmt: skip
    return selects


_RULE = {
    (postgres, cap): union_all(*_rule_selects(postgres, cap))
    for postgres in (False, True)
    for cap in (False, True)
}


@dataclass
class _RuleLookups:
    facts: Facts
    settings: AppSettings
    purposes: list[str | None]  # one per recipient
    sent: dict[int, int]  # contact id -> automation texts in the cap's window


def _rule_lookups(
    session: Session,
    recipients: Sequence[tuple[int | None, str | None]],
    automation_ids: Sequence[int | None] | None,
    since: datetime,
    frequency_cap: bool,
) -> _RuleLookups:
    """Everything the rule reads for a batch, in one statement (``_rule_selects``)."""
    numbers = sorted({e164 for _, e164 in recipients if e164})
    ids = sorted({cid for cid, e164 in recipients if cid is not None and e164})
    automations = sorted({a for a in automation_ids or () if a is not None})
    postgres = session.get_bind().dialect.name == "postgresql"
    params = {"automations": automations, "since": since}
    rows = _fact_rows(session, _RULE[postgres, frequency_cap], numbers, ids, params,
                      at_least_once=True)  # fmt: skip
    stored: dict[str, str] = {}
    purpose_of: dict[int, str] = {}
    sent: dict[int, int] = {}
    for kind, key, first, _last, _source, _at, n in rows:
        if kind == "setting":
            stored[key] = first
        elif kind == "purpose":
            purpose_of[n] = key
        elif kind == "recent":
            sent[int(key)] = n
    facts = Facts()
    facts.add_rows(rows)
    wanted = automation_ids or [None] * len(recipients)
    purposes = [purpose_of.get(a) if a is not None else None for a in wanted]
    return _RuleLookups(facts, settings_from_stored(stored), purposes, sent)


def is_number_suppressed(session: Session, e164: str | None) -> NumberSuppression | None:
    if not e164:
        return None
    return session.scalar(
        select(NumberSuppression).where(
            NumberSuppression.phone_e164 == e164, NumberSuppression.lifted_at.is_(None)
        )
    )


@dataclass(frozen=True)
class NumberOptOut:
    """One opt-out of a phone number, for ``opt_out_numbers`` (``opt_out_number``'s arguments)."""

    e164: str
    source: str
    actor: str
    evidence: str = ""
    message_sid: str | None = None
    received_at: datetime | None = None
    summary: str | None = None


def opt_out_contact(
    session: Session,
    contact: Contact,
    *,
    source: str,
    actor: str,
    evidence: str = "",
    message_sid: str | None = None,
    received_at: datetime | None = None,
    summary: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Opt one contact out. Returns False (and records nothing) if already opted out."""
    session.flush()  # a new or edited contact must be in the database before we write
    if contact.sms_opted_out:
        return False
    state = ContactState(contact.id, contact.phone_e164, contact.display_name, False)
    item = NumberOptOut(contact.phone_e164 or "", source, actor, evidence, message_sid,
                        received_at, summary)  # fmt: skip
    journal = WriteJournal.open(session, clock)
    _opt_out_contact(journal, state, item, clock.now())
    journal.flush()
    return True


def opt_out_number(
    session: Session,
    e164: str,
    *,
    source: str,
    actor: str,
    evidence: str = "",
    message_sid: str | None = None,
    received_at: datetime | None = None,
    summary: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> NumberOptOutResult:
    """Opt out every contact with this number and hold the number itself as suppressed,
    so a contact created later with it starts opted out (DESIGN promise 6).
    ``opt_out_numbers`` for one number: the same rule."""
    item = NumberOptOut(e164, source, actor, evidence, message_sid, received_at, summary)
    return opt_out_numbers(session, [item], clock=clock)[0]


def opt_out_numbers(
    session: Session,
    items: Sequence[NumberOptOut],
    *,
    clock: Clock = SYSTEM_CLOCK,
    journal: WriteJournal | None = None,
) -> list[NumberOptOutResult]:
    """``opt_out_number`` for many numbers, in order, in the caller's transaction.

    Exactly the records the single form makes, one after the other (a number listed
    twice is opted out once). Returns one result per item, decided now. The records go
    through the transaction's write journal: with ``journal`` given they are written at
    its next flush (the caller's, with the batch's others); without, before returning."""
    own = journal is None
    if journal is None:
        journal = WriteJournal.open(session, clock)
    load_numbers(journal, [item.e164 for item in items])
    results = []
    for item in items:
        now = clock.now()
        found = journal.contacts.get(item.e164, [])
        changed = [c.id for c in found if _opt_out_contact(journal, c, item, now)]
        suppressed = _suppress_number(journal, item, not found, now)
        results.append(NumberOptOutResult(contact_ids=changed, number_suppressed=suppressed))
    if own:
        journal.flush()
    return results


def load_numbers(journal: WriteJournal, numbers: list[str]) -> None:
    """Read the contacts and suppression of the numbers ``journal`` does not know yet, in
    one query each (a batch reads its numbers once, before its STOPs are acted on)."""
    wanted = journal.unknown(numbers)
    if not wanted:
        return
    journal.session.flush()  # contacts added or edited in this transaction are read below
    contacts = _contacts_by_number(journal.session, wanted)
    journal.remember(wanted, contacts, _suppressions_by_number(journal.session, wanted))


def hold_number(session: Session, item: NumberOptOut, *, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Hold ``item.e164`` as suppressed without a consent event or log entry of its own
    (the caller records why, e.g. deleting an opted-out contact). False if already held."""
    journal = WriteJournal.open(session, clock)
    journal.suppressions.update(_suppressions_by_number(session, [item.e164]))
    held = _suppress_number(journal, item, False, clock.now())
    journal.flush()
    return held


def _contacts_by_number(session: Session, numbers: list[str]) -> dict[str, list[ContactState]]:
    found: dict[str, list[ContactState]] = {}
    for chunk in bulk.chunks(numbers):
        rows = session.execute(
            select(Contact.id, Contact.phone_e164, Contact.first_name, Contact.last_name,
                   Contact.sms_opted_out)
            .where(Contact.phone_e164.in_(chunk))
            .order_by(Contact.id)
        )  # fmt: skip
        for cid, phone, first, last, opted_out in rows:
            state = ContactState(cid, phone, f"{first} {last}".strip(), bool(opted_out))
            if phone is not None:
                found.setdefault(phone, []).append(state)
    return found


def _suppressions_by_number(session: Session, numbers: list[str]) -> dict[str, bool]:
    """Number -> whether its suppression is active (lifted ones: False; none: absent)."""
    found: dict[str, bool] = {}
    for chunk in bulk.chunks(numbers):
        rows = session.execute(
            select(NumberSuppression.phone_e164, NumberSuppression.lifted_at).where(
                NumberSuppression.phone_e164.in_(chunk)
            )
        )
        found.update({phone: lifted is None for phone, lifted in rows})
    return found


def _event_row(
    *,
    kind: ConsentEventKind,
    contact_id: int | None,
    phone: str | None,
    source: str,
    actor: str,
    evidence: str,
    message_sid: str | None,
    received_at: datetime,
    now: datetime,
    method: str | None = None,
) -> dict[str, Any]:
    """The ``consent_events`` columns of one event: the one place they are filled in,
    whether the row is added alone or with a batch's others in one statement."""
    return {
        "contact_id": contact_id,
        "phone_e164": phone,
        "kind": kind,
        "source": source,
        "method": method,
        "evidence": evidence,
        "message_sid": message_sid,
        "actor": actor,
        "received_at": received_at,
        "recorded_at": now,
    }


def _add_event(session: Session, **columns: Any) -> None:
    """One event on its own (``_event_row``'s arguments), flushed with the session."""
    session.add(ConsentEvent(**_event_row(**columns)))


def _opt_out_event_row(
    item: NumberOptOut, contact_id: int | None, phone: str | None, now: datetime
) -> dict[str, Any]:
    return _event_row(kind=ConsentEventKind.OPT_OUT, contact_id=contact_id, phone=phone,
                      source=item.source, actor=item.actor, evidence=item.evidence,
                      message_sid=item.message_sid, received_at=item.received_at or now,
                      now=now)  # fmt: skip


def _opt_out_contact(
    journal: WriteJournal, contact: ContactState, item: NumberOptOut, now: datetime
) -> bool:
    """The per-contact rule: flag, consent event, log entry; nothing when already opted out."""
    if contact.opted_out:
        return False
    contact.opted_out = True
    received = item.received_at or now
    journal.consent.flags.append({"contact_id": contact.id, "sms_opted_out_at": received,
                                  "sms_opt_out_source": item.source, "updated_at": now})  # fmt: skip
    journal.consent.events.append(_opt_out_event_row(item, contact.id, contact.phone_e164, now))
    journal.log(
        activity.LogEntry(
            kind=ActivityKind.OPT_OUT,
            summary=item.summary
            or f"Opted out of SMS by {SOURCE_LABELS.get(item.source, item.source)}",
            actor=item.actor,
            contact_id=contact.id,
            contact_name=contact.name,
            details={
                "source": item.source,
                "evidence": item.evidence,
                "message_sid": item.message_sid,
            },
            occurred_at=received,
        )
    )
    return True


def _suppress_number(
    journal: WriteJournal, item: NumberOptOut, log_it: bool, now: datetime
) -> bool:
    """Record a number-level suppression; the event and log entry only when no contact has it.
    False when the number is already held."""
    suppressions = journal.suppressions
    if suppressions.get(item.e164):
        return False
    values = {"source": item.source, "evidence": item.evidence, "message_sid": item.message_sid,
              "lifted_at": None, "created_at": now}  # fmt: skip
    if item.e164 in suppressions:  # lifted earlier: hold it again
        journal.consent.renewed_suppressions.append({"number": item.e164, **values})
    else:
        journal.consent.new_suppressions.append({"phone_e164": item.e164, **values})
    suppressions[item.e164] = True
    if log_it:
        received = item.received_at or now
        journal.consent.events.append(_opt_out_event_row(item, None, item.e164, now))
        label = SOURCE_LABELS.get(item.source, item.source)
        journal.log(
            activity.LogEntry(
                kind=ActivityKind.OPT_OUT,
                summary=(item.summary or f"Number {item.e164} opted out by {label}")
                + " (no contact has this number yet)",
                actor=item.actor,
                details={
                    "source": item.source,
                    "phone": item.e164,
                    "evidence": item.evidence,
                    "message_sid": item.message_sid,
                },
                occurred_at=received,
            )
        )
    return True


def validate_reconsent(method: str, note: str, message_sid: str | None = None) -> str:
    """Check a re-consent request; returns the cleaned note or raises UserInputError."""
    if method not in RECONSENT_METHODS:
        raise UserInputError(
            "Choose how consent was obtained: verbal, written, web form, START reply or other.",
            field="method",
        )
    note = (note or "").strip()
    if method == "start_reply" and not (message_sid or note):
        raise UserInputError(
            "A START reply re-consent needs the reply's message SID.", field="note"
        )
    if method != "start_reply" and not note:
        raise UserInputError(
            "Add a note saying how and when the contact agreed to receive texts again.",
            field="note",
        )
    if len(note) > NOTE_MAX:
        raise UserInputError(f"The note is too long ({NOTE_MAX} characters at most).", field="note")
    return note


def re_consent_contact(
    session: Session,
    contact: Contact,
    *,
    method: str,
    note: str,
    actor: str,
    message_sid: str | None = None,
    received_at: datetime | None = None,
    clock: Clock = SYSTEM_CLOCK,
    record: ConsentRecord | None = None,
) -> bool:
    """Remove an opt-out, recording how consent was obtained (DESIGN promise 5).

    Raises UserInputError without changing anything when method or note is
    missing. Returns False if neither the contact nor its number was opted out. Also
    lifts a suppression held on the contact's number: the person behind it agreed again
    (which is all there is to do when only the number was held). The contact's opt-in
    consent record becomes this re-consent (``record``, or one made of method and note).
    """
    note = validate_reconsent(method, note, message_sid)
    if not contact.sms_opted_out and is_number_suppressed(session, contact.phone_e164) is None:
        return False
    now = clock.now()
    received = received_at or now
    contact.sms_opted_out = False
    contact.sms_opted_out_at = None
    contact.sms_opt_out_source = None
    contact.updated_at = now
    _add_event(
        session,
        kind=ConsentEventKind.RE_CONSENT,
        contact_id=contact.id,
        phone=contact.phone_e164,
        source=ConsentSource.START_REPLY
        if method == "start_reply"
        else ConsentSource.MANUAL_TOGGLE,
        method=method,
        actor=actor,
        evidence=note,
        message_sid=message_sid,
        received_at=received,
        now=now,
    )
    _lift_suppression(session, contact.phone_e164, now)
    label = RECONSENT_METHODS[method]
    sid_text = f" ({message_sid})" if message_sid else ""
    # The opt-in record first, so the re-consent entry stays the contact's newest.
    record = record or record_from_reconsent(method, note, received, message_sid, label)
    set_record(session, contact, record, actor=actor, why="re-consent",
               zone=load_settings(session).business_timezone, clock=clock)  # fmt: skip
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.RE_CONSENT,
            summary=f"Re-consent recorded: {label}{sid_text}" + (f": {note}" if note else ""),
            actor=actor,
            contact=contact,
            details={"method": method, "note": note, "message_sid": message_sid},
            occurred_at=received,
        ),
        clock=clock,
    )
    return True


def record_keyword_consent(
    session: Session,
    e164: str,
    *,
    message_sid: str,
    received_at: datetime,
    body: str,
    actor: str = "Inbox",
    clock: Clock = SYSTEM_CLOCK,
) -> list[int]:
    """A START-type reply (START, YES...) from a number nobody opted out: it is consent by
    keyword reply, so each contact with the number gets it as their consent record (the
    log keeps the record it replaces). Returns the contacts whose record changed."""
    record = keyword_record("", received_at, message_sid, body)
    zone = load_settings(session).business_timezone
    return [c.id for c in contacts_with_number(session, e164)
            if set_record(session, c, record, actor=actor, zone=zone, clock=clock)]  # fmt: skip


def _lift_suppression(session: Session, e164: str | None, now: datetime) -> None:
    row = is_number_suppressed(session, e164)
    if row is not None:
        row.lifted_at = now


def re_consent_number(
    session: Session,
    e164: str,
    *,
    message_sid: str,
    received_at: datetime,
    body: str,
    actor: str = "Inbox",
    clock: Clock = SYSTEM_CLOCK,
) -> list[int]:
    """A START reply: re-consent every opted-out contact with this number and lift its suppression."""
    changed = [
        c.id
        for c in contacts_with_number(session, e164)
        if c.sms_opted_out
        and re_consent_contact(
            session,
            c,
            method="start_reply",
            note=f"Reply: {body.strip()[:200]}",
            actor=actor,
            message_sid=message_sid,
            received_at=received_at,
            clock=clock,
            record=keyword_record("", received_at, message_sid, body),
        )
    ]
    if not changed and is_number_suppressed(session, e164) is not None:
        now = clock.now()
        _lift_suppression(session, e164, now)
        _add_event(
            session,
            kind=ConsentEventKind.RE_CONSENT,
            contact_id=None,
            phone=e164,
            source=ConsentSource.START_REPLY,
            method="start_reply",
            actor=actor,
            evidence=f"Reply: {body.strip()[:200]}",
            message_sid=message_sid,
            received_at=received_at,
            now=now,
        )
        activity.append(
            session,
            activity.LogEntry(
                kind=ActivityKind.RE_CONSENT,
                summary=f"Number {e164} opted back in by START reply ({message_sid})",
                actor=actor,
                details={"phone": e164, "message_sid": message_sid},
                occurred_at=received_at,
            ),
            clock=clock,
        )
    return changed


def number_is_opted_out(session: Session, e164: str | None) -> bool:
    """True when anyone holds an opt-out on this number (a contact or a suppression)."""
    return consent_state(session, None, e164).opted_out if e164 else False


# ---- Twilio's own STOP block -----------------------------------------------------------


def record_provider_block(
    session: Session,
    e164: str,
    *,
    source: str,
    at: datetime,
    message_sid: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Remember that Twilio refuses texts to ``e164`` from ``at`` (a STOP-type reply's
    sending time, or the moment of a 21610 answer) until the customer texts START.

    Changes nothing when the number is already blocked, or when a START sent after ``at``
    lifted the block (Twilio saw them in that order). Returns True when the number became
    blocked. One statement (insert, or update of a lifted block), safe from two desktops."""
    params = {"phone_e164": e164, "source": source, "message_sid": message_sid,
              "blocked_at": at, "updated_at": clock.now()}  # fmt: skip
    statement = _block_statement(session.get_bind().dialect.name)
    return session.connection().execute(statement, params).rowcount == 1


@functools.lru_cache(maxsize=4)
def _block_statement(dialect: str) -> Executable:
    """INSERT a block, or on conflict re-block a lifted one whose START is not newer
    (built once per dialect: a batch of STOPs runs it thousands of times)."""
    table = ProviderBlock.__table__
    columns = ("phone_e164", "source", "message_sid", "blocked_at", "updated_at")
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_(table).values({c: bindparam(c) for c in columns})
    return statement.on_conflict_do_update(
        index_elements=["phone_e164"],
        set_={**{c: statement.excluded[c] for c in columns[1:]},
              "cleared_at": None, "cleared_by_sid": None},
        where=table.c.cleared_at.is_not(None) & (table.c.cleared_at <= statement.excluded.blocked_at),
    )  # fmt: skip


def clear_provider_block(
    session: Session, e164: str, *, at: datetime, message_sid: str | None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:  # fmt: skip
    """The customer texted START (or UNSTOP/YES) at ``at``: Twilio lifts its block when
    that is later than the block. Returns True when a block was lifted (a lifted block
    keeps the newest START's time, so a STOP older than it cannot block again)."""
    params = {"phone": e164, "at": at, "sid": message_sid, "now": clock.now()}
    lifted = session.connection().execute(_LIFT_BLOCK, params).rowcount == 1
    if not lifted:  # keep the newest START's time on a block lifted before
        session.connection().execute(_NEWER_START, params)
    return lifted


_BLOCKS = ProviderBlock.__table__
_MY_BLOCK = (_BLOCKS.c.phone_e164 == bindparam("phone")) & (_BLOCKS.c.blocked_at <= bindparam("at"))
_CLEARED: dict[str, BindParameter[Any]] = {"cleared_at": bindparam("at"), "cleared_by_sid": bindparam("sid"),
            "updated_at": bindparam("now")}  # fmt: skip
_LIFT_BLOCK = update(_BLOCKS).where(_MY_BLOCK, _BLOCKS.c.cleared_at.is_(None)).values(_CLEARED)
_NEWER_START = (
    update(_BLOCKS).where(_MY_BLOCK, _BLOCKS.c.cleared_at < bindparam("at")).values(_CLEARED)
)


# ---- ordering: the customer's latest word wins (DESIGN promise 11) -----------------------
#
# A reply changes consent only if it is newer than the newest *opposite* word on its number:
# a START older than the newest opt-out (a STOP-type reply, a reply decided as an opt-out,
# a 21610, a staff toggle, an import: each at its own time) changes nothing, and a
# STOP-type reply older than the newest START-type reply changes nothing. Both are logged
# ("START of 10:02:00 EST older than STOP of 10:03:00 EST: no change"). Staff changes take effect when
# saved. One asymmetry, on purpose: an opt-out reply is never set aside because of a
# re-consent a person recorded after the reply was sent. That person could not have seen
# a reply Twilio had not listed yet, so the opt-out applies and the log says so (promise 10).


@dataclass(frozen=True)
class ConsentTimes:
    """The newest opt-out and newest START-type opt-in on one number (customer's time)."""

    opt_out: datetime | None = None
    opt_in: datetime | None = None


def consent_times(
    session: Session, numbers: Sequence[str], *, exclude_inbound_id: int | None = None
) -> dict[str, ConsentTimes]:
    """Newest opt-out and opt-in per number, from consent events and processed replies
    (a STOP that changed nothing still counts as the customer's word)."""
    found: dict[str, dict[str, datetime]] = {}

    def keep(number: str | None, kind: str | None, when: datetime | None) -> None:
        if number is None or kind is None:
            return  # the queries keep numbered rows of these kinds only
        if when is not None and (kind not in found.setdefault(number, {}) or
                                 when > found[number][kind]):  # fmt: skip
            found[number][kind] = when

    for chunk in bulk.chunks(sorted(set(numbers))):
        events = session.execute(
            select(ConsentEvent.phone_e164, ConsentEvent.kind, func.max(ConsentEvent.received_at))
            .where(ConsentEvent.phone_e164.in_(chunk),
                   (ConsentEvent.kind == ConsentEventKind.OPT_OUT) | (ConsentEvent.source == ConsentSource.START_REPLY))
            .group_by(ConsentEvent.phone_e164, ConsentEvent.kind)
        )  # fmt: skip
        for number, kind, when in events:
            keep(
                number,
                ReplyKind.OPT_OUT if kind == ConsentEventKind.OPT_OUT else ReplyKind.OPT_IN,
                when,
            )
        replies = (
            select(InboundMessage.from_e164, InboundMessage.classification,
                   func.max(InboundMessage.date_sent))
            .where(InboundMessage.from_e164.in_(chunk),
                   InboundMessage.classification.in_((ReplyKind.OPT_OUT, ReplyKind.OPT_IN)),
                   InboundMessage.processed_at.is_not(None))
            .group_by(InboundMessage.from_e164, InboundMessage.classification)
        )  # fmt: skip
        if exclude_inbound_id is not None:
            replies = replies.where(InboundMessage.id != exclude_inbound_id)
        for sender, word, sent in session.execute(replies):
            keep(sender, word, sent)
    return {
        n: ConsentTimes(v.get(ReplyKind.OPT_OUT), v.get(ReplyKind.OPT_IN)) for n, v in found.items()
    }


def stale_reply(
    kind: str, sent_at: datetime, times: ConsentTimes | None, timezone_name: str
) -> str | None:
    """Why a reply of ``kind`` ("opt_out" or "opt_in") sent at ``sent_at`` changes nothing,
    or None when it is the customer's latest word. E.g. "START of 10:02:00 EST older than
    STOP of 10:03:00 EST: no change"."""
    if times is None:
        return None
    newer = times.opt_in if kind == ReplyKind.OPT_OUT else times.opt_out
    if newer is None or sent_at >= newer:
        return None
    mine, theirs = ("STOP", "START") if kind == ReplyKind.OPT_OUT else ("START", "STOP")
    return (f"{mine} of {_clock(sent_at, timezone_name)} older than {theirs} of "
            f"{_clock(newer, timezone_name)}: no change")  # fmt: skip


def _clock(at: datetime, zone: str) -> str:
    """'10:02:00 EST': stored in the log, so the zone is always named."""
    return at.astimezone(business_zone(zone)).strftime("%H:%M:%S %Z")


def consent_history(session: Session, contact_id: int) -> list[ConsentEvent]:
    """Every consent event for the contact, oldest first (for reports)."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id == contact_id)
            .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
        )
    )


def status_line(contact: Contact, zone: str = "UTC") -> str:
    """'Opted out since 26 Nov 2026, 10:04 by STOP reply' (time in the business ``zone``)
    or 'Subscribed'."""
    if not contact.sms_opted_out:
        return "Subscribed"
    when = contact.sms_opted_out_at
    when_text = format_time(when, zone) if when else "an unknown time"
    source = SOURCE_LABELS.get(contact.sms_opt_out_source or "", contact.sms_opt_out_source or "")
    return f"Opted out since {when_text} by {source}"
