"""`trustpager review list|decide`: the same decisions and log as the Needs review page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.cli import main
from trustpager_desktop.core import automations, consent, inbox
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.states import ActivityKind, ConfirmationStatus, QueueStatus
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.store.models import ActivityEntry, OptOutConfirmation, QueueItem

ANN = "+14155550101"


def _setup(db, body: str = "no quiero más mensajes") -> tuple[int, int]:
    """A contact enrolled in an automation, and a reply that may be an opt-out (just now)."""
    with db.write() as s:
        ann = add_contact(s, SYSTEM_CLOCK, "Ann", "Lee", phone=ANN)
        automation = automations.create_automation(
            s, AutomationInput("Promo", [StepInput("send_sms", "Hi")])
        )
        automations.enroll(s, automation.id, Audience(contact_ids=(ann,)), actor="t")
    sent = datetime.now(UTC) - timedelta(minutes=1)
    inbox.store_inbound(db, [InboundRecord("SMcli1", ANN, "+1", body, sent, "inbound")],
                        SYSTEM_CLOCK)  # fmt: skip
    inbox.process_pending(db, SYSTEM_CLOCK)
    with db.read() as s:
        return ann, inbox.list_needs_review(s)[0].inbound_id


def test_review_list_shows_the_reply_and_its_deadline(db, capsys):
    _, reply = _setup(db)
    assert main(["--db", db.url, "review", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{reply:>6}" in out and "(415) 555-0101 (Ann Lee)" in out
    assert "Decide by" in out and "business days left" in out
    assert "“no quiero más mensajes”" in out


def _hold(db) -> None:
    """The text fell due while the reply waited (what a dispatch does): held."""
    with db.write() as s:
        s.execute(QueueItem.__table__.update().values(status=QueueStatus.HELD,
                                                      reason="held: reply waiting for review"))  # fmt: skip


def test_review_decide_opt_out_acts_like_the_window(db, capsys):
    ann, reply = _setup(db)
    _hold(db)
    assert main(["--db", db.url, "review", "decide", str(reply), "opt-out"]) == 0
    out = capsys.readouterr().out
    assert "Marked as opted out." in out and "Opt-out confirmation text sent." in out
    with db.read() as s:
        assert consent.contact_consent_state(s, ann).opted_out
        decision = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.REVIEW_DECISION)
        )
        assert "opted out" in decision.one().summary
        item = s.scalars(select(QueueItem)).one()
        assert (item.status, item.reason) == (
            QueueStatus.SKIPPED,
            "skipped: contact opted out of SMS",
        )
        confirmation = s.scalars(select(OptOutConfirmation)).one()
        assert (confirmation.status, confirmation.language) == (ConfirmationStatus.SENT, "es")
    assert main(["--db", db.url, "review", "list"]) == 0
    assert "Nothing waits for review." in capsys.readouterr().out


def test_review_decide_not_opt_out_releases_the_held_text(db, capsys):
    ann, reply = _setup(db, "I never signed up for this")
    _hold(db)
    assert main(["--db", db.url, "review", "decide", str(reply), "not-opt-out"]) == 0
    with db.read() as s:
        assert s.scalars(select(QueueItem.status)).one() == QueueStatus.PENDING
        assert consent.contact_consent_state(s, ann).automation_allowed


def test_review_decide_refuses_bad_input_in_one_line(db, capsys):
    _, reply = _setup(db)
    assert main(["--db", db.url, "review", "decide", "99999", "opt-out"]) == 1
    assert capsys.readouterr().err == "trustpager: That reply no longer exists.\n"
    assert main(["--db", db.url, "review", "decide", str(reply), "re-consent"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trustpager: 're_consent' does not apply") and err.count("\n") == 1
    assert main(["--db", db.url, "review", "decide", str(reply), "opt-out"]) == 0
    assert main(["--db", db.url, "review", "decide", str(reply), "not-opt-out"]) == 1
    assert "already reviewed" in capsys.readouterr().err
