"""Every state a row can be in, defined once.

Each enum's values are exactly the strings the database stores (``StrEnum`` members
are ``str``), so columns stay plain text and rows written before these enums read back
unchanged: ``QueueStatus(row.status)`` turns a stored value into its member, and a
member compares equal to its stored string. Labels for people live beside the rules
that show them (``auto_queue.STATUS_LABELS``, ``delivery.LABELS``...).

No imports beyond the standard library: models, core, the UI, commands and tests all
name states from here.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class ActivityKind(StrEnum):
    """Kinds of activity-log entry (``activity_log.kind``); the viewer filters on these."""

    OPT_OUT = "opt_out"
    RE_CONSENT = "re_consent"
    STOP_REPLY = "stop_reply"
    MANUAL_SEND = "manual_send"
    MANUAL_SEND_OPTED_OUT = "manual_send_opted_out"
    AUTOMATION_SENT = "automation_sent"
    AUTOMATION_SKIPPED = "automation_skipped"
    AUTOMATION_HELD = "automation_held"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    AUTOMATION_FAILED = "automation_failed"
    SEND_FAILED = "send_failed"
    INBOUND_MESSAGE = "inbound_message"
    HELP_REQUEST = "help_request"
    REVIEW_DECISION = "review_decision"
    SETTINGS_CHANGE = "settings_change"
    CONTACT_CREATED = "contact_created"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_DELETED = "contact_deleted"
    TASK_CREATED = "task_created"
    ENROLLED = "enrolled"
    IMPORT = "import"
    DELIVERY_BLOCKED = "delivery_blocked"  # texts to a number keep failing: automations skip it
    DELIVERY_UNBLOCKED = "delivery_unblocked"
    CONSENT_RECORD = "consent_record"  # the opt-in consent record was set or changed
    PURPOSE_PREFERENCE = "purpose_preference"  # an SMS purpose declined or allowed again


@unique
class ConsentEventKind(StrEnum):
    """What a consent event records (``consent_events.kind``)."""

    OPT_OUT = "opt_out"
    RE_CONSENT = "re_consent"


@unique
class ConsentSource(StrEnum):
    """How an opt-out or re-consent reached us (``consent_events.source``,
    ``contacts.sms_opt_out_source``, ``number_suppressions.source``,
    ``provider_blocks.source``)."""

    MANUAL_TOGGLE = "manual_toggle"
    STOP_REPLY = "stop_reply"
    TWILIO_21610 = "twilio_21610"
    IMPORT = "import"
    REVIEW = "review_decision"
    NUMBER_SUPPRESSION = "number_suppression"  # a contact created with a suppressed number
    START_REPLY = "start_reply"
    DNC_LIST = "dnc_list"  # a do-not-contact list imported by a person (core.dnc_list)


@unique
class MessageStatus(StrEnum):
    """Where the gateway got with an outbound text (``outbound_messages.status``)."""

    SENDING = "sending"  # recorded, provider call under way (or interrupted by a crash)
    SENT = "sent"
    SUPPRESSED = "suppressed"  # never handed to the provider, or refused by Twilio as 21610
    HELD = "held"  # automation text not handed to the provider: a reply waits for review
    FAILED = "failed"
    # The provider got the request but its answer was an error or never came: the text may
    # have been sent. Looked up (gateway.confirm_uncertain) before any retry.
    UNKNOWN = "unknown"


@unique
class MessageOrigin(StrEnum):
    """Who asked for an outbound text (``outbound_messages.origin``)."""

    MANUAL = "manual"  # a person pressed Send
    AUTOMATION = "automation"  # an Auto Queue step
    CONFIRMATION = "confirmation"  # the one confirmation text of an opt-out


@unique
class DeliveryStatus(StrEnum):
    """What the provider later said about delivery (``outbound_messages.delivery_status``,
    NULL until the inbox reads it). Moves forward only: queued -> sent -> the rest."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


@unique
class QueueStatus(StrEnum):
    """One Auto Queue item's state (``queue_items.status``)."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    HELD = "held"  # the consent rule holds the text: a reply waits for review; not claimed
    SENT = "sent"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    REVIEW = "review"  # may have been sent and Twilio could not be asked: a person decides


@unique
class ReviewStatus(StrEnum):
    """A stored reply's review (``inbound_messages.review_status``): pending, then the
    person's decision."""

    PENDING = "pending"
    OPTED_OUT = "opted_out"
    NOT_OPT_OUT = "not_opt_out"
    RE_CONSENTED = "re_consented"
    KEPT_OPTED_OUT = "kept_opted_out"


@unique
class ReviewDecision(StrEnum):
    """What a person decides about a reply held for review."""

    OPT_OUT = "opt_out"  # a possible opt-out: it is one
    NOT_OPT_OUT = "not_opt_out"
    RE_CONSENT = "re_consent"  # a START from an opted-out number: record re-consent
    KEEP_OPTED_OUT = "keep_opted_out"


@unique
class SuppressionResult(StrEnum):
    """What the consent rule said about an outbound text
    (``outbound_messages.suppression_result``)."""

    ALLOWED = "allowed"
    BLOCKED = "blocked"
    HELD = "held"  # automation text held: a reply waits for review
    ADVISORY = "advisory"  # a manual send to an opted-out recipient: warned, sent on request
    CONFIRMATION = "confirmation"  # an opt-out's confirmation text: never blocked by it


@unique
class ConfirmationStatus(StrEnum):
    """An opt-out confirmation text (``opt_out_confirmations.status``)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    SKIPPED = "skipped"


__all__ = [
    "ActivityKind",
    "ConfirmationStatus",
    "ConsentEventKind",
    "ConsentSource",
    "DeliveryStatus",
    "MessageOrigin",
    "MessageStatus",
    "QueueStatus",
    "ReviewDecision",
    "ReviewStatus",
    "SuppressionResult",
]
