"""The activity log in the words people look for: a STOP reply is found under "STOP
replies", a review decision carries the time it was made, settings have names."""

import dataclasses

from tests.support.contacts import add_contact
from tests.support.records import opt_out
from trustpager_desktop.core import activity_query, inbox
from trustpager_desktop.core.activity_query import KIND_CHOICE_BY_KEY, detail_fields, query_entries
from trustpager_desktop.core.settings import AppSettings, save_settings
from trustpager_desktop.core.states import ActivityKind, ReviewDecision


def _entries(db, key: str, **others):
    flt = KIND_CHOICE_BY_KEY[key].log_filter(**others)
    with db.read() as s:
        return query_entries(s, flt).entries


def test_the_stop_reply_filter_finds_stop_opt_outs_and_nothing_else(
    db, clock, inbox_poller, send_inbound
):
    ann = add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    bob = add_contact(db, clock, "Bob", phone="+14155550102")
    opt_out(db, clock, bob)  # by hand: an opt-out, but not a STOP reply
    sid = send_inbound("+14155550101", "STOP")

    inbox_poller.run_once()

    (found,) = _entries(db, ActivityKind.STOP_REPLY)
    assert (found.contact_id, found.details["message_sid"]) == (ann, sid)
    assert activity_query.kind_text(found) == "Opt-out: STOP reply"
    assert {e.contact_id for e in _entries(db, ActivityKind.OPT_OUT)} == {ann, bob}
    assert [e.contact_id for e in _entries(db, "opt_out_by_hand")] == [bob]
    assert _entries(db, ActivityKind.STOP_REPLY, contact_id=bob) == []


def test_a_review_decision_happens_when_it_is_decided(db, clock, inbox_poller, send_inbound):
    add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    send_inbound("+14155550101", "please stop texting me", minutes_ago=90)
    inbox_poller.run_once()
    with db.read() as s:
        (item,) = inbox.list_needs_review(s)
    decided = clock.advance(hours=5)

    inbox.decide_review(db, item.inbound_id, ReviewDecision.OPT_OUT, "Maria", clock)

    (decision,) = _entries(db, ActivityKind.REVIEW_DECISION)
    assert decision.occurred_at == decided  # not the reply's time, hours earlier
    fields = dict(detail_fields(decision, "America/New_York"))
    assert fields["Reply received"].startswith("26 Nov 2026, 08:30")  # 13:30 UTC, in New York
    assert fields["Message"] == "please stop texting me"
    assert fields["By"] == "Maria"


def test_settings_changes_name_the_setting_as_the_screen_does(db, clock):
    new = dataclasses.replace(AppSettings(), quiet_hours_end=20, poll_interval_seconds=60)
    with db.write() as s:
        save_settings(s, new, actor="Ann", clock=clock)
    (entry,) = _entries(db, ActivityKind.SETTINGS_CHANGE)
    assert entry.kind == ActivityKind.SETTINGS_CHANGE
    assert "quiet_hours_end" not in entry.summary
    assert entry.summary == ("Settings changed: Inbox check interval (seconds), Sending hours end")
    fields = dict(detail_fields(entry, "UTC"))
    assert fields["Sending hours end"] == "21 → 20"
