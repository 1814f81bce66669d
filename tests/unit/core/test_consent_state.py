"""The one consent state, and the automation rule built on it (issue 16 item 1).

Every screen shows ``consent.consent_states``; the rule (``may_automation_text_many``)
decides from the same states. These tests pin each state's wording and answer, the
hold, Twilio's block after re-consent, the frequency cap, and (a hypothesis property)
that the rule and what a person sees never disagree.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.orm import Session

from tests.support.contacts import add_contact
from trustpager_desktop.core import automations, consent, contacts
from trustpager_desktop.core import settings as core_settings
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.consent import AutomationAnswer, ConsentStatus, Severity
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import (
    ConsentSource,
    MessageOrigin,
    MessageStatus,
    ReviewStatus,
    SuppressionResult,
)
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.store.models import Contact, InboundMessage, OutboundMessage
from trustpager_desktop.store.round_trips import RoundTripCounter

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
ANN, BEN = "+14155550101", "+14155550102"
NY = "America/New_York"  # the default business time zone


def _pending_reply(s: Session, e164: str, when: datetime, sid: str = "SMp1") -> None:
    s.add(InboundMessage(sid=sid, from_number=e164, from_e164=e164, to_number="+1", body="pls stop",
                         date_sent=when, fetched_at=when, processed_at=when,
                         classification=ReplyKind.POSSIBLE_OPT_OUT, review_status=ReviewStatus.PENDING))  # fmt: skip
    s.flush()


def _automation_texts(s: Session, contact_id: int, times: list[datetime]) -> None:
    if not times:
        return
    rows = [
        {"contact_id": contact_id, "to_e164": ANN, "body": "hi", "origin": MessageOrigin.AUTOMATION,
         "action_type": "send_sms", "suppression_checked": True, "suppression_result": SuppressionResult.ALLOWED,
         "recipient_opted_out": False, "status": MessageStatus.SENT, "provider": "sandbox", "segments": 1,
         "encoding": "GSM-7", "attempts": 1, "created_at": t, "updated_at": t}
        for t in times
    ]  # fmt: skip
    s.execute(insert(OutboundMessage), rows)


def _save(s: Session, **changes) -> None:
    new = dataclasses.replace(core_settings.load_settings(s), **changes)
    core_settings.save_settings(s, new, actor="t", clock=FixedClock(NOW))


def _state_and_decision(s: Session, cid: int | None, e164: str | None, clock):
    state = consent.consent_state(s, cid, e164)
    decision = consent.may_automation_text_many(s, [(cid, e164)], clock=clock)[0]
    return state, decision


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(NOW)


def test_subscribed(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        state, decision = _state_and_decision(s, cid, ANN, clock)
    assert (state.status, state.label, state.severity) == (
        ConsentStatus.SUBSCRIBED, "Subscribed", Severity.OK)  # fmt: skip
    assert decision.allowed and decision.reason == "contact subscribed"
    assert state.banner == "" and not state.needs_confirmation


def test_no_number(db, clock):
    with db.write() as s:
        cid = contacts.create_contact(s, ContactInput("Nan"), actor="t", clock=clock).id
        state, decision = _state_and_decision(s, cid, None, clock)
    assert state.status is ConsentStatus.NO_NUMBER and state.automation is AutomationAnswer.SKIP
    assert (decision.allowed, decision.reason) == (False, "contact has no valid phone number")


def test_opted_out_says_how_and_when(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        consent.opt_out_contact(s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="t",
                                clock=clock)  # fmt: skip
        state, decision = _state_and_decision(s, cid, ANN, clock)
    assert (state.status, state.label, state.severity) == (
        ConsentStatus.OPTED_OUT, "Opted out", Severity.BLOCKED)  # fmt: skip
    # In the business time zone, the one format of every screen.
    assert state.detail == f"Opted out since {format_time(NOW, NY)} by manual toggle"
    assert format_time(NOW, NY).startswith("26 Nov 2026, 13:00")
    assert (decision.allowed, decision.hold, decision.reason) == (
        False, False, "contact opted out of SMS")  # fmt: skip
    assert decision.recipient_opted_out and state.needs_confirmation
    assert "a manual text still goes through" in state.banner.lower()


def test_a_number_opted_out_through_another_contact_blocks_and_says_through_whom(db, clock):
    with db.write() as s:
        ann = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        ben = add_contact(s, clock, "Ben", "Lee", phone=ANN)
        consent.opt_out_contact(s, s.get(Contact, ann), source=ConsentSource.MANUAL_TOGGLE, actor="t",
                                clock=clock)  # fmt: skip
        state, decision = _state_and_decision(s, ben, ANN, clock)
        bare = consent.consent_state(s, None, ANN)
    assert state.status is ConsentStatus.NUMBER_OPTED_OUT and state.via == "Ann Lee"
    assert "through Ann Lee" in state.detail and "through Ann Lee" in state.banner
    assert (decision.allowed, decision.reason) == (False, "number opted out of SMS")
    assert bare.status is ConsentStatus.NUMBER_OPTED_OUT


def test_a_suppressed_number_blocks_a_contact_not_flagged_itself(db, clock):
    with db.write() as s:
        ann = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        ben = add_contact(s, clock, "Ben", "Lee", phone=ANN)
        consent.opt_out_contact(s, s.get(Contact, ann), source=ConsentSource.MANUAL_TOGGLE, actor="t",
                                clock=clock)  # fmt: skip
        contacts.delete_contact(s, ann, actor="t", clock=clock)  # the opt-out stays on the number
        state, decision = _state_and_decision(s, ben, ANN, clock)
    assert state.status is ConsentStatus.NUMBER_SUPPRESSED and state.opted_out
    assert not decision.allowed


def test_reconsent_after_a_stop_reply_waits_for_start(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        consent.record_provider_block(s, ANN, source=ConsentSource.STOP_REPLY, at=NOW - timedelta(hours=1),
                                      message_sid="SM1", clock=clock)  # fmt: skip
        consent.opt_out_number(s, ANN, source=ConsentSource.STOP_REPLY, actor="Inbox",
                               received_at=NOW - timedelta(hours=1), clock=clock)  # fmt: skip
        opted_out = consent.consent_state(s, cid, ANN)
        consent.re_consent_contact(s, s.get(Contact, cid), method="verbal", note="phoned",
                                   actor="t", clock=clock)  # fmt: skip
        state, decision = _state_and_decision(s, cid, ANN, clock)
    assert opted_out.provider_refuses and "will NOT go through" in opted_out.banner
    assert state.status is ConsentStatus.AWAITING_START
    assert state.label == "Re-consent recorded; waiting for the customer's START reply"
    assert (decision.allowed, decision.hold) == (False, False)
    assert decision.reason == "re-consent recorded; waiting for the customer's START reply"
    assert "will NOT go through" in state.banner and "START" in state.send_question("Ann")


def test_a_later_start_lifts_the_block_an_earlier_one_does_not(db, clock):
    with db.write() as s:
        consent.record_provider_block(s, ANN, source=ConsentSource.STOP_REPLY, at=NOW, clock=clock)
        assert not consent.clear_provider_block(s, ANN, at=NOW - timedelta(seconds=5),
                                                message_sid="SMold", clock=clock)  # fmt: skip
        assert consent.consent_state(s, None, ANN).provider_refuses
        assert consent.clear_provider_block(s, ANN, at=NOW + timedelta(seconds=5),
                                            message_sid="SMnew", clock=clock)  # fmt: skip
        assert not consent.consent_state(s, None, ANN).provider_refuses
        # A STOP older than that START does not block again (Twilio saw STOP, then START).
        assert not consent.record_provider_block(s, ANN, source=ConsentSource.STOP_REPLY,
                                                 at=NOW + timedelta(seconds=1), clock=clock)  # fmt: skip


def test_a_reply_waiting_for_review_holds_texts(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        _pending_reply(s, ANN, NOW - timedelta(minutes=3))
        state, decision = _state_and_decision(s, cid, ANN, clock)
    assert state.status is ConsentStatus.HELD_FOR_REVIEW
    assert state.label == "Held: reply waiting for review" and state.severity is Severity.WARNING
    assert (decision.allowed, decision.hold, decision.reason) == (
        False, True, "reply waiting for review")  # fmt: skip
    assert not decision.recipient_opted_out and state.pending_replies == 1


def test_holding_can_be_turned_off_and_the_screen_says_so(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        _pending_reply(s, ANN, NOW - timedelta(minutes=3))
        _save(s, hold_while_pending=False)
        state, decision = _state_and_decision(s, cid, ANN, clock)
    assert state.status is ConsentStatus.SUBSCRIBED and state.severity is Severity.WARNING
    assert "Holding is turned off" in state.detail
    assert decision.allowed


def test_opted_out_wins_over_a_hold(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        _pending_reply(s, ANN, NOW)
        consent.opt_out_contact(s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="t",
                                clock=clock)  # fmt: skip
        state, decision = _state_and_decision(s, cid, ANN, clock)
    assert state.status is ConsentStatus.OPTED_OUT and state.pending_replies == 1
    assert not decision.allowed and not decision.hold


# ---- frequency cap ------------------------------------------------------------------------


def test_frequency_cap_counts_automation_texts_of_the_last_24_hours(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        _automation_texts(s, cid, [NOW - timedelta(hours=h) for h in (1, 2, 25)])
        two = consent.may_automation_text_many(s, [(cid, ANN)], clock=clock)[0]
        _automation_texts(s, cid, [NOW - timedelta(minutes=5)])
        three = consent.may_automation_text_many(s, [(cid, ANN)], clock=clock)[0]
    assert two.allowed
    assert (three.allowed, three.hold, three.reason) == (
        False, False, "frequency cap: 3 texts in 24 hours")  # fmt: skip
    assert not three.recipient_opted_out


def test_frequency_cap_counts_through_a_batch_and_follows_the_setting(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        batch = consent.may_automation_text_many(s, [(cid, ANN)] * 4, clock=clock)
        _save(s, automation_texts_per_day=0)
        uncapped = consent.may_automation_text_many(s, [(cid, ANN)] * 4, clock=clock)
        _save(s, automation_texts_per_day=1)
        one = consent.may_automation_text_many(s, [(cid, ANN)] * 2, clock=clock)
    assert [d.allowed for d in batch] == [True, True, True, False]
    assert all(d.allowed for d in uncapped)
    assert [d.reason for d in one] == ["contact subscribed", "frequency cap: 1 text in 24 hours"]


def test_frequency_cap_can_be_left_out_by_a_recheck(db, clock):
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", "Lee", phone=ANN)
        _automation_texts(s, cid, [NOW - timedelta(minutes=m) for m in (1, 2, 3)])
        recheck = consent.may_automation_text_many(s, [(cid, ANN)], clock=clock,
                                                   frequency_cap=False)  # fmt: skip
    assert recheck[0].allowed


# ---- ordering helpers ---------------------------------------------------------------------


def test_stale_reply_names_both_times():
    times = consent.ConsentTimes(opt_out=datetime(2026, 11, 26, 15, 3, tzinfo=UTC), opt_in=None)
    start = datetime(2026, 11, 26, 15, 2, tzinfo=UTC)
    assert consent.stale_reply(ReplyKind.OPT_IN, start, times, "America/New_York") == (
        "START of 10:02:00 EST older than STOP of 10:03:00 EST: no change"
    )
    assert consent.stale_reply(ReplyKind.OPT_IN, start + timedelta(minutes=2), times, "UTC") is None
    assert consent.stale_reply(ReplyKind.OPT_OUT, start, times, "UTC") is None  # no START on record


# ---- the rule and the screen never disagree (hypothesis) ----------------------------------

NUMBERS = [ANN, BEN, "+14155550103"]

world = st.fixed_dictionaries(
    {
        "contacts": st.lists(
            st.tuples(st.sampled_from([*NUMBERS, None]), st.booleans()), min_size=1, max_size=6
        ),
        "suppressed": st.sets(st.sampled_from(NUMBERS)),
        "blocked": st.sets(st.sampled_from(NUMBERS)),
        "pending": st.sets(st.sampled_from(NUMBERS)),
        "hold": st.booleans(),
        "cap": st.sampled_from([0, 1, 3]),
        "sent_today": st.lists(st.integers(0, 5), min_size=6, max_size=6),
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(w=world)
def test_the_rule_and_every_screen_agree(sqlite_db, w):
    """Whatever the mix of flags, suppressions, Twilio blocks, pending replies and
    settings: the rule's answer is the displayed state's answer (plus the frequency
    cap, which only ever turns a "send" into a "skip" with its own reason), and the
    contact page, the browser row and the bare-number state show that same state."""
    clock = FixedClock(NOW)
    with Session(sqlite_db.engine) as s:
        _save(s, hold_while_pending=w["hold"], automation_texts_per_day=w["cap"])
        ids = []
        for i, (phone, opted_out) in enumerate(w["contacts"]):
            cid = contacts.create_contact(s, ContactInput(f"P{i}", phone=phone or ""), actor="t",
                                          clock=clock).id  # fmt: skip
            if opted_out:
                consent.opt_out_contact(s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE,
                                        actor="t", clock=clock)  # fmt: skip
            _automation_texts(s, cid, [NOW - timedelta(minutes=m + 1)
                                       for m in range(w["sent_today"][i])])  # fmt: skip
            ids.append((cid, phone))
        for e164 in sorted(w["suppressed"]):
            consent.hold_number(
                s, consent.NumberOptOut(e164, ConsentSource.IMPORT, "t"), clock=clock
            )
        for e164 in w["blocked"]:
            consent.record_provider_block(
                s, e164, source=ConsentSource.STOP_REPLY, at=NOW, clock=clock
            )
        for n, e164 in enumerate(sorted(w["pending"])):
            _pending_reply(s, e164, NOW - timedelta(minutes=1), sid=f"SMp{n}")

        recipients = [(cid, phone) for cid, phone in ids]
        decisions = [consent.may_automation_text_many(s, [r], clock=clock)[0] for r in recipients]
        states = consent.consent_states(s, recipients)
        rows = {r.id: r.consent for r in contacts.search_contacts(s, limit=100)}
        for (cid, phone), state, decision in zip(recipients, states, decisions, strict=True):
            assert contacts.get_contact(s, cid).consent == state
            assert rows[cid] == state
            capped = decision.reason.startswith("frequency cap")
            assert decision.allowed == (state.automation_allowed and not capped)
            assert decision.hold == (state.automation is AutomationAnswer.WAIT)
            assert capped or decision.reason == state.reason
            assert decision.recipient_opted_out == state.opted_out
            if capped:
                assert state.automation_allowed and w["cap"] and w["sent_today"][ids.index(
                    (cid, phone))] >= w["cap"]  # fmt: skip
            if phone:  # the bare number (the contact form's warning) sees the number's opt-outs
                by_number = phone in w["suppressed"] or any(
                    p == phone and out for p, out in w["contacts"])  # fmt: skip
                assert consent.consent_state(s, None, phone).opted_out == by_number
            # The banner never claims a manual text goes through where Twilio refuses it.
            if state.provider_refuses and state.banner:
                assert "will NOT go through" in state.banner
            assert bool(state.banner) == (state.severity in (Severity.BLOCKED,) or
                                          state.status is ConsentStatus.AWAITING_START or
                                          state.status is ConsentStatus.HELD_FOR_REVIEW)  # fmt: skip
        s.rollback()


def test_hypothesis_world_default_settings_match_appsettings():
    assert AppSettings().automation_texts_per_day == 3 and AppSettings().hold_while_pending


def test_the_rule_reads_a_whole_batch_in_one_statement(db, clock):
    """Settings, the sending automation's purpose, the frequency cap and every consent fact
    of a batch come from one statement (one round trip to a distant database), and each
    still decides: a declined purpose, the cap as the setting now says, the rest allowed."""
    numbers = [f"+1415555{i:04d}" for i in range(120)]
    with db.write() as s:
        ids = [add_contact(s, clock, f"C{i}", "Lee", phone=n) for i, n in enumerate(numbers)]
        view = automations.create_automation(
            s, automations.AutomationInput("Reminders", [automations.StepInput(
                "send_sms", template="Hi")]), clock=clock)  # fmt: skip
        s.get(Contact, ids[1]).declined_purposes = automations.DEFAULT_PURPOSE
        _automation_texts(s, ids[0], [NOW - timedelta(minutes=m) for m in (1, 2)])
        _save(s, automation_texts_per_day=2)
        s.flush()
        with RoundTripCounter(db.engine) as counter:
            decisions = consent.may_automation_text_many(
                s, list(zip(ids, numbers, strict=True)), clock=clock,
                automation_ids=[view.id] * len(ids))  # fmt: skip
    assert len(counter.statements) == 1, counter.describe()
    assert decisions[0].reason == "frequency cap: 2 texts in 24 hours"
    assert decisions[1].reason == consent.purpose_reason(automations.DEFAULT_PURPOSE)
    assert all(d.allowed for d in decisions[2:])
