"""The Review page: decisions act through core.inbox, and a sender's text stays literal."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from tests.support.contacts import add_contact
from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop.core import contacts, inbox
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.states import ActivityKind, ReviewDecision
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.store.models import ActivityEntry
from trustpager_desktop.ui.review_page import ReviewPage
from trustpager_desktop.usecases.result import Outcome
from trustpager_desktop.usecases.review import ReviewService

TRICKY = "please stop texting me <b>now</b> &amp; <a href='x'>forever</a>"


def _receive(services, clock, sender: str, body: str, sid: str) -> None:
    record = InboundRecord(
        sid, sender, "+14155550100", body, clock.now() - timedelta(minutes=5), "inbound"
    )
    inbox.store_inbound(services.db, [record], clock)
    inbox.process_pending(services.db, clock)


@pytest.fixture
def page(qtbot, services, clock):
    with services.db.write() as s:
        add_contact(s, SYSTEM_CLOCK, "Ann", "Lee", phone="(415) 555-0101")
    _receive(services, clock, "+14155550101", TRICKY, "SMreview1")
    _receive(services, clock, "+14155550199", "Who is this?", "SMunknown1")
    widget = ReviewPage(ReviewService(services))
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    qtbot.waitUntil(lambda: not widget.is_loading, timeout=5_000)
    return widget


def test_models_pass_the_model_tester(page, qtmodeltester):
    qtmodeltester.check(page.review_model)
    qtmodeltester.check(page.unknown_model)


def test_message_text_is_shown_literally(page):
    assert page.message_label.text() == TRICKY
    assert page.message_label.textFormat() == Qt.TextFormat.PlainText
    assert "Ann Lee" in page.sender_label.text()
    cell = page.review_model.index(0, 4).data()
    assert cell == TRICKY and page.review_model.index(0, 3).data() == "Ann Lee"
    assert page.unknown_model.index(0, 0).data() == "(415) 555-0199"
    assert page.unknown_model.index(0, 4).data() == "Who is this?"


def test_opt_out_button_opts_the_contact_out_and_logs_who(page, services, qtbot):
    assert ReviewService(services).count() == 1
    with qtbot.waitSignal(page.review_count_changed) as signal:
        qtbot.mouseClick(page.opt_out_button, Qt.MouseButton.LeftButton)
    assert signal.args == [0]
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    with services.db.read() as s:
        (ann,) = contacts.search_contacts(s, "Ann")
        decision = s.scalar(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.REVIEW_DECISION)
        )
    assert ann.sms_opted_out
    assert decision.actor == services.actor and "opted out" in decision.summary
    assert page.review_model.rowCount() == 0 and not page.opt_out_button.isEnabled()
    assert page.sender_label.text() == ""  # the decided reply is no longer shown


def test_not_an_opt_out_button_keeps_the_contact_subscribed(page, services, qtbot):
    with qtbot.waitSignal(page.decided, timeout=5_000):
        qtbot.mouseClick(page.not_opt_out_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    with services.db.read() as s:
        (ann,) = contacts.search_contacts(s, "Ann")
    assert not ann.sms_opted_out
    assert ReviewService(services).count() == 0
    assert "not an opt-out" in page.feedback_label.text()


# -- issue 16 item 2, issue 18 item 1: a decision is stored off the GUI thread ----------------


def test_a_decision_runs_no_sql_on_the_gui_thread(page, services, qtbot):
    with gui_thread_sql(services.db) as seen:
        with qtbot.waitSignal(page.decided, timeout=5_000):
            page.opt_out_button.click()
        qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    assert [name for name in seen if name != "(outside ui)"] == []
    assert page.review_model.rowCount() == 0


def test_a_slow_decision_says_saving_and_a_second_click_decides_nothing(page, services, qtbot):
    release, calls = threading.Event(), []
    decide = page.service.decide

    def held(inbound_id, decision):
        calls.append(decision)
        assert release.wait(10)
        return decide(inbound_id, decision)

    page.service.decide = held
    page.opt_out_button.click()
    assert page.feedback_label.text() == "Saving the decision…"
    assert not page.opt_out_button.isEnabled() and not page.not_opt_out_button.isEnabled()
    assert not page.review_view.isEnabled()  # no other reply chosen under the decision
    page.not_opt_out_button.click()  # disabled: nothing
    page._decide(1)  # nor any other way in
    page.refresh()  # a poll's re-read while it is stored keeps the buttons off
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    assert not page.opt_out_button.isEnabled()
    with qtbot.waitSignal(page.decided, timeout=5_000):
        release.set()
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)

    assert calls == [ReviewDecision.OPT_OUT]
    assert "(415) 555-0101" in page.feedback_label.text()
    assert page.review_model.rowCount() == 0 and page.review_view.isEnabled()
    with services.db.read() as s:
        (ann,) = contacts.search_contacts(s, "Ann")
    assert ann.sms_opted_out


def test_a_refused_decision_says_why_and_the_reply_can_be_decided_again(page, services, qtbot):
    page.service.decide = lambda _id, _decision: Outcome.failure(
        "This reply was already decided, perhaps on another computer."
    )
    with qtbot.waitSignal(page.decided, timeout=5_000) as blocker:
        page.opt_out_button.click()
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)

    assert blocker.args == [False]
    assert (
        page.feedback_label.text() == "This reply was already decided, perhaps on another computer."
    )
    assert page.current_item() is not None and page.message_label.text() == TRICKY
    assert page.opt_out_button.isEnabled() and page.review_view.isEnabled()
