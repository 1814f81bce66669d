"""A local stand-in for Twilio's REST API (Messages and Account fetch only).

It speaks Twilio's wire format closely enough that the real ``twilio.rest.Client``
works against it when ``client.api.base_url`` points at :attr:`FakeTwilio.base_url`.

Everything a test can change goes through methods that take one lock, so the
server threads and the test thread never see half-updated state.

Typical use (through the ``fake_twilio`` fixture in ``tests/conftest.py``)::

    fake_twilio.add_inbound("+15551230000", fake_twilio.phone_number, "STOP")
    fake_twilio.fail_recipient("+15550001111", 21610)
    fake_twilio.add_fault(Fault.http(429, retry_after=3))
    fake_twilio.add_fault(Fault.accept_then_fail(500))  # creates the message, answers 500
    fake_twilio.add_service("MG...", ["+14155550100", "+14155550111"])  # a Messaging Service
    fake_twilio.deliver_to("+15550002222", "undelivered", 30006)  # a landline
    fake_twilio.advance_deliveries()  # queued -> sent -> delivered/undelivered/failed
    provider = TwilioProvider(fake_twilio.account_sid, fake_twilio.auth_token,
                              fake_twilio.phone_number, api_base=fake_twilio.base_url)
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-auth-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DEFAULT_PHONE_NUMBER = "+14155550100"
API_VERSION = "2010-04-01"

# Messages Twilio sends for the per-recipient errors tests care about.
ERROR_MESSAGES: dict[int, str] = {
    21610: "Attempt to send to unsubscribed recipient",
    21211: "The 'To' number {to} is not a valid phone number.",
    21614: "'To' number {to} is not a valid mobile number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}",
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
}

# Delivery errors Twilio reports on a message it accepted but could not deliver.
DELIVERY_ERRORS: dict[int, str] = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30008: "Unknown error",
}
# Where each status goes on the next advance_deliveries() step.
_NEXT_STATUS = {"accepted": "queued", "queued": "sent", "sending": "sent"}


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    """The legacy Twilio error body: always exactly these four keys."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def rfc2822(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return format_datetime(dt.astimezone(UTC))


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unused_base_url() -> str:
    return f"http://127.0.0.1:{unused_port()}"


@dataclass
class Fault:
    """Something that goes wrong on the next ``count`` matching requests.

    kind: "http" (status/code/message, optional Retry-After), "slow" (delay,
    then answer normally, or drop if the server was reset meanwhile), "drop"
    (close the socket without a response), "malformed_json" (200 with a body
    that is not JSON), "wrong_types" (answer normally but with wrong-typed fields).
    The "accept_then_..." kinds handle the request first (a POST creates the
    message, as Twilio would) and only then go wrong: "accept_then_fail"
    answers ``status`` (500, 502, 503, 504), "accept_then_drop" closes the
    socket, "accept_then_hang" answers after ``delay`` (past the client's timeout).
    ``method``/``path_contains`` restrict which requests the fault applies to.
    """

    kind: str
    count: int = 1
    status: int = 500
    code: int | None = None
    message: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    method: str | None = None
    path_contains: str | None = None

    @classmethod
    def http(cls, status: int, code: int | None = None, **kw: Any) -> Fault:
        if code is None:
            code = 20429 if status == 429 else (20500 if status >= 500 else status)
        return cls("http", status=status, code=code, **kw)

    @classmethod
    def slow(cls, delay: float, **kw: Any) -> Fault:
        return cls("slow", delay=delay, **kw)

    @classmethod
    def drop(cls, **kw: Any) -> Fault:
        return cls("drop", **kw)

    @classmethod
    def accept_then_fail(cls, status: int = 500, **kw: Any) -> Fault:
        kw.setdefault("method", "POST")
        return cls("accept_then_fail", status=status, code=20500, **kw)

    @classmethod
    def accept_then_drop(cls, **kw: Any) -> Fault:
        kw.setdefault("method", "POST")
        return cls("accept_then_drop", **kw)

    @classmethod
    def accept_then_hang(cls, delay: float, **kw: Any) -> Fault:
        kw.setdefault("method", "POST")
        return cls("accept_then_hang", delay=delay, **kw)

    @classmethod
    def malformed_json(cls, **kw: Any) -> Fault:
        return cls("malformed_json", **kw)

    @classmethod
    def wrong_types(cls, **kw: Any) -> Fault:
        return cls("wrong_types", **kw)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not (self.path_contains and self.path_contains not in path)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # query string (last value wins)
    form: dict[str, str]  # form body (POST)
    headers: dict[str, str]
    username: str | None  # from HTTP Basic auth
    password: str | None


@dataclass
class _Message:
    seq: int
    data: dict[str, Any]  # the JSON resource as served (may be deliberately malformed)
    date_sent: datetime | None
    visible: bool = True


@dataclass
class _State:
    messages: dict[str, _Message] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    sent_messages: list[dict[str, Any]] = field(default_factory=list)
    recipient_errors: dict[str, tuple[int, int, str | None]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    services: dict[str, list[str]] = field(default_factory=dict)  # MG sid -> its numbers
    # number -> (final status, error code) for texts sent to it; default delivered
    deliveries: dict[str, tuple[str, int | None]] = field(default_factory=dict)


class FakeTwilio:
    """The fake server. Start with :meth:`start`; ``base_url`` is where it listens."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        phone_number: str = DEFAULT_PHONE_NUMBER,
        friendly_name: str = "TrustPager Test Account",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.friendly_name = friendly_name
        self.account_status = "active"
        self._lock = threading.RLock()
        self._state = _State()
        self._seq = 0
        self._generation = 0  # bumped on reset/stop: slow replies from before are dropped
        self._wake = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self.clock = lambda: datetime.now(UTC)

    # ---- lifecycle -------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTwilio is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> FakeTwilio:
        """Start listening (on the previous port if restarted, else a random free one)."""
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", self._port or 0), handler)
        server.daemon_threads = True
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections to ``base_url`` are refused until :meth:`start`."""
        with self._lock:
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        """Forget all messages, requests, forced errors and faults."""
        with self._lock:
            self._state = _State()
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
            self.account_status = "active"
            self.clock = lambda: datetime.now(UTC)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test controls -----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._state.sent_messages]

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if path_contains in r.path and (method is None or r.method == method.upper())
        ]

    def fail_recipient(
        self, number: str, code: int, status: int = 400, message: str | None = None
    ) -> None:
        """Sends to ``number`` fail with this Twilio error code (e.g. 21610, 21211)."""
        with self._lock:
            self._state.recipient_errors[number] = (code, status, message)

    def clear_recipient(self, number: str) -> None:
        """Sends to ``number`` work again (e.g. Twilio lifted its STOP block on START)."""
        with self._lock:
            self._state.recipient_errors.pop(number, None)

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._state.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def add_inbound(
        self,
        from_: str,
        to: str,
        body: str,
        date_sent: datetime | None = None,
        sid: str | None = None,
        visible: bool = True,
        listed_at: datetime | None = None,
    ) -> str:
        """Put a received message in the account. ``visible=False``: it "shows up late"
        (fetchable, but not listed until :meth:`release`). ``listed_at``: where the list
        places it (and what its date filter sees), when that differs from the date it
        shows: a message listed out of date order."""
        return self._add(from_, to, body, "inbound", "received", date_sent, sid, visible, listed_at)

    def add_outbound(
        self,
        from_: str,
        to: str,
        body: str,
        date_sent: datetime | None = None,
        sid: str | None = None,
        status: str = "delivered",
    ) -> str:
        return self._add(from_, to, body, "outbound-api", status, date_sent, sid, True)

    def add_raw_message(
        self, data: dict[str, Any], date_sent: datetime | None = None, visible: bool = True
    ) -> str:
        """Store a resource exactly as given (for malformed records). ``date_sent`` is
        used for ordering/filtering only; "sid" is added if missing."""
        with self._lock:
            sid = data.get("sid") if isinstance(data.get("sid"), str) else new_sid()
            self._seq += 1
            when = date_sent or self.clock()
            self._state.messages[sid] = _Message(self._seq, dict(data), when, visible)
            return sid

    def add_service(self, sid: str, numbers: list[str]) -> None:
        """A Messaging Service: its numbers are listed at /v1/Services/{sid}/PhoneNumbers and
        texts sent through it go out from them (round robin)."""
        with self._lock:
            self._state.services[sid] = list(numbers)

    def deliver_to(
        self, number: str, status: str = "delivered", error_code: int | None = None
    ) -> None:
        """Texts to ``number`` end in ``status`` ("delivered", "undelivered" or "failed")
        with ``error_code`` (30003, 30005, 30006) when :meth:`advance_deliveries` moves them."""
        with self._lock:
            self._state.deliveries[number] = (status, error_code)

    def advance_deliveries(self, steps: int = 1) -> int:
        """Move every outbound text ``steps`` steps along accepted -> queued -> sent ->
        delivered (or the outcome set by :meth:`deliver_to`). Returns how many moved."""
        moved = 0
        with self._lock:
            for _ in range(steps):
                for msg in self._state.messages.values():
                    if self._advance(msg):
                        moved += 1
        return moved

    def _advance(self, msg: _Message) -> bool:
        data = msg.data
        status = data.get("status")
        if not str(data.get("direction", "")).startswith("outbound"):
            return False
        if status in _NEXT_STATUS:
            data["status"] = _NEXT_STATUS[status]
        elif status == "sent":
            final, code = self._state.deliveries.get(str(data.get("to")), ("delivered", None))
            data["status"] = final
            data["error_code"] = code
            data["error_message"] = DELIVERY_ERRORS.get(code or 0) if code else None
        else:
            return False
        data["date_updated"] = rfc2822(self.clock())
        return True

    def release(self, sid: str | None = None) -> None:
        """Make a hidden message (or all hidden ones) show up in lists."""
        with self._lock:
            for msg_sid, msg in self._state.messages.items():
                if sid is None or msg_sid == sid:
                    msg.visible = True

    def set_status(self, sid: str, status: str) -> None:
        with self._lock:
            msg = self._state.messages[sid]
            msg.data["status"] = status
            msg.data["date_updated"] = rfc2822(self.clock())

    def message(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            msg = self._state.messages.get(sid)
            return dict(msg.data) if msg else None

    # ---- internals ----------------------------------------------------------------

    def _resource(
        self,
        sid: str,
        from_: str | None,
        to: str,
        body: str,
        direction: str,
        status: str,
        when: datetime,
        messaging_service_sid: str | None = None,
    ) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        segments = max(1, -(-len(body) // 160))
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": rfc2822(when),
            "date_sent": rfc2822(when),
            "date_updated": rfc2822(when),
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": messaging_service_sid,
            "num_media": "0",
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }

    def _add(
        self, from_, to, body, direction, status, date_sent, sid, visible, listed_at=None
    ) -> str:
        with self._lock:
            sid = sid or new_sid()
            when = (date_sent or self.clock()).astimezone(UTC)
            self._seq += 1
            data = self._resource(sid, from_, to, body, direction, status, when)
            position = listed_at.astimezone(UTC) if listed_at else when
            self._state.messages[sid] = _Message(self._seq, data, position, visible)
            return sid

    def _record(self, req: RecordedRequest) -> tuple[Fault | None, int, threading.Event]:
        with self._lock:
            self._state.requests.append(req)
            chosen = None
            for fault in self._state.faults:
                if fault.matches(req.method, req.path):
                    chosen = fault
                    fault.count -= 1
                    if fault.count <= 0:
                        self._state.faults.remove(fault)
                    break
            return chosen, self._generation, self._wake

    def _generation_now(self) -> int:
        with self._lock:
            return self._generation

    # Request handling: returns (status, json_body, extra_headers)
    def _dispatch(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        if req.username != self.account_sid or req.password != self.auth_token:
            return 401, twilio_error(20003, ERROR_MESSAGES[20003], 401), {}
        prefix = f"/{API_VERSION}/Accounts/"
        path = req.path
        service = re.fullmatch(r"/v1/Services/(MG[0-9a-fA-F]{32})/PhoneNumbers", path)
        if service and req.method == "GET":
            return self._list_service_numbers(req, service.group(1))
        if not path.startswith(prefix):
            return self._not_found(path)
        rest = path[len(prefix) :]
        m = re.fullmatch(
            r"(AC[0-9a-fA-F]{32})(\.json|/Messages\.json|/Messages/([^/]+)\.json)", rest
        )
        if not m:
            return self._not_found(path)
        if m.group(1) != self.account_sid:
            return self._not_found(path)
        tail = m.group(2)
        if tail == ".json" and req.method == "GET":
            return 200, self._account_resource(), {}
        if tail == "/Messages.json" and req.method == "POST":
            return self._create_message(req)
        if tail == "/Messages.json" and req.method == "GET":
            return self._list_messages(req)
        if m.group(3) and req.method == "GET":
            with self._lock:
                msg = self._state.messages.get(m.group(3))
                if msg is None:
                    return self._not_found(path)
                return 200, dict(msg.data), {}
        return 405, twilio_error(20004, "Method not allowed", 405), {}

    def _list_service_numbers(
        self, req: RecordedRequest, service: str
    ) -> tuple[int, Any, dict[str, str]]:
        """Messaging's v1 list format: records under a key named in ``meta``, absolute URLs."""
        with self._lock:
            numbers = self._state.services.get(service)
        if numbers is None:
            return self._not_found(req.path)
        page_size = min(int(req.params.get("PageSize", "50")), 1000)
        page = int(req.params.get("Page", "0"))
        chunk = numbers[page * page_size : (page + 1) * page_size]
        url = f"{self.base_url}{req.path}"

        def page_url(number: int) -> str:
            return f"{url}?{urlencode({'PageSize': page_size, 'Page': number})}"

        more = (page + 1) * page_size < len(numbers)
        records = [
            {
                "sid": "PN" + uuid.uuid5(uuid.NAMESPACE_URL, n).hex,
                "account_sid": self.account_sid,
                "service_sid": service,
                "phone_number": n,
                "country_code": "US",
                "capabilities": ["SMS"],
                "date_created": "2026-01-01T00:00:00Z",
                "date_updated": "2026-01-01T00:00:00Z",
                "url": f"{url}/PN{uuid.uuid5(uuid.NAMESPACE_URL, n).hex}",
            }
            for n in chunk
        ]
        meta = {
            "page": page,
            "page_size": page_size,
            "first_page_url": page_url(0),
            "previous_page_url": page_url(page - 1) if page > 0 else None,
            "url": page_url(page),
            "next_page_url": page_url(page + 1) if more else None,
            "key": "phone_numbers",
        }
        return 200, {"phone_numbers": records, "meta": meta}, {}

    def _not_found(self, path: str) -> tuple[int, Any, dict[str, str]]:
        return 404, twilio_error(20404, ERROR_MESSAGES[20404].format(path=path), 404), {}

    def _account_resource(self) -> dict[str, Any]:
        now = rfc2822(self.clock())
        return {
            "auth_token": self.auth_token,  # the real API returns it too
            "date_created": now,
            "date_updated": now,
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {},
            "type": "Full",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}.json",
        }

    def _create_message(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        form = req.form
        to = form.get("To")
        body = form.get("Body")
        from_ = form.get("From")
        service = form.get("MessagingServiceSid")
        if not to:
            return 400, twilio_error(21604, "A 'To' phone number is required.", 400), {}
        if not from_ and not service:
            return 400, twilio_error(21603, "A 'From' phone number is required.", 400), {}
        if body is None and not form.get("MediaUrl") and not form.get("ContentSid"):
            return 400, twilio_error(21602, "Message body is required.", 400), {}
        with self._lock:
            forced = self._state.recipient_errors.get(to)
            if forced is not None:
                code, status, message = forced
                text = message or ERROR_MESSAGES.get(code, f"Error {code}").format(to=to, path="")
                return status, twilio_error(code, text, status), {}
            if service and not from_:
                numbers = self._state.services.get(service) or [self.phone_number]
                sent_by_service = sum(
                    1
                    for m in self._state.sent_messages
                    if m.get("messaging_service_sid") == service
                )
                picked = numbers[sent_by_service % len(numbers)]
            else:
                picked = from_
            sid = new_sid()
            when = self.clock()
            self._seq += 1
            status = "queued" if from_ else "accepted"
            data = self._resource(
                sid, picked, to, body or "", "outbound-api", status, when, service
            )
            self._state.messages[sid] = _Message(self._seq, data, when, True)
            self._state.sent_messages.append(dict(data))
            return 201, dict(data), {}

    def _list_messages(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        p = req.params
        try:
            page_size = min(int(p.get("PageSize", "50")), 1000)
            page = int(p.get("Page", "0"))
            if page_size < 1 or page < 0:
                raise ValueError
        except ValueError:
            return 400, twilio_error(20001, "Invalid Page or PageSize", 400), {}
        token = p.get("PageToken")
        if page > 0 and not token:
            return (
                400,
                twilio_error(20001, "PageToken is required when Page is greater than 0", 400),
                {},
            )

        def day(key: str) -> date | None:
            raw = p.get(key)
            if raw is None:
                return None
            return date.fromisoformat(raw[:10])

        try:
            on, after, before = day("DateSent"), day("DateSent>"), day("DateSent<")
        except ValueError:
            return 400, twilio_error(20001, "Invalid DateSent filter", 400), {}

        with self._lock:
            selected = []
            for msg in self._state.messages.values():
                d = msg.data
                if not msg.visible:
                    continue
                if "To" in p and d.get("to") != p["To"]:
                    continue
                if "From" in p and d.get("from") != p["From"]:
                    continue
                sent_day = msg.date_sent.astimezone(UTC).date() if msg.date_sent else None
                if on and sent_day != on:
                    continue
                if after and (sent_day is None or sent_day < after):
                    continue
                if before and (sent_day is None or sent_day > before):
                    continue
                selected.append(msg)
            selected.sort(
                key=lambda m: (m.date_sent or datetime.min.replace(tzinfo=UTC), m.seq),
                reverse=True,
            )
            sids = [str(m.data.get("sid")) for m in selected]
            start = 0
            if token:
                marker = token[2:]
                if token[:2] not in ("PA", "PB") or marker not in sids:
                    return 400, twilio_error(20001, "Invalid PageToken", 400), {}
                idx = sids.index(marker)
                start = idx + 1 if token.startswith("PA") else max(0, idx - page_size)
            chunk = selected[start : start + page_size]
            records = [dict(m.data) for m in chunk]

        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        filters = {k: v for k, v in p.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int, tok: str | None) -> str:
            q = dict(filters, PageSize=str(page_size), Page=str(number))
            if tok:
                q["PageToken"] = tok
            return f"{base}?{urlencode(q)}"

        has_next = start + page_size < len(selected)
        envelope = {
            "end": page * page_size + max(len(records) - 1, 0),
            "first_page_uri": page_uri(0, None),
            "messages": records,
            "next_page_uri": page_uri(page + 1, "PA" + sids[start + len(chunk) - 1])
            if has_next and chunk
            else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1, "PB" + sids[start])
            if page > 0 and chunk
            else None,
            "start": page * page_size,
            "uri": page_uri(page, token),
        }
        return 200, envelope, {}


def _corrupt(payload: Any) -> Any:
    """Give a JSON reply wrong-typed fields (numbers where strings belong, etc.)."""
    if isinstance(payload, dict) and isinstance(payload.get("messages"), list):
        return dict(payload, messages=[_corrupt(m) for m in payload["messages"]])
    if isinstance(payload, dict):
        bad = dict(payload)
        for key in ("date_sent", "date_created", "date_updated"):
            if key in bad:
                bad[key] = 1700000000
        for key in ("to", "from", "body", "friendly_name"):
            if key in bad:
                bad[key] = ["not", "a", "string"]
        if "sid" in bad:
            bad["sid"] = 12345
        return bad
    return payload


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilio  # set on the bound subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def setup(self) -> None:
        super().setup()
        # An answer goes out in several small writes: without this, Nagle's algorithm holds
        # the last one until the client's delayed ACK, 40 ms on every POST.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        form: dict[str, str] = {}
        if raw and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            form = {k: v[-1] for k, v in parsed.items()}
        username = password = None
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            with contextlib.suppress(ValueError):
                username, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        req = RecordedRequest(
            method=self.command,
            path=split.path,
            params=params,
            form=form,
            headers={k: v for k, v in self.headers.items()},
            username=username,
            password=password,
        )
        fake = self.fake
        fault, generation, wake = fake._record(req)
        extra: dict[str, str] = {}
        if fault is not None and fault.kind.startswith("accept_then_"):
            self._accept_then(fault, fake._dispatch(req), generation, wake)
            return
        if fault is not None:
            if fault.kind == "drop":
                self._drop()
                return
            if fault.kind == "slow":
                wake.wait(fault.delay)
                if fake._generation_now() != generation:
                    self._drop()  # the test that asked for it is over
                    return
            elif fault.kind == "http":
                code = fault.code or fault.status
                message = fault.message or ERROR_MESSAGES.get(code, f"HTTP {fault.status}")
                if fault.retry_after is not None:
                    extra["Retry-After"] = str(fault.retry_after)
                self._send(fault.status, twilio_error(code, message, fault.status), extra)
                return
            elif fault.kind == "malformed_json":
                self._send_raw(200, b'{"sid": "SM', {})
                return
        status, payload, extra = fake._dispatch(req)
        if fault is not None and fault.kind == "wrong_types" and status < 400:
            payload = _corrupt(payload)
        self._send(status, payload, extra)

    def _accept_then(self, fault: Fault, answer, generation: int, wake) -> None:  # type: ignore[no-untyped-def]
        """The request has been handled (a message created); now the answer goes wrong."""
        if fault.kind == "accept_then_drop":
            self._drop()
        elif fault.kind == "accept_then_hang":
            wake.wait(fault.delay)
            if self.fake._generation_now() != generation:
                self._drop()
            else:
                self._send(*answer)
        else:
            message = fault.message or ERROR_MESSAGES.get(20500, f"HTTP {fault.status}")
            self._send(fault.status, twilio_error(fault.code or 20500, message, fault.status), {})

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        self._send_raw(status, json.dumps(payload).encode("utf-8"), headers)

    def _send_raw(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    do_GET = _handle
    do_POST = _handle
    do_DELETE = _handle
