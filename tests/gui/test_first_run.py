"""The first-run assistant writes the settings it promises, and the token goes to the store."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from sqlalchemy import select

from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop import logging_setup
from trustpager_desktop.core import contacts, local_settings
from trustpager_desktop.core.settings import AppSettings, load_settings, save_settings
from trustpager_desktop.providers.twilio_provider import TwilioProvider
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.models import ActivityEntry, Setting
from trustpager_desktop.ui.first_run import FirstRunWizard, needs_first_run
from trustpager_desktop.usecases.result import Outcome
from trustpager_desktop.usecases.settings import SettingsService

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def open_wizard(qtbot, services, **kw) -> FirstRunWizard:
    wizard = FirstRunWizard(SettingsService(services), **kw)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def click(qtbot, wizard: FirstRunWizard, which: QWizard.WizardButton) -> None:
    qtbot.mouseClick(wizard.button(which), Qt.MouseButton.LeftButton)


def fill_region(wizard: FirstRunWizard) -> None:
    page = wizard.region_page
    page.set_country("GB")
    page.timezone_combo.setCurrentText("Europe/London")
    page.quiet_start.setValue(9)
    page.quiet_end.setValue(20)


def stored_settings(services) -> dict[str, str]:
    with services.db.read() as s:
        return {row.key: row.value for row in s.scalars(select(Setting))}


def test_twilio_path_saves_settings_and_keeps_the_token_out_of_the_database(
    qtbot,
    services,
    monkeypatch,
):
    monkeypatch.setattr(logging_setup, "_secrets", set())
    wizard = open_wizard(qtbot, services)
    page = wizard.provider_page
    page.twilio_radio.setChecked(True)
    page.sid_edit.setText(SID)
    page.token_edit.setText(TOKEN)
    page.sender_edit.setText("+14155550100")
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is wizard.region_page
    fill_region(wizard)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is wizard.name_page
    with qtbot.waitSignal(wizard.completed, timeout=3000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)

    with services.db.read() as s:
        saved = load_settings(s)
    assert saved.first_run_done is True
    assert saved.provider_mode == "twilio"
    assert (saved.twilio_account_sid, saved.twilio_sender) == (SID, "+14155550100")
    assert (saved.default_country, saved.business_timezone) == ("GB", "Europe/London")
    assert (saved.quiet_hours_start, saved.quiet_hours_end) == (9, 20)
    assert services.tokens.get(SID) == TOKEN
    assert all(TOKEN not in value for value in stored_settings(services).values())
    assert logging_setup.scrub(f"oops {TOKEN}") == "oops [hidden]"  # and out of every log line
    # Reloaded: the window now sends through Twilio.
    assert services.settings.first_run_done
    assert isinstance(services.provider_choice.provider, TwilioProvider)
    with services.db.read() as s:
        assert contacts.count_contacts(s) == 0  # no demo data on a real account


def test_sandbox_path_saves_settings_and_adds_demo_data(qtbot, services):
    wizard = open_wizard(qtbot, services)
    assert wizard.provider_page.sandbox_radio.isChecked()  # the safe choice is the default
    assert not wizard.provider_page.twilio_box.isEnabled()
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    fill_region(wizard)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    with qtbot.waitSignal(wizard.completed, timeout=5000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)

    stored = stored_settings(services)
    assert stored["first_run_done"] == "1"
    assert stored["provider_mode"] == "sandbox"
    assert (stored["default_country"], stored["business_timezone"]) == ("GB", "Europe/London")
    assert (stored["quiet_hours_start"], stored["quiet_hours_end"]) == ("9", "20")
    assert "twilio_account_sid" not in stored
    with services.db.read() as s:
        assert contacts.count_contacts(s) > 0
    assert services.provider_choice.is_sandbox


def test_incomplete_twilio_details_keep_the_user_on_the_page(qtbot, services):
    wizard = open_wizard(qtbot, services)
    page = wizard.provider_page
    page.twilio_radio.setChecked(True)
    page.sid_edit.setText("AC123")
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is page
    assert "Account SID starts with AC" in page.error_label.text()
    assert stored_settings(services) == {}


def test_invalid_quiet_hours_keep_the_assistant_open_and_save_nothing(
    qtbot,
    services,
):
    wizard = open_wizard(qtbot, services)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    wizard.region_page.quiet_start.setValue(22)
    wizard.region_page.quiet_end.setValue(6)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.isVisible() and wizard.currentPage() is wizard.region_page
    assert "Quiet hours" in wizard.region_page.error_label.text()
    assert stored_settings(services) == {}
    with services.db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_connection_test_reports_success_in_plain_language(
    qtbot,
    services,
    fake_twilio,
):
    def provider(sid, token, sender):
        return TwilioProvider(sid, token, sender, api_base=fake_twilio.base_url, timeout=2.0)

    wizard = open_wizard(qtbot, services, provider_factory=provider)
    page = wizard.provider_page
    page.twilio_radio.setChecked(True)
    page.sid_edit.setText(fake_twilio.account_sid)
    page.token_edit.setText(fake_twilio.auth_token)
    page.sender_edit.setText(fake_twilio.phone_number)
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=5000)
    assert page.test_result.text().startswith("✔ Connected to Twilio account")

    page.token_edit.setText("wrong-token")
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=5000)
    result = page.test_result.text()
    assert result.startswith("✘ ")
    assert "did not accept" in result
    assert "wrong-token" not in result
    assert stored_settings(services) == {}  # testing saves nothing


def finish_sandbox(qtbot, wizard: FirstRunWizard, name: str) -> None:
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    fill_region(wizard)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    qtbot.keyClicks(wizard.name_page.name_edit, name)
    with qtbot.waitSignal(wizard.completed, timeout=5000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)


def test_the_name_given_is_kept_on_this_computer_and_signs_the_first_entries(
    qtbot,
    services,
):
    wizard = open_wizard(qtbot, services)
    finish_sandbox(qtbot, wizard, "Maria")

    assert services.actor == "Maria"
    assert local_settings.load() == local_settings.LocalSettings("Maria", name_asked=True)
    assert "user_name" not in stored_settings(services)  # not in the shared database
    with services.db.read() as s:
        actors = set(s.scalars(select(ActivityEntry.actor)))
    # The settings, the demo business and the name itself (the demo's STOPs are the inbox's).
    assert actors == {"Maria", "Inbox"}
    # The next start on this computer needs no assistant; another computer's would.
    again = AppServices(services.db, clock=services.clock)
    assert again.actor == "Maria" and not needs_first_run(SettingsService(again))


def test_an_empty_name_means_login_on_host_and_a_reserved_name_is_refused(
    qtbot,
    services,
):
    wizard = open_wizard(qtbot, services)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    page = wizard.name_page
    assert page.name_edit.placeholderText() == local_settings.default_name()
    qtbot.keyClicks(page.name_edit, "Inbox")
    click(qtbot, wizard, QWizard.WizardButton.FinishButton)
    assert wizard.isVisible() and "choose your own name" in page.error_label.text()
    assert stored_settings(services) == {}  # nothing saved

    page.name_edit.clear()
    with qtbot.waitSignal(wizard.completed, timeout=5000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)
    assert services.actor == local_settings.default_name()
    assert local_settings.load().name_asked  # asked once: not again at the next start


def test_a_desktop_joining_a_set_up_database_is_asked_only_its_name(
    qtbot,
    services,
):
    with services.db.write() as s:
        save_settings(s, AppSettings(first_run_done=True), actor="Dan", clock=services.clock)
    services.reload()
    assert needs_first_run(SettingsService(services))
    wizard = open_wizard(qtbot, services, name_only=True)
    assert wizard.pageIds() == [wizard.pageIds()[0]] and wizard.currentPage() is wizard.name_page
    qtbot.keyClicks(wizard.name_page.name_edit, "Maria")
    with qtbot.waitSignal(wizard.completed, timeout=3000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)
    assert services.actor == "Maria" and not needs_first_run(SettingsService(services))


# -- issue 16 item 2, issue 18 item 1: Finish saves off the GUI thread --------------------------


def test_finish_saves_settings_demo_and_name_with_no_sql_on_the_gui_thread(qtbot, services):
    wizard = open_wizard(qtbot, services)
    with gui_thread_sql(services.db) as seen:
        finish_sandbox(qtbot, wizard, "Maria")
    from_the_wizard = {site: n for site, n in seen.items() if site.startswith("first_run")}
    assert not from_the_wizard, f"SQL on the GUI thread from: {from_the_wizard}"
    assert services.actor == "Maria" and services.settings.first_run_done
    with services.db.read() as s:
        assert contacts.count_contacts(s) > 0  # the demo business is in


def _hold_finish(monkeypatch, release: threading.Event, calls: list[int]) -> None:
    original = SettingsService.finish_first_run

    def held(self, *args, **kwargs):
        calls.append(1)
        assert release.wait(10)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SettingsService, "finish_first_run", held)


def test_a_slow_finish_says_so_and_cannot_be_left_or_pressed_again(qtbot, services, monkeypatch):
    release, calls = threading.Event(), []
    _hold_finish(monkeypatch, release, calls)
    wizard = open_wizard(qtbot, services)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    fill_region(wizard)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    qtbot.keyClicks(wizard.name_page.name_edit, "Maria")
    click(qtbot, wizard, QWizard.WizardButton.FinishButton)
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)  # held on the worker thread
    assert "adding the demo business" in wizard.name_page.status_label.text()
    for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton,
                  QWizard.WizardButton.BackButton):  # fmt: skip
        assert not wizard.button(which).isEnabled()
    wizard.reject()  # Esc or closing it: the window must not start half set up
    wizard.accept()  # Finish again: nothing more
    assert wizard.isVisible() and wizard.apply() is None
    with qtbot.waitSignal(wizard.completed, timeout=5_000):
        release.set()
    assert calls == [1] and not wizard.isVisible()
    assert wizard.result() == QWizard.DialogCode.Accepted and services.actor == "Maria"


def test_a_failed_finish_says_why_and_keeps_everything_typed(qtbot, services, monkeypatch):
    def unreachable(self, *args, **kwargs):
        return Outcome.failure("The database could not be reached.")

    monkeypatch.setattr(SettingsService, "finish_first_run", unreachable)
    wizard = open_wizard(qtbot, services)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    fill_region(wizard)
    click(qtbot, wizard, QWizard.WizardButton.NextButton)
    qtbot.keyClicks(wizard.name_page.name_edit, "Maria")
    with qtbot.waitSignal(wizard.refused, timeout=5_000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)
    page = wizard.name_page
    assert page.error_label.text() == "The database could not be reached."
    assert page.status_label.text() == "" and wizard.isVisible()
    assert page.name_edit.text() == "Maria" and page.name_edit.isEnabled()
    assert wizard.region_page.timezone_combo.zone() == "Europe/London"
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert stored_settings(services) == {}
    monkeypatch.undo()  # reachable again: Finish works
    with qtbot.waitSignal(wizard.completed, timeout=5_000):
        click(qtbot, wizard, QWizard.WizardButton.FinishButton)
    assert services.actor == "Maria" and page.error_label.text() == ""
