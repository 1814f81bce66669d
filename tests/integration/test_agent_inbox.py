"""`trustpager agent --once` runs the inbox poller, says what it did, fails loudly for cron."""

from __future__ import annotations

import pytest

from tests.support.contacts import add_contact
from trustpager_desktop.cli import main
from trustpager_desktop.core import contacts
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.runtime import inbox_poller, jobs
from trustpager_desktop.store.database import Database


@pytest.fixture
def agent_env(tmp_path, monkeypatch, fake_twilio):
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    monkeypatch.setenv("TRUSTPAGER_DB_URL", url)
    monkeypatch.setenv("TRUSTPAGER_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake_twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake_twilio.auth_token)
    monkeypatch.setenv("TRUSTPAGER_TWILIO_FROM", fake_twilio.phone_number)
    monkeypatch.setenv("TRUSTPAGER_TWILIO_API_BASE", fake_twilio.base_url)
    db = Database.open(url)
    with db.write() as s:
        add_contact(s, SYSTEM_CLOCK, "Ann", "Lee", phone="(415) 555-0101")
    db.close()
    return tmp_path


def test_inbox_poller_is_a_registered_job():
    assert inbox_poller in jobs.job_modules()


def test_agent_once_processes_a_stop_and_reports_it(agent_env, fake_twilio, capsys):
    fake_twilio.add_inbound("+14155550101", fake_twilio.phone_number, "STOP")

    assert main(["agent", "--once"]) == 0

    out = capsys.readouterr().out
    assert "inbox-poller: Inbox checked" in out and "1 opt-out (+14155550101)" in out
    db = Database.open(f"sqlite:///{agent_env / 'agent.db'}")
    with db.read() as s:
        (ann,) = contacts.search_contacts(s, "Ann")
    db.close()
    assert ann.sms_opted_out
    log_text = (agent_env / "logs" / "trustpager.log").read_text()
    assert "1 opt-out" in log_text
    assert fake_twilio.auth_token not in log_text


def test_agent_once_exits_non_zero_when_twilio_is_unreachable(agent_env, fake_twilio, capsys):
    fake_twilio.stop()
    assert main(["agent", "--once"]) == 1
    assert "inbox-poller: Twilio unreachable" in capsys.readouterr().out
