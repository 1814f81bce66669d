from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.support.contacts import add_contact
from trustpager_desktop.core import activity, consent, contacts
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.states import ActivityKind, ConsentEventKind, ConsentSource
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent, Contact


def _count(s, model, **where):
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return s.scalar(stmt)


def test_manual_opt_out_sets_flag_event_and_log_in_one_transaction(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with db.write() as s:
        changed = consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="Ann", clock=clock
        )
    assert changed
    with db.read() as s:
        c = s.get(Contact, cid)
        assert c.sms_opted_out and c.sms_opted_out_at == clock.now()
        assert c.sms_opt_out_source == ConsentSource.MANUAL_TOGGLE
        event = s.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == cid)).one()
        assert (event.kind, event.actor, event.phone_e164) == (
            ConsentEventKind.OPT_OUT,
            "Ann",
            "+14155550101",
        )
        assert _count(s, ActivityEntry, kind=ActivityKind.OPT_OUT, contact_id=cid) == 1
        assert not consent.may_automation_text(s, cid, c.phone_e164).allowed


def test_opting_out_twice_is_harmless_and_recorded_once(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    for _ in range(2):
        with db.write() as s:
            consent.opt_out_contact(
                s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="Ann", clock=clock
            )
    with db.read() as s:
        assert _count(s, ConsentEvent, contact_id=cid) == 1
        assert _count(s, ActivityEntry, kind=ActivityKind.OPT_OUT) == 1


def test_failed_opt_out_leaves_nothing_half_written(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with pytest.raises(RuntimeError), db.write() as s:
        consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="Ann", clock=clock
        )
        raise RuntimeError("power cut")
    with db.read() as s:
        assert not s.get(Contact, cid).sms_opted_out
        assert _count(s, ConsentEvent) == 0
        assert _count(s, ActivityEntry, kind=ActivityKind.OPT_OUT) == 0


def test_stop_opts_out_every_contact_with_that_number(db, clock):
    a = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    b = add_contact(db, clock, "Bob", phone="+1 415 555 0101")
    other = add_contact(db, clock, "Cy", phone="(415) 555-0199")
    received = datetime(2026, 11, 26, 10, 4, 17, tzinfo=UTC)
    with db.write() as s:
        result = consent.opt_out_number(
            s,
            "+14155550101",
            source=ConsentSource.STOP_REPLY,
            actor="Inbox",
            message_sid="SM1",
            evidence="STOP",
            received_at=received,
            clock=clock,
        )
    assert sorted(result.contact_ids) == sorted([a, b])
    with db.read() as s:
        assert s.get(Contact, a).sms_opted_out and s.get(Contact, b).sms_opted_out
        assert not s.get(Contact, other).sms_opted_out
        assert s.get(Contact, a).sms_opted_out_at == received
        events = s.scalars(select(ConsentEvent)).all()
        assert {e.message_sid for e in events} == {"SM1"}
        assert all(e.received_at == received and e.recorded_at == clock.now() for e in events)


def test_opt_out_follows_the_number_for_automations(db, clock):
    a = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    b = add_contact(
        db, clock, "Bob", phone="(415) 555-0101"
    )  # same number, still subscribed on its own record
    with db.write() as s:
        consent.opt_out_contact(
            s, s.get(Contact, a), source=ConsentSource.MANUAL_TOGGLE, actor="Ann", clock=clock
        )
    with db.read() as s:
        decision = consent.may_automation_text(s, b, "+14155550101")
    assert not decision.allowed


def test_stop_from_unknown_number_is_remembered_for_contacts_created_later(db, clock):
    with db.write() as s:
        result = consent.opt_out_number(
            s,
            "+14155550177",
            source=ConsentSource.STOP_REPLY,
            actor="Inbox",
            message_sid="SM9",
            clock=clock,
        )
    assert result.contact_ids == [] and result.number_suppressed
    with db.read() as s:
        assert not consent.may_automation_text(s, None, "+14155550177").allowed
    cid = add_contact(db, clock, "Late", phone="415 555 0177")
    with db.read() as s:
        c = s.get(Contact, cid)
        assert c.sms_opted_out and c.sms_opt_out_source == ConsentSource.NUMBER_SUPPRESSION
        assert "opted out earlier" in activity.for_contact(s, cid)[0].summary


def test_editing_a_contact_to_a_suppressed_number_opts_it_out(db, clock):
    cid = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    with db.write() as s:
        consent.opt_out_number(
            s, "+14155550177", source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
    with db.write() as s:
        contacts.update_contact(
            s, cid, ContactInput(first_name="Ann", phone="4155550177"), actor="Ann", clock=clock
        )
    with db.read() as s:
        assert s.get(Contact, cid).sms_opted_out


@pytest.mark.parametrize(
    ("method", "note", "message"),
    [
        ("", "said yes", "Choose how"),
        ("carrier pigeon", "x", "Choose how"),
        ("verbal", "  ", "Add a note"),
    ],
)
def test_re_consent_requires_method_and_note_and_changes_nothing_without(
    db, clock, method, note, message
):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with db.write() as s:
        consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
    with pytest.raises(UserInputError, match=message), db.write() as s:
        consent.re_consent_contact(
            s, s.get(Contact, cid), method=method, note=note, actor="Ann", clock=clock
        )
    with db.read() as s:
        assert s.get(Contact, cid).sms_opted_out
        assert _count(s, ConsentEvent, kind=ActivityKind.RE_CONSENT) == 0


def test_re_consent_records_method_note_and_lifts_number_suppression(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with db.write() as s:
        consent.opt_out_number(
            s, "+14155550101", source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
    with db.write() as s:
        consent.re_consent_contact(
            s,
            s.get(Contact, cid),
            method="written",
            note="Signed form 26 Nov",
            actor="Ann",
            clock=clock,
        )
    with db.read() as s:
        assert not s.get(Contact, cid).sms_opted_out
        event = s.scalars(
            select(ConsentEvent).where(ConsentEvent.kind == ConsentEventKind.RE_CONSENT)
        ).one()
        assert (event.method, event.evidence, event.actor) == (
            "written",
            "Signed form 26 Nov",
            "Ann",
        )
        assert consent.may_automation_text(s, cid, "+14155550101").allowed
        assert "Written: Signed form 26 Nov" in activity.for_contact(s, cid)[0].summary


def test_start_reply_is_its_own_evidence(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with db.write() as s:
        consent.opt_out_number(
            s, "+14155550101", source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
    with db.write() as s:
        changed = consent.re_consent_number(
            s,
            "+14155550101",
            message_sid="SMstart",
            received_at=clock.now(),
            body="START",
            clock=clock,
        )
    assert changed == [cid]
    with db.read() as s:
        event = s.scalars(
            select(ConsentEvent).where(ConsentEvent.kind == ConsentEventKind.RE_CONSENT)
        ).one()
        assert (event.method, event.message_sid) == ("start_reply", "SMstart")


def test_start_from_unknown_number_lifts_its_suppression(db, clock):
    with db.write() as s:
        consent.opt_out_number(
            s, "+14155550177", source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
    with db.write() as s:
        consent.re_consent_number(
            s, "+14155550177", message_sid="SMs", received_at=clock.now(), body="START", clock=clock
        )
    with db.read() as s:
        assert consent.may_automation_text(s, None, "+14155550177").allowed


def test_contact_without_number_cannot_be_texted_by_automation(db, clock):
    cid = add_contact(db, clock, "Nophone", phone="")
    with db.read() as s:
        decision = consent.may_automation_text(s, cid, None)
    assert not decision.allowed and "no valid phone" in decision.reason


def test_deleting_an_opted_out_contact_keeps_the_number_opted_out(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with db.write() as s:
        consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="Ann", clock=clock
        )
    with db.write() as s:
        contacts.delete_contact(s, cid, actor="Ann", clock=clock)
    with db.read() as s:
        assert not consent.may_automation_text(s, None, "+14155550101").allowed
        assert _count(s, ConsentEvent, contact_id=cid) == 1  # history outlives the contact
    again = add_contact(db, clock, "Ann again", phone="(415) 555-0101")
    with db.read() as s:
        assert s.get(Contact, again).sms_opted_out


def test_status_line_reads_like_a_sentence(db, clock):
    cid = add_contact(db, clock, phone="(415) 555-0101")
    with db.read() as s:
        assert consent.status_line(s.get(Contact, cid)) == "Subscribed"
    with db.write() as s:
        consent.opt_out_contact(
            s, s.get(Contact, cid), source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
    with db.read() as s:
        line = consent.status_line(s.get(Contact, cid))
        in_new_york = consent.status_line(s.get(Contact, cid), "America/New_York")
    assert line.startswith("Opted out since ") and line.endswith("by STOP reply")
    # The fixed clock's 15:00 UTC, in the business zone, named (the computer runs on UTC).
    assert in_new_york == "Opted out since 26 Nov 2026, 10:00 EST by STOP reply"


def test_batch_opt_out_makes_the_records_the_single_form_makes_one_after_another(db, clock):
    """STOPs from a known number (one contact already out), an unknown number, the known
    number again, and a number whose earlier suppression was lifted: each is opted out
    once, in order, with its own events and log entries, and the chain still verifies."""
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    bob = add_contact(db, clock, "Bob", phone="+1 415 555 0101")
    with db.write() as s:
        consent.opt_out_contact(s, s.get(Contact, bob), source=ConsentSource.MANUAL_TOGGLE, actor="Ann",
                                clock=clock)  # fmt: skip
        consent.opt_out_number(
            s, "+14155550177", source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock
        )
        consent.re_consent_number(s, "+14155550177", message_sid="SM0", received_at=clock.now(),
                                  body="START", clock=clock)  # fmt: skip
    items = [
        consent.NumberOptOut("+14155550101", ConsentSource.STOP_REPLY, "Inbox", "STOP", "SM1"),
        consent.NumberOptOut("+14155550188", ConsentSource.STOP_REPLY, "Inbox", "stop", "SM2"),
        consent.NumberOptOut(
            "+14155550101", ConsentSource.STOP_REPLY, "Inbox", "STOP again", "SM3"
        ),
        consent.NumberOptOut("+14155550177", ConsentSource.STOP_REPLY, "Inbox", "QUIT", "SM4"),
    ]
    with db.write() as s:
        results = consent.opt_out_numbers(s, items, clock=clock)
        assert s.get(Contact, ann).sms_opted_out  # objects in the session see the change
    assert [(r.contact_ids, r.number_suppressed) for r in results] == [
        ([ann], True),
        ([], True),
        ([], False),
        ([], True),
    ]
    with db.read() as s:
        events = s.scalars(select(ConsentEvent).where(ConsentEvent.message_sid.in_(["SM1", "SM2", "SM3", "SM4"]))
                           .order_by(ConsentEvent.id)).all()  # fmt: skip
        assert [(e.message_sid, e.contact_id, e.phone_e164) for e in events] == [
            ("SM1", ann, "+14155550101"),
            ("SM2", None, "+14155550188"),
            ("SM4", None, "+14155550177"),
        ]
        logged = s.scalars(select(ActivityEntry).order_by(ActivityEntry.id.desc()).limit(3)).all()
        assert [(e.contact_id, "no contact has this number" in e.summary) for e in logged] == [
            (None, True),
            (None, True),
            (ann, False),
        ]
        for number in ("+14155550101", "+14155550188", "+14155550177"):
            assert consent.number_is_opted_out(s, number)
        assert activity.verify_chain(s).ok
