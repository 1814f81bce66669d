"""The Twilio auth token never reaches the database, logs, exports, crash output or the
settings screen; the database file is readable by its owner only."""

from __future__ import annotations

import stat
import traceback
from pathlib import Path

import pytest

from tests.support.contacts import add_contact
from trustpager_desktop.cli import main
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.settings import AppSettings, save_settings
from trustpager_desktop.runtime import agent
from trustpager_desktop.store.database import Database


@pytest.fixture
def env(tmp_path, monkeypatch, fake_twilio):
    url = f"sqlite:///{tmp_path / 'secret.db'}"
    for name, value in {
        "TRUSTPAGER_DB_URL": url,
        "TRUSTPAGER_LOG_DIR": str(tmp_path / "logs"),
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TRUSTPAGER_TWILIO_FROM": fake_twilio.phone_number,
        "TRUSTPAGER_TWILIO_API_BASE": fake_twilio.base_url,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }.items():
        monkeypatch.setenv(name, value)
    db = Database.open(url)
    with db.write() as s:
        save_settings(s, AppSettings(quiet_hours_start=0, quiet_hours_end=24), actor="t")
        ids = [
            add_contact(s, SYSTEM_CLOCK, name, phone=phone)
            for name, phone in (("Ann", "+14155550101"), ("Bob", "+14155550102"))
        ]
        auto = automations.create_automation(
            s, AutomationInput("R", [StepInput(automations.SEND_SMS, "Hi {first_name}")])
        )
        automations.enroll(s, auto.id, Audience(contact_ids=tuple(ids)), actor="t")
    db.close()
    return tmp_path


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_token_is_in_no_file_and_no_output(env, fake_twilio, monkeypatch, capsys):
    token = fake_twilio.auth_token
    fake_twilio.fail_recipient("+14155550102", 21211)
    fake_twilio.add_inbound("+14155550109", fake_twilio.phone_number, "STOP")
    assert main(["agent", "--once"]) in (0, 1)  # a send, a 21211 failure, an opt-out
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token + "-wrong")  # 20003: wrong credentials
    main(["agent", "--once"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    for command in (["log", "export"], ["optouts", "export"], ["contacts", "export"]):
        assert main([*command, str(env / f"{command[0]}.csv")]) == 0

    def crash(services):  # type: ignore[no-untyped-def]
        raise RuntimeError("unexpected failure in a job")

    monkeypatch.setattr(agent, "run_once", crash)
    with pytest.raises(RuntimeError) as crashed:
        main(["agent", "--once"])
    # A crash report with the local variables of every product frame (services, provider);
    # this test's own frame (which holds the token) is left out.
    error = crashed.value
    report = "".join(
        traceback.TracebackException(
            type(error), error, error.__traceback__.tb_next, capture_locals=True
        ).format()
    )
    out = capsys.readouterr()

    assert fake_twilio.sent_messages, "nothing was sent: the test would prove nothing"
    assert (env / "logs" / "trustpager.log").exists()
    for path in _files(env):  # database (+ WAL, SHM), logs, exports
        assert token.encode() not in path.read_bytes(), path
    assert token not in out.out + out.err + report


def test_settings_page_never_shows_the_token(qtbot, sqlite_db, fake_twilio):
    from PySide6.QtWidgets import QLineEdit

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.ui.settings_page import SettingsPage
    from trustpager_desktop.usecases.settings import SettingsService

    services = AppServices(sqlite_db)
    services.tokens.set(fake_twilio.account_sid, fake_twilio.auth_token, session_only=True)
    page = SettingsPage(SettingsService(services))
    qtbot.addWidget(page)
    assert page.auth_token.echoMode() == QLineEdit.EchoMode.Password
    assert page.auth_token.text() == ""  # not pre-filled: a screenshot cannot carry it
    assert all(fake_twilio.auth_token not in w.text() for w in page.findChildren(QLineEdit))


def test_default_database_file_is_owner_only(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRUSTPAGER_DB_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    assert main(["status"]) == 0
    (created,) = (tmp_path / "data").rglob("trustpager.db")
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
