"""The opt-in consent record and SMS purposes on screen (issue 15 items 1 and 4): the
Communication Preferences card, the contact form, the contact list's "No consent on
record" filter, the Settings page, the automation editor and the enrol dialog."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import make_browser, make_dialog, make_page, save_and_wait
from tests.support.writes import saved
from trustpager_desktop.core import activity, automations, consent, opt_in, preferences
from trustpager_desktop.core import settings as core_settings
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.store.models import ActivityEntry, Contact
from trustpager_desktop.ui.automations_page import AutomationEditor, EnrollDialog
from trustpager_desktop.ui.settings_page import SettingsPage
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.settings import SettingsService

ANN, BOB = "+14155550101", "+14155550102"
MARCH = datetime(2026, 3, 15, 14, 30, tzinfo=UTC)


def _set(services, **changes) -> None:
    with services.db.write() as s:
        new = dataclasses.replace(core_settings.load_settings(s), **changes)
        core_settings.save_settings(s, new, actor="Test", clock=services.clock)
    services.reload()


def _record(services, contact_id: int, source: str = "web form, spring promo") -> None:
    with services.db.write() as s:
        record = opt_in.ConsentRecord(MARCH, source, "written", "form #42")
        opt_in.set_record(s, s.get(Contact, contact_id), record, actor="Test",
                          clock=services.clock)  # fmt: skip


def _log(services, kind: str) -> list[ActivityEntry]:
    with services.db.read() as s:
        return list(s.scalars(select(ActivityEntry).where(ActivityEntry.kind == kind)))


@pytest.fixture
def page(qtbot, services):
    widget = make_page(qtbot, services)
    return widget


def test_the_card_shows_the_record_or_no_consent_on_record(page, services, add_contact):
    ann = add_contact("Ann", "Lee", phone=ANN)
    page.load(ann)
    wait_loaded(page)
    card = page.preferences
    assert card.record_label.text() == "No consent on record"
    _record(services, ann)
    page.load(ann)
    wait_loaded(page)
    assert card.record_label.text() == "Consent: 15 Mar 2026, web form, spring promo"
    assert "form #42" in card.record_label.toolTip()
    # One purpose (the default): the card stays as simple as before, no purpose boxes.
    assert card.purposes_box.isHidden()


def test_purpose_boxes_appear_with_a_second_purpose_and_save_a_decline(
    qtbot, page, services, add_contact
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    _set(services, sms_purposes="Marketing; Reminders")
    page.load(ann)
    wait_loaded(page)
    card = page.preferences
    assert not card.purposes_box.isHidden()
    boxes = card.purpose_checks
    assert list(boxes) == ["Marketing", "Reminders"]
    assert all(b.isChecked() and b.isEnabled() for b in boxes.values())
    boxes["Marketing"].click()
    assert card.save_button.isEnabled() and not card.unsaved.isHidden()
    with qtbot.waitSignal(card.save_finished, timeout=10_000):
        card.save_button.click()
    with services.db.read() as s:
        assert consent.contact_consent_state(s, ann).declined_purposes == ("Marketing",)
    (entry,) = _log(services, activity.Kind.PURPOSE_PREFERENCE)
    assert entry.summary == "Declined Marketing texts" and entry.actor == services.actor
    assert not card.purpose_checks["Marketing"].isChecked() and not card.is_dirty()
    # An SMS opt-out covers every purpose: the boxes cannot be changed while it applies.
    card.toggle.click()
    assert not any(b.isEnabled() for b in card.purpose_checks.values())


def test_the_contact_form_records_consent_and_refuses_a_bad_date(qtbot, services):
    dialog = make_dialog(qtbot, services)
    dialog.editors["first_name"].setText("Newt")
    dialog.editors["phone"].setText("(415) 555-0177")
    dialog.editors["consent_date"].setText("someday")
    dialog.editors["consent_source"].setText("web form, spring promo")
    dialog.form.method.setCurrentIndex(dialog.form.method.findData("written"))
    assert not save_and_wait(qtbot, dialog)
    assert not dialog.errors["consent_date"].isHidden()
    assert "not a date" in dialog.errors["consent_date"].text()
    with services.db.read() as s:
        assert s.scalar(select(Contact)) is None
    dialog.editors["consent_date"].setText("2026-03-15 14:30")
    assert save_and_wait(qtbot, dialog)
    with services.db.read() as s:
        contact = s.scalar(select(Contact))
        record = opt_in.record_of(contact)
    assert record.source == "web form, spring promo" and record.method == "written"
    assert record.at == datetime(2026, 3, 15, 18, 30, tzinfo=UTC)  # 14:30 New York


def test_editing_details_keeps_the_record_time(qtbot, page, services, add_contact):
    """The form shows minutes; saving a name change must not round the record's time."""
    ann = add_contact("Ann", "Lee", phone=ANN)
    with services.db.write() as s:
        record = opt_in.ConsentRecord(datetime(2026, 3, 15, 14, 30, 17, tzinfo=UTC), "START reply",
                                      "keyword_reply", "Reply: START (SM1)")  # fmt: skip
        opt_in.set_record(s, s.get(Contact, ann), record, actor="Inbox", clock=services.clock)
    page.load(ann)
    wait_loaded(page)
    details = page.details
    assert details.editors["consent_date"].text() == "2026-03-15 10:30"
    assert details.form.method.currentData() == "keyword_reply"
    details.editors["first_name"].setText("Annie")
    details.form.edited.emit()
    assert save_and_wait(qtbot, details)
    with services.db.read() as s:
        assert opt_in.record_of(s.get(Contact, ann)) == record
    assert len(_log(services, activity.Kind.CONSENT_RECORD)) == 1


def test_the_contact_list_filters_no_consent_on_record(qtbot, services, add_contact):
    ann = add_contact("Ann", "Lee", phone=ANN)
    add_contact("Bob", "Ray", phone=BOB)
    _record(services, ann)
    browser = make_browser(qtbot, services)
    assert browser.model.rowCount() == 2
    browser.no_consent_filter.click()
    wait_loaded(browser)
    names = [browser.model.index(r, 0).data() for r in range(browser.model.rowCount())]
    assert names == ["Bob Ray"] and browser.count_label.text() == "1 contact found"
    _record(services, browser.model.contact_id(0), "in store")
    browser.refresh()
    wait_loaded(browser)
    assert browser.model.rowCount() == 0
    assert browser.empty_state.text() == "Every contact has consent on record."
    browser.no_consent_filter.click()
    wait_loaded(browser)
    assert browser.model.rowCount() == 2


def test_the_settings_page_turns_on_the_consent_rule_and_keeps_purposes(
    qtbot, services, add_contact
):
    ann = add_contact("Ann", "Lee", phone=ANN)
    page = SettingsPage(SettingsService(services))
    qtbot.addWidget(page)
    assert not page.need_consent.isChecked() and page.purposes.text() == "Marketing"
    page.need_consent.setChecked(True)
    page.purposes.setText("marketing; reminders")
    assert saved(qtbot, page)
    assert services.settings.automations_need_consent
    assert page.purposes.text() == "Marketing; Reminders"
    with services.db.read() as s:
        decision = consent.may_automation_text(s, ann, ANN)
    assert (decision.allowed, decision.reason) == (False, "no consent on record")
    page.purposes.setText(";")
    assert not saved(qtbot, page)
    assert "at least one SMS purpose" in page.errors["sms_purposes"].text()


def test_the_automation_editor_shows_the_purpose_once_there_are_two(qtbot, services):
    editor = AutomationEditor(AutomationsService(services))
    qtbot.addWidget(editor)
    editor.show()
    assert not editor.purpose.isVisible()  # one purpose: nothing to choose
    _set(services, sms_purposes="Marketing; Reminders")
    editor.load(None)
    assert editor.purpose.isVisible()
    editor.name.setText("Visit reminder")
    editor.purpose.setCurrentText("Reminders")
    with qtbot.waitSignal(editor.saved, timeout=5_000):  # stored off the GUI thread
        assert editor.save()
    with services.db.read() as s:
        assert automations.find_by_name(s, "Visit reminder").purpose == "Reminders"


def test_the_enrol_dialog_counts_contacts_who_declined_the_purpose(qtbot, services, add_contact):
    _set(services, sms_purposes="Marketing; Reminders")
    ann = add_contact("Ann", "Lee", phone=ANN)
    bob = add_contact("Bob", "Ray", phone=BOB)
    with services.db.write() as s:
        preferences.set_declined_by_hand(s, ann, ["Marketing"], actor="Test",
                                         clock=services.clock)  # fmt: skip
        for name, purpose in (("Promo", "Marketing"), ("Visit", "Reminders")):
            automations.create_automation(s, AutomationInput(
                name, [StepInput("send_sms", template="Hi")], purpose=purpose),
                clock=services.clock)  # fmt: skip
    dialog = EnrollDialog(AutomationsService(services), [ann, bob])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)  # read off the GUI thread
    dialog.automation.setCurrentIndex(dialog.automation.findText("Promo"))
    assert "1 of 2 cannot be texted now (declined Marketing texts)" in (
        dialog.consent_warning.text())  # fmt: skip
    dialog.automation.setCurrentIndex(dialog.automation.findText("Visit"))
    assert dialog.consent_warning.isHidden()


def test_the_contact_page_with_record_and_purposes_fits_in_1024_by_700(
    qtbot, services, add_contact
):
    """The card with its record line and three purpose boxes at the smallest size."""
    from trustpager_desktop.ui.main_window import MainWindow

    _set(services, sms_purposes="Marketing; Reminders; Surveys")
    ann = add_contact("Ann", "Lee", phone=ANN)
    _record(services, ann)
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    qtbot.waitExposed(window)
    window.open_contact(ann)
    wait_loaded(window.contact_page)
    card = window.contact_page.preferences
    qtbot.waitUntil(lambda: card.record_label.text().startswith("Consent:"))
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700, hint
    assert (window.width(), window.height()) == (1024, 700)
    assert all(check.isVisibleTo(window) for check in card.purpose_checks.values())
