"""The contact page: Communication Preferences card, Messaging card, details, plain text."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from sqlalchemy import func, select

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import failing, held, make_page, save_and_wait
from trustpager_desktop.core.gateway import OutboundGateway
from trustpager_desktop.core.states import (
    ActivityKind,
    ConsentEventKind,
    ConsentSource,
    MessageOrigin,
    MessageStatus,
)
from trustpager_desktop.store.models import (
    ActivityEntry,
    ConsentEvent,
    Contact,
    InboundMessage,
    OutboundMessage,
)
from trustpager_desktop.ui.preferences_card import ReconsentDialog

HTML = "<b>hi</b><img src=x>"


@pytest.fixture
def page(qtbot, services):
    widget = make_page(qtbot, services)
    widget.resize(1200, 800)
    widget.show()
    return widget


def _contact(services, contact_id) -> Contact:
    with services.db.read() as s:
        return s.get(Contact, contact_id)


def _count(services, model, *where) -> int:
    with services.db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


# -- Communication Preferences card ----------------------------------------------------


def test_toggle_without_save_changes_nothing_and_shows_unsaved(page, services, add_contact):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    card = page.preferences
    assert not card.save_button.isEnabled()

    card.toggle.click()

    assert card.unsaved.isVisible()
    assert card.save_button.isEnabled()
    assert not _contact(services, cid).sms_opted_out
    assert _count(services, ConsentEvent) == 0


def test_toggle_and_save_opts_out_with_consent_event_and_log_entry(
    page, services, add_contact, answer_dialog
):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    card = page.preferences

    card.toggle.click()
    asked = answer_dialog(lambda box: box.defaultButton().click())  # the default: no text
    card.save_button.click()
    wait_loaded(page)

    assert asked and "confirmation" in asked[0].windowTitle().lower()
    assert asked[0].defaultButton() is asked[0].button(QMessageBox.StandardButton.No)

    assert _contact(services, cid).sms_opted_out
    with services.db.read() as s:
        event = s.scalar(select(ConsentEvent).where(ConsentEvent.contact_id == cid))
        entry = s.scalar(
            select(ActivityEntry).where(
                ActivityEntry.contact_id == cid, ActivityEntry.kind == ActivityKind.OPT_OUT
            )
        )
    assert (event.kind, event.source, event.actor) == (
        ConsentEventKind.OPT_OUT,
        ConsentSource.MANUAL_TOGGLE,
        services.actor,
    )
    assert entry is not None
    assert not card.unsaved.isVisible()
    assert card.status.text().startswith("Opted out since")
    assert "manual toggle" in card.status.text()
    assert page.messaging.banner_frame.isVisible()


def test_turning_off_asks_for_reconsent_and_cancel_keeps_the_opt_out(
    page, services, add_contact, answer_dialog
):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    page.load(cid)
    wait_loaded(page)
    card = page.preferences
    card.toggle.click()  # untick: wants to re-subscribe

    shown = answer_dialog(lambda dialog: dialog.reject())
    card.save_button.click()

    assert shown and isinstance(shown[0], ReconsentDialog)
    assert _contact(services, cid).sms_opted_out
    assert card.toggle.isChecked()
    assert not card.is_dirty()
    assert _count(services, ConsentEvent, ConsentEvent.kind == ConsentEventKind.RE_CONSENT) == 0


def test_reconsent_requires_method_and_note_and_records_them(
    page, services, add_contact, answer_dialog
):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    page.load(cid)
    wait_loaded(page)
    page.preferences.toggle.click()
    problems: list[str] = []

    def fill(dialog: ReconsentDialog) -> None:
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.click()  # nothing chosen: refused, stays open
        problems.append(dialog.error.text() if dialog.isVisible() else "closed")
        dialog.method.setCurrentIndex(dialog.method.findData("verbal"))
        ok.click()  # no note: refused
        problems.append(dialog.error.text() if dialog.isVisible() else "closed")
        dialog.note.setPlainText("Asked on the phone to get reminders again")
        ok.click()

    answer_dialog(fill)
    page.preferences.save_button.click()
    wait_loaded(page)  # saved off the GUI thread, then read again

    assert "how consent was obtained" in problems[0]
    assert "Add a note" in problems[1]
    assert not _contact(services, cid).sms_opted_out
    with services.db.read() as s:
        event = s.scalar(
            select(ConsentEvent).where(ConsentEvent.kind == ConsentEventKind.RE_CONSENT)
        )
    assert event.method == "verbal"
    assert event.evidence == "Asked on the phone to get reminders again"
    # Said once: the bold state line reads "Subscribed" and no second line repeats it.
    assert page.preferences.state_label.text() == "Subscribed"
    assert page.preferences.status.text() == ""


def test_accessible_names_on_toggle_save_and_send(page, add_contact):
    page.load(add_contact("Ann", phone="(415) 555-0101"))
    wait_loaded(page)
    assert page.preferences.toggle.accessibleName() == "SMS opt-out"
    assert page.preferences.save_button.accessibleName()
    assert page.messaging.send_button.accessibleName() == "Send text message"


# -- Messaging card --------------------------------------------------------------------


def test_manual_send_to_opted_out_contact_warns_asks_sends_and_is_recorded(
    qtbot, page, services, add_contact, answer_dialog
):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    page.load(cid)
    wait_loaded(page)
    card = page.messaging
    assert card.banner_frame.isVisible()
    assert card.banner.text() == (
        "This contact opted out of SMS. Automations will not text them. "
        "A manual text still goes through after you confirm it."
    )
    card.compose.setPlainText("Your order is ready")

    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    with qtbot.waitSignal(card.send_finished, timeout=5000) as blocker:
        card.send_button.click()
    wait_loaded(page)

    assert asked and "opted out" in asked[0].text().lower()
    outcome = blocker.args[0]
    assert outcome.status == MessageStatus.SENT and outcome.recipient_opted_out
    assert [m.body for m in services.provider_choice.provider.sent] == ["Your order is ready"]
    with services.db.read() as s:
        row = s.scalar(select(OutboundMessage))
        kinds = set(s.scalars(select(ActivityEntry.kind)))
    assert (row.recipient_opted_out, row.origin, row.actor) == (
        True,
        MessageOrigin.MANUAL,
        services.actor,
    )
    assert ActivityKind.MANUAL_SEND_OPTED_OUT in kinds
    bubbles = card.bubbles()
    assert bubbles[-1].body.text() == "Your order is ready"
    assert f"Manual, by {services.actor}" in bubbles[-1].meta.text()
    assert card.result.text() == "Sent."
    assert card.compose.toPlainText() == ""


def test_declining_the_confirmation_sends_nothing(page, services, add_contact, answer_dialog):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    page.load(cid)
    wait_loaded(page)
    page.messaging.compose.setPlainText("Hello")

    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())
    page.messaging.send_button.click()

    assert services.provider_choice.provider.sent == []
    assert _count(services, OutboundMessage) == 0
    assert page.messaging.compose.toPlainText() == "Hello"


def test_send_through_twilio_refused_21610_shows_reason_and_opts_out(
    qtbot, page, services, add_contact, twilio_provider, fake_twilio
):
    services.gateway = OutboundGateway(services.db, twilio_provider, clock=services.clock)
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    fake_twilio.fail_recipient("+14155550101", 21610)
    page.load(cid)
    wait_loaded(page)
    page.messaging.compose.setPlainText("Hi")

    with qtbot.waitSignal(page.messaging.send_finished, timeout=10000):
        page.messaging.send_button.click()
    wait_loaded(page)

    assert page.messaging.result.text().startswith("Not sent:")
    assert _contact(services, cid).sms_opted_out
    assert page.preferences.toggle.isChecked()  # the page re-read the contact
    assert page.messaging.banner_frame.isVisible()


def test_counter_shows_characters_and_segments(page, add_contact):
    page.load(add_contact("Ann", phone="(415) 555-0101"))
    wait_loaded(page)
    page.messaging.compose.setPlainText("x" * 42)
    assert page.messaging.counter.text() == "42 characters · 1 segment (GSM-7)"
    page.messaging.compose.setPlainText("x" * 161)
    assert page.messaging.counter.text() == "161 characters · 2 segments (GSM-7)"


def test_simulate_reply_only_in_sandbox(page, services, add_contact):
    page.load(add_contact("Ann", phone="(415) 555-0101"))
    wait_loaded(page)
    assert page.simulate_button.isVisible()
    assert services.provider_choice.is_sandbox


# -- plain text ------------------------------------------------------------------------


def test_rich_text_names_and_bodies_are_shown_literally(page, services, add_contact, clock):
    cid = add_contact(HTML, "<i>x</i>", phone="(415) 555-0101")
    with services.db.write() as s:
        s.add(
            InboundMessage(
                sid="SM" + "1" * 32,
                from_number="+14155550101",
                from_e164="+14155550101",
                to_number="+14155550100",
                body=HTML,
                date_sent=clock.now() - timedelta(minutes=5),
                fetched_at=clock.now(),
            )
        )
    page.load(cid)
    wait_loaded(page)

    assert page.title.text() == f"{HTML} <i>x</i>"
    assert page.title.textFormat() == Qt.TextFormat.PlainText
    bubble = page.messaging.bubbles()[0]
    assert bubble.body.text() == HTML
    assert bubble.body.textFormat() == Qt.TextFormat.PlainText
    assert page.details.editors["first_name"].text() == HTML


# -- details and leaving ---------------------------------------------------------------


def test_bad_phone_is_refused_with_the_reason_and_nothing_saved(qtbot, page, services, add_contact):
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    page.details.editors["phone"].setText("12")
    page.details.editors["phone"].textEdited.emit("12")
    page.details.editors["last_name"].setText("Changed")

    assert not save_and_wait(qtbot, page.details)

    error = page.details.errors["phone"]
    assert error.isVisible() and error.text()
    contact = _contact(services, cid)
    assert (contact.phone_e164, contact.last_name) == ("+14155550101", "Lee")


def test_ctrl_s_saves_details(qtbot, services, add_contact, activate):
    from trustpager_desktop.ui.main_window import MainWindow

    window = MainWindow(services)
    qtbot.addWidget(window)
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    window.open_contact(cid)
    wait_loaded(window.contact_page)
    activate(window)
    editor = window.contact_page.details.editors["company"]
    editor.setFocus()
    try:
        qtbot.keyClicks(editor, "Harbor Dental")
        with qtbot.waitSignal(window.contact_page.save_finished, timeout=10_000) as saved:
            qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        assert saved.args == [True]
        assert _contact(services, cid).company == "Harbor Dental"
    finally:
        window.contact_page.discard()  # never leave a Save/Discard question open at teardown


# -- loading off the GUI thread ---------------------------------------------------------


def test_a_slow_load_of_one_contact_is_superseded_and_never_shows_its_consent_state(
    qtbot, page, services, add_contact, monkeypatch
):
    """Opening Ann (opted out; her read is slow) then Bob ends on Bob; Ann's late result is
    never painted, and while loading nothing can be toggled or sent for either."""
    from trustpager_desktop.usecases import contacts as module

    ann = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    bob = add_contact("Bob", "Ray", phone="(212) 555-0102")
    release = threading.Event()
    real_read = module.load_contact_page

    def slow_for_ann(session, contact_id, settings):  # type: ignore[no-untyped-def]
        if contact_id == ann:
            assert release.wait(10)
        return real_read(session, contact_id, settings)

    monkeypatch.setattr(module, "load_contact_page", slow_for_ann)
    shown: list[int] = []
    paint = page.preferences.load
    page.preferences.load = lambda contact: (shown.append(contact.id), paint(contact))[1]

    page.load(ann)
    assert page.is_loading and page.title.text() == "Loading…"
    assert not page.preferences.toggle.isEnabled() and not page.messaging.send_button.isEnabled()
    page.preferences.toggle.click()
    page.messaging.compose.setPlainText("Hi")
    page.messaging.send()  # Ctrl+Enter's path: refused while nothing is shown
    page.load(bob)
    release.set()
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        pass
    wait_loaded(page)

    assert shown == [bob]  # Ann's page was read but never painted
    assert page.contact is not None and page.contact.id == bob
    assert page.title.text() == "Bob Ray"
    assert not page.preferences.toggle.isChecked() and page.preferences.toggle.isEnabled()
    assert page.messaging.send_button.isEnabled() and not page.messaging.banner_frame.isVisible()
    assert services.provider_choice.provider.sent == []
    assert _contact(services, ann).sms_opted_out  # untouched by the refused toggle
    assert not _contact(services, bob).sms_opted_out


# -- writes off the GUI thread (issue 16 item 2, issue 18 item 1) ----------------------

CONTACT_UI = {"contact_page", "preferences_card", "messaging_card", "contact_browser",
              "contact_form"}  # fmt: skip


def _from_contact_ui(seen) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {site: n for site, n in seen.items() if site.split(".")[0] in CONTACT_UI}


def test_the_contact_page_writes_run_no_sql_on_the_gui_thread(
    qtbot, page, services, add_contact, answer_dialog
):
    """Details (with the opted-out number's warning), a manual send and the opt-out: each
    reaches the database, and not one statement of them runs on the GUI thread."""
    from tests.support.gui_sql import gui_thread_sql

    add_contact("Ola", "Out", phone="(212) 555-0199", opted_out=True)
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    with gui_thread_sql(services.db) as seen:
        page.preferences.toggle.click()
        answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())
        assert save_and_wait(qtbot, page.preferences)
        wait_loaded(page)
        page.messaging.compose.setPlainText("Your keys are ready")
        answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
        with qtbot.waitSignal(page.messaging.send_finished, timeout=10_000):
            page.messaging.send()
        wait_loaded(page)
        page.details.editors["phone"].setText("(212) 555-0199")
        page.details.form.edited.emit()
        warned = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Save).click())
        assert save_and_wait(qtbot, page.details)
        wait_loaded(page)

    assert warned and "Ola Out" in warned[0].text()
    assert _contact(services, cid).phone_e164 == "+12125550199"
    assert _count(services, OutboundMessage) == 1
    assert _contact(services, cid).sms_opted_out
    assert _from_contact_ui(seen) == {}


def test_a_slow_details_save_says_saving_and_a_second_click_starts_nothing(
    qtbot, page, services, add_contact, monkeypatch
):
    from trustpager_desktop.usecases.contacts import ContactsService

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    release, calls = held(monkeypatch, ContactsService, "update")
    details = page.details
    details.editors["company"].setText("Harbor Dental")
    details.form.edited.emit()
    try:
        details.save_button.click()
        assert details.save_button.text() == "Saving…" and not details.save_button.isEnabled()
        assert not details.editors["company"].isEnabled()  # what is saved cannot change
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
        assert not details.save() and not page.save()  # a second Save starts nothing
        details.save_button.click()
        assert page.is_saving
    finally:
        release.set()
    with qtbot.waitSignal(details.save_finished, timeout=10_000) as done:
        pass
    wait_loaded(page)

    assert done.args == [True] and len(calls) == 1
    assert _contact(services, cid).company == "Harbor Dental"
    assert details.save_button.text() == "Save details" and details.editors["company"].isEnabled()
    assert not page.has_unsaved_changes()


@pytest.mark.parametrize("how", ["refused", "raises"])
def test_a_failing_details_save_says_why_and_keeps_what_was_typed(
    qtbot, page, services, add_contact, monkeypatch, how
):
    from trustpager_desktop.usecases.contacts import ContactsService

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    failing(monkeypatch, ContactsService, "update", how)
    details = page.details
    details.editors["company"].setText("Harbor Dental")
    details.form.edited.emit()

    assert not save_and_wait(qtbot, details)

    error = details.errors["first_name"]  # no field named: shown on the first one
    expected = "database could not be reached" if how == "refused" else "database went away"
    assert error.isVisibleTo(details) and expected in error.text()
    assert details.editors["company"].text() == "Harbor Dental"
    assert details.editors["company"].isEnabled() and details.save_button.isEnabled()
    assert details.save_button.text() == "Save details" and page.has_unsaved_changes()
    assert _contact(services, cid).company == ""


def test_a_slow_opt_out_says_saving_and_locks_the_toggle_until_it_is_in(
    qtbot, page, services, add_contact, monkeypatch, answer_dialog
):
    from trustpager_desktop.usecases.consent import ConsentService

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    release, calls = held(monkeypatch, ConsentService, "save")
    card = page.preferences
    card.toggle.click()
    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())
    try:
        card.save_button.click()
        assert card.save_button.text() == "Saving…" and not card.save_button.isEnabled()
        assert not card.toggle.isEnabled() and card.toggle.isChecked()
        assert not card.save()  # a second Save starts nothing
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    finally:
        release.set()
    with qtbot.waitSignal(card.save_finished, timeout=10_000) as done:
        pass
    wait_loaded(page)

    assert done.args == [True] and len(calls) == 1
    assert _contact(services, cid).sms_opted_out
    assert card.toggle.isEnabled() and card.toggle.isChecked() and not card.is_dirty()
    assert card.save_button.text() == "Save"


@pytest.mark.parametrize("how", ["refused", "raises"])
def test_a_failing_opt_out_says_why_and_keeps_the_toggle(
    qtbot, page, services, add_contact, monkeypatch, answer_dialog, how
):
    from trustpager_desktop.usecases.consent import ConsentService

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    failing(monkeypatch, ConsentService, "save", how)
    card = page.preferences
    card.toggle.click()
    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())

    assert not save_and_wait(qtbot, card)

    expected = "database could not be reached" if how == "refused" else "database went away"
    assert card.error.isVisibleTo(card) and expected in card.error.text()
    assert card.toggle.isChecked() and card.toggle.isEnabled()  # the choice stays, unsaved
    assert card.save_button.isEnabled() and card.is_dirty()
    assert not _contact(services, cid).sms_opted_out


def test_leaving_while_a_save_runs_waits_for_it_and_loses_nothing(
    qtbot, page, services, add_contact, monkeypatch
):
    """The window asks maybe_leave() before showing another page: it waits for the save
    under way (the window stays responsive) and then lets go, without a question."""
    from PySide6.QtCore import QTimer

    from trustpager_desktop.usecases.contacts import ContactsService

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    release, calls = held(monkeypatch, ContactsService, "update")
    page.details.editors["company"].setText("Harbor Dental")
    page.details.form.edited.emit()
    page.details.save_button.click()
    asked: list[bool] = []
    page.ask_unsaved = lambda: asked.append(True)  # would answer None: stay
    QTimer.singleShot(50, release.set)  # the database answers while maybe_leave waits

    try:
        assert page.maybe_leave()
    finally:
        release.set()

    assert not asked and len(calls) == 1
    assert _contact(services, cid).company == "Harbor Dental"


def test_a_page_destroyed_mid_save_still_saves_and_drops_the_answer(
    qtbot, services, add_contact, monkeypatch
):
    from trustpager_desktop.ui.contact_page import ContactPage
    from trustpager_desktop.usecases.contacts import ContactsService
    from trustpager_desktop.usecases.screens import Screens

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    screens = Screens.build(services)
    page = ContactPage(screens.contacts, screens.messaging, screens.consent)  # no qtbot: deleted
    page.load(cid)
    wait_loaded(page)
    release, calls = held(monkeypatch, ContactsService, "update")
    page.details.editors["company"].setText("Harbor Dental")
    page.details.form.edited.emit()
    page.details.save_button.click()
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    page.close()
    page.deleteLater()
    with qtbot.waitSignal(page.destroyed, timeout=10_000):
        pass
    release.set()

    qtbot.waitUntil(lambda: _contact(services, cid).company == "Harbor Dental", timeout=10_000)


@pytest.mark.parametrize("how", ["saves", "refused"])
def test_leaving_with_save_waits_for_the_answer_and_stays_when_it_fails(
    qtbot, page, services, add_contact, monkeypatch, how
):
    """Save in the unsaved-changes question: the page is left only once the save is in,
    and a failed save keeps the page (and what was typed) instead of losing it."""
    from trustpager_desktop.usecases.contacts import ContactsService

    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    page.load(cid)
    wait_loaded(page)
    if how == "refused":
        failing(monkeypatch, ContactsService, "update", "refused")
    page.details.editors["company"].setText("Harbor Dental")
    page.details.form.edited.emit()
    page.ask_unsaved = lambda: QMessageBox.StandardButton.Save

    left = page.maybe_leave()

    assert left is (how == "saves") and not page.is_saving
    assert (_contact(services, cid).company == "Harbor Dental") is left
    assert page.details.editors["company"].text() == "Harbor Dental"
