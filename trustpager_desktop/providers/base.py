"""The one small interface every SMS provider implements.

The gateway (core) and the inbox poller only ever talk to an ``SmsProvider``;
they never import the ``twilio`` library themselves.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class FailureKind(enum.Enum):
    """How the caller should react to a failed provider call."""

    UNSUBSCRIBED = "unsubscribed"  # 21610: Twilio holds the number as opted out
    INVALID_RECIPIENT = "invalid_recipient"  # 21211, 21614, 21408: permanent for this number
    AUTHENTICATION = "authentication"  # 20003: credentials wrong
    TEMPORARY = "temporary"  # the provider certainly never took it (429, refused): retry later
    # The request reached the provider but the answer was an error or never came (HTTP 5xx,
    # read timeout, connection dropped after the request went out): the text may have been
    # sent. Look it up (``SmsProvider.list_sent``) before any retry.
    UNKNOWN = "unknown"
    PERMANENT = "permanent"  # anything else the provider refused


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    sid: str
    status: str  # Twilio status: queued, accepted, sending, sent, ...


@dataclass(frozen=True)
class MessageRecord:
    """One message from the provider's message list (either direction), type-checked."""

    sid: str
    from_number: str
    to_number: str
    body: str
    date_sent: datetime  # timezone-aware UTC (date created while an outbound text is queued)
    direction: str  # "inbound", "outbound-api", "outbound-reply", ...
    status: str = ""  # provider's status: received, queued, sent, delivered, undelivered, ...
    error_code: int | None = None  # provider's error code for a failed delivery (30003, ...)

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    @property
    def outbound(self) -> bool:
        return self.direction.startswith("outbound")


InboundRecord = MessageRecord  # the name the inbox has always used for a listed record


@dataclass(frozen=True)
class MessageQuery:
    """One listing of the account's messages, newest first.

    ``since`` is sent as Twilio's ``DateSent>`` filter, which works by whole UTC
    days; ``to``/``from_`` narrow the listing to one number; ``page_size`` is
    the number of messages per request (Twilio allows 1 to 1000)."""

    since: datetime
    to: str | None = None
    from_: str | None = None
    page_size: int = 1000


@dataclass(frozen=True)
class SentRecord:
    """One message we sent, as the provider lists it (for looking up an uncertain send)."""

    sid: str
    to_number: str
    body: str
    status: str  # Twilio status: queued, sent, delivered, failed, ...
    created_at: datetime  # timezone-aware UTC, when the provider created it


class ProviderError(Exception):
    """A provider call failed; ``reason`` is plain language for an office user."""

    def __init__(
        self,
        kind: FailureKind,
        reason: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind is FailureKind.TEMPORARY


class SmsProvider(Protocol):
    """Sends texts and lists received ones. Implementations: Twilio, sandbox."""

    name: str  # "twilio" or "sandbox"

    @property
    def description(self) -> str:
        """One line for the status bar, e.g. 'Twilio +1 415 555 0100'."""
        ...

    def send(self, to_e164: str, body: str) -> SendResult:
        """Hand one message to the provider. Raises ProviderError."""
        ...

    @property
    def inbox_is_shared(self) -> bool:
        """True when every desktop on a database reads the same inbox (Twilio), so one
        poller per database is enough; False for an inbox kept in this process (sandbox)."""
        ...

    def list_message_pages(self, query: MessageQuery) -> Iterator[list[MessageRecord]]:
        """Yield the messages ``query`` selects, newest first, one page per API request.

        The next page is requested only when the caller asks for it, so a caller
        that stops early makes no further requests. Raises ProviderError (pages
        yielded before the error stay valid). Records that cannot be understood
        are skipped and logged, never raised."""
        ...

    def list_inbound(self, since: datetime) -> Iterator[MessageRecord]:
        """Every received message (to any number of the account) sent on or after
        ``since`` (day granularity), newest first, following every page."""
        ...

    def account_numbers(self) -> list[str]:
        """The numbers this provider sends from: the sender number, or every number of
        the Messaging Service (one request per 1,000 numbers). Raises ProviderError."""
        ...

    def list_sent(self, to_e164: str, since: datetime) -> Iterator[SentRecord]:
        """Yield the messages we sent to ``to_e164`` that the provider created on or after
        ``since``, newest first, following every page. Raises ProviderError when the
        list cannot be read (the caller then knows nothing, and must not resend)."""
        ...

    def fetch_status(self, sid: str) -> str | None:
        """Current status of a message we sent, or None if the provider does not know it."""
        ...

    def test_connection(self) -> str:
        """Check the credentials with a harmless request; return a success sentence.
        Raises ProviderError with a plain-language reason."""
        ...
