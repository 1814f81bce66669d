"""What every desktop on one database knows about the inbox: the last complete read (the
freshness dispatch checks, DESIGN promise 10), the account's numbers, and who polls."""

from __future__ import annotations

from datetime import timedelta

from trustpager_desktop.core import inbox_state
from trustpager_desktop.core.inbox_state import InboxFreshness

TTL = timedelta(seconds=90)


def test_the_last_read_mark_only_moves_forward_whoever_finishes_last(db, clock):
    early, late = clock.now(), clock.now() + timedelta(seconds=30)
    with db.write() as s:
        assert inbox_state.last_read(s) is None
        inbox_state.record_read(s, late, worker="agent-1", label="Agent", sweep=False)
    with db.write() as s:  # a slower read that started earlier finishes afterwards
        inbox_state.record_read(s, early, worker="desk-2", label="Front desk", sweep=True)
    with db.read() as s:
        assert inbox_state.last_read(s) == inbox_state.LastRead(late, "Agent", "agent-1")
        assert inbox_state.last_sweep(s) == early


def test_one_process_polls_until_it_stops_or_its_lease_runs_out(db, clock):
    now = clock.now()
    with db.write() as s:
        mine = inbox_state.claim_lease(s, worker="desk-1", label="Front desk", now=now, ttl=TTL)
    with db.write() as s:
        theirs = inbox_state.claim_lease(s, worker="agent", label="Agent", now=now, ttl=TTL)
    assert mine.held_by("desk-1", now) and theirs == mine
    later = now + TTL + timedelta(seconds=1)  # the front desk was killed: the agent takes over
    with db.write() as s:
        taken = inbox_state.claim_lease(s, worker="agent", label="Agent", now=later, ttl=TTL)
    assert taken.held_by("agent", later)
    with db.write() as s:
        assert not inbox_state.release_lease(s, worker="desk-1", now=later)
        assert inbox_state.release_lease(s, worker="agent", now=later)
    with db.write() as s:
        again = inbox_state.claim_lease(s, worker="desk-1", label="Front desk", now=later, ttl=TTL)
    assert again.held_by("desk-1", later)


def test_the_account_s_numbers_are_remembered_once_each(db):
    with db.write() as s:
        assert inbox_state.remember_numbers(s, ["+14155550100", "not a number"]) == ["+14155550100"]
    with db.write() as s:
        assert inbox_state.remember_numbers(s, ["+14155550100", "+14155550199"]) == ["+14155550199"]
    with db.read() as s:
        assert inbox_state.known_numbers(s) == ["+14155550100", "+14155550199"]


def test_a_send_records_how_fresh_the_inbox_was_in_plain_words(clock):
    fresh = InboxFreshness(clock.now(), 95.2)
    assert not fresh.stale and fresh.note() == "inbox last read 95 s before this send"
    failed = InboxFreshness(clock.now(), 400.0, error="Twilio unreachable")
    assert failed.stale
    assert failed.note() == "inbox last read 400 s before this send (Twilio unreachable)"
    never = InboxFreshness(None, None)
    assert never.stale and never.note() == "inbox never read before this send"
