"""An offline SMS provider: nothing leaves this computer.

Used when no Twilio credentials are set, for demos and for tests. Sent texts are
remembered in memory; replies are simulated with :meth:`SandboxProvider.simulate_reply`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from trustpager_desktop.providers.base import (
    FailureKind,
    InboundRecord,
    MessageQuery,
    MessageRecord,
    ProviderError,
    SendResult,
    SentRecord,
)

SANDBOX_NUMBER = "+15005550006"  # Twilio's magic "valid sender" test number

_DEFAULT_REASONS = {
    FailureKind.UNSUBSCRIBED: "The number has opted out (sandbox simulation)",
    FailureKind.INVALID_RECIPIENT: "The number is not a valid phone number (sandbox simulation)",
    FailureKind.AUTHENTICATION: "The credentials were not accepted (sandbox simulation)",
    FailureKind.TEMPORARY: "The provider could not be reached (sandbox simulation)",
    FailureKind.PERMANENT: "The provider refused the message (sandbox simulation)",
}


@dataclass(frozen=True)
class SandboxMessage:
    sid: str
    to_number: str
    from_number: str
    body: str
    status: str
    date_sent: datetime


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


class SandboxProvider:
    """The :class:`~trustpager_desktop.providers.base.SmsProvider` that sends nothing."""

    name = "sandbox"

    def __init__(
        self,
        sender: str = SANDBOX_NUMBER,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sender = sender
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._sent: list[SandboxMessage] = []
        self._replies: list[InboundRecord] = []
        self._failures: dict[str, tuple[FailureKind, str]] = {}

    @property
    def description(self) -> str:
        return "Sandbox: no texts leave this computer"

    @property
    def sent(self) -> list[SandboxMessage]:
        """A copy of every message "sent", oldest first."""
        with self._lock:
            return list(self._sent)

    @property
    def replies(self) -> list[InboundRecord]:
        with self._lock:
            return list(self._replies)

    def fail_number(self, number: str, kind: FailureKind, reason: str | None = None) -> None:
        """Make sends to ``number`` raise ProviderError(kind) until :meth:`clear_failure`."""
        with self._lock:
            self._failures[number] = (kind, reason or _DEFAULT_REASONS[kind])

    def clear_failure(self, number: str) -> None:
        with self._lock:
            self._failures.pop(number, None)

    def send(self, to_e164: str, body: str) -> SendResult:
        with self._lock:
            failure = self._failures.get(to_e164)
            if failure is not None:
                kind, reason = failure
                code = {FailureKind.UNSUBSCRIBED: 21610}.get(kind)
                raise ProviderError(kind, reason, code=code)
            message = SandboxMessage(
                sid="SM" + uuid.uuid4().hex,
                to_number=to_e164,
                from_number=self.sender,
                body=body,
                status="sent",
                date_sent=_utc(self._clock()),
            )
            self._sent.append(message)
        return SendResult(sid=message.sid, status=message.status)

    def simulate_reply(
        self,
        from_number: str,
        body: str,
        to_number: str | None = None,
        when: datetime | None = None,
    ) -> InboundRecord:
        """Pretend ``from_number`` texted ``body`` to us; it will be listed by list_inbound."""
        record = InboundRecord(
            sid="SM" + uuid.uuid4().hex,
            from_number=from_number,
            to_number=to_number or self.sender,
            body=body,
            date_sent=_utc(when or self._clock()),
            direction="inbound",
        )
        with self._lock:
            self._replies.append(record)
        return record

    @property
    def inbox_is_shared(self) -> bool:
        return False  # simulated replies live in this process only

    def list_message_pages(self, query: MessageQuery) -> Iterator[list[MessageRecord]]:
        """Everything in one page: simulated replies and "sent" texts (reported delivered)."""
        day = _utc(query.since).date()
        with self._lock:
            records = [*self._replies, *(self._as_record(m) for m in self._sent)]
        records = [
            r
            for r in records
            if r.date_sent.date() >= day
            and (query.to is None or r.to_number == query.to)
            and (query.from_ is None or r.from_number == query.from_)
        ]
        # newest first, like Twilio; stable for equal times (later-added first)
        indexed = sorted(enumerate(records), key=lambda p: (p[1].date_sent, p[0]), reverse=True)
        yield [r for _, r in indexed]

    def list_inbound(self, since: datetime) -> Iterator[MessageRecord]:
        for page in self.list_message_pages(MessageQuery(since)):
            yield from (r for r in page if r.inbound)

    def account_numbers(self) -> list[str]:
        return [self.sender]

    @staticmethod
    def _as_record(message: SandboxMessage) -> MessageRecord:
        return MessageRecord(
            sid=message.sid,
            from_number=message.from_number,
            to_number=message.to_number,
            body=message.body,
            date_sent=message.date_sent,
            direction="outbound-api",
            status="delivered",
        )

    def list_sent(self, to_e164: str, since: datetime) -> Iterator[SentRecord]:
        since = _utc(since)
        with self._lock:
            sent = [m for m in self._sent if m.to_number == to_e164 and m.date_sent >= since]
        for m in reversed(sent):  # newest first, like Twilio
            yield SentRecord(m.sid, m.to_number, m.body, m.status, m.date_sent)

    def fetch_status(self, sid: str) -> str | None:
        with self._lock:
            for message in self._sent:
                if message.sid == sid:
                    return message.status
        return None

    def test_connection(self) -> str:
        return "Sandbox mode needs no connection: texts are kept on this computer and never sent."
