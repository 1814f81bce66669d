"""SMS through Twilio, using the ``twilio`` library (9.x).

Every failure leaves this module as a :class:`ProviderError` with a plain-language
reason. A failed send is ``TEMPORARY`` (safe to retry) only when Twilio certainly
never took the request: no connection was made (refused, DNS failure, connect
timeout) or Twilio answered 4xx (429 included). Any other failure after the request
went out (HTTP 5xx, a read timeout, a connection dropped mid-answer, an unreadable
answer) is ``UNKNOWN``: the text may have been sent, and ``list_sent`` lets the
caller look it up before any retry. The auth token never appears in a reason or a log line: every text that
could carry it (exception messages, URLs) goes through :meth:`TwilioProvider._scrub`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from trustpager_desktop.providers.base import (
    FailureKind,
    MessageQuery,
    MessageRecord,
    ProviderError,
    SendResult,
    SentRecord,
)

log = logging.getLogger("trustpager.twilio")

DEFAULT_TIMEOUT = 10.0
MAX_PAGE_SIZE = 1000
# Looking up one recipient's recent texts: they are few, so one page is nearly always all.
LOOKUP_PAGE_SIZE = 200

INVALID_RECIPIENT_REASONS = {
    21211: "The number is not a valid phone number",
    21614: "The number is not a mobile number and cannot receive texts",
    21408: "Texting to this country/region is not enabled on your Twilio account",
}
UNSUBSCRIBED_REASON = (
    "Twilio reports that this number has opted out (replied STOP) and will not deliver texts to it"
)
AUTH_REASON = "Twilio did not accept the Account SID and Auth Token"
UNKNOWN_OUTCOME_REASON = (
    "Twilio did not answer after receiving the text, so it may or may not have been sent"
)
UNCLEAR_REPLY_REASON = (
    "Twilio's reply to the send could not be understood, so it may or may not have been sent"
)


class _RecordingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio has no type hints
    """TwilioHttpClient that remembers the last response per thread, so error
    handling can read headers (Retry-After) that TwilioRestException drops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._local.last = None
        response = super().request(*args, **kwargs)
        self._local.last = response
        return response

    @property
    def last_response(self) -> Response | None:
        return getattr(self._local, "last", None)


class _ScrubbingLogAdapter(logging.LoggerAdapter[logging.Logger]):
    """Hands twilio's own request/response logging through our scrubber."""

    def __init__(self, logger: logging.Logger, scrub: Any) -> None:
        super().__init__(logger, {})
        self._scrub = scrub

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return self._scrub(str(msg)), kwargs

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            msg, args = str(msg) % args, ()
        super().log(level, msg, **kwargs)


def _mask_sid(sid: str) -> str:
    return f"{sid[:2]}…{sid[-4:]}" if len(sid) > 8 else sid


def _pretty_number(e164: str) -> str:
    try:
        import phonenumbers

        parsed = phonenumbers.parse(e164, None)
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return text.replace("-", " ")
    except Exception:  # phonenumbers missing or the number unparsable: show it as is
        if e164.startswith("+1") and len(e164) == 12 and e164[1:].isdigit():
            return f"+1 {e164[2:5]} {e164[5:8]} {e164[8:]}"
        return e164


def _send_never_arrived(exc: BaseException) -> bool:
    """True when a failed request certainly never reached Twilio: no connection was made
    (refused, DNS failure, connect timeout). A read timeout or a connection that broke
    after the request went out may have reached it."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return isinstance(exc, requests.ConnectionError) and _never_connected(exc)


def _never_connected(exc: BaseException) -> bool:
    """Walk the exception's causes and MaxRetryError reasons for a failed connect."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(current, BaseException):
            pending.extend([current.__cause__, current.__context__, *current.args])
        pending.append(getattr(current, "reason", None))
    return False


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds)


class TwilioProvider:
    """The :class:`~trustpager_desktop.providers.base.SmsProvider` for Twilio."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        api_base: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        account_sid = (account_sid or "").strip()
        sender = (sender or "").strip()
        if not account_sid:
            raise ValueError("The Twilio Account SID is missing")
        if not auth_token:
            raise ValueError("The Twilio Auth Token is missing")
        if not (sender.startswith("MG") or sender.startswith("+")):
            raise ValueError(
                "The sender must be a phone number in international form (+14155550100) "
                "or a Messaging Service SID starting with MG"
            )
        if timeout <= 0:
            raise ValueError("The timeout must be a positive number of seconds")
        if api_base and (
            auth_token in api_base or "@" in api_base.split("//", 1)[-1].split("/")[0]
        ):
            # URLs end up in exception texts and library/urllib3 logs: keep secrets out.
            raise ValueError("The Twilio API address must not contain credentials")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.sender = sender
        self.timeout = float(timeout)
        self.api_base = api_base.rstrip("/") if api_base else None
        self._http = _RecordingHttpClient(
            timeout=self.timeout,
            logger=_ScrubbingLogAdapter(logging.getLogger("twilio.http_client"), self._scrub),
        )
        self._client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=self._http,
        )
        if self.api_base:
            self._client.api.base_url = self.api_base
            self._client.messaging.base_url = self.api_base  # Messaging Service numbers
            # ClientBase.get_hostname rewrites the host to
            # "<product>.<edge>.<region>.twilio.com" whenever edge or region is set
            # (they default from TWILIO_EDGE / TWILIO_REGION); a local base must stay as is.
            self._client.edge = None
            self._client.region = None
            if self._http.session is not None:
                self._http.session.trust_env = False  # no proxies for a local base

    # ---- SmsProvider -----------------------------------------------------------

    @property
    def uses_messaging_service(self) -> bool:
        return self.sender.startswith("MG")

    @property
    def description(self) -> str:
        if self.uses_messaging_service:
            return f"Twilio messaging service {self.sender}"
        return f"Twilio {_pretty_number(self.sender)}"

    def __repr__(self) -> str:
        return f"<TwilioProvider {_mask_sid(self.account_sid)} sender={self.sender}>"

    @property
    def _account(self) -> Any:  # twilio's account context (untyped)
        return self._client.api.v2010.accounts(self.account_sid)

    def send(self, to_e164: str, body: str) -> SendResult:
        kwargs: dict[str, Any] = {"to": to_e164, "body": body}
        if self.uses_messaging_service:
            kwargs["messaging_service_sid"] = self.sender
        else:
            kwargs["from_"] = self.sender
        try:
            message = self._account.messages.create(**kwargs)
        except Exception as exc:
            raise self._send_error(exc) from None
        sid, status = message.sid, message.status
        if not isinstance(sid, str) or not sid:
            # Twilio probably accepted the message; resending blindly could text twice.
            raise self._error(FailureKind.UNKNOWN, UNCLEAR_REPLY_REASON)
        return SendResult(sid=sid, status=status if isinstance(status, str) else "unknown")

    def _send_error(self, exc: BaseException) -> ProviderError:
        """The ProviderError for a failed send: TEMPORARY only when Twilio certainly never
        took it, the refusal kinds for a 4xx answer, UNKNOWN (may have been sent) otherwise."""
        if _send_never_arrived(exc):
            return self._translate(exc, action="send the text")
        if isinstance(exc, requests.RequestException):  # timed out or broke after sending
            return self._error(FailureKind.UNKNOWN, UNKNOWN_OUTCOME_REASON)
        error = self._translate(exc, action="send the text", unclear_reply=FailureKind.UNKNOWN)
        if error.http_status is not None and 400 <= error.http_status < 500:
            return error  # Twilio answered that it refused it (429 included): not sent
        if error.kind is FailureKind.UNKNOWN:
            return error
        status = f" (HTTP {error.http_status})" if error.http_status else ""
        return self._error(
            FailureKind.UNKNOWN,
            f"Twilio answered with an error{status} after receiving the text, "
            "so it may or may not have been sent",
            code=error.code,
            http_status=error.http_status,
        )

    def list_sent(self, to_e164: str, since: datetime) -> Iterator[SentRecord]:
        """Texts we sent to ``to_e164`` created on or after ``since``, newest first.

        Filtered by ``To`` (and ``From`` for a single sender number) but not by
        ``DateSent``: a text still queued at Twilio has no DateSent yet, and the
        filter has day granularity anyway. Pages are followed by ``next_page_uri``
        until a whole page is older than a day before ``since``."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        filters: dict[str, Any] = {"to": to_e164, "page_size": LOOKUP_PAGE_SIZE}
        if not self.uses_messaging_service:
            filters["from_"] = self.sender
        horizon = since - timedelta(days=1)
        try:
            page = self._account.messages.page(**filters)
            while page is not None:
                newest_on_page = None
                for record in self._sent_records(page):
                    newest_on_page = max(newest_on_page or record.created_at, record.created_at)
                    if record.created_at >= since:
                        yield record
                if newest_on_page is None or newest_on_page < horizon:
                    return
                page = page.next_page()
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc, action="look up a sent text") from None

    def _sent_records(self, page: Any) -> Iterator[SentRecord]:
        """The page's outbound records. One that cannot be read fails the whole lookup: it
        might be the very text looked for, and "not found" would send it again."""
        for instance in page:
            direction = getattr(instance, "direction", None)
            if isinstance(direction, str) and not direction.startswith("outbound"):
                continue
            created = getattr(instance, "date_created", None) or getattr(
                instance, "date_sent", None
            )
            fields = [getattr(instance, name, None) for name in ("sid", "to", "body", "status")]
            if not all(isinstance(f, str) for f in [direction, *fields]) or not isinstance(
                created, datetime
            ):
                raise ProviderError(
                    FailureKind.TEMPORARY,
                    "Twilio's list of sent texts could not be read; the text is looked up again later",
                )
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            sid, to, body, status = cast(list[str], fields)  # each checked to be a str above
            yield SentRecord(sid, to, body, status, created_at=created.astimezone(UTC))

    @property
    def inbox_is_shared(self) -> bool:
        return True  # every desktop on the database reads the same Twilio account

    def list_message_pages(self, query: MessageQuery) -> Iterator[list[MessageRecord]]:
        since = query.since if query.since.tzinfo else query.since.replace(tzinfo=UTC)
        day = since.astimezone(UTC).date()
        filters: dict[str, Any] = {
            "date_sent_after": datetime(day.year, day.month, day.day, tzinfo=UTC),
            "page_size": max(1, min(MAX_PAGE_SIZE, query.page_size)),
        }
        if query.to:
            filters["to"] = query.to
        if query.from_:
            filters["from_"] = query.from_
        try:
            page = self._account.messages.page(**filters)
        except Exception as exc:
            raise self._translate(exc, action="read received texts") from None
        while page is not None:
            yield self._page_records(page)
            try:
                page = page.next_page()  # one request, made only when the caller asks
            except Exception as exc:
                raise self._translate(exc, action="read received texts") from None

    def list_inbound(self, since: datetime) -> Iterator[MessageRecord]:
        seen: set[str] = set()
        for page in self.list_message_pages(MessageQuery(since)):
            for record in page:
                if record.inbound and record.sid not in seen:
                    seen.add(record.sid)
                    yield record

    def account_numbers(self) -> list[str]:
        if not self.uses_messaging_service:
            return [self.sender]
        service = self._client.messaging.v1.services(self.sender)
        numbers: list[str] = []
        try:
            page = service.phone_numbers.page(page_size=MAX_PAGE_SIZE)
            while page is not None:
                numbers.extend(
                    n.phone_number
                    for n in page
                    if isinstance(n.phone_number, str) and n.phone_number
                )
                page = page.next_page()
        except Exception as exc:
            raise self._translate(exc, action="list the Messaging Service's numbers") from None
        return numbers

    def _page_records(self, page: Any) -> list[MessageRecord]:
        """The page's readable records; unreadable ones are logged and skipped."""
        records: list[MessageRecord] = []
        while True:
            try:
                instance = next(page)
            except StopIteration:
                return records
            except Exception as exc:  # the library could not build the record
                log.warning(
                    "Skipped a Twilio message record that could not be read: %s",
                    self._scrub(f"{type(exc).__name__}: {exc}"),
                )
                continue
            record = self._to_record(instance)
            if record is not None:
                records.append(record)

    def fetch_status(self, sid: str) -> str | None:
        try:
            message = self._account.messages(sid).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise self._translate(exc, action="check the message status") from None
        except Exception as exc:
            raise self._translate(exc, action="check the message status") from None
        status = message.status
        return status if isinstance(status, str) else None

    def test_connection(self) -> str:
        try:
            account = self._account.fetch()
        except Exception as exc:
            raise self._translate(exc, action="check the connection") from None
        status = account.status
        name = account.friendly_name if isinstance(account.friendly_name, str) else ""
        label = f"Twilio account {_mask_sid(self.account_sid)}" + (f" ({name})" if name else "")
        if isinstance(status, str) and status not in ("active", ""):
            raise ProviderError(
                FailureKind.PERMANENT,
                self._scrub(f"The {label} is {status}; Twilio will not send texts from it"),
            )
        return self._scrub(f"Connected to {label}")

    # ---- helpers -------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        token = self._auth_token
        if token and token in text:
            text = text.replace(token, "[auth token hidden]")
        return text

    def _to_record(self, m: Any) -> MessageRecord | None:
        sid = getattr(m, "sid", None)
        direction = getattr(m, "direction", None)
        outbound = isinstance(direction, str) and direction.startswith("outbound")
        fields = {
            "sid": sid,
            "from": getattr(m, "from_", None),
            "to": getattr(m, "to", None),
            "body": getattr(m, "body", None),
            "direction": direction,
        }
        if outbound and fields["from"] is None:
            fields["from"] = ""  # a Messaging Service picks the sender after accepting the text
        bad = [name for name, value in fields.items() if not isinstance(value, str)]
        date_sent = getattr(m, "date_sent", None)
        if outbound and date_sent is None:
            date_sent = getattr(m, "date_created", None)  # not sent yet: still queued
        if not isinstance(date_sent, datetime):
            bad.append("date_sent")
        if not bad and not fields["sid"]:
            bad.append("sid")
        if bad or not isinstance(date_sent, datetime):
            log.warning(
                "Skipped Twilio message %s: missing or unreadable %s",
                self._scrub(sid) if isinstance(sid, str) else "(no SID)",
                ", ".join(bad),
            )
            return None
        if date_sent.tzinfo is None:
            date_sent = date_sent.replace(tzinfo=UTC)
        status = getattr(m, "status", None)
        error_code = getattr(m, "error_code", None)
        text = cast(dict[str, str], fields)  # each checked to be a str above
        return MessageRecord(
            sid=text["sid"],
            from_number=text["from"],
            to_number=text["to"],
            body=text["body"],
            date_sent=date_sent.astimezone(UTC),
            direction=text["direction"],
            status=status if isinstance(status, str) else "",
            error_code=error_code if isinstance(error_code, int) else None,
        )

    def _error(self, kind: FailureKind, reason: str, **kw: Any) -> ProviderError:
        error = ProviderError(kind, self._scrub(reason), **kw)
        log.info(
            "Twilio call failed (%s, code=%s, http=%s): %s",
            kind.value,
            error.code,
            error.http_status,
            error.reason,
        )
        return error

    def _translate(
        self,
        exc: BaseException,
        *,
        action: str,
        unclear_reply: FailureKind = FailureKind.TEMPORARY,
    ) -> ProviderError:
        """Turn anything the twilio/requests stack raised into a ProviderError."""
        log.debug("Twilio %s failed: %s", action, self._scrub(f"{type(exc).__name__}: {exc!r}"))
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, requests.Timeout):
            return self._error(
                FailureKind.TEMPORARY,
                f"Twilio could not be reached: no answer within {self.timeout:g} seconds",
            )
        if isinstance(exc, requests.ConnectionError):
            return self._error(
                FailureKind.TEMPORARY,
                "Twilio could not be reached: the connection failed "
                "(check the internet connection)",
            )
        if isinstance(exc, requests.RequestException):
            return self._error(
                FailureKind.TEMPORARY, f"Twilio could not be reached: {type(exc).__name__}"
            )

        status: int | None = None
        code: int | None = None
        message = ""
        headers: dict[str, str] = {}
        if isinstance(exc, TwilioRestException):
            status, code = exc.status, exc.code
            message = str(exc.msg or "")
        elif isinstance(exc, TwilioException):
            # A failed list page: TwilioException("Unable to fetch page", response),
            # or an RFC 9457 TwilioServiceException carrying status/code/detail.
            status = getattr(exc, "status", None)
            code = getattr(exc, "code", None)
            message = str(getattr(exc, "detail", None) or getattr(exc, "title", None) or "")
            response = exc.args[1] if len(exc.args) > 1 else None
            if isinstance(response, Response):
                status = response.status_code
                headers = dict(response.headers or {})
                try:
                    payload = json.loads(response.text)
                except (TypeError, ValueError):
                    payload = None
                if isinstance(payload, dict):
                    if isinstance(payload.get("code"), int):
                        code = payload["code"]
                    if isinstance(payload.get("message"), str):
                        message = payload["message"]
            if not message:
                message = str(exc.args[0]) if exc.args else type(exc).__name__
        elif isinstance(exc, ValueError | KeyError | TypeError | AttributeError):
            # json.JSONDecodeError is a ValueError: Twilio's reply was not what we expect.
            return self._error(
                unclear_reply,
                f"Could not {action}: Twilio's reply could not be understood",
            )
        else:
            return self._error(
                FailureKind.PERMANENT, f"Could not {action}: {type(exc).__name__}: {exc}"
            )

        if not headers:
            last = self._http.last_response
            if last is not None and last.status_code == status:
                headers = dict(last.headers or {})
        retry_after = _parse_retry_after(
            next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        )
        kw = {"code": code, "http_status": status}

        if code == 21610:
            return self._error(FailureKind.UNSUBSCRIBED, UNSUBSCRIBED_REASON, **kw)
        if code in INVALID_RECIPIENT_REASONS:
            return self._error(FailureKind.INVALID_RECIPIENT, INVALID_RECIPIENT_REASONS[code], **kw)
        if code == 20003 or status == 401:
            return self._error(FailureKind.AUTHENTICATION, AUTH_REASON, **kw)
        if code == 20429 or status == 429:
            return self._error(
                FailureKind.TEMPORARY,
                "Twilio is receiving too many requests right now; try again shortly",
                retry_after=retry_after,
                **kw,
            )
        if status is not None and status >= 500:
            return self._error(
                FailureKind.TEMPORARY,
                f"Twilio had a temporary problem (HTTP {status}); try again shortly",
                retry_after=retry_after,
                **kw,
            )
        if status is None:
            lowered = message.lower()
            temporary = any(
                w in lowered
                for w in ("timed out", "timeout", "temporar", "unavailable", "try again")
            )
            kind = FailureKind.TEMPORARY if temporary else unclear_reply
            return self._error(kind, f"Could not {action}: {message}", **kw)
        detail = (
            message.split(": ", 1)[1]
            if message.startswith("Unable to ") and ": " in message
            else message
        )
        suffix = f" (Twilio error {code})" if code else ""
        return self._error(
            FailureKind.PERMANENT, f"Twilio refused to {action}: {detail}{suffix}", **kw
        )
