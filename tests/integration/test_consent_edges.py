"""Consent at the edges, end to end (issue 14 items 1, 4, 5, 6, 7; issue 13 item 4; the
frequency cap of issue 13 item 8): the local Twilio server, the real Twilio client, the
real inbox poller, gateway and Auto Queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import automations, consent, contacts, inbox, preferences
from trustpager_desktop.core import settings as core_settings
from trustpager_desktop.core.auto_queue import QueueDispatcher, list_queue
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.confirmations import send_due_confirmations
from trustpager_desktop.core.consent import ConsentStatus
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import (
    ActivityKind,
    ConfirmationStatus,
    ConsentEventKind,
    MessageStatus,
    QueueStatus,
    ReviewDecision,
    ReviewStatus,
)
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import (
    ActivityEntry,
    Contact,
    OptOutConfirmation,
    QueueItem,
)

AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # inside sending hours on both coasts
ANN = "+14155550101"


@pytest.fixture(autouse=True)
def _afternoon(clock):
    clock.set(AFTERNOON)


@pytest.fixture
def gateway(db, twilio_provider, clock):
    return OutboundGateway(db, twilio_provider, clock=clock)


@pytest.fixture
def dispatcher(db, gateway, clock):
    return QueueDispatcher(db, gateway, settings=AppSettings(), clock=clock, worker_id="w1")


def enrol(db, clock, *contact_ids, template="Hi {first_name}") -> int:
    with db.write() as s:
        automation = automations.create_automation(
            s, AutomationInput(f"Reminder {clock.now().isoformat()}",
                               [StepInput("send_sms", template=template)]), clock=clock
        )  # fmt: skip
        automations.enroll(s, automation.id, Audience(contact_ids=contact_ids), actor="t",
                           clock=clock)  # fmt: skip
        return automation.id


def change_settings(db, **changes) -> None:
    with db.write() as s:
        new = dataclasses.replace(core_settings.load_settings(s), **changes)
        core_settings.save_settings(s, new, actor="t", clock=FixedClock(AFTERNOON))


def posts(fake_twilio) -> list[dict]:
    return [r.form for r in fake_twilio.requests_to("Messages.json", method="POST")]


def queue_item(db) -> QueueItem:
    with db.read() as s:
        return s.scalars(select(QueueItem).order_by(QueueItem.id.desc())).first()


def state(db, contact_id: int) -> consent.ConsentState:
    with db.read() as s:
        return consent.contact_consent_state(s, contact_id)


def summaries(db, kind: str | None = None) -> list[str]:
    with db.read() as s:
        query = select(ActivityEntry.summary).order_by(ActivityEntry.id)
        if kind:
            query = query.where(ActivityEntry.kind == kind)
        return list(s.scalars(query))


def pending_review_id(db) -> int:
    with db.read() as s:
        return inbox.list_needs_review(s)[0].inbound_id


# ---- item 1: held while a reply waits for review ---------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status"),
    [(ReviewDecision.NOT_OPT_OUT, QueueStatus.SENT), (ReviewDecision.OPT_OUT, QueueStatus.SKIPPED)],
)
def test_a_possible_opt_out_holds_the_text_until_the_decision(
    db, clock, dispatcher, inbox_poller, send_inbound, fake_twilio, decision, status
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    ben = add_contact(
        db, clock, "Ben", "Lee", phone=ANN
    )  # same number: the hold follows the number
    send_inbound(ANN, "Please stop texting me")
    inbox_poller.check_now()
    enrol(db, clock, ann, ben)

    report = dispatcher.dispatch_due()

    assert report.held == 2 and posts(fake_twilio) == []
    item = queue_item(db)
    assert (item.status, item.reason) == (QueueStatus.HELD, "held: reply waiting for review")
    with db.read() as s:
        rows = list_queue(s)
    assert {r.status_label for r in rows} == {"Held"}
    assert {r.reason for r in rows} == {"held: reply waiting for review"}
    assert state(db, ben).status is ConsentStatus.HELD_FOR_REVIEW
    assert dispatcher.dispatch_due().claimed == 0  # a held item is not claimed again

    inbox.decide_review(db, pending_review_id(db), decision, "Office", clock)
    with db.read() as s:  # released or skipped by the decision, in its own transaction
        statuses = [i.status for i in s.scalars(select(QueueItem))]
    assert statuses == (
        [QueueStatus.PENDING] * 2 if status == QueueStatus.SENT else [QueueStatus.SKIPPED] * 2
    )
    dispatcher.dispatch_due()

    with db.read() as s:
        items = list(s.scalars(select(QueueItem)))
    assert [i.status for i in items] == [status, status]
    assert len(posts(fake_twilio)) == (2 if status == QueueStatus.SENT else 0)
    if status == QueueStatus.SKIPPED:
        assert items[0].reason == "skipped: contact opted out of SMS"


def test_holding_turned_off_lets_texts_go_with_a_reply_pending(
    db, clock, dispatcher, inbox_poller, send_inbound, fake_twilio
):
    change_settings(db, hold_while_pending=False)
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "I never signed up for this")
    inbox_poller.check_now()
    enrol(db, clock, ann)
    dispatcher.dispatch_due()
    assert queue_item(db).status == QueueStatus.SENT and len(posts(fake_twilio)) == 1
    assert "Holding is turned off" in state(db, ann).detail


def test_a_hold_that_appears_between_claim_and_send_still_holds(db, clock, gateway, fake_twilio):
    """The rule is asked in the gateway's record transaction, not only at claim time."""
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    enrol(db, clock, ann)
    dispatcher = QueueDispatcher(db, gateway, settings=AppSettings(), clock=clock, worker_id="w")
    from trustpager_desktop.core import auto_queue

    claimed = auto_queue.claim_due(db, "w", clock.now())
    with db.write() as s:  # the reply is stored and processed right after the claim
        from trustpager_desktop.store.models import InboundMessage

        s.add(InboundMessage(sid="SMx", from_number=ANN, from_e164=ANN, to_number="+1",
                             body="stop texting", date_sent=clock.now(), fetched_at=clock.now(),
                             processed_at=clock.now(), classification=ReplyKind.POSSIBLE_OPT_OUT,
                             review_status=ReviewStatus.PENDING))  # fmt: skip
    report = auto_queue.DispatchReport()
    dispatcher.run_items(claimed, report)
    assert report.held == 1 and posts(fake_twilio) == []
    assert queue_item(db).status == QueueStatus.HELD
    assert summaries(db, ActivityKind.AUTOMATION_HELD) == [
        "Automation text held: reply waiting for review"
    ]


# ---- item 4: Spanish single words opt out; keyword lists from settings ------------------------


def test_spanish_parar_opts_out_at_once_and_alto_el_precio_does_not(
    db, clock, inbox_poller, send_inbound
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    ben = add_contact(db, clock, "Ben", "Lee", phone="+14155550102")
    send_inbound(ANN, "¡PARAR!")
    send_inbound("+14155550102", "Alto el precio?")
    inbox_poller.check_now()
    assert state(db, ann).status is ConsentStatus.OPTED_OUT
    assert state(db, ben).status is ConsentStatus.SUBSCRIBED
    with db.read() as s:
        assert inbox.list_needs_review(s) == []


def test_keywords_added_in_settings_opt_out(db, clock, send_inbound, fake_twilio, twilio_provider):
    change_settings(db, extra_opt_out_keywords="PARAR, ARRET")
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "Arrêt.")
    with db.read() as s:
        settings = core_settings.load_settings(s)
    InboxPoller(db, twilio_provider, clock, settings=settings, rand=lambda: 1.0).run_once()
    assert state(db, ann).status is ConsentStatus.OPTED_OUT


# ---- item 5: one confirmation per opt-out Twilio did not confirm ------------------------------


def test_a_spanish_opt_out_gets_one_spanish_confirmation(
    db, clock, gateway, inbox_poller, send_inbound, fake_twilio
):
    change_settings(db, business_name="Acme Dental")
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "PARAR", minutes_ago=1)
    inbox_poller.check_now()
    first = send_due_confirmations(db, gateway, clock=clock)
    again = send_due_confirmations(db, gateway, clock=clock)

    sent = posts(fake_twilio)
    assert (first.sent, again.sent) == (1, 0) and len(sent) == 1
    assert sent[0]["To"] == ANN
    assert sent[0]["Body"] == ("Has cancelado tu suscripción a Acme Dental. No recibirás más "
                               "mensajes. Responde START para volver a suscribirte.")  # fmt: skip
    assert state(db, ann).status is ConsentStatus.OPTED_OUT  # never blocked by what it confirms
    assert summaries(db, ActivityKind.OPT_OUT_CONFIRMATION) == ["Opt-out confirmation text sent"]
    with db.read() as s:
        message = s.scalars(select(OptOutConfirmation)).one()
    assert (message.status, message.language) == (MessageStatus.SENT, "es")


def test_twilio_confirms_its_own_keywords_so_we_do_not(
    db, clock, gateway, inbox_poller, send_inbound, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "STOP")
    inbox_poller.check_now()
    send_due_confirmations(db, gateway, clock=clock)
    assert posts(fake_twilio) == []


def test_a_second_opt_out_word_is_not_a_second_opt_out(
    db, clock, gateway, inbox_poller, send_inbound, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "PARAR", minutes_ago=2)
    send_inbound(ANN, "STOP STOP", minutes_ago=1)
    inbox_poller.check_now()
    send_due_confirmations(db, gateway, clock=clock)
    assert len(posts(fake_twilio)) == 1


def test_a_confirmation_later_than_five_minutes_is_not_sent_and_says_why(
    db, clock, gateway, inbox_poller, send_inbound, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "PARAR", minutes_ago=6)  # the desktop was off when it came in
    inbox_poller.check_now()
    report = send_due_confirmations(db, gateway, clock=clock)
    assert report.expired == 1 and posts(fake_twilio) == []
    assert "more than 5 minutes" in summaries(db, ActivityKind.OPT_OUT_CONFIRMATION)[-1]


def test_the_setting_turns_confirmations_off(
    db, clock, gateway, send_inbound, fake_twilio, twilio_provider
):
    change_settings(db, confirm_opt_outs=False)
    add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "PARAR")
    with db.read() as s:
        settings = core_settings.load_settings(s)
    InboxPoller(db, twilio_provider, clock, settings=settings, rand=lambda: 1.0).run_once()
    send_due_confirmations(db, gateway, clock=clock)
    assert posts(fake_twilio) == []


@pytest.mark.parametrize("asked", [True, False])
def test_a_staff_toggle_confirms_only_when_asked(db, clock, gateway, fake_twilio, asked):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    with db.write() as s:
        preferences.opt_out_by_hand(s, ann, actor="Office", clock=clock, send_confirmation=asked)
    clock.advance(minutes=1)
    send_due_confirmations(db, gateway, clock=clock)
    assert len(posts(fake_twilio)) == (1 if asked else 0)
    if asked:
        assert posts(fake_twilio)[0]["Body"].startswith("You're unsubscribed from this number.")


def test_a_review_decision_within_five_minutes_is_confirmed(
    db, clock, gateway, inbox_poller, send_inbound, fake_twilio
):
    add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "no quiero más mensajes", minutes_ago=2)
    inbox_poller.check_now()
    inbox.decide_review(db, pending_review_id(db), ReviewDecision.OPT_OUT, "Office", clock)
    send_due_confirmations(db, gateway, clock=clock)
    assert len(posts(fake_twilio)) == 1 and posts(fake_twilio)[0]["Body"].startswith("Has ")


def test_a_confirmation_is_never_sent_twice_after_a_crash(db, clock, twilio_provider, fake_twilio):
    """A kill after the text reached Twilio leaves the row 'sending': never sent again."""

    class KilledAfterSend(BaseException):
        pass

    class Dying:
        name = "twilio"

        def send(self, to, body):  # type: ignore[no-untyped-def]
            twilio_provider.send(to, body)
            raise KilledAfterSend

    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    with db.write() as s:
        preferences.opt_out_by_hand(s, ann, actor="Office", clock=clock, send_confirmation=True)
    with pytest.raises(KilledAfterSend):
        send_due_confirmations(db, OutboundGateway(db, Dying(), clock=clock), clock=clock)
    restarted = OutboundGateway(Database.open(db.url), twilio_provider, clock=clock)
    report = send_due_confirmations(db, restarted, clock=clock)
    restarted.db.close()
    assert report.sent == 0 and len(posts(fake_twilio)) == 1
    with db.read() as s:
        assert s.scalars(select(OptOutConfirmation.status)).one() == ConfirmationStatus.SENDING


@pytest.mark.postgres
def test_two_desktops_send_one_confirmation(_postgres_scratch, clock, twilio_provider, fake_twilio):
    """Two desktops on one PostgreSQL database run the sender at the same moment with a
    slow Twilio: exactly one confirmation reaches the provider."""
    db = _postgres_scratch.fresh()
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    with db.write() as s:
        preferences.opt_out_by_hand(s, ann, actor="Office", clock=clock, send_confirmation=True)
    fake_twilio.add_fault(Fault.slow(0.5, method="POST"))
    desktops = [Database.open(db.url) for _ in range(2)]
    barrier = threading.Barrier(2)
    reports = []

    def run(desktop: Database) -> None:
        barrier.wait()
        reports.append(send_due_confirmations(desktop, OutboundGateway(desktop, twilio_provider,
                                                                       clock=clock), clock=clock))  # fmt: skip

    threads = [threading.Thread(target=run, args=(d,)) for d in desktops]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for d in desktops:
        d.close()
    assert len(posts(fake_twilio)) == 1
    assert sorted((r.sent, r.taken) for r in reports) == [(0, 1), (1, 0)]


# ---- item 6: Twilio's block after re-consent is visible -----------------------------------------


def test_reconsent_after_a_stop_waits_for_the_customers_start(
    db, clock, dispatcher, inbox_poller, send_inbound, fake_twilio
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "STOP", minutes_ago=30)
    inbox_poller.check_now()
    with db.write() as s:
        preferences.re_consent_by_hand(s, ann, method="verbal", note="Called us", actor="Office",
                                       clock=clock)  # fmt: skip
    waiting = state(db, ann)
    assert waiting.status is ConsentStatus.AWAITING_START
    assert waiting.label == "Re-consent recorded; waiting for the customer's START reply"

    enrol(db, clock, ann)
    dispatcher.dispatch_due()
    item = queue_item(db)
    assert (item.status, item.reason) == (
        QueueStatus.SKIPPED, "skipped: re-consent recorded; waiting for the customer's START reply")  # fmt: skip
    assert posts(fake_twilio) == []  # no silent 21610 and re-opt-out
    assert state(db, ann).status is ConsentStatus.AWAITING_START

    send_inbound(ANN, "START", minutes_ago=0)
    inbox_poller.check_now()
    assert state(db, ann).status is ConsentStatus.SUBSCRIBED
    assert any("Twilio texts this number again" in s for s in summaries(db))
    clock.advance(minutes=1)
    enrol(db, clock, ann)
    dispatcher.dispatch_due()
    assert queue_item(db).status == QueueStatus.SENT


def test_a_21610_answer_also_makes_reconsent_wait_for_start(db, clock, gateway, fake_twilio):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    fake_twilio.fail_recipient(ANN, 21610)
    gateway.send(contact_id=ann, body="Your invoice", origin=ManualOrigin("Office"))
    assert state(db, ann).status is ConsentStatus.OPTED_OUT and state(db, ann).provider_refuses
    with db.write() as s:
        preferences.re_consent_by_hand(s, ann, method="written", note="Form", actor="Office",
                                       clock=clock)  # fmt: skip
    assert state(db, ann).status is ConsentStatus.AWAITING_START


def test_spanish_opt_out_then_reconsent_does_not_wait_for_start(
    db, clock, inbox_poller, send_inbound
):
    """Twilio does not act on PARAR, so it has nothing to lift."""
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "PARAR", minutes_ago=30)
    inbox_poller.check_now()
    with db.write() as s:
        preferences.re_consent_by_hand(s, ann, method="verbal", note="Called us", actor="Office",
                                       clock=clock)  # fmt: skip
    assert state(db, ann).status is ConsentStatus.SUBSCRIBED


# ---- issue 13 item 4: the customer's latest word wins -------------------------------------------


def test_a_start_listed_late_does_not_override_a_newer_stop(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    """The issue's case: STOP at -50 min, STOP at -60 s, then a START dated -120 s that
    Twilio lists last. The number stays opted out, and the log says why."""
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "STOP", minutes_ago=50)
    send_inbound(ANN, "STOP", minutes_ago=1)
    late = send_inbound(ANN, "START", minutes_ago=2, visible=False)
    inbox_poller.check_now()
    fake_twilio.release(late)
    inbox_poller.check_now()

    assert state(db, ann).status is ConsentStatus.OPTED_OUT
    with db.read() as s:
        events = list(s.scalars(select(consent.ConsentEvent.kind)))  # type: ignore[attr-defined]
    assert ConsentEventKind.RE_CONSENT not in events
    assert "START of 12:58:00 EST older than STOP of 12:59:00 EST: no change: “START”" in summaries(
        db
    )


def test_a_stop_listed_late_does_not_undo_a_newer_start(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "STOP", minutes_ago=50)
    late = send_inbound(ANN, "PARAR", minutes_ago=10, visible=False)
    send_inbound(ANN, "START", minutes_ago=5)
    inbox_poller.check_now()
    fake_twilio.release(late)
    inbox_poller.check_now()
    assert state(db, ann).status is ConsentStatus.SUBSCRIBED
    assert any(
        s.startswith("STOP of 12:50:00 EST older than START of 12:55:00 EST") for s in summaries(db)
    )


def test_a_stop_sent_before_a_staff_reconsent_but_listed_after_still_opts_out(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    """The documented asymmetry: the person could not have seen a reply Twilio had not
    listed, so an opt-out reply is never set aside because of a later staff re-consent."""
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    with db.write() as s:
        preferences.opt_out_by_hand(s, ann, actor="Office", clock=FixedClock(
            AFTERNOON - timedelta(hours=2)))  # fmt: skip
    late = send_inbound(ANN, "PARAR", minutes_ago=5, visible=False)
    with db.write() as s:
        preferences.re_consent_by_hand(s, ann, method="verbal", note="Phoned", actor="Office",
                                       clock=clock)  # fmt: skip
    fake_twilio.release(late)
    inbox_poller.check_now()
    assert state(db, ann).status is ConsentStatus.OPTED_OUT


def test_a_start_older_than_a_staff_opt_out_changes_nothing(
    db, clock, inbox_poller, send_inbound, fake_twilio
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    with db.write() as s:  # opted out by hand now; a START from 3 minutes ago shows up later
        preferences.opt_out_by_hand(s, ann, actor="Office", clock=clock)
    send_inbound(ANN, "START", minutes_ago=3)
    inbox_poller.check_now()
    assert state(db, ann).status is ConsentStatus.OPTED_OUT


# ---- issue 13 item 8: the frequency cap ---------------------------------------------------------


def test_the_frequency_cap_skips_the_fourth_text_of_a_day(db, clock, dispatcher, fake_twilio):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    for _ in range(4):
        enrol(db, clock, ann)
        clock.advance(minutes=1)
    dispatcher.dispatch_due()
    with db.read() as s:
        items = list(s.scalars(select(QueueItem).order_by(QueueItem.id)))
    assert [i.status for i in items] == [
        QueueStatus.SENT,
        QueueStatus.SENT,
        QueueStatus.SENT,
        QueueStatus.SKIPPED,
    ]
    assert items[-1].reason == "skipped: frequency cap: 3 texts in 24 hours"
    assert len(posts(fake_twilio)) == 3
    clock.advance(hours=24)
    enrol(db, clock, ann)
    dispatcher.dispatch_due()
    assert len(posts(fake_twilio)) == 4


def test_manual_texts_and_confirmations_do_not_count_toward_the_cap(
    db, clock, gateway, dispatcher, fake_twilio
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    for n in range(3):
        gateway.send(contact_id=ann, body=f"Note {n}", origin=ManualOrigin("Office"))
    enrol(db, clock, ann)
    dispatcher.dispatch_due()
    assert queue_item(db).status == QueueStatus.SENT
    assert Counter(p["To"] for p in posts(fake_twilio)) == Counter({ANN: 4})


def test_contacts_with_one_opted_out_number_stay_apart_from_the_flag(db, clock):
    """A contact created on a number another contact opted out of shows it at once."""
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    with db.write() as s:
        preferences.opt_out_by_hand(s, ann, actor="Office", clock=clock)
    ben = add_contact(db, clock, "Ben", "Lee", phone=ANN)
    with db.read() as s:
        view = contacts.get_contact(s, ben)
        row = contacts.search_contacts(s, "Ben")[0]
        assert not s.get(Contact, ben).sms_opted_out
    assert view.consent.status is ConsentStatus.NUMBER_OPTED_OUT
    assert row.consent == view.consent


def test_a_review_decision_on_a_reply_older_than_a_start_changes_nothing(
    db, clock, inbox_poller, send_inbound
):
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN)
    send_inbound(ANN, "STOP", minutes_ago=20)
    send_inbound(ANN, "please stop texting me", minutes_ago=10)
    send_inbound(ANN, "START", minutes_ago=5)
    inbox_poller.check_now()
    assert state(db, ann).status is ConsentStatus.HELD_FOR_REVIEW  # re-consented, reply pending

    outcome = inbox.decide_review(
        db, pending_review_id(db), ReviewDecision.OPT_OUT, "Office", clock
    )

    assert "older than START of 12:55:00 EST: no change" in outcome.message
    assert state(db, ann).status is ConsentStatus.SUBSCRIBED
