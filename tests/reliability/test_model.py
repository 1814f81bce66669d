"""A stateful property test over the real core: consent, inbox, Auto Queue, gateway.

Hypothesis interleaves contacts (some sharing a number), manual opt-outs and
re-consents, STOP / START / PARAR / "please stop texting me" replies from known and
unknown numbers (through the local Twilio server, the real Twilio client and
the real inbox poller), review decisions, opt-out confirmations, enrolments,
dispatch ticks, provider faults (refusals, and sends Twilio took but answered 5xx,
dropped or never answered), kills in the middle of a dispatch and restarts within
seconds. Two desktops ("seats") share the database, each with its own engine,
provider, poller and dispatcher; either one acts, is killed or restarts while the
other goes on. The Twilio server blocks a number after a STOP-type reply until
START, as Twilio does, so re-consent by hand reaches the "waiting for START" state.
After every step it checks DESIGN.md's promises 1, 4, 6, 8, 9 and 10 against the
database and the Twilio server's record: no automation text reaches the provider
for a number that is opted out, held by a reply waiting for review, or waiting for
the customer's START, and no text reaches it twice; after every dispatch tick,
that nothing is still "Sending" past its lease.

The purpose dimension (issue 15): the business keeps two purposes, a Marketing and a
Reminders automation run side by side, contacts decline and allow purposes again, get
an opt-in consent record, and the office turns "text only contacts with consent on
record" on and off. At the provider, an independent check reads the columns themselves:
no automation text to a contact who declined its purpose, to an opted-out contact
(whatever the purposes), or, with the setting on, to a contact without a record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from tests.support import figures
from tests.support.contacts import add_contact
from tests.support.databases import create_pg_database, drop_pg_database, empty_all_tables
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import (
    activity,
    auto_queue,
    automations,
    consent,
    inbox,
    opt_in,
    preferences,
)
from trustpager_desktop.core import settings as core_settings
from trustpager_desktop.core.auto_queue import QueueDispatcher, reconcile_in_flight
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.confirmations import render, send_due_confirmations
from trustpager_desktop.core.consent import ConsentStatus
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.replies import ReplyKind, twilio_acts_on
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import (
    ActivityKind,
    ConfirmationStatus,
    ConsentEventKind,
    ConsentSource,
    MessageOrigin,
    MessageStatus,
    QueueStatus,
    ReviewDecision,
)
from trustpager_desktop.providers.twilio_provider import TwilioProvider
from trustpager_desktop.runtime.inbox_poller import InboxPoller
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import (
    ActivityEntry,
    Automation,
    ConsentEvent,
    Contact,
    InboundMessage,
    OptOutConfirmation,
    OutboundMessage,
    QueueItem,
)

NUMBERS = [f"+1415555{n:04d}" for n in range(101, 106)]  # few, so contacts share them
REPLIES = [
    "STOP", "stop", "Unsubscribe", "please stop texting me", "START", "yes", "thanks!", "PARAR",
    "ALTO por favor",
]  # fmt: skip
START_AT = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # inside sending hours on both coasts
SETTINGS = AppSettings(business_timezone="America/Los_Angeles")
CONFIRMATION_BODIES = {render(SETTINGS, "en"), render(SETTINGS, "es")}
# Later events may cite a reply as evidence without acting on it again: a review decision
# on it, a contact created later on the number it opted out.
LATER_CITATIONS = (ConsentSource.REVIEW, ConsentSource.NUMBER_SUPPRESSION)
PURPOSES = ("Marketing", "Reminders")


class SimulatedKill(BaseException):
    """Stands in for SIGKILL: nothing after it runs (BaseException passes every except)."""


class JudgingProvider:
    """The real Twilio provider, plus a judge at the moment of each send.

    For an automation text it reads, in its own session, whether the recipient
    may be texted right now; a "no" is a broken promise 1. It can also "kill
    the process" just before or just after the text reaches Twilio.
    """

    def __init__(self, inner: TwilioProvider, machine: ConsentMachine) -> None:
        self.inner = inner
        self.machine = machine
        self.name = inner.name
        self.kill_before = False
        self.kill_after = False

    @property
    def description(self) -> str:
        return self.inner.description

    def send(self, to_e164: str, body: str):  # type: ignore[no-untyped-def]
        self._judge(to_e164, body)
        if self.kill_before:
            self.kill_before = False
            raise SimulatedKill
        result = self.inner.send(to_e164, body)
        if self.kill_after:
            self.kill_after = False
            raise SimulatedKill
        return result

    def _judge(self, to_e164: str, body: str) -> None:
        with self.machine.db.read() as s:
            message = s.scalar(
                select(OutboundMessage)
                .where(
                    OutboundMessage.to_e164 == to_e164,
                    OutboundMessage.body == body,
                    OutboundMessage.status == MessageStatus.SENDING,
                )
                .order_by(OutboundMessage.id.desc())
                .limit(1)
            )
            assert message is not None, f"provider called without a record for {to_e164}"
            if message.origin == MessageOrigin.AUTOMATION:
                # The consent state at the moment of the provider call (the frequency cap
                # is left out: this very text is already counted as being sent).
                purpose = s.scalar(select(Automation.purpose)
                                   .where(Automation.id == message.automation_id))  # fmt: skip
                state = consent.consent_states(s, [(message.contact_id, to_e164)],
                                               purposes=[purpose])[0]  # fmt: skip
                if not state.automation_allowed:
                    self.machine.violations.append(
                        f"automation text to {to_e164} ({state.status.value}): {body!r}"
                    )
                self._judge_columns(s, message.contact_id, purpose, body)

    def _judge_columns(self, s, contact_id: int | None, purpose: str | None, body: str) -> None:  # type: ignore[no-untyped-def]
        """The purpose promise checked on the columns themselves, not through the state."""
        contact = s.get(Contact, contact_id) if contact_id is not None else None
        if contact is None:
            return
        if contact.sms_opted_out:
            self.machine.violations.append(f"automation text to opted-out {contact_id}: {body!r}")
        if opt_in.declines(contact.declined_purposes, purpose):
            self.machine.violations.append(
                f"{purpose} text to {contact_id}, who declined {purpose}: {body!r}"
            )
        if (core_settings.load_settings(s).automations_need_consent
                and not opt_in.record_of(contact).on_record):  # fmt: skip
            self.machine.violations.append(f"text to {contact_id}, no consent on record: {body!r}")
        self.machine.purpose_texts[purpose] = self.machine.purpose_texts.get(purpose, 0) + 1

    @property
    def inbox_is_shared(self) -> bool:
        return self.inner.inbox_is_shared

    def list_message_pages(self, query):  # type: ignore[no-untyped-def]
        return self.inner.list_message_pages(query)

    def list_inbound(self, since):  # type: ignore[no-untyped-def]
        return self.inner.list_inbound(since)

    def account_numbers(self) -> list[str]:
        return self.inner.account_numbers()

    def fetch_status(self, sid: str):  # type: ignore[no-untyped-def]
        return self.inner.fetch_status(sid)

    def list_sent(self, to_e164: str, since):  # type: ignore[no-untyped-def]
        return self.inner.list_sent(to_e164, since)

    def test_connection(self) -> str:
        return self.inner.test_connection()


class Seat:
    """One desktop on the shared database: what a (re)started process builds."""

    def __init__(self, machine: ConsentMachine) -> None:
        self.db = Database.open(machine.url)  # its own engine and connections
        inner = TwilioProvider(
            machine.fake.account_sid,
            machine.fake.auth_token,
            machine.fake.phone_number,
            api_base=machine.fake.base_url,
            timeout=0.3,
        )
        self.provider = JudgingProvider(inner, machine)
        self.gateway = OutboundGateway(self.db, self.provider, clock=machine.clock)
        self.poller = InboxPoller(
            self.db, self.provider, machine.clock, settings=SETTINGS, rand=lambda: 1.0
        )
        self.dispatcher = QueueDispatcher(
            self.db, self.gateway, settings=SETTINGS, clock=machine.clock,
            worker_id=uuid.uuid4().hex, workers=1,  # deterministic: one dispatcher per seat
        )  # fmt: skip

    def close(self) -> None:
        self.db.close()


class ConsentMachine(RuleBasedStateMachine):
    """One interleaving per example; the database and the Twilio server start empty."""

    backend = None  # set by the test: a _Backend

    def __init__(self) -> None:
        super().__init__()
        self.fake = self.backend.fake
        self.fake.reset()
        self.clock = FixedClock(START_AT)
        self.fake.clock = self.clock.now
        self.url = self.backend.fresh_url()
        self.violations: list[str] = []
        self.inbound: dict[str, tuple[str, str]] = {}  # sid -> (number, body)
        self.first_seen: dict[str, tuple[datetime, int]] = {}  # sid -> (processed_at, events)
        self.contact_ids: list[int] = []
        self.enrolled: set[tuple[int, int]] = set()  # (automation, contact)
        self.purpose_texts: dict[str | None, int] = {}
        self.declines_seen = 0
        self.manual_sends = 0
        self.awaiting_start_seen = False
        self.seats = [Seat(self), Seat(self)]
        with self.db.write() as s:
            two = dataclasses.replace(
                core_settings.load_settings(s), sms_purposes="; ".join(PURPOSES)
            )
            core_settings.save_settings(s, two, actor="Office", clock=self.clock)
            self.reminder_id = automations.create_automation(
                s,
                AutomationInput(
                    "Visit",
                    [
                        StepInput(automations.SEND_SMS, "{first_name}, your visit is tomorrow"),
                        StepInput(automations.WAIT, wait_seconds=600),
                        StepInput(automations.SEND_SMS, "{first_name}, see you in an hour"),
                    ],
                    purpose="Reminders",
                ),
                clock=self.clock,
            ).id
            self.automation_id = automations.create_automation(
                s,
                AutomationInput(
                    "Reminder",
                    [
                        StepInput(automations.SEND_SMS, "Hi {first_name}, see you soon"),
                        StepInput(automations.CREATE_TASK, task_title="Call {first_name}"),
                        StepInput(automations.WAIT, wait_seconds=600),
                        StepInput(automations.SEND_SMS, "Hi {first_name}, how did it go?"),
                    ],
                ),
                clock=self.clock,
            ).id

    @property
    def db(self) -> Database:
        """The first seat's database, for the office's own changes and the checks."""
        return self.seats[0].db

    # ---- rules -----------------------------------------------------------------------------

    @initialize(number=st.sampled_from(NUMBERS))
    def first_contact(self, number: str) -> None:
        self.add_contact(number)

    @rule(number=st.sampled_from(NUMBERS))
    def add_contact(self, number: str) -> None:
        name = f"P{len(self.contact_ids)}"  # unique, so every text body is unique per step
        with self.db.write() as s:
            contact_id = add_contact(
                s, self.clock, name, phone=number
            )  # inside the session: a contact that starts opted out was just refreshed
        self.contact_ids.append(contact_id)

    @rule(data=st.data())
    def toggle_by_hand(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.contact_ids))
        with self.db.write() as s:
            if s.get(Contact, contact_id).sms_opted_out:
                preferences.re_consent_by_hand(
                    s, contact_id, method="verbal", note="asked at the desk", actor="Office",
                    clock=self.clock,
                )  # fmt: skip
            else:
                preferences.opt_out_by_hand(s, contact_id, actor="Office", clock=self.clock)

    @rule(number=st.sampled_from([*NUMBERS, "+14155550999"]), body=st.sampled_from(REPLIES))
    def reply_arrives(self, number: str, body: str) -> None:
        when = self.clock.advance(seconds=1)  # strictly increasing: processing order is known
        sid = self.fake.add_inbound(number, self.fake.phone_number, body, date_sent=when)
        self.inbound[sid] = (number, body)
        # Twilio's own keyword filtering: it blocks the number (21610) until START.
        twilio = twilio_acts_on(body)
        if twilio is ReplyKind.OPT_OUT:
            self.fake.fail_recipient(number, 21610)
        elif twilio is ReplyKind.OPT_IN:
            self.fake.clear_recipient(number)

    @rule(data=st.data(), body=st.sampled_from(["please stop texting me", "ALTO por favor"]))
    def possible_opt_out_before_a_due_text(self, data: st.DataObject, body: str) -> None:
        """A reply that may be an opt-out, then a text falls due: it must be held."""
        contact_id = data.draw(st.sampled_from(self.contact_ids))
        self.reply_arrives(self._number(contact_id), body)
        self.poll(0, True)
        self._enrol([contact_id])
        self.dispatch_tick(0, 0)

    @rule(data=st.data())
    def stop_then_reconsent_by_hand(self, data: st.DataObject) -> None:
        """STOP, then a person records re-consent: Twilio still blocks until START."""
        contact_id = data.draw(st.sampled_from(self.contact_ids))
        self.reply_arrives(self._number(contact_id), "STOP")
        self.poll(0, True)
        with self.db.write() as s:
            if s.get(Contact, contact_id).sms_opted_out:
                preferences.re_consent_by_hand(
                    s, contact_id, method="verbal", note="phoned", actor="Office",
                    clock=self.clock,
                )  # fmt: skip
        self._enrol([contact_id])
        self.dispatch_tick(0, 0)

    @rule(data=st.data(), yes=st.booleans())
    def decide_review(self, data: st.DataObject, yes: bool) -> None:
        """A person decides a reply on Needs review (held texts go on or are skipped)."""
        with self.db.read() as s:
            items = inbox.list_needs_review(s)
        if not items:
            return
        item = data.draw(st.sampled_from(items))
        if item.classification == ReplyKind.POSSIBLE_OPT_OUT:
            decision = ReviewDecision.OPT_OUT if yes else ReviewDecision.NOT_OPT_OUT
        else:
            decision = ReviewDecision.RE_CONSENT if yes else ReviewDecision.KEEP_OPTED_OUT
        inbox.decide_review(self.db, item.inbound_id, decision, "Office", self.clock)

    @rule()
    def send_confirmations(self) -> None:
        send_due_confirmations(self.db, self.seats[0].gateway, clock=self.clock)

    @rule(data=st.data(), reminders=st.booleans())
    def enrol(self, data: st.DataObject, reminders: bool) -> None:
        automation_id = self.reminder_id if reminders else self.automation_id
        fresh = [c for c in self.contact_ids if (automation_id, c) not in self.enrolled]
        if not fresh:
            return
        picked = data.draw(st.lists(st.sampled_from(fresh), min_size=1, max_size=3, unique=True))
        self._enrol(picked, automation_id)

    def _enrol(self, contact_ids: list[int], automation_id: int | None = None) -> None:
        automation_id = automation_id or self.automation_id
        fresh = tuple(c for c in contact_ids if (automation_id, c) not in self.enrolled)
        if not fresh:
            return
        with self.db.write() as s:
            automations.enroll(
                s, automation_id, Audience(contact_ids=fresh), actor="Office",
                clock=self.clock,
            )  # fmt: skip
        self.enrolled.update((automation_id, c) for c in fresh)

    @rule(data=st.data(), declined=st.lists(st.sampled_from(PURPOSES), unique=True, min_size=1,
                                            max_size=2),
          opt_out=st.booleans(), fresh=st.sampled_from([None, *NUMBERS]))  # fmt: skip
    def choose_purposes_then_texts_fall_due(self, data: st.DataObject, declined: list[str],
                                            opt_out: bool, fresh: str | None) -> None:  # fmt: skip
        """A contact (perhaps one just added on a shared number) declines purposes (and
        perhaps opts out of SMS), then texts of both automations fall due: a declined
        purpose is skipped, an opt-out skips both."""
        if fresh is not None:
            self.add_contact(fresh)
        contact_id = self.contact_ids[-1] if fresh else data.draw(st.sampled_from(self.contact_ids))
        with self.db.write() as s:
            preferences.set_declined_by_hand(s, contact_id, declined, actor="Office",
                                             clock=self.clock)  # fmt: skip
            if opt_out and not s.get(Contact, contact_id).sms_opted_out:
                preferences.opt_out_by_hand(s, contact_id, actor="Office", clock=self.clock)
        self.declines_seen += len(declined)
        self._enrol([contact_id], self.automation_id)
        self._enrol([contact_id], self.reminder_id)
        self.dispatch_tick(0, 0)

    @rule(data=st.data(), keep=st.booleans(), required=st.booleans())
    def consent_on_record(self, data: st.DataObject, keep: bool, required: bool) -> None:
        """The office records (or removes) how a contact agreed to texts, and turns "text
        only contacts with consent on record" on or off."""
        contact_id = data.draw(st.sampled_from(self.contact_ids))
        record = opt_in.ConsentRecord(self.clock.now(), "web form", "written") if keep else (
            opt_in.ConsentRecord())  # fmt: skip
        with self.db.write() as s:
            opt_in.set_record(s, s.get(Contact, contact_id), record, actor="Office",
                              clock=self.clock)  # fmt: skip
            new = dataclasses.replace(core_settings.load_settings(s),
                                      automations_need_consent=required)  # fmt: skip
            core_settings.save_settings(s, new, actor="Office", clock=self.clock)

    def _number(self, contact_id: int) -> str:
        with self.db.read() as s:
            return s.get(Contact, contact_id).phone_e164

    @rule(seat=st.sampled_from([0, 1]), minutes=st.sampled_from([0, 1, 11]))
    def dispatch_tick(self, seat: int, minutes: int) -> None:
        """A runner cycle on one desktop: expired claims reconciled, then due items run."""
        self.clock.advance(minutes=minutes)
        desk = self.seats[seat]
        reconcile_in_flight(desk.db, clock=self.clock)
        desk.dispatcher.dispatch_due()
        self._check_held_items_are_still_held()
        self._nothing_sending_past_its_lease()

    @rule(seat=st.sampled_from([0, 1]), check_now=st.booleans())
    def poll(self, seat: int, check_now: bool) -> None:
        before = self._processed_sids()
        poller = self.seats[seat].poller
        (poller.check_now if check_now else poller.run_once)()
        self._check_stops_took_effect(self._processed_sids() - before)

    @rule(data=st.data(), seat=st.sampled_from([0, 1]))
    def manual_send(self, data: st.DataObject, seat: int) -> None:
        contact_id = data.draw(st.sampled_from(self.contact_ids))
        self.manual_sends += 1
        gateway = self.seats[seat].gateway
        gateway.send(
            contact_id=contact_id,
            body=f"Manual note {self.manual_sends}",
            origin=ManualOrigin("Office"),
        )

    @rule(
        fault=st.sampled_from(
            ["21610", "429", "500", "500-list", "drop-post", "slow-post", "malformed-list",
             "accepted-500", "accepted-504", "accepted-dropped"]
        ),
        number=st.sampled_from(NUMBERS),
    )  # fmt: skip
    def provider_fault(self, fault: str, number: str) -> None:
        if fault == "21610":
            self.fake.fail_recipient(number, 21610)
        elif fault == "429":
            self.fake.add_fault(Fault.http(429, retry_after="1"))
        elif fault == "500":  # refused before Twilio created anything
            self.fake.add_fault(Fault.http(500, method="POST"))
        elif fault == "500-list":
            self.fake.add_fault(Fault.http(500, method="GET"))
        elif fault == "drop-post":
            self.fake.add_fault(Fault.drop(method="POST"))
        elif fault == "slow-post":  # the reply comes after the client gave up; Twilio sent it
            self.fake.add_fault(Fault.accept_then_hang(0.5))
        elif fault == "accepted-500":
            self.fake.add_fault(Fault.accept_then_fail(500))
        elif fault == "accepted-504":
            self.fake.add_fault(Fault.accept_then_fail(504))
        elif fault == "accepted-dropped":
            self.fake.add_fault(Fault.accept_then_drop())
        else:
            self.fake.add_fault(Fault.malformed_json(method="GET"))

    @rule(seat=st.sampled_from([0, 1]), after_twilio=st.booleans())
    def kill_during_dispatch(self, seat: int, after_twilio: bool) -> None:
        """The desktop dies while a text is with the provider, and starts again at once;
        the other desktop carries on."""
        self.clock.advance(minutes=1)
        provider = self.seats[seat].provider
        provider.kill_before, provider.kill_after = not after_twilio, after_twilio
        with contextlib.suppress(SimulatedKill):
            self.seats[seat].dispatcher.dispatch_due()
        provider.kill_before = provider.kill_after = False
        self.restart(seat)

    @rule(seat=st.sampled_from([0, 1]))
    def restart(self, seat: int) -> None:
        """Drop the desktop's connections and objects and build them again, seconds later:
        its claims still hold until their lease runs out."""
        self.seats[seat].close()
        self.seats[seat] = Seat(self)
        self.clock.advance(seconds=5)

    # ---- invariants -----------------------------------------------------------------------

    @invariant()
    def no_automation_text_to_an_opted_out_number(self) -> None:
        assert self.violations == []

    @invariant()
    def no_text_reached_twilio_twice(self) -> None:
        # Confirmations share one wording, so two opt-outs of one number legitimately send
        # the same text twice; they are counted per opt-out below.
        sent = Counter((m["to"], m["body"]) for m in self.fake.sent_messages
                       if m["body"] not in CONFIRMATION_BODIES)  # fmt: skip
        twice = {k: n for k, n in sent.items() if n > 1}
        figures.add("duplicate sends", sum(n - 1 for n in twice.values()))
        assert not twice

    @invariant()
    def at_most_one_confirmation_per_opt_out(self) -> None:
        posted = Counter(m["to"] for m in self.fake.sent_messages
                         if m["body"] in CONFIRMATION_BODIES)  # fmt: skip
        with self.db.read() as s:
            rows = Counter(s.scalars(
                select(OptOutConfirmation.phone_e164)
                .where(OptOutConfirmation.status.in_((ConfirmationStatus.SENDING, ConfirmationStatus.SENT, ConfirmationStatus.FAILED)))
            ))  # fmt: skip
        assert all(count <= rows[number] for number, count in posted.items()), (posted, rows)

    @invariant()
    def note_waiting_for_start(self) -> None:
        """Count examples that reached "re-consent waiting for START" (for the figures)."""
        with self.db.read() as s:
            states = consent.consent_states(s, [(None, n) for n in NUMBERS])
        if any(state.status is ConsentStatus.AWAITING_START for state in states):
            self.awaiting_start_seen = True

    @invariant()
    def every_inbound_processed_once(self) -> None:
        with self.db.read() as s:
            rows = s.execute(
                select(InboundMessage.sid, InboundMessage.processed_at, func.count(ConsentEvent.id))
                .outerjoin(
                    ConsentEvent,
                    (ConsentEvent.message_sid == InboundMessage.sid)
                    & ConsentEvent.source.not_in(LATER_CITATIONS),
                )  # fmt: skip
                .where(InboundMessage.processed_at.is_not(None))
                .group_by(InboundMessage.sid, InboundMessage.processed_at)
            ).all()
        for sid, processed_at, events in rows:
            assert self.first_seen.setdefault(sid, (processed_at, events)) == (processed_at, events)

    @invariant()
    def every_opt_out_has_its_event_and_log_entry(self) -> None:
        with self.db.read() as s:
            for contact in s.scalars(select(Contact)):
                events = list(
                    s.scalars(
                        select(ConsentEvent.kind)
                        .where(ConsentEvent.contact_id == contact.id)
                        .order_by(ConsentEvent.id)
                    )
                )
                if contact.sms_opted_out:
                    assert events and events[-1] == ConsentEventKind.OPT_OUT, contact.id
                logged = s.scalar(
                    select(func.count()).where(
                        ActivityEntry.contact_id == contact.id,
                        ActivityEntry.kind == ActivityKind.OPT_OUT,
                    )
                )
                assert logged == events.count(ConsentEventKind.OPT_OUT), contact.id

    @invariant()
    def log_chain_verifies(self) -> None:
        with self.db.read() as s:
            assert activity.verify_chain(s).ok

    # ---- helpers ----------------------------------------------------------------------------

    def _processed_sids(self) -> set[str]:
        with self.db.read() as s:
            return set(
                s.scalars(
                    select(InboundMessage.sid).where(InboundMessage.processed_at.is_not(None))
                )
            )

    def _nothing_sending_past_its_lease(self) -> None:
        """After a runner cycle nothing is "Sending" whose lease ran out (it was reconciled)."""
        expired_before = self.clock.now() - auto_queue.CLOCK_SKEW
        with self.db.read() as s:
            stuck = s.scalars(
                select(QueueItem.id).where(
                    QueueItem.status == QueueStatus.IN_FLIGHT,
                    QueueItem.lease_until < expired_before,
                )
            ).all()
        assert stuck == [], f"still Sending past their lease: {stuck}"

    def _check_held_items_are_still_held(self) -> None:
        """After a dispatch, a queue item is 'held' only while its number is held, and
        the held ones are counted for the figures."""
        with self.db.read() as s:
            rows = s.execute(
                select(QueueItem.contact_id, Contact.phone_e164)
                .join(Contact, Contact.id == QueueItem.contact_id)
                .where(QueueItem.status == QueueStatus.HELD)
            ).all()
            states = consent.consent_states(s, [tuple(r) for r in rows])
        for state in states:
            assert state.status is ConsentStatus.HELD_FOR_REVIEW, state
        figures.add("held texts (reply waiting for review)", len(rows))

    def _check_stops_took_effect(self, just_processed: set[str]) -> None:
        """A number whose last reply just processed was an opt-out is now opted out."""
        last: dict[str, str] = {}
        with self.db.read() as s:
            rows = s.execute(
                select(InboundMessage.from_e164, InboundMessage.classification)
                .where(InboundMessage.sid.in_(just_processed))
                .order_by(InboundMessage.date_sent)
            ).all()
            for number, classification in rows:
                last[number] = classification
            for number, classification in last.items():
                if classification == ReplyKind.OPT_OUT:
                    assert consent.number_is_opted_out(s, number), number
                    with_number = select(Contact.sms_opted_out).where(Contact.phone_e164 == number)
                    assert all(s.scalars(with_number)), number

    def teardown(self) -> None:
        """Twilio recovers: one more check must pick up every reply, none lost; once every
        lease has run out, a cycle on each desktop leaves nothing "Sending"."""
        try:
            self.fake.clear_faults()
            before = self._processed_sids()
            self.seats[0].poller.check_now()
            self._check_stops_took_effect(self._processed_sids() - before)
            processed = self._processed_sids()
            lost = [sid for sid in self.inbound if sid not in processed]
            figures.add("messages lost", len(lost))
            assert not lost, lost
            self.every_inbound_processed_once()
            self.clock.advance(seconds=(auto_queue.LEASE + auto_queue.CLOCK_SKEW).total_seconds())
            for seat in (0, 1):
                self.dispatch_tick(seat, 2)
            with self.db.read() as s:
                assert (
                    s.scalar(select(func.count()).where(QueueItem.status == QueueStatus.IN_FLIGHT))
                    == 0
                )
            self.no_text_reached_twilio_twice()
            figures.add("interleavings run")
            figures.add("re-consents waiting for START", int(self.awaiting_start_seen))
            figures.add("purposes declined", self.declines_seen)
            for purpose in PURPOSES:
                figures.add(f"{purpose} automation texts sent", self.purpose_texts.get(purpose, 0))
            with self.db.read() as s:
                declined = s.scalar(select(func.count()).where(
                    QueueItem.reason.like("skipped: declined % texts")))  # fmt: skip
            figures.add("texts skipped for a declined purpose", declined or 0)
        finally:
            for seat in self.seats:
                seat.close()
            self.backend.after_example(self.url)


class _Backend:
    def __init__(self, fake, fresh_url, after_example=lambda url: None) -> None:  # type: ignore[no-untyped-def]
        self.fake = fake
        self.fresh_url = fresh_url
        self.after_example = after_example


def _run(backend: _Backend, examples: int, steps: int) -> None:
    machine = type("Machine", (ConsentMachine,), {"backend": backend})
    with figures.timed("interleavings run"):
        _run_machine(machine, examples, steps)


def _run_machine(machine: type, examples: int, steps: int) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            derandomize=not figures.soak(),
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )


def test_consent_model_on_sqlite(fake_twilio, _sqlite_template, tmp_path):
    counter = iter(range(1_000_000))

    def fresh_url() -> str:
        target = tmp_path / f"model-{next(counter)}.db"
        shutil.copyfile(_sqlite_template.path, target)
        return f"sqlite:///{target}"

    def cleanup(url: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            path = tmp_path / (url.rsplit("/", 1)[1] + suffix)
            path.unlink(missing_ok=True)

    _run(_Backend(fake_twilio, fresh_url, cleanup), figures.scaled(15, 8_000), 25)


@pytest.mark.postgres
def test_consent_model_on_postgres(fake_twilio, _postgres_scratch):
    url = create_pg_database("trustpager_model")
    Database.open(url).close()

    def fresh_url() -> str:
        admin = Database.open(url, migrate=False)
        empty_all_tables(admin.engine)
        admin.close()
        return url

    try:
        _run(_Backend(fake_twilio, fresh_url), figures.scaled(8, 2_000), 25)
    finally:
        drop_pg_database(url)
