"""Incremental inbox reads (issue 18 item 2): one API request per poll in steady state.

Each poll lists the whole account newest first and stops paging at the last read
less a lateness margin; a full look-back sweep runs at start and every hour, so
replies Twilio lists late, and out of date order, are still caught. Requests are
counted in the local server's request log.
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from tests.support.inbox import list_requests, number_opted_out
from trustpager_desktop.core import inbox_state


def _steady(poller, clock, fake_twilio, polls: int) -> list[int]:
    """Run ``polls`` scheduled polls 30 s apart; the requests each one made."""
    made = []
    for _ in range(polls):
        clock.advance(seconds=30)
        before = list_requests(fake_twilio)
        assert poller.run_once().ok
        made.append(list_requests(fake_twilio) - before)
    return made


def test_steady_state_poll_is_one_request_even_on_a_busy_account(
    db, clock, inbox_poller, fake_twilio
):
    start = clock.now() - timedelta(hours=11)
    for n in range(3000):  # a busy day so far: three full pages since midnight
        fake_twilio.add_outbound(
            fake_twilio.phone_number,
            f"+1415556{n:04d}",
            "Reminder",
            start + timedelta(seconds=n * 12),
        )
    first = list_requests(fake_twilio)
    assert inbox_poller.run_once().ok  # at start: the look-back sweep pages through it all
    assert list_requests(fake_twilio) - first >= 3

    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    made = []
    for n in range(10):
        fake_twilio.add_inbound(  # a little traffic between polls, as in a real day
            f"+1415557{n:04d}", fake_twilio.phone_number, "Thanks", clock.now()
        )
        made += _steady(inbox_poller, clock, fake_twilio, 1)
    fake_twilio.add_inbound("+14155550101", fake_twilio.phone_number, "STOP", clock.now())
    made += _steady(inbox_poller, clock, fake_twilio, 1)

    assert made == [1] * 11
    assert number_opted_out(db, "+14155550101")
    page = fake_twilio.requests_to("/Messages.json", "GET")[-1].params
    assert "To" not in page and int(page["PageSize"]) < 1000  # sized to what is new


def test_sweep_runs_at_start_and_every_hour(db, clock, inbox_poller, fake_twilio):
    assert "look-back sweep" in inbox_poller.run_once().message
    messages = []
    for _ in range(29):  # an hour of polls, every two minutes to keep the test short
        clock.advance(minutes=2)
        messages.append(inbox_poller.run_once().message)
    assert not any("look-back sweep" in m for m in messages)

    clock.advance(minutes=2)
    assert "look-back sweep: hourly look-back" in inbox_poller.run_once().message
    with db.read() as s:
        assert inbox_state.last_sweep(s) == clock.now()


def test_replies_listed_late_and_out_of_date_order_are_caught(db, clock, inbox_poller, fake_twilio):
    for tail in ("0101", "0102", "0103"):
        add_contact(db, clock, "Ann", "Lee", phone=f"(415) 555-{tail}")
    read_at = clock.now()
    for n in range(200):  # the morning so far: replies between 2 hours and 11 minutes ago
        fake_twilio.add_inbound(
            f"+1415558{n:04d}", fake_twilio.phone_number, "ok",
            read_at - timedelta(minutes=11) - timedelta(seconds=n * 32),
        )  # fmt: skip
    assert inbox_poller.run_once().ok  # the start-up sweep; its time is the watermark
    recent = fake_twilio.add_inbound(  # sent 3 min before that read, listed only after it
        "+14155550101", fake_twilio.phone_number, "STOP", read_at - timedelta(minutes=3),
        visible=False,
    )  # fmt: skip
    older = fake_twilio.add_inbound(  # sent 100 min before that read: beyond the margin
        "+14155550102", fake_twilio.phone_number, "STOP", read_at - timedelta(minutes=100),
        visible=False,
    )  # fmt: skip
    # Listed among the newest messages although it shows a date 25 minutes old.
    fake_twilio.add_inbound(
        "+14155550103", fake_twilio.phone_number, "STOP", read_at - timedelta(minutes=25),
        listed_at=read_at + timedelta(seconds=20),
    )  # fmt: skip
    for n in range(80):  # and more new traffic than the incremental page size expects
        fake_twilio.add_inbound(
            f"+1415559{n:04d}", fake_twilio.phone_number, "ok", read_at + timedelta(seconds=n / 8)
        )
    fake_twilio.release(recent)
    fake_twilio.release(older)

    clock.advance(seconds=30)
    before = list_requests(fake_twilio)
    assert inbox_poller.run_once().ok  # incremental: back to the last read less the margin
    assert list_requests(fake_twilio) - before == 2  # the page was too small: one more
    assert number_opted_out(db, "+14155550101")  # late, within the margin
    assert number_opted_out(db, "+14155550103")  # out of date order, on a page read
    assert not number_opted_out(db, "+14155550102")  # older than the margin: not yet

    assert _steady(inbox_poller, clock, fake_twilio, 10) == [1] * 10
    clock.set(read_at + timedelta(hours=1))
    report = inbox_poller.run_once()
    assert "hourly look-back" in report.message
    assert number_opted_out(db, "+14155550102")  # caught by the sweep


def test_a_failed_read_keeps_the_watermark_so_nothing_is_skipped(
    db, clock, inbox_poller, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    assert inbox_poller.run_once().ok
    with db.read() as s:
        watermark = inbox_state.last_read(s).at
    fake_twilio.add_fault(Fault.http(503, method="GET", count=1000))
    for _ in range(40):  # twenty minutes of Twilio trouble (with back-off)
        clock.advance(seconds=30)
        inbox_poller.run_once()
    with db.read() as s:
        assert inbox_state.last_read(s).at == watermark
    fake_twilio.clear_faults()
    fake_twilio.add_inbound(  # a reply from the start of the trouble
        "+14155550101", fake_twilio.phone_number, "STOP", watermark + timedelta(minutes=1)
    )
    clock.advance(minutes=5)
    report = inbox_poller.run_once()
    assert report.ok and "look-back sweep: inbox not read for 25 minutes" in report.message
    assert number_opted_out(db, "+14155550101")
