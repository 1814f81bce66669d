"""How far back the inbox reads, and which numbers it reads (issue 13 item 3 and 10).

Against the local Twilio server through the real client, on SQLite and PostgreSQL.
The poller used to ask only from the start of the previous UTC day and only for
replies to the one sender number: a computer off over a weekend lost Saturday's
"Stop.", and a STOP sent to another number of the account was never read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.support import figures
from tests.support.contacts import add_contact
from tests.support.inbox import list_requests, number_opted_out
from trustpager_desktop.core import inbox_state
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import MessageOrigin, MessageStatus, SuppressionResult
from trustpager_desktop.providers.twilio_provider import TwilioProvider
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.store.models import InboundMessage

FRIDAY_EVENING = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # 17:00 in New York
MONDAY_MORNING = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 08:00 in New York
SECOND_NUMBER = "+14155550111"  # another number of the same Twilio account


def _replies_lost(db, sids: list[str]) -> int:
    with db.read() as s:
        processed = set(
            s.scalars(
                select(InboundMessage.sid).where(
                    InboundMessage.sid.in_(sids), InboundMessage.processed_at.is_not(None)
                )
            )
        )
    return len(set(sids) - processed)


def test_first_read_looks_back_thirty_days(db, clock, inbox_poller, send_inbound):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    add_contact(db, clock, "Ben", "Lee", phone="(415) 555-0102")
    sids = [
        send_inbound("+14155550101", "Stop.", minutes_ago=72 * 60),
        send_inbound("+14155550102", "STOP", minutes_ago=9 * 24 * 60),
    ]

    report = inbox_poller.run_once()

    lost = _replies_lost(db, sids)
    figures.add("messages lost", lost)
    assert lost == 0, f"{lost} of 2 replies lost"
    assert number_opted_out(db, "+14155550101") and number_opted_out(db, "+14155550102")
    assert report.ok and "look-back sweep: first read: the last 30 days" in report.message


def test_the_look_back_is_a_setting(db, clock, twilio_provider, send_inbound):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    send_inbound("+14155550101", "STOP", minutes_ago=9 * 24 * 60)
    poller = InboxPoller(db, twilio_provider, clock, settings=AppSettings(inbox_look_back_days=7))

    assert poller.run_once().ok
    assert not number_opted_out(db, "+14155550101")  # 9 days is beyond a 7-day look-back


def test_computer_off_over_a_weekend_reads_every_reply_on_monday(
    db, clock, inbox_poller, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    add_contact(db, clock, "Ben", "Lee", phone="(415) 555-0102")
    add_contact(db, clock, "Cy", "Lee", phone="(415) 555-0103")
    clock.set(FRIDAY_EVENING)
    # 72 hours before Monday morning, but Twilio listed it only after Friday's last check.
    friday = fake_twilio.add_inbound(
        "+14155550103", fake_twilio.phone_number, "STOP",
        MONDAY_MORNING - timedelta(hours=72), visible=False,
    )  # fmt: skip
    assert inbox_poller.run_once().ok  # the last check before the weekend
    fake_twilio.release(friday)
    saturday = fake_twilio.add_inbound(
        "+14155550101", fake_twilio.phone_number, "Stop.", datetime(2026, 11, 28, 15, tzinfo=UTC)
    )
    sunday = fake_twilio.add_inbound(
        "+14155550102",
        fake_twilio.phone_number,
        "unsubscribe",
        datetime(2026, 11, 29, 18, tzinfo=UTC),
    )

    clock.set(MONDAY_MORNING)
    report = inbox_poller.run_once()

    lost = _replies_lost(db, [friday, saturday, sunday])
    figures.add("messages lost", lost)
    assert lost == 0, f"{lost} of 3 replies lost"
    assert all(number_opted_out(db, n) for n in ("+14155550101", "+14155550102", "+14155550103"))
    assert report.ok and "inbox not read for 2 days" in report.message, report.message


def test_a_reply_from_the_weekend_listed_late_is_caught_by_monday_sweeps(
    db, clock, inbox_poller, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    clock.set(FRIDAY_EVENING)
    assert inbox_poller.run_once().ok
    late = fake_twilio.add_inbound(
        "+14155550101", fake_twilio.phone_number, "Stop.",
        datetime(2026, 11, 28, 15, tzinfo=UTC), visible=False,
    )  # fmt: skip
    clock.set(MONDAY_MORNING)
    assert inbox_poller.run_once().ok  # Monday's first read: Saturday's reply not listed yet
    fake_twilio.release(late)  # Twilio lists it now, two days out of date order

    before = list_requests(fake_twilio)
    for _ in range(4):
        clock.advance(seconds=30)
        assert inbox_poller.run_once().ok
    assert list_requests(fake_twilio) - before == 4  # steady state: one request each
    assert not number_opted_out(db, "+14155550101")  # older than an incremental read goes

    clock.set(MONDAY_MORNING + timedelta(hours=1))
    report = inbox_poller.run_once()  # the hourly sweep still covers the weekend
    assert number_opted_out(db, "+14155550101")
    assert "hourly look-back" in report.message


def test_stop_sent_to_another_number_of_the_account_is_acted_on(
    db, clock, inbox_poller, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    when = clock.now() - timedelta(minutes=1)
    sid = fake_twilio.add_inbound("+14155550101", SECOND_NUMBER, "STOP", when)

    assert inbox_poller.run_once().ok

    assert number_opted_out(db, "+14155550101")
    assert _replies_lost(db, [sid]) == 0
    with db.read() as s:
        assert SECOND_NUMBER in inbox_state.known_numbers(s)


def test_every_number_of_a_messaging_service_and_every_old_sender_is_swept(db, clock, fake_twilio):
    service = "MG" + "cd" * 16
    fake_twilio.add_service(service, [fake_twilio.phone_number, SECOND_NUMBER])
    old_sender = "+14155550122"  # the sender before the business moved to the service
    start = clock.now() - timedelta(hours=3)
    for n in range(5000):  # a busy day of our own texts: the whole account is 5 pages
        fake_twilio.add_outbound(
            old_sender if n < 10 else fake_twilio.phone_number,
            f"+1415556{n:04d}", "Reminder", start + timedelta(seconds=n),
        )  # fmt: skip
    provider = TwilioProvider(
        fake_twilio.account_sid, fake_twilio.auth_token, service,
        api_base=fake_twilio.base_url, timeout=2.0,
    )  # fmt: skip
    poller = InboxPoller(db, provider, clock)
    assert poller.run_once().ok  # the first read lists everything and learns the senders
    _store_outbound_like(db, clock, 5000)  # what the gateway recorded for those texts
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    add_contact(db, clock, "Ben", "Lee", phone="(415) 555-0102")
    late_sid = fake_twilio.add_inbound(
        "+14155550101", SECOND_NUMBER, "STOP", clock.now() - timedelta(minutes=40)
    )
    old_sid = fake_twilio.add_inbound(
        "+14155550102", old_sender, "STOP", clock.now() - timedelta(minutes=40)
    )

    clock.advance(hours=1)
    before = len(fake_twilio.requests)
    report = poller.run_once()  # the hourly sweep

    assert report.ok and "hourly look-back" in report.message, report.message
    made = fake_twilio.requests[before:]
    lists = [r.params.get("To") for r in made if r.path.endswith("/Messages.json")]
    assert sorted(lists) == sorted([fake_twilio.phone_number, SECOND_NUMBER, old_sender])
    assert sum(1 for r in made if "/PhoneNumbers" in r.path) == 1  # 4 requests, not 5
    assert number_opted_out(db, "+14155550101") and number_opted_out(db, "+14155550102")
    assert _replies_lost(db, [late_sid, old_sid]) == 0


def _store_outbound_like(db, clock, count: int) -> None:
    """Outbound records as the gateway keeps them: what the sweep estimate counts."""
    from trustpager_desktop.store.models import OutboundMessage

    now = clock.now()
    with db.write() as s:
        s.execute(
            OutboundMessage.__table__.insert(),
            [
                {
                    "to_e164": f"+1415556{n:04d}",
                    "body": "Reminder",
                    "origin": MessageOrigin.AUTOMATION,
                    "action_type": "send_sms",
                    "suppression_checked": True,
                    "suppression_result": SuppressionResult.ALLOWED,
                    "recipient_opted_out": False,
                    "status": MessageStatus.SENT,
                    "provider": "twilio",
                    "segments": 1,
                    "encoding": "GSM-7",
                    "attempts": 1,
                    "created_at": now - timedelta(hours=2),
                    "updated_at": now,
                }
                for n in range(count)
            ],
        )
