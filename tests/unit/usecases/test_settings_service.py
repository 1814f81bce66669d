"""The settings service: the auth token goes in but never comes back out, a refused save
keeps nothing, the connection test answers as an Outcome, and another desktop's settings
are applied without re-picking a provider that did not change."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.desktop import MemoryTokenStore
from trustpager_desktop import logging_setup
from trustpager_desktop.core.credentials import ENV_API_BASE
from trustpager_desktop.core.settings import AppSettings, load_settings
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.models import Setting
from trustpager_desktop.usecases.settings import SettingsService

TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def service(db, clock, tmp_path) -> SettingsService:
    app = AppServices(db, clock=clock, tokens=MemoryTokenStore(), local_path=tmp_path / "me.json")
    return SettingsService(app)


def twilio(service: SettingsService, sid: str, sender: str = "+14155550100") -> AppSettings:
    return dataclasses.replace(
        service.current(), provider_mode="twilio", twilio_account_sid=sid, twilio_sender=sender
    )


def test_a_saved_token_is_kept_but_never_returned(service, monkeypatch):
    monkeypatch.setattr(logging_setup, "_secrets", set())
    sid = "AC" + "1" * 32
    outcome = service.save(twilio(service, sid), user_name="Ann", token=TOKEN, session_only=True)

    assert outcome.ok and outcome.unwrap().token_kept == "session"
    assert TOKEN not in repr(outcome)  # nothing a screen could log carries it
    assert TOKEN not in repr(service.view())
    assert service.view().token_stored and service.token_stored(sid)
    assert service.current().provider_mode == "twilio"  # the window runs with them at once
    assert logging_setup.scrub(f"token {TOKEN}") == "token [hidden]"
    with service.db.read() as s:
        assert all(TOKEN not in row.value for row in s.query(Setting))


def test_a_refused_save_keeps_nothing_not_even_the_token(service):
    sid = "AC" + "2" * 32
    bad = dataclasses.replace(twilio(service, sid), business_timezone="Mars/Olympus")
    outcome = service.save(bad, user_name="Ann", token=TOKEN)
    assert not outcome.ok and outcome.field == "business_timezone"
    assert TOKEN not in outcome.message
    assert not service.token_stored(sid)
    with service.db.read() as s:
        assert load_settings(s) == AppSettings()

    no_sid = service.save(service.current(), user_name="", token=TOKEN)
    assert (no_sid.ok, no_sid.field) == (False, "twilio_account_sid")


def test_the_connection_test_answers_as_an_outcome(service, fake_twilio, monkeypatch):
    monkeypatch.setenv(ENV_API_BASE, fake_twilio.base_url)
    settings = twilio(service, fake_twilio.account_sid, fake_twilio.phone_number)
    service.save(settings, user_name="", token="wrong-token-0000000000").unwrap()
    refused = service.test_connection()
    assert not refused.ok and refused.message  # Twilio's refusal in words, not an exception

    service.save(settings, user_name="", token=fake_twilio.auth_token).unwrap()
    assert service.test_connection().unwrap().startswith("Connected to Twilio account")


def test_another_desktops_settings_are_applied_once(service):
    app = service._app
    sandbox, gateway = app.provider_choice.provider, app.gateway
    assert not service.apply(service.current())  # what runs already: nothing to do

    later = dataclasses.replace(service.current(), quiet_hours_start=10, default_country="GB")
    assert service.apply(later)
    assert service.current() == later and app.settings == later
    assert app.provider_choice.provider is sandbox  # its simulated replies are kept
    assert app.gateway is not gateway and app.gateway.default_region == "GB"
