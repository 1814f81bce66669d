"""The opt-in consent record and per-purpose SMS preferences (issue 15 items 1 and 4).

Both reach the automation rule only through ``consent.consent_states`` (the one state):
a contact who declined an automation's purpose is skipped with "declined Marketing
texts", and with the setting on, a contact without a record is skipped with "no consent
on record". An SMS opt-out covers every purpose. Every change is logged with its actor.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.contacts import add_contact
from trustpager_desktop.core import activity, automations, consent, contacts, opt_in, preferences
from trustpager_desktop.core import settings as core_settings
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.consent import ConsentStatus
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.opt_in import ConsentInput, ConsentRecord
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.store.models import ActivityEntry, Contact

NOW = FixedClock().now()  # the shared ``clock`` fixture's time
ANN, BEN = "+14155550101", "+14155550102"
NY = "America/New_York"


def _save(s: Session, **changes) -> None:
    new = dataclasses.replace(core_settings.load_settings(s), **changes)
    core_settings.save_settings(s, new, actor="Jo", clock=FixedClock(NOW))


def _contact(s: Session, clock, first: str = "Ann", phone: str = ANN, **extra) -> int:
    return add_contact(s, clock, first, "Lee", phone=phone, **extra)


def _automation(s: Session, clock, name: str, purpose: str = "Marketing") -> int:
    data = AutomationInput(name, [StepInput("send_sms", template="Hi")], purpose=purpose)
    return automations.create_automation(s, data, clock=clock).id


def _decide(s: Session, clock, cid: int, automation_id: int | None, phone: str = ANN):
    return consent.may_automation_text_many(
        s, [(cid, phone)], clock=clock, automation_ids=[automation_id]
    )[0]


def _log(s: Session, kind: str) -> list[ActivityEntry]:
    query = select(ActivityEntry).where(ActivityEntry.kind == kind).order_by(ActivityEntry.id)
    return list(s.scalars(query))


# ---- the record ------------------------------------------------------------------------


def test_a_contact_added_with_a_record_shows_it_and_the_change_is_logged(db, clock):
    record = ConsentInput("web form, spring promo", "2026-03-15", "written", "form #42")
    with db.write() as s:
        cid = _contact(s, clock, consent=record)
    with db.read() as s:
        view = contacts.get_contact(s, cid)
        (entry,) = _log(s, activity.Kind.CONSENT_RECORD)
    # A date alone is midnight in the business time zone; the card line uses the date.
    assert view.record.at == datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
    assert view.record.line(NY) == "Consent: 15 Mar 2026, web form, spring promo"
    assert view.consent.record == view.record  # the one state carries it to every screen
    assert (view.record.method, view.record.evidence) == ("written", "form #42")
    assert entry.actor == "Test" and entry.contact_id == cid  # who added the contact
    assert entry.summary == "Consent recorded: 15 Mar 2026, web form, spring promo"


def test_no_record_reads_no_consent_on_record(db, clock):
    with db.write() as s:
        cid = _contact(s, clock)
    with db.read() as s:
        view = contacts.get_contact(s, cid)
        assert view.record.line(NY) == "No consent on record"
        assert not _log(s, activity.Kind.CONSENT_RECORD)
        assert [r.id for r in contacts.search_contacts(s, no_consent=True)] == [cid]
        assert contacts.count_contacts(s, no_consent=True) == 1


@pytest.mark.parametrize(
    ("source", "date", "method", "evidence", "field"),
    [
        ("", "15/15/2026", "", "", "consent_date"),
        ("web", "2099-01-01", "", "", "consent_date"),  # in the future
        ("web", "", "telepathy", "", "consent_method"),
        ("", "", "written", "signed", "consent_source"),  # a method but no when or where
        ("x" * 201, "", "", "", "consent_source"),
    ],
)
def test_bad_consent_input_is_refused_and_adds_nothing(db, clock, source, date, method, evidence,
                                                       field):  # fmt: skip
    with db.write() as s, pytest.raises(UserInputError) as info:
        _contact(s, clock, consent=ConsentInput(source, date, method, evidence))
    assert info.value.field == field
    with db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_editing_a_contact_leaves_the_record_unless_asked(db, clock):
    with db.write() as s:
        cid = _contact(s, clock, consent=ConsentInput("in store", "2026-03-15 14:30"))
        contacts.update_contact(s, cid, ContactInput("Annie", "Lee", phone=ANN), actor="Jo",
                                clock=clock)  # fmt: skip
        assert contacts.get_contact(s, cid).record.source == "in store"
        contacts.update_contact(s, cid, ContactInput("Annie", "Lee", phone=ANN,
                                consent=ConsentInput()), actor="Kim", clock=clock)  # fmt: skip
    with db.read() as s:
        assert not contacts.get_contact(s, cid).record.on_record
        entries = _log(s, activity.Kind.CONSENT_RECORD)
    assert [(e.summary, e.actor) for e in entries] == [
        ("Consent recorded: 15 Mar 2026, in store", "Test"),  # who added the contact
        ("Consent record removed", "Kim"),
    ]


def test_typed_dates_and_methods():
    assert opt_in.parse_consent_date("2026-03-15 14:30", NY) == datetime(
        2026, 3, 15, 18, 30, tzinfo=UTC)  # fmt: skip
    assert opt_in.parse_consent_date("15 Mar 2026", "UTC") == datetime(2026, 3, 15, tzinfo=UTC)
    assert opt_in.parse_consent_date("03/15/2026 2:30 PM", "UTC") == datetime(
        2026, 3, 15, 14, 30, tzinfo=UTC)  # fmt: skip
    assert opt_in.parse_consent_date("2026-03-15T14:30:00+00:00", NY) == datetime(
        2026, 3, 15, 14, 30, tzinfo=UTC)  # fmt: skip
    assert opt_in.parse_method("Keyword reply") == "keyword_reply"
    assert opt_in.parse_method("keyword-reply") == "keyword_reply"
    assert opt_in.parse_method("") is None


def test_a_manual_re_consent_fills_the_record_with_its_method_and_note(db, clock):
    with db.write() as s:
        cid = _contact(s, clock)
        consent.opt_out_contact(s, s.get(Contact, cid), source=ConsentSource.MANUAL_TOGGLE, actor="Jo",
                                clock=clock)  # fmt: skip
        preferences.re_consent_by_hand(s, cid, method="verbal", note="Asked on the phone",
                                       actor="Kim", clock=clock)  # fmt: skip
    with db.read() as s:
        record = contacts.get_contact(s, cid).record
        (entry,) = _log(s, activity.Kind.CONSENT_RECORD)
    assert (record.at, record.method, record.evidence) == (NOW, "verbal", "Asked on the phone")
    assert entry.actor == "Kim" and "re-consent" in entry.summary


def test_a_start_reply_fills_the_record_as_a_keyword_reply_at_the_reply_time(db, clock):
    sent = datetime(2026, 11, 26, 15, 2, 7, tzinfo=UTC)
    with db.write() as s:
        cid = _contact(s, clock)
        other = _contact(s, clock, "Ben", BEN)
        consent.opt_out_number(s, ANN, source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock)
        consent.re_consent_number(s, ANN, message_sid="SMstart", received_at=sent,
                                  body="Start", actor="Inbox", clock=clock)  # fmt: skip
        # YES from a contact nobody opted out is consent by keyword reply too.
        consent.record_keyword_consent(s, BEN, message_sid="SMyes", received_at=sent,
                                       body="yes", clock=clock)  # fmt: skip
    with db.read() as s:
        ann = contacts.get_contact(s, cid).record
        ben = contacts.get_contact(s, other).record
    assert (ann.at, ann.method, ann.source) == (sent, "keyword_reply", "START reply")
    assert "SMstart" in ann.evidence
    assert (ben.at, ben.method, ben.source) == (sent, "keyword_reply", "YES reply")


# ---- the setting: automations text only contacts with consent on record ------------------


def test_the_setting_skips_contacts_without_a_record_through_the_one_state(db, clock):
    with db.write() as s:
        bare = _contact(s, clock)
        proven = _contact(s, clock, "Ben", BEN, consent=ConsentInput("paper form", "2026-01-02"))
        assert _decide(s, clock, bare, None).allowed  # off by default: nothing changes
        _save(s, automations_need_consent=True)
        state = consent.consent_state(s, bare, ANN)
        decision = _decide(s, clock, bare, None)
        assert (state.status, state.label) == (ConsentStatus.NO_CONSENT_ON_RECORD,
                                               "No consent on record")  # fmt: skip
        assert (decision.allowed, decision.hold, decision.reason) == (
            False, False, "no consent on record")  # fmt: skip
        assert _decide(s, clock, proven, None, BEN).allowed
        # A bare number (a confirmation text, the inbox) has no record to ask for.
        assert consent.consent_state(s, None, ANN).automation_allowed
        # Opt-outs still come first and say so.
        consent.opt_out_contact(s, s.get(Contact, bare), source=ConsentSource.MANUAL_TOGGLE, actor="Jo",
                                clock=clock)  # fmt: skip
        assert _decide(s, clock, bare, None).reason == consent.REASON_OPTED_OUT


# ---- purposes -----------------------------------------------------------------------------


def test_purposes_setting_is_parsed_and_checked(db, clock):
    assert core_settings.AppSettings().purposes == ("Marketing",)
    assert core_settings.parse_purposes("marketing; Reminders,  reminders ") == (
        "Marketing", "Reminders")  # fmt: skip
    with db.write() as s:
        with pytest.raises(UserInputError) as info:
            _save(s, sms_purposes=" ; ")
        assert info.value.field == "sms_purposes"
        _save(s, sms_purposes="Marketing;reminders")
        assert core_settings.load_settings(s).purposes == ("Marketing", "Reminders")


def test_a_declined_purpose_is_skipped_by_its_automations_only(db, clock):
    with db.write() as s:
        _save(s, sms_purposes="Marketing; Reminders")
        ann = _contact(s, clock, declined_purposes=("marketing",))
        promo = _automation(s, clock, "Spring promo")
        reminder = _automation(s, clock, "Reminder", "reminders")
        assert automations.get_automation(s, reminder).purpose == "Reminders"
        declined = _decide(s, clock, ann, promo)
        assert (declined.allowed, declined.reason) == (False, "declined Marketing texts")
        assert declined.state.status is ConsentStatus.PURPOSE_DECLINED
        assert _decide(s, clock, ann, reminder).allowed
        # Manual texts (no automation) are not about purposes.
        assert _decide(s, clock, ann, None).allowed
        # The screens' state (no purpose) stays subscribed and lists what was declined.
        state = consent.consent_state(s, ann, ANN)
        assert state.status is ConsentStatus.SUBSCRIBED
        assert state.declined_purposes == ("Marketing",)


def test_an_opt_out_covers_every_purpose(db, clock):
    with db.write() as s:
        _save(s, sms_purposes="Marketing; Reminders")
        ann = _contact(s, clock)
        ids = [_automation(s, clock, "Promo"), _automation(s, clock, "Visit", "Reminders")]
        consent.opt_out_contact(s, s.get(Contact, ann), source=ConsentSource.STOP_REPLY, actor="In",
                                clock=clock)  # fmt: skip
        for automation_id in ids:
            decision = _decide(s, clock, ann, automation_id)
            assert (decision.allowed, decision.reason) == (False, consent.REASON_OPTED_OUT)


def test_declining_and_allowing_again_is_logged_with_the_actor(db, clock):
    with db.write() as s:
        _save(s, sms_purposes="Marketing; Reminders")
        cid = _contact(s, clock)
        assert preferences.set_declined_by_hand(s, cid, ["Marketing"], actor="Jo", clock=clock)
        assert not preferences.set_declined_by_hand(s, cid, ["marketing"], actor="Jo",
                                                    clock=clock)  # fmt: skip
        preferences.set_declined_by_hand(s, cid, ["Reminders"], actor="Kim", clock=clock)
        with pytest.raises(UserInputError):
            preferences.set_declined_by_hand(s, cid, ["Surveys"], actor="Jo", clock=clock)
    with db.read() as s:
        entries = _log(s, activity.Kind.PURPOSE_PREFERENCE)
        assert contacts.get_contact(s, cid).declined_purposes == ("Reminders",)
    assert [(e.summary, e.actor) for e in entries] == [
        ("Declined Marketing texts", "Jo"),
        ("Declined Reminders texts; Allowed Marketing texts again", "Kim"),
    ]


def test_an_automation_must_serve_a_known_purpose(db, clock):
    with db.write() as s:
        with pytest.raises(UserInputError) as info:
            _automation(s, clock, "Survey", "Surveys")
        assert info.value.field == "purpose"
        default = _automation(s, clock, "Promo")
        assert automations.get_automation(s, default).purpose == "Marketing"


def test_the_automation_file_carries_the_purpose(db, clock):
    with db.write() as s:
        _save(s, sms_purposes="Marketing; Reminders")
        _automation(s, clock, "Visit", "Reminders")
        exported = automations.export_automations(s)
    assert exported["automations"][0]["purpose"] == "Reminders"
    exported["automations"][0]["name"] = "Visit 2"
    without = {k: v for k, v in exported["automations"][0].items() if k != "purpose"}
    without["name"] = "Old file"
    exported["automations"].append(without)
    with db.write() as s:
        automations.import_automations(s, exported, clock=clock)
        found = {v.name: v.purpose for v in automations.list_automations(s)}
    assert found == {"Visit": "Reminders", "Visit 2": "Reminders", "Old file": "Marketing"}
    bad = dict(exported, automations=[dict(without, purpose="")])
    with db.write() as s, pytest.raises(UserInputError):
        automations.import_automations(s, bad, clock=clock)


def test_a_record_with_nothing_in_it_is_not_on_record():
    assert not ConsentRecord().on_record
    assert ConsentRecord(source="web").summary(NY) == "web"
    assert ConsentRecord(method="verbal").summary(NY) == "verbal"
