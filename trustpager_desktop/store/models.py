"""SQLAlchemy 2 typed models: the whole schema, one declarative base.

The schema is created and changed only by the Alembic migrations in
``store/migrations``; a test checks that these models and the migrations agree.
Times are stored as naive UTC and handed back timezone-aware (``UtcDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

# Field limits, shared with the validation rules in core.
NAME_MAX = 100
COMPANY_MAX = 200
EMAIL_MAX = 254
PHONE_RAW_MAX = 40
TITLE_MAX = 200
CONSENT_SOURCE_MAX = 200
PURPOSE_MAX = 40
PURPOSES_MAX = 500

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, refuses naive input (a likely bug)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model maps one Table (DeclarativeBase types it as the wider FromClause).
    __table__: ClassVar[Table]


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX))
    last_name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    company: Mapped[str] = mapped_column(String(COMPANY_MAX), default="")
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), default="")
    phone_raw: Mapped[str] = mapped_column(String(PHONE_RAW_MAX), default="")
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma separated, lowercase
    # Lower-cased "first last company email digits" so search is one indexed-free LIKE.
    search_text: Mapped[str] = mapped_column(String(800), default="")
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sms_opt_out_source: Mapped[str | None] = mapped_column(String(40))
    # The opt-in consent record (issue 15): when and how the contact agreed to texts.
    # All empty means "no consent on record" (core.consent reads it).
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_source: Mapped[str | None] = mapped_column(String(CONSENT_SOURCE_MAX))
    consent_method: Mapped[str | None] = mapped_column(String(20))  # written | verbal | ...
    consent_evidence: Mapped[str | None] = mapped_column(Text)
    # Purposes the contact declined ("Marketing;Promotions"); an SMS opt-out covers all.
    declined_purposes: Mapped[str] = mapped_column(
        String(PURPOSES_MAX), default="", server_default=""
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    opportunities: Mapped[list[Opportunity]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_contacts_name", "last_name", "first_name"),)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    stage: Mapped[str] = mapped_column(String(40), index=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    contact: Mapped[Contact] = relationship(back_populates="opportunities")


class ConsentEvent(Base):
    """Append-only record of every opt-out and re-consent, per contact or per number."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the evidence must outlive a deleted contact.
    contact_id: Mapped[int | None] = mapped_column(Integer, index=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # opt_out | re_consent
    source: Mapped[str] = mapped_column(String(40))  # manual_toggle, stop_reply, twilio_21610, ...
    method: Mapped[str | None] = mapped_column(String(40))  # re-consent method
    evidence: Mapped[str] = mapped_column(Text, default="")
    message_sid: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NumberSuppression(Base):
    """An opt-out held against a number that no contact had when it arrived."""

    __tablename__ = "number_suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(Text, default="")
    message_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ProviderBlock(Base):
    """Twilio's own STOP block on a number: set by a STOP-type reply (Twilio confirms it
    and refuses texts, error 21610) or by a 21610 answer; lifted only by the customer's
    START. Times are the customer's (when the reply was sent), so late listings keep order."""

    __tablename__ = "provider_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(40))  # stop_reply | twilio_21610
    message_sid: Mapped[str | None] = mapped_column(String(64))
    blocked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_by_sid: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OptOutConfirmation(Base):
    """The one confirmation text an opt-out may get (FCC: within 5 minutes, no marketing).

    ``opt_out_key`` is unique per opt-out, so it is asked for at most once; the row moves
    pending -> sending in the same transaction that records the outbound text, so it is
    sent at most once, whatever crashes or how many desktops share the database."""

    __tablename__ = "opt_out_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    opt_out_key: Mapped[str] = mapped_column(String(100), unique=True)
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(5))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # pending | sending | sent | failed | expired | skipped
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    outbound_message_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ActivityEntry(Base):
    """Append-only, hash-chained log: each entry hashes its content and the previous hash."""

    __tablename__ = "activity_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    contact_id: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str] = mapped_column(String(210), default="")
    automation_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The log key that signed this entry (HMAC-SHA256) and its position in the chain;
    # both NULL on entries written before keyed signing (the unkeyed SHA-256 prefix).
    key_id: Mapped[str | None] = mapped_column(String(16))
    seq: Mapped[int | None] = mapped_column(Integer)

    # The viewer pages newest first (id DESC) within a filter: (filter column, id)
    # lets both SQLite and PostgreSQL read one page straight off the index.
    __table_args__ = (
        Index("ix_activity_log_kind_id", "kind", "id"),
        Index("ix_activity_log_contact_id_id", "contact_id", "id"),
        Index("ix_activity_log_automation_id_id", "automation_id", "id"),
    )


class ActivityCheckpoint(Base):
    """A signed mark "the log was verified up to this entry", so a verify can start here.

    ``mac`` is an HMAC with the key ``key_id`` over the other columns: a checkpoint
    written by someone without that key is refused. Append-only, like the log."""

    __tablename__ = "activity_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    mac: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_activity_checkpoints_seq", "seq"),)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(40), index=True)
    from_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    to_number: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    date_sent: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    classification: Mapped[str | None] = mapped_column(String(30))
    # Review of a possible opt-out: pending -> opted_out | not_opt_out
    review_status: Mapped[str | None] = mapped_column(String(20), index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboundMessage(Base):
    """Every text the gateway handled, including the ones it refused to send."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed with created_at (ix_outbound_messages_contact_recent, below).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    to_e164: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20))  # manual | automation
    action_type: Mapped[str] = mapped_column(String(30))  # manual_sms | send_sms
    actor: Mapped[str | None] = mapped_column(String(100))
    screen: Mapped[str | None] = mapped_column(String(60))
    automation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    automation_name: Mapped[str | None] = mapped_column(String(200))
    step_id: Mapped[int | None] = mapped_column(Integer)
    step_position: Mapped[int | None] = mapped_column(Integer)
    queue_item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    suppression_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    suppression_result: Mapped[str] = mapped_column(String(30))  # allowed | blocked | advisory
    suppression_reason: Mapped[str | None] = mapped_column(Text)
    recipient_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    encoding: Mapped[str] = mapped_column(String(10), default="GSM-7")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # What the provider later said about delivery (core.delivery documents the set):
    # queued | sent | delivered | undelivered | failed; NULL until the inbox reads it.
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_error_code: Mapped[int | None] = mapped_column(Integer)
    delivery_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Insights (migrations 0009, 0006): a period's figures, delivery reports included, from
    # the index alone, and the last text sent to a number before a reply or opt-out in one
    # index step.
    __table_args__ = (
        Index("ix_outbound_messages_period", "created_at", "automation_id", "step_id",
              "status", "error_code", "provider_sid", "delivery_status",
              "delivery_error_code"),
        Index("ix_outbound_messages_sent_to", "to_e164", "sent_at",
              sqlite_where=text("provider_sid IS NOT NULL"),
              postgresql_where=text("provider_sid IS NOT NULL")),
        # A contact's texts of the last 24 hours (the frequency cap; migration 0015).
        Index("ix_outbound_messages_contact_recent", "contact_id", "created_at"),
    )  # fmt: skip


class UndeliverableNumber(Base):
    """Delivery failures in a row to one number (landline, unreachable handset).

    ``blocked_at`` is set once the failures reach the limit for their error code;
    automations then skip the number until a person clears it (``cleared_at``/by)
    or a text to it is delivered."""

    __tablename__ = "undeliverable_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)
    error_code: Mapped[int] = mapped_column(Integer)  # the latest failure's code
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row, since the last delivery
    first_failed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_by: Mapped[str | None] = mapped_column(String(100))


class Automation(Base):
    __tablename__ = "automations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # JSON: {"trigger": "cron"|"interval", ..., "audience": {"stage": ...} | {"tag": ...}}
    schedule: Mapped[str | None] = mapped_column(Text)
    # Which SMS purpose the automation serves; contacts who declined it are skipped.
    purpose: Mapped[str] = mapped_column(
        String(PURPOSE_MAX), default="Marketing", server_default="Marketing"
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    steps: Mapped[list[AutomationStep]] = relationship(
        back_populates="automation",
        order_by="AutomationStep.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class AutomationStep(Base):
    __tablename__ = "automation_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    automation_id: Mapped[int] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str] = mapped_column(String(20))  # send_sms | wait | create_task
    template: Mapped[str] = mapped_column(Text, default="")
    wait_seconds: Mapped[int] = mapped_column(Integer, default=0)
    task_title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")

    automation: Mapped[Automation] = relationship(back_populates="steps")


class Enrollment(Base):
    """One contact enrolled once in one automation.

    At most one OPEN enrolment per (automation, contact): a partial unique index
    (``closed_at IS NULL``) lets the database refuse a second one, so racing
    desktops, a manual enrolment and a schedule firing cannot double it.
    ``closed_at`` is set when a later enrolment finds every item of this one
    finished (``core.automations.enroll``)."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    automation_id: Mapped[int] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    enrolled_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index(
            "uq_enrollments_open",
            "automation_id",
            "contact_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )


class QueueItem(Base):
    """One step of one enrolment in the Auto Queue."""

    __tablename__ = "queue_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    automation_id: Mapped[int] = mapped_column(Integer, index=True)
    step_id: Mapped[int] = mapped_column(Integer)
    step_position: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str] = mapped_column(String(20))
    contact_id: Mapped[int] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # pending | in_flight | sent | done | skipped | failed | review
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # While in flight: the claim holds until then; the holder renews it as it works, and
    # only an expired lease may be reconciled by another process (core.auto_queue).
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outbound_message_id: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    # The claim order (status, due_at, id): a claim reads its batch and stops (migration 0013).
    __table_args__ = (Index("ix_queue_items_claim_order", "status", "due_at", "id"),)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    automation_id: Mapped[int | None] = mapped_column(Integer)
    queue_item_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Meta(Base):
    """Small key/value facts about the database itself (e.g. scheduler state)."""

    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ChangeMarker(Base):
    """One version per topic ("contacts", "messages", ...), bumped by database triggers in
    the same transaction as every write to the topic's tables (migration 0012), so windows
    see what any writer changed by polling this small table (``store.change_marker``)."""

    __tablename__ = "change_marker"

    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


__all__ = [
    "ActivityCheckpoint",
    "ActivityEntry",
    "Automation",
    "AutomationStep",
    "Base",
    "ChangeMarker",
    "ConsentEvent",
    "Contact",
    "Enrollment",
    "InboundMessage",
    "Meta",
    "NumberSuppression",
    "Opportunity",
    "OptOutConfirmation",
    "OutboundMessage",
    "ProviderBlock",
    "QueueItem",
    "Setting",
    "Task",
    "UndeliverableNumber",
]
