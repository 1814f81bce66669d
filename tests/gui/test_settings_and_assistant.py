"""Settings ask as the first-run assistant does (lists, not codes), say a half-done Twilio
set-up as a warning (not in success green), and the assistant's errors look like errors."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from tests.support.desktop import MemoryTokenStore
from tests.support.gui_sql import gui_thread_sql
from tests.support.writes import saved
from trustpager_desktop.core import local_settings
from trustpager_desktop.core.settings import load_settings
from trustpager_desktop.store.models import Setting
from trustpager_desktop.ui.first_run import FirstRunWizard
from trustpager_desktop.ui.region_fields import CountryCombo, TimeZoneCombo
from trustpager_desktop.ui.settings_page import SettingsPage
from trustpager_desktop.ui.theme import Tone, tone_of
from trustpager_desktop.usecases.settings import SettingsService


@pytest.fixture
def settings_page(qtbot, services):
    services.tokens = MemoryTokenStore()
    page = SettingsPage(SettingsService(services))
    qtbot.addWidget(page)
    return page


def test_settings_use_the_assistants_lists(qtbot, settings_page, services):
    wizard = FirstRunWizard(SettingsService(services))
    qtbot.addWidget(wizard)
    region = wizard.region_page
    for ours, theirs in ((settings_page.country, region.country_combo),
                         (settings_page.timezone, region.timezone_combo)):  # fmt: skip
        assert type(ours) is type(theirs)
        assert [ours.itemText(i) for i in range(ours.count())] == [
            theirs.itemText(i) for i in range(theirs.count())
        ]
    assert isinstance(settings_page.country, CountryCombo)
    assert isinstance(settings_page.timezone, TimeZoneCombo)
    assert settings_page.quiet_start.text() == "08:00"  # hours as times, like everywhere


def test_a_country_and_zone_chosen_from_the_lists_are_saved(qtbot, settings_page, services):
    settings_page.country.set_code("GB")
    settings_page.timezone.setCurrentText("Europe/London")
    assert saved(qtbot, settings_page)
    with services.db.read() as s:
        stored = load_settings(s)
    assert (stored.default_country, stored.business_timezone) == ("GB", "Europe/London")


def test_twilio_chosen_but_incomplete_is_a_warning_not_a_success(qtbot, settings_page):
    settings_page.mode.setCurrentIndex(settings_page.mode.findData("twilio"))
    assert saved(qtbot, settings_page)
    result = settings_page.result
    assert "missing" in result.text()
    assert tone_of(result) is Tone.WARNING


def test_a_clean_save_is_a_success(qtbot, settings_page):
    settings_page.user_name.setText("Maria")
    assert saved(qtbot, settings_page)
    assert tone_of(settings_page.result) is Tone.OK


def test_the_assistants_errors_are_shown_as_errors(qtbot, services):
    wizard = FirstRunWizard(SettingsService(services))
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.provider_page
    page.twilio_radio.setChecked(True)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    assert "Account SID" in page.error_label.text()
    assert tone_of(page.error_label) is Tone.ERROR and page.error_label.font().bold()
    assert tone_of(wizard.region_page.error_label) is Tone.ERROR


def test_your_name_is_kept_for_this_computer_only(qtbot, settings_page, services):
    assert "this computer only" in settings_page.user_name.parentWidget().title()
    assert settings_page.user_name.placeholderText() == local_settings.default_name()
    settings_page.user_name.setText("Maria")
    assert saved(qtbot, settings_page)
    assert services.actor == "Maria" and local_settings.load().user_name == "Maria"
    with services.db.read() as s:
        assert s.get(Setting, "user_name") is None  # not in the shared database

    settings_page.user_name.setText("Twilio")  # how Twilio's own actions show
    assert not saved(qtbot, settings_page)
    assert "choose your own name" in settings_page.errors["user_name"].text()
    assert services.actor == "Maria"


# -- issue 16 item 2, issue 18 item 1: Save off the GUI thread ---------------------------------

SID = "AC" + "1" * 32
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def test_saving_settings_a_name_and_a_token_runs_no_sql_on_the_gui_thread(
    qtbot, settings_page, services, caplog
):
    caplog.set_level(logging.DEBUG)
    page = settings_page
    page.user_name.setText("Maria")  # the name change is written to the activity log
    page.account_sid.setText(SID)
    page.auth_token.setText(TOKEN)
    page.quiet_end.setValue(20)
    with gui_thread_sql(services.db) as seen:
        assert saved(qtbot, page)
    from_the_page = {site: n for site, n in seen.items() if site.startswith("settings_page")}
    assert not from_the_page, f"SQL on the GUI thread from: {from_the_page}"
    assert services.tokens.get(SID) == TOKEN and services.actor == "Maria"
    assert services.settings.quiet_hours_end == 20 and page.auth_token.text() == ""
    assert TOKEN not in caplog.text  # nothing logged while saving carries the token


def test_a_slow_save_says_saving_and_a_second_save_starts_nothing(
    qtbot, settings_page, services, monkeypatch
):
    page = settings_page
    release, calls = threading.Event(), []
    original = SettingsService.save

    def held(self, *args, **kwargs):
        calls.append(1)
        assert release.wait(10)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SettingsService, "save", held)
    page.business_name.setText("Harbor Dental")
    page.save_button.click()
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)  # held on the worker thread
    assert page.result.text() == "Saving…" and page.is_saving
    assert not page.save_button.isEnabled() and not page.business_name.isEnabled()
    assert not page.save()  # Ctrl+S or a second click: nothing more
    with qtbot.waitSignal(page.save_finished, timeout=5_000) as finished:
        release.set()
    assert finished.args == [True] and calls == [1]
    assert page.result.text() == "Settings saved." and page.save_button.isEnabled()
    assert services.settings.business_name == "Harbor Dental" and not page.has_unsaved_edits()


def test_a_failed_save_says_why_and_keeps_what_was_typed(
    qtbot, settings_page, services, monkeypatch
):
    page = settings_page
    page.business_name.setText("Harbor Dental")
    page.confirmation_text.setPlainText("See www.example.com")  # refused: no links
    assert not saved(qtbot, page)
    assert "links" in page.errors["confirmation_text"].text()
    assert page.business_name.text() == "Harbor Dental" and page.business_name.isEnabled()

    def broken(self, *args, **kwargs):
        raise RuntimeError("keyring locked up")

    monkeypatch.setattr(SettingsService, "save", broken)
    page.confirmation_text.setPlainText("Unsubscribed.")
    assert not saved(qtbot, page)
    assert page.result.text().startswith("Not saved:") and "keyring locked up" in (
        page.result.text()
    )
    assert tone_of(page.result) is Tone.ERROR
    assert page.business_name.text() == "Harbor Dental" and page.has_unsaved_edits()
    assert page.save_button.isEnabled() and page.business_name.isEnabled()
    assert services.settings.business_name == ""  # nothing was stored
