"""Every screen writes the same moment the same way: in the business time zone, one
format, the zone named because this computer (UTC in tests) keeps another clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from tests.gui.conftest import wait_loaded
from tests.support.contacts import add_contact
from trustpager_desktop.core import automations, inbox, opportunities
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.gateway import ManualOrigin
from trustpager_desktop.core.opportunities import OpportunityInput
from trustpager_desktop.core.settings import save_settings
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.ui.main_window import MainWindow

# The fixed clock's 26 Nov 2026 15:00 UTC, in the business zone set below.
TOKYO = "27 Nov 2026, 00:00 JST"


@pytest.fixture
def window(qtbot, services, clock):
    with services.db.write() as s:
        tokyo = dataclasses.replace(services.settings, business_timezone="Asia/Tokyo")
        save_settings(s, tokyo, actor="t", clock=clock)
        ann = add_contact(s, clock, "Ann", "Lee", phone="(415) 555-0101")
        automation = automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]), clock=clock
        )
        automations.enroll(s, automation.id, Audience(contact_ids=(ann,)), actor="t",
                           clock=clock)  # fmt: skip
        opportunities.create_opportunity(
            s, OpportunityInput("Deck", ann, "10"), actor="t", clock=clock
        )
    services.reload()
    services.gateway.send(body="Hello Ann", origin=ManualOrigin(actor="t", screen="test"),
                          contact_id=ann)  # fmt: skip
    record = InboundRecord("SMrev", "+14155550101", "+14155550100", "please stop texting me",
                           clock.now(), "inbound")  # fmt: skip
    inbox.store_inbound(services.db, [record], clock)
    inbox.process_pending(services.db, clock)
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.ann = ann
    return w


def test_the_log_the_contact_page_the_queue_review_and_opportunities_agree(qtbot, window):
    log = window.activity_page.model
    qtbot.waitUntil(lambda: not window.activity_page.is_loading, timeout=5_000)
    assert {log.data(log.index(r, 0)) for r in range(log.rowCount())} == {TOKYO}

    window.open_contact(window.ann)
    wait_loaded(window.contact_page)
    page = window.contact_page
    timeline = {page.timeline.topLevelItem(i).text(0)
                for i in range(page.timeline.topLevelItemCount())}  # fmt: skip
    assert timeline == {TOKYO}
    bubbles = page.messaging.bubbles()  # the text sent and the reply received
    assert len(bubbles) == 2 and all(TOKYO in b.meta.text() for b in bubbles)

    qtbot.waitUntil(lambda: not window.automations_page.is_loading, timeout=5_000)
    queue = window.automations_page.queue_model
    assert queue.index(0, 0).data() == TOKYO

    review = window.review_page
    qtbot.waitUntil(lambda: not review.is_loading, timeout=5_000)
    assert review.review_model.index(0, 0).data() == TOKYO
    assert "received 27 Nov 2026, 00:00:00 JST" in review.sender_label.text()

    window.opportunities_page.show_opportunity(1)
    wait_loaded(window.opportunities_page)
    assert window.opportunities_page.panel.created.text() == TOKYO


def test_a_status_line_uses_the_business_zone_too(window, services, clock):
    from trustpager_desktop.core import consent
    from trustpager_desktop.store.models import Contact

    clock.advance(hours=1)
    with services.db.write() as s:
        consent.opt_out_contact(s, s.get(Contact, window.ann), source=ConsentSource.MANUAL_TOGGLE,
                                actor="t", clock=clock)  # fmt: skip
    window.open_contact(window.ann)
    wait_loaded(window.contact_page)
    assert window.contact_page.preferences.status.text() == (
        "Opted out since 27 Nov 2026, 01:00 JST by manual toggle"
    )


def test_date_filters_are_whole_business_days(window, clock):
    page = window.activity_page
    assert page.until_date.date().toPython().isoformat() == "2026-11-27"  # Tokyo's today
    page.since_check.setChecked(True)
    page.since_date.setDate(page.until_date.date())
    flt = page.current_filter()
    assert flt.since == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # midnight in Tokyo
    assert page.since_date.displayFormat() == "dd MMM yyyy"
