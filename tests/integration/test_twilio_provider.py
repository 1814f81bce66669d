"""TwilioProvider driven through the real ``twilio`` client against the local fake server."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest
import requests

from tests.support.fake_twilio import FakeTwilio, Fault, unused_base_url
from trustpager_desktop.providers.base import FailureKind, MessageQuery, ProviderError
from trustpager_desktop.providers.twilio_provider import TwilioProvider

SID_RE = re.compile(r"^SM[0-9a-f]{32}$")
CUSTOMER = "+15551230001"
SERVICE_SID = "MG" + "ab" * 16


def make_provider(fake: FakeTwilio, **kw) -> TwilioProvider:
    kw.setdefault("api_base", fake.base_url)
    kw.setdefault("timeout", 2.0)
    token = kw.pop("auth_token", fake.auth_token)
    sender = kw.pop("sender", fake.phone_number)
    return TwilioProvider(fake.account_sid, token, sender, **kw)


@pytest.fixture
def provider(fake_twilio: FakeTwilio) -> TwilioProvider:
    return make_provider(fake_twilio)


def messages_path(fake: FakeTwilio) -> str:
    return f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"


def raise_of(call) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        call()
    return info.value


# ---- send ---------------------------------------------------------------------------


def test_send_posts_twilio_form_fields_with_basic_auth(fake_twilio, provider):
    result = provider.send(CUSTOMER, "Your appointment is tomorrow at 10:00")

    assert SID_RE.match(result.sid)
    assert result.status == "queued"
    [req] = fake_twilio.requests
    assert req.method == "POST"
    assert req.path == messages_path(fake_twilio)
    assert req.form == {
        "To": CUSTOMER,
        "From": fake_twilio.phone_number,
        "Body": "Your appointment is tomorrow at 10:00",
    }
    assert req.headers["Authorization"].startswith("Basic ")
    assert (req.username, req.password) == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    [sent] = fake_twilio.sent_messages
    assert sent["sid"] == result.sid
    assert sent["direction"] == "outbound-api"


def test_send_with_messaging_service_sid(fake_twilio):
    provider = make_provider(fake_twilio, sender=SERVICE_SID)
    result = provider.send(CUSTOMER, "hello")

    assert SID_RE.match(result.sid)
    [req] = fake_twilio.requests
    assert req.form == {"To": CUSTOMER, "MessagingServiceSid": SERVICE_SID, "Body": "hello"}
    assert "From" not in req.form
    assert provider.description == f"Twilio messaging service {SERVICE_SID}"


@pytest.mark.parametrize(
    ("code", "kind", "reason"),
    [
        (21610, FailureKind.UNSUBSCRIBED, "opted out"),
        (21211, FailureKind.INVALID_RECIPIENT, "The number is not a valid phone number"),
        (
            21614,
            FailureKind.INVALID_RECIPIENT,
            "The number is not a mobile number and cannot receive texts",
        ),
        (
            21408,
            FailureKind.INVALID_RECIPIENT,
            "Texting to this country/region is not enabled on your Twilio account",
        ),
    ],
)
def test_recipient_errors_are_mapped(fake_twilio, provider, code, kind, reason):
    fake_twilio.fail_recipient(CUSTOMER, code)

    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))

    assert error.kind is kind
    assert reason in error.reason
    assert error.code == code
    assert error.http_status == 400
    assert not error.retryable
    assert fake_twilio.sent_messages == []


def test_other_refusal_is_permanent_with_twilios_message(fake_twilio, provider):
    fake_twilio.fail_recipient(CUSTOMER, 21617, message="The concatenated message body is too long")
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.PERMANENT
    assert "The concatenated message body is too long" in error.reason
    assert error.code == 21617


def test_429_is_temporary_with_retry_after(fake_twilio, provider):
    fake_twilio.add_fault(Fault.http(429, retry_after="3"))
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.TEMPORARY
    assert error.retryable
    assert (error.code, error.http_status, error.retry_after) == (20429, 429, 3.0)
    # the fault was used up: the next send goes through
    assert SID_RE.match(provider.send(CUSTOMER, "hi").sid)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_answer_to_a_send_means_it_may_have_been_sent(fake_twilio, provider, status):
    fake_twilio.add_fault(Fault.http(status))
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.UNKNOWN and not error.retryable
    assert error.http_status == status
    assert f"HTTP {status}" in error.reason and "may or may not have been sent" in error.reason


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_answer_to_a_read_is_temporary(fake_twilio, provider, status):
    fake_twilio.add_fault(Fault.http(status))
    error = raise_of(provider.test_connection)
    assert error.kind is FailureKind.TEMPORARY and error.http_status == status


@pytest.mark.parametrize(
    "fault",
    [Fault.accept_then_fail(500), Fault.accept_then_fail(504), Fault.accept_then_drop()],
    ids=["500", "504", "dropped"],
)
def test_a_send_twilio_accepted_then_answered_badly_is_unknown(fake_twilio, fault):
    provider = make_provider(fake_twilio, timeout=0.5)
    fake_twilio.add_fault(fault)
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.UNKNOWN
    assert [m["to"] for m in fake_twilio.sent_messages] == [CUSTOMER]  # Twilio has it


def test_refused_connection_is_temporary(fake_twilio):
    provider = make_provider(fake_twilio, api_base=unused_base_url())
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.TEMPORARY
    assert error.reason.startswith("Twilio could not be reached")


def test_stopped_server_refuses_and_is_temporary(fake_twilio, provider):
    fake_twilio.stop()
    error = raise_of(provider.test_connection)
    assert error.kind is FailureKind.TEMPORARY
    fake_twilio.start()
    assert provider.test_connection().startswith("Connected")


def test_slow_reply_beyond_timeout_is_temporary(fake_twilio):
    provider = make_provider(fake_twilio, timeout=0.2)
    fake_twilio.add_fault(Fault.slow(1.0))
    error = raise_of(provider.test_connection)
    assert error.kind is FailureKind.TEMPORARY
    assert "no answer within 0.2 seconds" in error.reason


def test_send_without_an_answer_may_have_been_sent(fake_twilio):
    # Twilio may have the text: a retry could send it twice.
    provider = make_provider(fake_twilio, timeout=0.2)
    fake_twilio.add_fault(Fault.accept_then_hang(1.0))
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.UNKNOWN and not error.retryable
    assert "may or may not have been sent" in error.reason


def test_dropped_connection_is_temporary(fake_twilio, provider):
    fake_twilio.add_fault(Fault.drop())
    error = raise_of(provider.test_connection)
    assert error.kind is FailureKind.TEMPORARY


def test_send_dropped_after_the_request_may_have_been_sent(fake_twilio, provider):
    fake_twilio.add_fault(Fault.drop(method="POST"))
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.UNKNOWN and not error.retryable


def test_send_to_a_server_that_refuses_connections_is_temporary(fake_twilio):
    provider = make_provider(fake_twilio, api_base=unused_base_url())
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.TEMPORARY  # nothing reached Twilio: safe to retry


def test_unreadable_send_reply_may_have_been_sent(fake_twilio, provider):
    fake_twilio.add_fault(Fault.malformed_json(method="POST"))
    error = raise_of(lambda: provider.send(CUSTOMER, "hi"))
    assert error.kind is FailureKind.UNKNOWN  # Twilio may have accepted it: look it up first


def test_a_429_to_a_send_is_a_certain_refusal(fake_twilio, provider):
    fake_twilio.add_fault(Fault.http(429, method="POST"))
    assert raise_of(lambda: provider.send(CUSTOMER, "hi")).kind is FailureKind.TEMPORARY


# ---- list_sent (looking up a send that may have happened) -----------------------------


def test_list_sent_finds_our_texts_to_that_number_since_the_attempt(fake_twilio, provider):
    now = datetime.now(UTC)
    ours = fake_twilio.phone_number
    old = fake_twilio.add_outbound(ours, CUSTOMER, "hi", date_sent=now - timedelta(hours=3))
    recent = fake_twilio.add_outbound(ours, CUSTOMER, "hi", date_sent=now - timedelta(seconds=5))
    fake_twilio.add_outbound(ours, "+15551239999", "hi", date_sent=now)  # another number
    fake_twilio.add_outbound("+17770000000", CUSTOMER, "hi", date_sent=now)  # another sender
    fake_twilio.add_inbound(CUSTOMER, ours, "hi", date_sent=now)  # their reply

    records = list(provider.list_sent(CUSTOMER, now - timedelta(minutes=2)))

    assert [r.sid for r in records] == [recent]
    assert records[0].body == "hi" and records[0].to_number == CUSTOMER
    assert old not in {r.sid for r in records}
    [request] = fake_twilio.requests_to("/Messages.json", "GET")
    assert request.params["To"] == CUSTOMER and request.params["From"] == ours
    assert not any(key.startswith("DateSent") for key in request.params)  # queued: no DateSent


def test_list_sent_follows_pages_until_they_are_older_than_the_attempt(fake_twilio, provider):
    now = datetime.now(UTC)
    for i in range(450):  # three pages of 200 when the lookup must read them all
        fake_twilio.add_outbound(
            fake_twilio.phone_number, CUSTOMER, f"text {i}", date_sent=now - timedelta(seconds=i)
        )
    records = list(provider.list_sent(CUSTOMER, now - timedelta(hours=1)))
    assert len(records) == 450 and len({r.sid for r in records}) == 450
    assert len(fake_twilio.requests_to("/Messages.json", "GET")) == 3


@pytest.mark.parametrize(
    "fault",
    [Fault.http(500, method="GET"), Fault.drop(method="GET"), Fault.wrong_types(method="GET")],
    ids=["500", "dropped", "unreadable"],
)
def test_a_lookup_that_cannot_be_read_raises_rather_than_answer_not_found(
    fake_twilio, provider, fault
):
    fake_twilio.add_outbound(fake_twilio.phone_number, CUSTOMER, "hi")
    fake_twilio.add_fault(fault)
    error = raise_of(lambda: list(provider.list_sent(CUSTOMER, datetime.now(UTC))))
    assert error.kind is not FailureKind.UNKNOWN and error.reason


def test_wrong_credentials_is_authentication(fake_twilio):
    provider = make_provider(fake_twilio, auth_token="not-the-token")
    for call in (
        lambda: provider.send(CUSTOMER, "hi"),
        provider.test_connection,
        lambda: list(provider.list_inbound(datetime.now(UTC))),
        lambda: provider.fetch_status("SM" + "0" * 32),
    ):
        error = raise_of(call)
        assert error.kind is FailureKind.AUTHENTICATION
        assert error.reason == "Twilio did not accept the Account SID and Auth Token"
        assert error.http_status == 401
    assert fake_twilio.sent_messages == []


# ---- list_inbound -------------------------------------------------------------------


def test_listing_many_pages_returns_every_inbound_once(fake_twilio, provider):
    now = datetime.now(UTC)
    inbound = {
        fake_twilio.add_inbound(
            f"+1555{i:07d}",
            fake_twilio.phone_number,
            f"msg {i}",
            date_sent=now - timedelta(seconds=i),
        )
        for i in range(2500)
    }
    for i in range(30):  # our own texts: listed by the server under From, never To
        fake_twilio.add_outbound(fake_twilio.phone_number, f"+1666{i:07d}", "out")
    # outbound to the business number (e.g. from another app on the account) is filtered too
    fake_twilio.add_outbound("+17770000000", fake_twilio.phone_number, "outbound-api to us")

    records = list(provider.list_inbound(now - timedelta(hours=1)))

    assert len(records) == 2500  # our own texts are listed too, and left out
    assert {r.sid for r in records} == inbound
    assert all(r.direction == "inbound" for r in records)
    assert all(
        r.date_sent.tzinfo is not None and r.date_sent.utcoffset() == timedelta(0) for r in records
    )
    assert [r.date_sent for r in records] == sorted((r.date_sent for r in records), reverse=True)

    lists = fake_twilio.requests_to("/Messages.json", "GET")
    assert len(lists) == 3
    first = lists[0].params
    assert "To" not in first  # replies to every number of the account
    assert first["PageSize"] == "1000"
    start_of_day = (now - timedelta(hours=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert first["DateSent>"] == start_of_day
    assert all(r.params.get("PageToken") for r in lists[1:])
    assert [r.params.get("Page") for r in lists[1:]] == ["1", "2"]


def test_listing_uses_day_granularity(fake_twilio, provider):
    since = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
    early_same_day = fake_twilio.add_inbound(
        CUSTOMER,
        fake_twilio.phone_number,
        "early",
        date_sent=datetime(2025, 3, 10, 0, 5, tzinfo=UTC),
    )
    fake_twilio.add_inbound(
        CUSTOMER,
        fake_twilio.phone_number,
        "day before",
        date_sent=datetime(2025, 3, 9, 23, 59, tzinfo=UTC),
    )
    later = fake_twilio.add_inbound(
        CUSTOMER,
        fake_twilio.phone_number,
        "later",
        date_sent=datetime(2025, 3, 12, 9, 0, tzinfo=UTC),
    )

    records = list(provider.list_inbound(since))

    assert [r.sid for r in records] == [later, early_same_day]
    assert records[1].date_sent == datetime(2025, 3, 10, 0, 5, tzinfo=UTC)
    assert records[1].body == "early"
    assert records[1].from_number == CUSTOMER
    assert records[1].to_number == fake_twilio.phone_number


def test_malformed_record_is_skipped_and_logged(fake_twilio, provider, caplog):
    now = datetime.now(UTC)
    good_1 = fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, "STOP", date_sent=now)
    fake_twilio.add_raw_message(
        {
            "sid": "SM" + "b" * 32,
            "to": fake_twilio.phone_number,
            "from": 15551230002,
            "body": None,
            "direction": "inbound",
            "date_sent": "not a date",
        },
        date_sent=now - timedelta(seconds=1),
    )
    fake_twilio.add_raw_message(  # date_sent of the wrong type breaks the library's parser
        {
            "sid": "SM" + "c" * 32,
            "to": fake_twilio.phone_number,
            "from": CUSTOMER,
            "body": "x",
            "direction": "inbound",
            "date_sent": 1700000000,
        },
        date_sent=now - timedelta(seconds=2),
    )
    good_2 = fake_twilio.add_inbound(
        CUSTOMER, fake_twilio.phone_number, "hello", date_sent=now - timedelta(seconds=3)
    )

    with caplog.at_level(logging.WARNING, logger="trustpager.twilio"):
        records = list(provider.list_inbound(now))

    assert [r.sid for r in records] == [good_1, good_2]
    skipped = [r for r in caplog.records if r.name == "trustpager.twilio"]
    assert len(skipped) == 2
    assert "SM" + "b" * 32 in skipped[0].getMessage()


def test_wrong_typed_page_skips_records_without_raising(fake_twilio, provider, caplog):
    fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, "hi")
    fake_twilio.add_fault(Fault.wrong_types(method="GET"))
    with caplog.at_level(logging.WARNING, logger="trustpager.twilio"):
        assert list(provider.list_inbound(datetime.now(UTC))) == []
    assert any(r.name == "trustpager.twilio" for r in caplog.records)
    assert len(list(provider.list_inbound(datetime.now(UTC)))) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http(500, method="GET"),
        Fault.http(429, method="GET"),
        Fault.malformed_json(method="GET"),
    ],
)
def test_failed_list_page_is_temporary(fake_twilio, provider, fault):
    fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, "hi")
    fake_twilio.add_fault(fault)
    error = raise_of(lambda: list(provider.list_inbound(datetime.now(UTC))))
    assert error.kind is FailureKind.TEMPORARY


def test_failure_on_a_later_page_is_temporary(fake_twilio, provider):
    now = datetime.now(UTC)
    for i in range(1001):
        fake_twilio.add_inbound(f"+1555{i:07d}", fake_twilio.phone_number, "x", date_sent=now)
    records = provider.list_inbound(now)
    first_page = list(islice(records, 1000))
    fake_twilio.add_fault(Fault.http(503, method="GET"))
    error = raise_of(lambda: next(records))
    assert len(first_page) == 1000
    assert error.kind is FailureKind.TEMPORARY
    assert error.http_status == 503


def test_late_message_is_listed_once_released(fake_twilio, provider):
    now = datetime.now(UTC)
    shown = fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, "hi", date_sent=now)
    late = fake_twilio.add_inbound(
        CUSTOMER,
        fake_twilio.phone_number,
        "STOP",
        date_sent=now - timedelta(seconds=5),
        visible=False,
    )
    assert [r.sid for r in provider.list_inbound(now)] == [shown]
    fake_twilio.release(late)
    assert [r.sid for r in provider.list_inbound(now)] == [shown, late]


def test_messaging_service_lists_inbound_to_any_number(fake_twilio):
    provider = make_provider(fake_twilio, sender=SERVICE_SID)
    a = fake_twilio.add_inbound(CUSTOMER, "+14155550100", "STOP")
    b = fake_twilio.add_inbound(CUSTOMER, "+14155550199", "START")
    fake_twilio.add_outbound("+14155550100", CUSTOMER, "reminder")

    sids = {r.sid for r in provider.list_inbound(datetime.now(UTC))}

    assert sids == {a, b}
    [req] = fake_twilio.requests_to("/Messages.json", "GET")
    assert "To" not in req.params


def test_pages_are_requested_only_when_asked_for(fake_twilio, provider):
    now = datetime.now(UTC)
    for i in range(25):
        fake_twilio.add_inbound(
            f"+1555{i:07d}", fake_twilio.phone_number, "x", date_sent=now - timedelta(seconds=i)
        )

    pages = provider.list_message_pages(MessageQuery(now, page_size=10))
    first = next(pages)
    pages.close()  # the caller stops after the first page

    assert len(first) == 10
    assert len(fake_twilio.requests_to("/Messages.json", "GET")) == 1


def test_listing_carries_both_directions_with_status_and_error_code(fake_twilio, provider):
    fake_twilio.deliver_to(CUSTOMER, "undelivered", 30006)
    sent = provider.send(CUSTOMER, "reminder").sid
    fake_twilio.advance_deliveries(2)  # queued -> sent -> undelivered
    reply = fake_twilio.add_inbound(CUSTOMER, "+14155550111", "STOP")  # to a second number

    (page,) = provider.list_message_pages(MessageQuery(datetime.now(UTC)))

    by_sid = {r.sid: r for r in page}
    assert by_sid[sent].outbound and not by_sid[sent].inbound
    assert (by_sid[sent].status, by_sid[sent].error_code) == ("undelivered", 30006)
    assert by_sid[sent].from_number == fake_twilio.phone_number
    assert by_sid[reply].inbound and by_sid[reply].to_number == "+14155550111"
    assert by_sid[reply].status == "received" and by_sid[reply].error_code is None


def test_one_number_can_be_listed_alone(fake_twilio, provider):
    mine = fake_twilio.add_inbound(CUSTOMER, "+14155550111", "STOP")
    fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, "hi")

    (page,) = provider.list_message_pages(MessageQuery(datetime.now(UTC), to="+14155550111"))

    assert [r.sid for r in page] == [mine]
    (req,) = fake_twilio.requests_to("/Messages.json", "GET")
    assert req.params["To"] == "+14155550111"


def test_messaging_service_numbers_are_listed_page_by_page(fake_twilio):
    numbers = [f"+1415555{n:04d}" for n in range(1200)]
    fake_twilio.add_service(SERVICE_SID, numbers)
    provider = make_provider(fake_twilio, sender=SERVICE_SID)

    assert provider.account_numbers() == numbers
    requests_made = fake_twilio.requests_to(f"/v1/Services/{SERVICE_SID}/PhoneNumbers", "GET")
    assert len(requests_made) == 2  # 1,000 a page
    assert make_provider(fake_twilio).account_numbers() == [fake_twilio.phone_number]


def test_unknown_messaging_service_is_a_plain_error(fake_twilio):
    provider = make_provider(fake_twilio, sender="MG" + "0" * 32)
    error = raise_of(provider.account_numbers)
    assert "Messaging Service" in error.reason and error.http_status == 404


# ---- fetch_status, test_connection, description ----------------------------------------


def test_fetch_status(fake_twilio, provider):
    sid = provider.send(CUSTOMER, "hi").sid
    assert provider.fetch_status(sid) == "queued"
    fake_twilio.set_status(sid, "delivered")
    assert provider.fetch_status(sid) == "delivered"
    assert provider.fetch_status("SM" + "f" * 32) is None


def test_test_connection(fake_twilio, provider):
    sentence = provider.test_connection()
    assert (
        sentence
        == f"Connected to Twilio account AC…{fake_twilio.account_sid[-4:]} (TrustPager Test Account)"
    )
    [req] = fake_twilio.requests
    assert (req.method, req.path) == ("GET", f"/2010-04-01/Accounts/{fake_twilio.account_sid}.json")


def test_test_connection_suspended_account(fake_twilio, provider):
    fake_twilio.account_status = "suspended"
    error = raise_of(provider.test_connection)
    assert error.kind is FailureKind.PERMANENT
    assert "suspended" in error.reason


def test_description(fake_twilio, provider):
    assert provider.description == "Twilio +1 415 555 0100"
    assert provider.name == "twilio"


def test_bad_sender_is_refused_before_any_request(fake_twilio):
    with pytest.raises(ValueError):
        make_provider(fake_twilio, sender="4155550100")
    assert fake_twilio.requests == []


# ---- secrets and environment ---------------------------------------------------------


def test_auth_token_never_in_reasons_or_logs(fake_twilio, caplog):
    token = fake_twilio.auth_token
    provider = make_provider(fake_twilio, timeout=0.2)
    # a server message that echoes the token must still not reach the user
    fake_twilio.fail_recipient(CUSTOMER, 30007, message=f"Filtered, credentials {token} flagged")
    fake_twilio.fail_recipient("+15551230002", 21610)
    reasons = []
    caplog.set_level(logging.DEBUG)
    scenarios = [
        (None, lambda p: p.send(CUSTOMER, "hi")),
        (None, lambda p: p.send("+15551230002", "hi")),
        (Fault.http(429), lambda p: p.send("+15551230003", "hi")),
        (Fault.http(500, message=f"boom {token}"), lambda p: p.fetch_status("SM" + "1" * 32)),
        (Fault.slow(1.0), lambda p: p.send("+15551230003", "hi")),
        (Fault.drop(), lambda p: p.test_connection()),
        (Fault.malformed_json(), lambda p: list(p.list_inbound(datetime.now(UTC)))),
        (
            Fault.http(400, code=20001, message=f"bad {token}"),
            lambda p: list(p.list_inbound(datetime.now(UTC))),
        ),
    ]
    for fault, call in scenarios:
        if fault is not None:
            fake_twilio.add_fault(fault)
        reasons.append(raise_of(lambda call=call: call(provider)))
    # an API address carrying the token is refused up front (URLs reach urllib3's logs)
    with pytest.raises(ValueError) as bad_base:
        make_provider(fake_twilio, api_base=f"{fake_twilio.base_url}/{token}")
    assert token not in str(bad_base.value)
    unreachable = make_provider(fake_twilio, api_base=unused_base_url())
    reasons.append(raise_of(lambda: unreachable.send(CUSTOMER, "hi")))
    wrong = make_provider(fake_twilio, auth_token=token + "x")
    reasons.append(raise_of(wrong.test_connection))
    # success paths too: the account resource itself carries auth_token
    assert token not in provider.test_connection()
    assert token not in repr(provider)

    assert len(reasons) == 10
    for error in reasons:
        assert token not in error.reason
        assert token not in str(error)
        assert token not in repr(error.args)
    assert "Filtered, credentials" in reasons[0].reason  # Twilio's message, scrubbed
    assert caplog.records, "expected some log output to check"
    assert token not in caplog.text


@pytest.mark.parametrize(
    "env",
    [
        {"TWILIO_EDGE": "sydney"},
        {"TWILIO_REGION": "au1"},
        {"TWILIO_EDGE": "dublin", "TWILIO_REGION": "ie1"},
    ],
)
def test_edge_and_region_env_still_reach_local_server(fake_twilio, monkeypatch, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    provider = make_provider(fake_twilio)

    result = provider.send(CUSTOMER, "hi")

    assert [m["sid"] for m in fake_twilio.sent_messages] == [result.sid]
    assert provider.test_connection().startswith("Connected")


# ---- the fake server itself ------------------------------------------------------------


def test_server_refuses_page_beyond_zero_without_token(fake_twilio):
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)
    url = fake_twilio.base_url + messages_path(fake_twilio)
    response = requests.get(url, params={"Page": "1", "PageSize": "50"}, auth=auth, timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == 400


def test_server_envelope_and_errors(fake_twilio):
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)
    url = fake_twilio.base_url + messages_path(fake_twilio)
    for i in range(3):
        fake_twilio.add_inbound(CUSTOMER, fake_twilio.phone_number, f"m{i}")
    page0 = requests.get(url, params={"PageSize": "2"}, auth=auth, timeout=5).json()
    assert {
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "page",
        "page_size",
        "uri",
        "start",
        "end",
        "messages",
    } <= set(page0)
    assert (page0["page"], page0["page_size"], page0["start"], page0["end"]) == (0, 2, 0, 1)
    page1 = requests.get(fake_twilio.base_url + page0["next_page_uri"], auth=auth, timeout=5).json()
    assert len(page1["messages"]) == 1 and page1["next_page_uri"] is None
    assert page1["previous_page_uri"]
    assert (
        requests.get(url, params={"PageSize": "5000"}, auth=auth, timeout=5).json()["page_size"]
        == 1000
    )

    unauthorized = requests.get(url, auth=(fake_twilio.account_sid, "nope"), timeout=5)
    assert unauthorized.status_code == 401 and unauthorized.json()["code"] == 20003
    missing = requests.get(
        url.replace("Messages.json", "Messages/SM" + "0" * 32 + ".json"), auth=auth, timeout=5
    )
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 20404,
        "message": missing.json()["message"],
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
