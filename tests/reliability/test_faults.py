"""Provider and database faults: the jobs keep running, say what is wrong, retry only when safe,
and an opt-out is saved whole or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from tests.support import figures
from tests.support.contacts import add_contact
from tests.support.fake_twilio import Fault
from trustpager_desktop.core import automations, consent
from trustpager_desktop.core.auto_queue import QueueDispatcher
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.gateway import OutboundGateway
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import ActivityKind, ConsentSource, QueueStatus
from trustpager_desktop.store.database import Database, DatabaseError
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent, Contact, QueueItem

ANYTIME = AppSettings(quiet_hours_start=0, quiet_hours_end=24)
ANN = "+14155550101"


def _enrolled(db, clock) -> int:
    with db.write() as s:
        cid = add_contact(s, clock, "Ann", phone=ANN)
        auto = automations.create_automation(
            s,
            AutomationInput("R", [StepInput(automations.SEND_SMS, "Hi {first_name}")]),
            clock=clock,
        )
        automations.enroll(s, auto.id, Audience(contact_ids=(cid,)), actor="t", clock=clock)
    return cid


def _dispatcher(db, provider, clock) -> QueueDispatcher:
    gateway = OutboundGateway(db, provider, clock=clock)
    return QueueDispatcher(db, gateway, settings=ANYTIME, clock=clock)


def _queue_status(db) -> str:
    with db.read() as s:
        return s.scalar(select(QueueItem.status))


def test_refused_send_is_retried_later_and_sent_once(db, clock, fake_twilio, twilio_provider):
    figures.add("bad inputs tried")
    _enrolled(db, clock)
    fake_twilio.add_fault(Fault.http(429, method="POST"))
    dispatcher = _dispatcher(db, twilio_provider, clock)
    report = dispatcher.dispatch_due()
    assert report.retrying == 1 and _queue_status(db) == QueueStatus.PENDING
    clock.advance(minutes=10)
    assert dispatcher.dispatch_due().sent == 1
    assert [m["to"] for m in fake_twilio.sent_messages] == [ANN]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.accept_then_hang(1.0),
        Fault.accept_then_drop(),
        Fault.accept_then_fail(502),
        Fault.drop(method="POST"),
        Fault.malformed_json(method="POST"),
        Fault.http(500, method="POST"),
    ],
    ids=["no-answer", "dropped-after", "502-after", "dropped", "malformed", "500"],
)
def test_send_with_unknown_outcome_is_looked_up_and_reaches_twilio_once(
    db, clock, fake_twilio, fault
):
    """Whether Twilio kept the text (accept_then_...) or not (the others), the item is
    looked up before anything is resent, and Twilio ends with exactly one text."""
    from trustpager_desktop.providers.twilio_provider import TwilioProvider

    figures.add("bad inputs tried")
    fake_twilio.clock = clock.now
    provider = TwilioProvider(
        fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.phone_number,
        api_base=fake_twilio.base_url, timeout=0.3,
    )  # fmt: skip
    _enrolled(db, clock)
    fake_twilio.add_fault(fault)
    dispatcher = _dispatcher(db, provider, clock)
    report = dispatcher.dispatch_due()
    assert report.checking == 1 and report.retrying == 0 and report.failed == 0
    assert dispatcher.dispatch_due().claimed == 0  # nothing before the lookup is due
    clock.advance(minutes=2)
    assert dispatcher.dispatch_due().sent == 1
    assert _queue_status(db) == QueueStatus.SENT
    sent = [m["to"] for m in fake_twilio.sent_messages]
    figures.add("duplicate sends", len(sent) - 1)
    assert sent == [ANN]  # Twilio has the text exactly once


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http(429, retry_after="30", method="GET"),
        Fault.http(500, method="GET"),
        Fault.drop(method="GET"),
        Fault.malformed_json(method="GET"),
        Fault.slow(1.0, method="GET"),
    ],
    ids=["429", "500", "dropped", "malformed", "slow"],
)
def test_poller_reports_trouble_plainly_and_picks_the_stop_up_later(
    db, clock, fake_twilio, send_inbound, fault
):
    from trustpager_desktop.providers.twilio_provider import TwilioProvider
    from trustpager_desktop.runtime.inbox_poller import InboxPoller

    figures.add("bad inputs tried")
    provider = TwilioProvider(
        fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.phone_number,
        api_base=fake_twilio.base_url, timeout=0.3,
    )  # fmt: skip
    poller = InboxPoller(db, provider, clock, settings=AppSettings(), rand=lambda: 1.0)
    _enrolled(db, clock)
    send_inbound(ANN, "STOP")
    fake_twilio.add_fault(fault)
    report = poller.run_once()
    assert not report.ok and "Twilio" in report.message and "Traceback" not in report.message
    clock.advance(minutes=10)  # past any back-off
    assert poller.run_once().ok
    with db.read() as s:
        assert consent.number_is_opted_out(s, ANN)


def test_wrong_types_in_a_listing_skip_the_record_and_keep_the_rest(
    db, clock, fake_twilio, send_inbound, inbox_poller
):
    figures.add("bad inputs tried")
    _enrolled(db, clock)
    send_inbound(ANN, "STOP")
    fake_twilio.add_fault(Fault.wrong_types(method="GET"))
    inbox_poller.run_once()  # may skip the unreadable record, must not fail the job
    fake_twilio.clear_faults()
    clock.advance(seconds=30)  # the next scheduled read re-reads past its lateness margin
    assert inbox_poller.run_once().ok
    with db.read() as s:
        assert consent.number_is_opted_out(s, ANN)


# ---- the database ----------------------------------------------------------------------------


def _opt_out_rows(db) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.scalar(select(func.count()).where(Contact.sms_opted_out.is_(True))),
            s.scalar(select(func.count()).select_from(ConsentEvent)),
            s.scalar(select(func.count()).where(ActivityEntry.kind == ActivityKind.OPT_OUT)),
        )


def _opt_out_ann(db, clock) -> None:
    with db.write() as s:
        consent.opt_out_number(s, ANN, source=ConsentSource.STOP_REPLY, actor="Inbox", clock=clock)


def test_read_only_database_refuses_the_opt_out_clearly_and_keeps_nothing(
    sqlite_db, clock, tmp_path, monkeypatch
):
    figures.add("bad inputs tried")
    # Database.open treats "file:..." as a relative path and creates an empty file there.
    monkeypatch.chdir(tmp_path)
    _enrolled(sqlite_db, clock)
    path = sqlite_db.sqlite_path
    sqlite_db.close()
    # A read-only SQLite URI: chmod does not stop root, mode=ro does.
    read_only = Database.open(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    before = _opt_out_rows(read_only)
    with pytest.raises(DatabaseError, match="read-only"):
        _opt_out_ann(read_only, clock)
    assert _opt_out_rows(read_only) == before == (0, 0, 0)
    read_only.close()


def test_full_database_refuses_the_opt_out_clearly_and_keeps_nothing(sqlite_db, clock):
    """A size limit (PRAGMA max_page_count) stands in for a full disk; it works as root too."""
    figures.add("bad inputs tried")
    _enrolled(sqlite_db, clock)

    @__import__("sqlalchemy").event.listens_for(sqlite_db.engine, "connect")
    def _limit(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    sqlite_db.engine.dispose()
    before = _opt_out_rows(sqlite_db)
    with pytest.raises(DatabaseError, match="full"), sqlite_db.write() as s:
        for i in range(2000):  # fill the last free pages, then the opt-out must not half-land
            add_contact(s, SYSTEM_CLOCK, f"Filler {i}" + "x" * 80)
        consent.opt_out_number(s, ANN, source=consent.Source.STOP_REPLY, actor="Inbox")
    assert _opt_out_rows(sqlite_db) == before == (0, 0, 0)


@pytest.mark.postgres
def test_postgres_connections_killed_mid_run_give_a_clear_error_then_recover(
    _postgres_scratch, clock
):
    figures.add("bad inputs tried")
    db = _postgres_scratch.fresh()
    _enrolled(db, clock)
    name = db.engine.url.database
    admin = Database.open(db.url.rsplit("/", 1)[0] + "/postgres", migrate=False)

    def kill_connections() -> None:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )

    before = _opt_out_rows(db)
    with pytest.raises(DatabaseError) as error, db.write() as s:
        contact = s.scalar(select(Contact))
        consent.opt_out_contact(s, contact, source=ConsentSource.STOP_REPLY, actor="Inbox")
        s.flush()
        kill_connections()  # the server goes away before the commit
        s.commit()
    assert "Traceback" not in str(error.value) and str(error.value)
    assert _opt_out_rows(db) == before == (0, 0, 0)
    _opt_out_ann(db, clock)  # the pool reconnects: the next opt-out is saved whole
    assert _opt_out_rows(db) == (1, 1, 1)
    admin.close()
