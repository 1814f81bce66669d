"""Live views (issue 16 item 3): what another desktop or the agent changes on the shared
database shows in this window within seconds, without anyone navigating. The window
learns of it from the change marker (one cheap query per poll), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.gui.conftest import wait_loaded
from tests.support.contacts import add_contact
from tests.support.desktop import MemoryTokenStore, live_window
from trustpager_desktop.core import automations, consent
from trustpager_desktop.core.automation_pause import set_automations_paused
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.inbox import process_pending, store_inbound
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import Database
from trustpager_desktop.ui.contact_browser import SMS_COLUMN

POLL = 0.2  # seconds; the window's default is 2
WAIT_MS = 5_000


@pytest.fixture
def here(db, clock):
    """This desktop's services."""
    return AppServices(db, clock=clock, tokens=MemoryTokenStore())


@pytest.fixture
def elsewhere(db, clock):
    """Another desktop on the same database: its own engine and connections."""
    other_db = Database.open(db.url)
    yield AppServices(other_db, clock=clock, tokens=MemoryTokenStore())
    other_db.close()


@pytest.fixture
def window(qtbot, here):
    yield from live_window(qtbot, here, POLL)


def _contact(services, first: str, phone: str) -> int:
    return add_contact(services.db, services.clock, first, "Lee", phone=phone)


def test_an_enrolment_made_elsewhere_appears_in_the_auto_queue(qtbot, window, here, elsewhere):
    ann = _contact(here, "Ann", "+14155550101")
    with here.db.write() as s:
        automation = automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]), clock=here.clock
        ).id
    window.show_target("queue")
    page = window.automations_page
    qtbot.waitUntil(lambda: page.list_model.rowCount() == 1, timeout=WAIT_MS)
    assert page.queue_model.rowCount() == 0

    with elsewhere.db.write() as s:
        automations.enroll(
            s, automation, Audience(contact_ids=(ann,)), actor="Other", clock=elsewhere.clock
        )

    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 1, timeout=WAIT_MS)
    assert page.queue_model.index(0, 4).data() == "Ann Lee"


def test_a_stop_taken_in_by_another_desktop_shows_on_the_open_contact(
    qtbot, window, here, elsewhere
):
    ann = _contact(here, "Ann", "+14155550101")
    window.open_contact(ann)
    wait_loaded(window.contact_page)
    card = window.contact_page.preferences
    assert not window.contact_page.contact.sms_opted_out
    window.contact_page.details.editors["company"].setText("Typing here")
    window.contact_page.details.form.edited.emit()

    sent = here.clock.now() - timedelta(minutes=1)
    stop = MessageRecord("SM1", "+14155550101", "+14155550000", "STOP", sent, "inbound")
    store_inbound(elsewhere.db, [stop], elsewhere.clock)
    process_pending(elsewhere.db, elsewhere.clock)

    qtbot.waitUntil(lambda: window.contact_page.contact.sms_opted_out, timeout=WAIT_MS)
    assert card.toggle.isChecked()  # the card shows the opt-out, no navigation needed
    assert window.contact_page.details.editors["company"].text() == "Typing here"
    window.contact_page.discard()
    window.show_page("contacts")  # the list was marked stale meanwhile and shows it too
    browser = window.contact_browser
    wait_loaded(browser)
    row = browser.model.row_of(ann)
    assert row is not None
    assert "Opted out" in browser.model.index(row, SMS_COLUMN).data()
    with here.db.read() as s:
        assert consent.number_is_opted_out(s, "+14155550101")


def test_a_pause_made_elsewhere_shows_in_the_status_bar(qtbot, window, elsewhere):
    assert not window.pause_label.isVisibleTo(window)

    set_automations_paused(elsewhere.db, True, actor="Other", clock=elsewhere.clock)
    qtbot.waitUntil(lambda: window.pause_label.isVisibleTo(window), timeout=WAIT_MS)
    assert window.pause_action.isChecked()

    set_automations_paused(elsewhere.db, False, actor="Other", clock=elsewhere.clock)
    qtbot.waitUntil(lambda: not window.pause_label.isVisibleTo(window), timeout=WAIT_MS)


def test_a_reply_waiting_for_review_raises_the_badge(qtbot, window, here, elsewhere):
    _contact(here, "Ann", "+14155550101")
    sent = here.clock.now() - timedelta(minutes=1)
    maybe = MessageRecord(
        "SM2", "+14155550101", "+14155550000", "please stop texting me", sent, "inbound"
    )
    store_inbound(elsewhere.db, [maybe], elsewhere.clock)
    process_pending(elsewhere.db, elsewhere.clock)

    review_row = 4
    qtbot.waitUntil(
        lambda: window.nav.item(review_row).text().startswith("Needs review (1"), timeout=WAIT_MS
    )
