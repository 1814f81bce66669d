"""One inbox poller per database (issue 18 item 3), in one process with a moving clock.

Desktops and agents sharing a database elect one poller with a lease in the
database; the others show who reads the inbox. The three-process version (real
agents, one killed) is in tests/reliability/test_inbox_three_pollers.py.
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from tests.support.inbox import list_requests, number_opted_out
from trustpager_desktop.core import inbox_state
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.runtime.inbox_poller import InboxPoller, status_text

INTERVAL = timedelta(seconds=30)


def _poller(db, provider, clock, name: str) -> InboxPoller:
    return InboxPoller(
        db, provider, clock, settings=AppSettings(), rand=lambda: 1.0,
        worker=f"{name}:1:abc", label=f"{name} (agent)",
    )  # fmt: skip


def _tick(clock, pollers, seconds: float = 15) -> None:
    """One scheduler tick (half the poll interval) in every process."""
    clock.advance(seconds=seconds)
    for poller in pollers:
        poller.run_once()


def test_one_poller_reads_and_the_others_show_who(db, clock, twilio_provider, fake_twilio):
    office, desk, back = (
        _poller(db, twilio_provider, clock, n) for n in ("OFFICE-PC", "FRONT-DESK", "BACK-ROOM")
    )
    office.run_once()
    desk.run_once()
    back.run_once()
    before = list_requests(fake_twilio)

    for _ in range(20):  # ten minutes
        _tick(clock, [office, desk, back])

    assert list_requests(fake_twilio) - before == 10  # one read per 30 s, not three
    clock.advance(seconds=12)
    desk.run_once()
    assert status_text(desk.status) == "Inbox checked by OFFICE-PC (agent) 12 s ago"
    with db.read() as s:
        assert inbox_state.read_lease(s).label == "OFFICE-PC (agent)"


def test_a_poller_that_stops_hands_over_at_once(db, clock, twilio_provider, send_inbound):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    office = _poller(db, twilio_provider, clock, "OFFICE-PC")
    desk = _poller(db, twilio_provider, clock, "FRONT-DESK")
    office.run_once()
    desk.run_once()

    office.close()  # quit cleanly: the lease is given up
    send_inbound("+14155550101", "STOP", minutes_ago=0)
    _tick(clock, [desk], seconds=30)

    assert number_opted_out(db, "+14155550101")
    assert status_text(desk.status).startswith("Inbox checked 10:00")


def test_a_killed_poller_is_taken_over_within_two_intervals(
    db, clock, twilio_provider, send_inbound
):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    office = _poller(db, twilio_provider, clock, "OFFICE-PC")
    desk = _poller(db, twilio_provider, clock, "FRONT-DESK")
    office.run_once()
    _tick(clock, [office, desk], seconds=14)  # office renews; the kill comes right after
    killed_at = clock.now()
    send_inbound("+14155550101", "STOP", minutes_ago=0)

    waited = timedelta(0)
    while not number_opted_out(db, "+14155550101"):
        _tick(clock, [desk])  # office is dead: only the desk ticks
        waited = clock.now() - killed_at
        assert waited <= 2 * INTERVAL, "the STOP was not acted on within two intervals"
    assert waited <= 1.5 * INTERVAL  # the lease lapses after one interval, then one tick
    with db.read() as s:
        assert inbox_state.read_lease(s).label == "FRONT-DESK (agent)"


def test_the_others_show_why_the_poller_cannot_read(db, clock, twilio_provider, fake_twilio):
    office = _poller(db, twilio_provider, clock, "OFFICE-PC")
    desk = _poller(db, twilio_provider, clock, "FRONT-DESK")
    office.run_once()
    fake_twilio.add_fault(Fault.http(503, method="GET", count=100))

    _tick(clock, [office, desk], seconds=30)  # office's read fails
    _tick(clock, [office, desk])  # office publishes its trouble with the lease

    assert status_text(desk.status) == (
        "Inbox read by OFFICE-PC (agent), which reports: "
        "Twilio had a temporary problem (HTTP 503); try again shortly"
    )


def test_check_now_reads_even_where_another_process_polls(db, clock, twilio_provider, send_inbound):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    office = _poller(db, twilio_provider, clock, "OFFICE-PC")
    desk = _poller(db, twilio_provider, clock, "FRONT-DESK")
    office.run_once()
    send_inbound("+14155550101", "STOP", minutes_ago=0)

    assert desk.check_now().ok

    assert number_opted_out(db, "+14155550101")
    with db.read() as s:
        assert inbox_state.read_lease(s).label == "OFFICE-PC (agent)"  # still the poller


def test_a_sandbox_inbox_is_read_by_every_process(db, clock):
    from trustpager_desktop.providers.sandbox_provider import SandboxProvider

    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    mine, theirs = SandboxProvider(clock=clock.now), SandboxProvider(clock=clock.now)
    InboxPoller(db, theirs, clock).run_once()
    mine.simulate_reply("+14155550101", "STOP")  # replies simulated here live here only

    assert InboxPoller(db, mine, clock).run_once().ok
    assert number_opted_out(db, "+14155550101")
