"""The contact page shows what Twilio said about each text, and numbers whose texts fail."""

from __future__ import annotations

from sqlalchemy import select

from tests.gui.conftest import wait_loaded
from tests.gui.test_contact_page import page  # noqa: F401 - the contact page fixture
from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop.core import delivery
from trustpager_desktop.core.consent import may_automation_text
from trustpager_desktop.core.gateway import ManualOrigin
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.store.models import ActivityEntry

LANDLINE = "+14155550102"


def _texts_then_twilio_says(services, contact_id: int, outcomes: list[tuple[str, int | None]]):
    """Send one manual text per outcome, then record what Twilio listed for each."""
    records = []
    for status, code in outcomes:
        sent = services.gateway.send(
            body="See you at 3", origin=ManualOrigin("Ann"), contact_id=contact_id
        )
        records.append(
            MessageRecord(
                sent.provider_sid,
                "+15005550006",
                LANDLINE,
                "See you at 3",
                services.clock.now(),
                "outbound-api",
                status,
                code,
            )  # fmt: skip
        )
        services.clock.advance(seconds=60)
    delivery.record_statuses(services.db, records, services.clock)


def test_each_text_shows_its_delivery(page, services, add_contact):  # noqa: F811
    cid = add_contact("Bea", "Ng", phone="(415) 555-0102")
    _texts_then_twilio_says(services, cid, [("delivered", None), ("undelivered", 30003)])

    page.load(cid)
    wait_loaded(page)

    metas = [b.meta.text() for b in page.messaging.bubbles()]
    assert "Sent · Delivered" in metas[0]
    assert "Sent · Not delivered (30003)" in metas[1]
    assert not page.messaging.delivery_frame.isVisible()  # one failure is not a pattern


def test_a_number_whose_texts_fail_is_shown_and_can_be_cleared(
    page,  # noqa: F811
    services,
    add_contact,
):
    cid = add_contact("Bea", "Ng", phone="(415) 555-0102")
    _texts_then_twilio_says(services, cid, [("undelivered", 30006), ("undelivered", 30006)])

    page.load(cid)
    wait_loaded(page)

    card = page.messaging
    assert card.delivery_frame.isVisible()
    assert card.delivery_headline.text() == "Texts to this number fail: landline (30006)"
    assert card.delivery_detail.text() == (
        "2 texts in a row not delivered (a landline or a carrier that cannot receive texts). "
        "Automations skip this number until you clear it."
    )
    assert card.delivery_headline.textFormat().name == "PlainText"

    with gui_thread_sql(services.db) as seen:
        card.clear_delivery_button.click()
        assert card.clear_delivery_button.text() == "Clearing…"
        assert not card.clear_delivery_button.isEnabled()
        card.clear_delivery_block()  # a second click while clearing starts nothing
        wait_loaded(page)

    assert not [site for site in seen if site.startswith("messaging_card.")]  # off the GUI thread

    assert not card.delivery_frame.isVisible()
    assert card.result.text() == "Cleared: automations will text this number again."
    with services.db.read() as s:
        assert may_automation_text(s, cid, LANDLINE).allowed
        entry = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.DELIVERY_UNBLOCKED)
        ).one()
    assert entry.actor == services.actor and entry.contact_id == cid
