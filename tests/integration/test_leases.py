"""In-flight leases (issue 13.2): a slow dispatcher keeps its claims, a second seat reconciles
only what truly expired, a finishing dispatcher never overwrites another's decision, and a
restart within seconds of a kill resumes everything without a text twice or a step lost."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from tests.support import figures
from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import auto_queue, automations
from trustpager_desktop.core.auto_queue import QueueDispatcher, reconcile_in_flight
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK, FixedClock
from trustpager_desktop.core.gateway import OutboundGateway
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import QueueStatus
from trustpager_desktop.providers.twilio_provider import DEFAULT_TIMEOUT, TwilioProvider
from trustpager_desktop.runtime.automation_runner import AutomationRunner
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import QueueItem

AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
ANYTIME = AppSettings(quiet_hours_start=0, quiet_hours_end=24)
EXPIRED = auto_queue.LEASE + auto_queue.CLOCK_SKEW + timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _afternoon(clock):
    clock.set(AFTERNOON)


def _numbers(count: int) -> list[str]:
    return [f"+1415555{n:04d}" for n in range(2000, 2000 + count)]


def _enrol(db, clock, count: int) -> int:
    with db.write() as s:
        ids = [add_contact(s, clock, f"C{i}", phone=n) for i, n in enumerate(_numbers(count))]
        automation = automations.create_automation(
            s, AutomationInput("R", [StepInput("send_sms", "Hi {first_name}")]), clock=clock
        )
        automations.enroll(s, automation.id, Audience(contact_ids=tuple(ids)), actor="t",
                           clock=clock)  # fmt: skip
    return automation.id


def _statuses(db) -> Counter[str]:
    with db.read() as s:
        return Counter(dict(s.execute(select(QueueItem.status, func.count()).group_by(
            QueueItem.status)).all()))  # fmt: skip


def _duplicates(fake_twilio) -> int:
    sent = Counter(m["to"] for m in fake_twilio.sent_messages)
    twice = sum(n - 1 for n in sent.values())
    figures.add("duplicate sends", twice)
    return twice


class SlowProvider:
    """The real Twilio provider, ``seconds`` of (test clock) time per send; after each
    send it lets another seat act (reconcile, decide) on its own database connection."""

    def __init__(self, inner: TwilioProvider, clock: FixedClock, meanwhile=None, seconds=1.0):
        self.inner, self.clock, self.meanwhile, self.seconds = inner, clock, meanwhile, seconds
        self.name = inner.name
        self.calls = 0

    def send(self, to_e164: str, body: str):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.clock.advance(seconds=self.seconds)
        result = self.inner.send(to_e164, body)
        if self.meanwhile:
            self.meanwhile(self.calls)
        return result

    def list_sent(self, to_e164, since):  # type: ignore[no-untyped-def]
        return self.inner.list_sent(to_e164, since)


@pytest.mark.parametrize(
    ("count", "seconds"),
    [(200, 1.0), (12, 2 * DEFAULT_TIMEOUT)],
    ids=["1s-per-send", "every-call-hangs-to-its-timeout"],
)
def test_a_slow_dispatcher_keeps_its_lease_while_another_seat_reconciles(
    db, fake_twilio, twilio_provider, clock, count, seconds
):
    """Issue 13.2: 1 s per send, 200 claimed and sent 50 at a time (over three minutes);
    or every call taking as long as a Twilio call can (connect + read timeout): a second
    desktop reconciling after every send re-queues nothing and sends nothing."""
    fake_twilio.clock = clock.now
    _enrol(db, clock, count)
    other = Database.open(db.url)  # the other desktop: its own engine and connections
    reconciled = []

    def other_seat_reconciles(_call: int) -> None:
        reconciled.append(reconcile_in_flight(other, clock=clock).touched)
        # ...and runs its own dispatcher, which must find nothing to claim
        gateway = OutboundGateway(other, twilio_provider, clock=clock)
        assert QueueDispatcher(other, gateway, settings=ANYTIME, clock=clock).dispatch_due(
        ).claimed == 0  # fmt: skip

    slow = SlowProvider(twilio_provider, clock, other_seat_reconciles, seconds)
    dispatcher = QueueDispatcher(db, OutboundGateway(db, slow, clock=clock), settings=ANYTIME,
                                 clock=clock, send_chunk=50, workers=1)  # fmt: skip
    report = dispatcher.dispatch_due()
    other.close()

    assert report.sent == count and report.taken_over == 0
    assert sum(reconciled) == 0 and len(reconciled) == count
    assert _statuses(db) == Counter({QueueStatus.SENT: count})
    assert _duplicates(fake_twilio) == 0 and len(fake_twilio.sent_messages) == count


def test_a_stalled_dispatcher_that_lost_its_lease_sends_nothing_more(
    db, fake_twilio, twilio_provider, clock
):
    """A laptop that sleeps mid-batch: the other seat takes over the expired claims and
    sends them; when the sleeper wakes it renews, learns it lost them, and stops."""
    fake_twilio.clock = clock.now
    _enrol(db, clock, 6)
    other = Database.open(db.url)

    def sleep_then_other_seat_takes_over(call: int) -> None:
        if call != 2:
            return
        clock.advance(seconds=EXPIRED.total_seconds())  # asleep past the lease
        reconcile_in_flight(other, clock=clock)
        gateway = OutboundGateway(other, twilio_provider, clock=clock)
        QueueDispatcher(other, gateway, settings=ANYTIME, clock=clock).dispatch_due()

    slow = SlowProvider(twilio_provider, clock, sleep_then_other_seat_takes_over)
    dispatcher = QueueDispatcher(db, OutboundGateway(db, slow, clock=clock), settings=ANYTIME,
                                 clock=clock, send_chunk=3, workers=1)  # fmt: skip
    report = dispatcher.dispatch_due()
    other.close()

    assert report.taken_over >= 3  # the second chunk was never recorded by the sleeper
    assert _duplicates(fake_twilio) == 0
    assert sorted(m["to"] for m in fake_twilio.sent_messages) == _numbers(6)
    assert _statuses(db) == Counter({QueueStatus.SENT: 6})


def test_a_finishing_dispatcher_never_overwrites_a_decision_made_meanwhile(
    db, fake_twilio, twilio_provider, clock
):
    fake_twilio.clock = clock.now
    _enrol(db, clock, 3)
    other = Database.open(db.url)

    def someone_puts_the_last_item_up_for_review(call: int) -> None:
        if call == 3:  # while Twilio answers the last text
            with other.write() as s:
                last = s.scalar(select(func.max(QueueItem.id)))
                s.execute(update(QueueItem).where(QueueItem.id == last)
                          .values(status=QueueStatus.REVIEW, reason="checked by hand"))  # fmt: skip

    slow = SlowProvider(twilio_provider, clock, someone_puts_the_last_item_up_for_review)
    dispatcher = QueueDispatcher(db, OutboundGateway(db, slow, clock=clock), settings=ANYTIME,
                                 clock=clock, workers=1)  # fmt: skip
    dispatcher.dispatch_due()
    other.close()

    with db.read() as s:
        rows = s.execute(select(QueueItem.status, QueueItem.reason).order_by(QueueItem.id)).all()
    assert [tuple(r) for r in rows] == [(QueueStatus.SENT, None), (QueueStatus.SENT, None),
                                        (QueueStatus.REVIEW, "checked by hand")]  # fmt: skip
    assert len(fake_twilio.sent_messages) == 3


class SimulatedKill(BaseException):
    """Stands in for SIGKILL: nothing after it runs."""


def test_a_restart_seconds_after_a_kill_resumes_everything_once(
    db, fake_twilio, twilio_provider, clock
):
    """Killed after 3 texts of a 200-item batch; restarted at once: the claims hold for
    their lease, then the restarted runner's next cycle (not its next restart) finishes
    all of it. Nothing stays "Sending", nothing goes twice, and texts due just inside the
    stale limit are not skipped because of the time recovery took."""
    fake_twilio.clock = clock.now
    automation_id = _enrol(db, clock, 200)
    with db.write() as s:  # due 23 h 59 m 30 s ago: the recovery wait crosses the 24 h limit
        s.execute(update(QueueItem).values(due_at=clock.now() - timedelta(hours=24, seconds=-30)))

    def killed_after_the_third_send(call: int) -> None:
        if call == 3:
            raise SimulatedKill

    dying = QueueDispatcher(db, OutboundGateway(db, SlowProvider(twilio_provider, clock,
                            killed_after_the_third_send), clock=clock), settings=ANYTIME,
                            clock=clock, workers=1)  # fmt: skip
    with pytest.raises(SimulatedKill):
        dying.dispatch_due()
    assert (
        _statuses(db)[QueueStatus.IN_FLIGHT] == 200
    )  # 50 recorded (3 reached Twilio), 150 not yet

    services = AppServices(Database.open(db.url), clock=clock)
    services.gateway = OutboundGateway(services.db, twilio_provider, clock=clock)
    services.settings = ANYTIME
    runner = AutomationRunner(services)
    assert runner.run_once().ok  # seconds later: the leases still hold
    assert _statuses(db)[QueueStatus.IN_FLIGHT] == 200
    clock.advance(seconds=EXPIRED.total_seconds())
    report = runner.run_once()  # the next cycle, same process
    services.close()

    assert report.ok, report.message
    assert _statuses(db) == Counter({QueueStatus.SENT: 200}), report.message
    assert _duplicates(fake_twilio) == 0 and len(fake_twilio.sent_messages) == 200
    with db.read() as s:
        assert automation_id and s.scalar(
            select(func.count()).where(QueueItem.reason.contains("missed send window"))
        ) == 0  # fmt: skip


@pytest.mark.postgres
def test_real_time_slow_twilio_with_a_second_seat_reconciling_sends_each_text_once(
    _postgres_scratch, fake_twilio
):
    """Threads with their own engines on PostgreSQL, the system clock, a 2 s lease and
    Twilio answering each send in 0.25 s: 20 claimed items take 5 s, so the first seat
    renews its lease twice while the second reconciles and dispatches all the time."""
    db = _postgres_scratch.fresh()
    _enrol(db, SYSTEM_CLOCK, 20)
    fake_twilio.add_fault(Fault.slow(0.25, method="POST", count=1000))
    lease = timedelta(seconds=2)
    done = threading.Event()
    errors: list[BaseException] = []
    reports = {}

    def seat(name: str, claim_batch: int) -> None:
        database = Database.open(db.url)
        provider = TwilioProvider(fake_twilio.account_sid, fake_twilio.auth_token,
                                  fake_twilio.phone_number, api_base=fake_twilio.base_url)  # fmt: skip
        dispatcher = QueueDispatcher(database, OutboundGateway(database, provider),
                                     settings=ANYTIME, lease=lease, claim_batch=claim_batch)  # fmt: skip
        try:
            if name == "first":
                reports[name] = dispatcher.dispatch_due()
                done.set()
            else:
                while not done.wait(0.05):
                    reconcile_in_flight(database, skew=timedelta(0))
                    reports[name] = dispatcher.dispatch_due()
        except BaseException as exc:  # reported below
            errors.append(exc)
            done.set()
        finally:
            database.close()

    first = threading.Thread(target=seat, args=("first", 20))
    second = threading.Thread(target=seat, args=("second", 20))
    first.start()
    second.start()
    first.join(60)
    second.join(60)

    assert errors == []
    assert reports["first"].sent == 20 and reports["first"].taken_over == 0
    assert _duplicates(fake_twilio) == 0
    assert sorted(m["to"] for m in fake_twilio.sent_messages) == _numbers(20)
    assert _statuses(db) == Counter({QueueStatus.SENT: 20})
