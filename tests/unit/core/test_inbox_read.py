"""Reading the inbox: how far back the next read goes, and storing what Twilio lists before
anything acts on it (DESIGN promise 8); only a complete read moves the shared mark."""

from __future__ import annotations

from datetime import timedelta

from tests.support.fake_twilio import Fault
from trustpager_desktop.core import inbox_read, inbox_state
from trustpager_desktop.core.settings import AppSettings

ANN = "+14155550101"


def _plan(db, clock, **kw) -> inbox_read.ReadPlan:
    with db.read() as s:
        return inbox_read.plan_read(s, clock.now(), AppSettings(inbox_look_back_days=14), **kw)


def _mark_read(db, at, *, sweep: bool) -> None:
    with db.write() as s:
        inbox_state.record_read(s, at, worker="desk", label="Front desk", sweep=sweep)


def test_the_first_read_looks_back_the_set_days_and_later_reads_only_since_the_last(db, clock):
    first = _plan(db, clock)
    assert (first.kind, first.reason) == ("sweep", "first read: the last 14 days")
    assert first.since == clock.now() - timedelta(days=14)
    _mark_read(db, clock.now(), sweep=True)
    clock.advance(seconds=30)
    steady = _plan(db, clock)
    assert steady.kind == "incremental"
    assert steady.stop_at == clock.now() - timedelta(seconds=30) - inbox_read.LATENESS_MARGIN


def test_a_weekend_off_reads_back_to_before_the_last_read(db, clock):
    _mark_read(db, clock.now(), sweep=True)
    last = clock.now()
    clock.advance(days=2, hours=3)
    plan = _plan(db, clock)
    assert (plan.kind, plan.reason, plan.covers_gap) == (
        "sweep",
        "inbox not read for 2 days",
        True,
    )
    assert plan.since <= last - inbox_read.LATENESS_MARGIN
    before_dispatch = _plan(db, clock, incremental_only=True)
    assert before_dispatch.kind == "incremental" and before_dispatch.reason == "before sending"


def test_a_read_stores_replies_once_and_moves_the_mark(
    db, clock, fake_twilio, twilio_provider, send_inbound
):
    send_inbound(ANN, "Is Tuesday ok?", minutes_ago=3)
    send_inbound(ANN, "STOP", minutes_ago=2)
    first = inbox_read.read_inbox(
        db, twilio_provider, clock, _plan(db, clock), worker="desk", label="Front desk"
    )
    assert first.ok and (first.stored.new, first.stored.duplicates) == (2, 0)
    again = inbox_read.read_inbox(
        db, twilio_provider, clock, _plan(db, clock, force_sweep=True), worker="d", label="D"
    )
    assert (again.stored.new, again.stored.duplicates) == (0, 2)
    with db.read() as s:
        assert inbox_state.last_read(s).at == clock.now()
        assert inbox_state.known_numbers(s) == [fake_twilio.phone_number]


def test_a_read_cut_short_by_twilio_keeps_the_mark_where_it_was(
    db, clock, fake_twilio, twilio_provider, send_inbound
):
    _mark_read(db, clock.now() - timedelta(minutes=1), sweep=True)
    send_inbound(ANN, "Hello?", minutes_ago=0.5)
    fake_twilio.add_fault(Fault("http", count=10, status=400, method="GET"))
    result = inbox_read.read_inbox(
        db, twilio_provider, clock, _plan(db, clock), worker="desk", label="Front desk"
    )
    assert not result.ok
    with db.read() as s:
        assert inbox_state.last_read(s).at == clock.now() - timedelta(minutes=1)
