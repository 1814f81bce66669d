"""Every screen shows the consent state the rule enforces (issue 16 item 1, issue 14 item 1
and 6): the browser's SMS column, the cards, the send question (Ctrl+Enter too), the enrol
dialog, the contact dialog, the opportunity panel, the Auto Queue, Needs review with its
deadlines and red count, and the settings that change what the rule does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import make_browser, make_dialog, make_page, save_and_wait
from tests.support.writes import saved
from trustpager_desktop.core import automations, consent, inbox, preferences
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.states import ConfirmationStatus
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.store.models import Contact, Opportunity, OutboundMessage
from trustpager_desktop.ui.automations_page import AutomationsPage, EnrollDialog
from trustpager_desktop.ui.contact_browser import SMS_COLUMN, ContactBrowser
from trustpager_desktop.ui.main_window import MainWindow
from trustpager_desktop.ui.opportunities_page import OpportunitiesPage
from trustpager_desktop.ui.preferences_card import ReconsentDialog
from trustpager_desktop.ui.review_alerts import ReviewEscalation
from trustpager_desktop.ui.review_page import ReviewPage
from trustpager_desktop.ui.settings_page import SettingsPage
from trustpager_desktop.ui.theme import Tone, tone_colour
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.opportunities import OpportunitiesService
from trustpager_desktop.usecases.review import ReviewService
from trustpager_desktop.usecases.settings import SettingsService

ANN = "+14155550101"


def _reply(services, sender: str, body: str, sid: str, minutes_ago: float = 5) -> None:
    when = services.clock.now() - timedelta(minutes=minutes_ago)
    inbox.store_inbound(services.db, [InboundRecord(sid, sender, "+14155550100", body, when,
                                                    "inbound")], services.clock)  # fmt: skip
    inbox.process_pending(services.db, services.clock)


def _stop_then_reconsent(services, contact_id: int) -> None:
    _reply(services, ANN, "STOP", "SMstop", minutes_ago=30)
    with services.db.write() as s:
        preferences.re_consent_by_hand(s, contact_id, method="verbal", note="Phoned",
                                       actor="Office", clock=services.clock)  # fmt: skip


@pytest.fixture
def page(qtbot, services):
    widget = make_page(qtbot, services)
    return widget


def _sms_cell(browser: ContactBrowser, name: str) -> tuple[str, str]:
    model = browser.model
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == name:
            index = model.index(row, SMS_COLUMN)
            return index.data(), index.data(Qt.ItemDataRole.ToolTipRole)
    raise AssertionError(name)


def test_the_browser_sms_column_shows_every_state(qtbot, services, add_contact, qtmodeltester):
    add_contact("Ann", "Lee", phone=ANN)
    held = add_contact("Hal", "Ng", phone="+14155550102")
    add_contact("Ola", "Out", phone="+14155550103", opted_out=True)
    add_contact("Sam", "Same", phone="+14155550103")  # shares Ola's number
    waiting = add_contact("Wes", "Wait", phone="+14155550104")
    _reply(services, "+14155550102", "please stop texting me", "SMheld")
    _reply(services, "+14155550104", "STOP", "SMw", minutes_ago=30)
    with services.db.write() as s:
        preferences.re_consent_by_hand(s, waiting, method="verbal", note="Phoned",
                                       actor="Office", clock=services.clock)  # fmt: skip
    browser = make_browser(qtbot, services)
    qtmodeltester.check(browser.model)

    assert _sms_cell(browser, "Ann Lee")[0] == "Subscribed"
    text, tip = _sms_cell(browser, "Hal Ng")
    assert text == "Held: reply to review" and "Needs review" in tip
    assert _sms_cell(browser, "Ola Out")[0] == "Opted out"
    text, tip = _sms_cell(browser, "Sam Same")
    assert text == "Number opted out" and "through Ola Out" in tip
    text, tip = _sms_cell(browser, "Wes Wait")
    assert text == "Waiting for START" and "until the customer texts START" in tip
    del held


def test_the_card_ticks_a_number_opt_out_and_points_to_its_owner(page, add_contact):
    add_contact("Ola", "Out", phone=ANN, opted_out=True)
    sam = add_contact("Sam", "Same", phone=ANN)
    page.load(sam)
    wait_loaded(page)
    card = page.preferences
    assert card.toggle.isChecked() and not card.toggle.isEnabled()
    assert "Ola Out" in card.toggle.toolTip()
    assert card.state_label.text() == "Number opted out"
    assert "through Ola Out" in card.status.text()
    assert "through Ola Out" in page.messaging.banner.text()


def test_a_held_contact_shows_the_hold_and_ctrl_enter_asks_first(
    qtbot, page, services, add_contact, answer_dialog
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    _reply(services, ANN, "I never signed up for this", "SMheld")
    page.load(ann)
    wait_loaded(page)
    assert page.preferences.state_label.text() == "Held: reply waiting for review"
    assert "decide by" in page.preferences.status.text()
    assert "held until someone decides" in page.messaging.banner.text()
    page.messaging.compose.setPlainText("Your order is ready")

    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())
    page.messaging.send_shortcuts[1].activated.emit()  # Ctrl+Enter

    assert asked and "Needs review" in asked[0].text()
    assert services.provider_choice.provider.sent == []
    assert page.messaging.result.text() == "Not sent."


def test_waiting_for_start_says_a_manual_text_will_not_go_through(
    page, services, add_contact, answer_dialog
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    _stop_then_reconsent(services, ann)
    page.load(ann)
    wait_loaded(page)
    assert page.preferences.state_label.text() == (
        "Re-consent recorded; waiting for the customer's START reply"
    )
    assert not page.preferences.toggle.isChecked()
    assert "will NOT go through" in page.messaging.banner.text()
    page.messaging.compose.setPlainText("Hello")
    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())
    page.messaging.send_button.click()
    assert asked and "Twilio refuses" in asked[0].text()


def test_the_reconsent_dialog_warns_when_twilio_blocks_the_number(
    page, services, add_contact, answer_dialog
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    _reply(services, ANN, "STOP", "SMstop", minutes_ago=30)
    page.load(ann)
    wait_loaded(page)
    page.preferences.toggle.click()
    shown = answer_dialog(lambda dialog: dialog.reject())
    page.preferences.save_button.click()
    dialog = shown[0]
    assert isinstance(dialog, ReconsentDialog)
    assert not dialog.twilio_warning.isHidden()
    assert "until the customer texts START" in dialog.twilio_warning.text()


def test_a_plain_opt_out_reconsent_dialog_has_no_twilio_warning(
    page, services, add_contact, answer_dialog
):
    page.load(add_contact("Ann", "Lee", phone=ANN, opted_out=True))
    wait_loaded(page)
    page.preferences.toggle.click()
    shown = answer_dialog(lambda dialog: dialog.reject())
    page.preferences.save_button.click()
    assert shown[0].twilio_warning.isHidden()


def test_a_staff_opt_out_may_ask_for_a_confirmation_text(
    page, services, add_contact, answer_dialog
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    page.load(ann)
    wait_loaded(page)
    page.preferences.toggle.click()
    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    page.preferences.save_button.click()
    wait_loaded(page)  # saved off the GUI thread, then read again
    with services.db.read() as s:
        from trustpager_desktop.store.models import OptOutConfirmation

        row = s.scalars(select(OptOutConfirmation)).one()
    assert (row.status, row.phone_e164, row.requested_by) == (
        ConfirmationStatus.PENDING,
        ANN,
        services.actor,
    )


def test_the_enrol_dialog_warns_how_many_are_opted_out_or_held(qtbot, services, add_contact):
    ids = [
        add_contact("Ann", phone=ANN),
        add_contact("Ola", phone="+14155550102", opted_out=True),
        add_contact("Hal", phone="+14155550103"),
    ]
    _reply(services, "+14155550103", "stop texting me", "SMheld")
    with services.db.write() as s:
        automations.create_automation(s, AutomationInput("Promo", [StepInput("send_sms", "Hi")]))
    dialog = EnrollDialog(AutomationsService(services), ids)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)  # read off the GUI thread
    text = dialog.consent_warning.text()
    assert not dialog.consent_warning.isHidden()
    assert "1 of 3 opted out of SMS" in text and "1 of 3 held" in text


def test_saving_a_contact_onto_an_opted_out_number_warns_first(
    qtbot, services, add_contact, answer_dialog
):
    add_contact("Ola", "Out", phone=ANN, opted_out=True)
    dialog = make_dialog(qtbot, services)
    dialog.editors["first_name"].setText("Newt")
    dialog.editors["phone"].setText("(415) 555-0101")

    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Cancel).click())
    assert not save_and_wait(qtbot, dialog)
    assert asked and "opted out" in asked[0].text().lower() and "Ola Out" in asked[0].text()
    with services.db.read() as s:
        assert s.scalar(select(Contact).where(Contact.first_name == "Newt")) is None

    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Save).click())
    assert save_and_wait(qtbot, dialog)


def test_no_warning_for_an_ordinary_number(qtbot, services):
    dialog = make_dialog(qtbot, services)
    dialog.editors["first_name"].setText("Newt")
    dialog.editors["phone"].setText("(415) 555-0177")
    assert save_and_wait(qtbot, dialog)  # no dialog: a question would block this call


def test_the_opportunity_panel_shows_the_contacts_state(qtbot, services, add_contact):
    ola = add_contact("Ola", "Out", phone=ANN, opted_out=True)
    with services.db.write() as s:
        s.add(Opportunity(title="Roof", value=100, stage="new", contact_id=ola,
                          created_at=services.clock.now()))  # fmt: skip
        s.flush()
        opportunity = s.scalar(select(Opportunity.id))
    page = OpportunitiesPage(OpportunitiesService(services))
    qtbot.addWidget(page)
    page.show_opportunity(opportunity)
    wait_loaded(page)
    assert page.panel.sms_status.text().startswith("Opted out since")
    assert page.panel.sms_status.toolTip().startswith("Opted out. Opted out since")


def test_the_auto_queue_says_will_be_skipped_instead_of_quiet_hours(qtbot, services, add_contact):
    ola = add_contact("Ola", "Out", phone=ANN, opted_out=True)
    with services.db.write() as s:
        automation = automations.create_automation(
            s, AutomationInput("Promo", [StepInput("send_sms", "Hi")]), clock=services.clock
        )
        automations.enroll(s, automation.id, Audience(contact_ids=(ola,)), actor="t",
                           clock=services.clock)  # fmt: skip
    page = AutomationsPage(AutomationsService(services), lambda: "")
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    assert page.queue_model.index(0, 5).data() == "will be skipped: contact opted out of SMS"


# ---- Needs review: deadlines, red, notification --------------------------------------------


def test_needs_review_shows_each_deadline_and_turns_red_two_business_days_before(
    qtbot, services, clock, add_contact
):
    add_contact("Ann", "Lee", phone=ANN)
    _reply(services, ANN, "please stop texting me", "SMr1")  # Thu 26 Nov 2026: Thanksgiving
    page = ReviewPage(ReviewService(services))
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    index = page.review_model.index(0, 1)
    # Ten business days after Thanksgiving: 27 Nov, 30 Nov, 1-4 Dec, 7-10 Dec.
    assert index.data() == "Thu 10 Dec (10 days left)"
    assert index.data(Qt.ItemDataRole.ForegroundRole) is None
    assert page.deadline_label.text() == "Decide by Thu 10 Dec 2026 (10 business days left)"

    clock.advance(days=11)  # Mon 7 Dec: three business days left, not yet red
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        page.refresh()
    assert page.review_model.index(0, 1).data(Qt.ItemDataRole.ForegroundRole) is None
    clock.advance(days=2)  # Wed 9 Dec: one business day left
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        page.refresh()
    index = page.review_model.index(0, 1)
    assert index.data() == "Thu 10 Dec (1 day left)"
    assert index.data(Qt.ItemDataRole.ForegroundRole) == tone_colour(Tone.ERROR)


def test_the_navigation_count_turns_red_and_a_notification_fires_once(
    qtbot, services, clock, add_contact
):
    add_contact("Ann", "Lee", phone=ANN)
    _reply(services, ANN, "please stop texting me", "SMr1")
    window = MainWindow(services)
    qtbot.addWidget(window)
    row = next(i for i in range(window.nav.count()) if "Needs review" in window.nav.item(i).text())
    window._review_count_changed(1)
    assert window.nav.item(row).text() == "Needs review (1)"

    clock.advance(days=12)  # Tue 8 Dec: two business days before Thu 10 Dec
    with qtbot.waitSignal(window.review_alerts.newly_urgent) as fired:
        window.review_alerts.check()  # read off the GUI thread
    assert [i.message_sid for i in fired.args[0]] == ["SMr1"]
    assert window.nav.item(row).text() == "Needs review (1, 1 due soon)"
    assert window.nav.item(row).foreground().color() == tone_colour(Tone.ERROR)
    assert window.nav.item(row).font().bold()
    with (
        qtbot.assertNotEmitted(window.review_alerts.newly_urgent),
        qtbot.waitSignal(window.review_alerts.checked, timeout=5_000),
    ):
        window.review_alerts.check()  # once per reply


def test_escalation_ignores_replies_far_from_their_deadline(services, add_contact, qtbot):
    add_contact("Ann", "Lee", phone=ANN)
    _reply(services, ANN, "please stop texting me", "SMr1")
    alerts = ReviewEscalation(ReviewService(services))
    with (
        qtbot.assertNotEmitted(alerts.newly_urgent),
        qtbot.waitSignal(alerts.checked, timeout=5_000) as checked,
    ):
        alerts.check()
    assert checked.args == [[]] and alerts.urgent == []


# ---- settings ---------------------------------------------------------------------------------


def test_turning_holding_off_shows_a_plain_warning_and_changes_the_rule(
    qtbot, services, add_contact
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    _reply(services, ANN, "please stop texting me", "SMr1")
    page = SettingsPage(SettingsService(services))
    qtbot.addWidget(page)
    assert page.hold.isChecked() and page.hold_warning.isHidden()
    page.hold.setChecked(False)
    assert not page.hold_warning.isHidden() and "$1,500" in page.hold_warning.text()
    assert saved(qtbot, page)
    with services.db.read() as s:
        assert consent.may_automation_text(s, ann, ANN).allowed


def test_keyword_lists_show_the_locked_words_and_refuse_a_clash(qtbot, services):
    page = SettingsPage(SettingsService(services))
    qtbot.addWidget(page)
    assert page.opt_out_words.text() == "PARAR, ALTO, BAJA, CANCELAR, DETENER"
    page.opt_out_words.setText("PARAR, START")
    assert not saved(qtbot, page)
    assert "START" in page.errors["extra_opt_out_keywords"].text()
    page.opt_out_words.setText("PARAR, ARRET")
    page.business_name.setText("Harbor Dental")
    assert saved(qtbot, page)
    assert services.settings.keywords.opt_out >= {"parar", "arret", "stop"}
    assert services.settings.business_name == "Harbor Dental"


def test_a_confirmation_text_with_a_link_is_refused(qtbot, services):
    page = SettingsPage(SettingsService(services))
    qtbot.addWidget(page)
    page.confirmation_text.setPlainText("Unsubscribed. See deals at www.example.com")
    assert not saved(qtbot, page)
    assert "links" in page.errors["confirmation_text"].text()
    with services.db.read() as s:
        assert s.scalar(select(OutboundMessage)) is None
