"""InboxBridge: "Check inbox now" runs off the GUI thread and reports through signals."""

from __future__ import annotations

import threading

import pytest

from tests.support.contacts import add_contact
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.ui.inbox_bridge import InboxBridge


@pytest.fixture
def bridge(qtbot, sqlite_db, twilio_provider, clock):
    poller = InboxPoller(sqlite_db, twilio_provider, clock, settings=AppSettings(), rand=lambda: 1)
    made = InboxBridge(poller)
    yield made
    made.shutdown()


def test_check_now_reports_status_and_opt_outs(qtbot, bridge, sqlite_db, clock, fake_twilio):
    with sqlite_db.write() as s:
        add_contact(s, SYSTEM_CLOCK, "Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.add_inbound("+14155550101", fake_twilio.phone_number, "STOP", clock.now())
    fake_twilio.add_inbound("+14155550102", fake_twilio.phone_number, "pls stop", clock.now())
    threads = []
    bridge.status_changed.connect(lambda _: threads.append(threading.current_thread()))

    with (
        qtbot.waitSignal(bridge.status_changed, timeout=10_000) as status,
        qtbot.waitSignal(bridge.opted_out, timeout=10_000) as opted_out,
        qtbot.waitSignal(bridge.review_count_changed, timeout=10_000) as review,
    ):
        bridge.check_now()

    assert status.args == ["Inbox checked 10:00 EST"]  # 15:00 UTC in New York, not this computer's
    (notice,) = opted_out.args[0]
    assert notice.phone_e164 == "+14155550101" and notice.contact_names == ("Ann Lee",)
    assert review.args == [1]
    assert threads == [threading.main_thread()]  # delivered to the GUI thread, queued


def test_unreachable_twilio_shows_next_try(qtbot, bridge, fake_twilio):
    fake_twilio.stop()
    with qtbot.waitSignal(bridge.status_changed, timeout=10_000) as status:
        bridge.check_now()
    assert status.args == ["Twilio unreachable, next try 10:00 EST"]


def test_a_window_that_does_not_poll_says_who_does(
    qtbot, bridge, sqlite_db, twilio_provider, clock
):
    agent = InboxPoller(
        sqlite_db, twilio_provider, clock, settings=AppSettings(), label="OFFICE-PC (agent)"
    )
    agent.run_once()  # the agent holds the poller lease and reads
    clock.advance(seconds=12)

    with qtbot.waitSignal(bridge.status_changed, timeout=10_000) as status:
        bridge._poller.run_once()  # the window's scheduled tick

    assert status.args == ["Inbox checked by OFFICE-PC (agent) 12 s ago"]
