"""Settings ask as the first-run assistant does (lists, not codes), say a half-done Twilio
set-up as a warning (not in success green), and the assistant's errors look like errors."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from tests.support.desktop import MemoryTokenStore
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


def test_a_country_and_zone_chosen_from_the_lists_are_saved(settings_page, services):
    settings_page.country.set_code("GB")
    settings_page.timezone.setCurrentText("Europe/London")
    assert settings_page.save()
    with services.db.read() as s:
        saved = load_settings(s)
    assert (saved.default_country, saved.business_timezone) == ("GB", "Europe/London")


def test_twilio_chosen_but_incomplete_is_a_warning_not_a_success(settings_page):
    settings_page.mode.setCurrentIndex(settings_page.mode.findData("twilio"))
    assert settings_page.save()
    result = settings_page.result
    assert "missing" in result.text()
    assert tone_of(result) is Tone.WARNING


def test_a_clean_save_is_a_success(settings_page):
    settings_page.user_name.setText("Maria")
    assert settings_page.save()
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


def test_your_name_is_kept_for_this_computer_only(settings_page, services):
    assert "this computer only" in settings_page.user_name.parentWidget().title()
    assert settings_page.user_name.placeholderText() == local_settings.default_name()
    settings_page.user_name.setText("Maria")
    assert settings_page.save()
    assert services.actor == "Maria" and local_settings.load().user_name == "Maria"
    with services.db.read() as s:
        assert s.get(Setting, "user_name") is None  # not in the shared database

    settings_page.user_name.setText("Twilio")  # how Twilio's own actions show
    assert not settings_page.save()
    assert "choose your own name" in settings_page.errors["user_name"].text()
    assert services.actor == "Maria"
