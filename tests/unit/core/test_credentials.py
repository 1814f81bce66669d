"""Where the Twilio auth token comes from: plaintext keyrings refused with the reason, and a
token file for the headless agent (owner-only, or refused with what to do)."""

import keyring
import pytest
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from trustpager_desktop.cli import main
from trustpager_desktop.core.credentials import (
    TokenStore,
    choose_provider,
    resolve_credentials,
    token_from_file,
)
from trustpager_desktop.core.settings import AppSettings

SID = "AC" + "1" * 32
TOKEN = "f" * 32


@pytest.fixture
def plaintext_keyring(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # where it would write
    previous = keyring.get_keyring()
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_a_plaintext_keyring_is_refused_with_the_reason(plaintext_keyring, tmp_path):
    store = TokenStore()
    assert not store.keyring_available()
    problem = store.keyring_problem()
    assert "keyrings.alt.file.PlaintextKeyring keeps secrets as plain text" in problem
    assert "TWILIO_AUTH_TOKEN_FILE" in problem
    assert store.set(SID, TOKEN) == "session"  # kept in memory, not written to its file
    assert not any(TOKEN in p.read_text() for p in (tmp_path / "xdg").rglob("*") if p.is_file())


def test_a_chain_holding_a_plaintext_backend_is_refused_too(plaintext_keyring):
    class Chain(ChainerBackend):  # what `keyring` builds when several backends are installed
        backends = [plaintext_keyring]

    keyring.set_keyring(Chain())
    assert "plain text" in TokenStore.keyring_problem()


def _settings() -> AppSettings:
    return AppSettings(twilio_account_sid=SID, twilio_sender="+14155550100")


def test_the_agent_reads_its_token_from_an_owner_only_file(tmp_path):
    path = tmp_path / "twilio-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    credentials = resolve_credentials(
        _settings(), TokenStore(), {"TWILIO_AUTH_TOKEN_FILE": str(path)}
    )
    assert credentials is not None and credentials.auth_token == TOKEN


def test_a_systemd_credential_is_found_by_its_name(tmp_path):
    (tmp_path / "twilio_auth_token").write_text(TOKEN)
    (tmp_path / "twilio_auth_token").chmod(0o400)
    assert token_from_file({"CREDENTIALS_DIRECTORY": str(tmp_path)}) == TOKEN


def test_a_token_file_others_can_read_is_refused_and_the_sandbox_says_why(tmp_path):
    path = tmp_path / "twilio-token"
    path.write_text(TOKEN)
    path.chmod(0o644)
    choice = choose_provider(_settings(), TokenStore(), {"TWILIO_AUTH_TOKEN_FILE": str(path)})
    assert choice.is_sandbox
    assert f"readable by other users (mode 0644); make it owner-only with: chmod 600 {path}" in (
        choice.warning
    )


def test_status_on_a_headless_machine_uses_the_token_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "twilio-token"
    path.write_text(TOKEN)
    path.chmod(0o600)
    monkeypatch.setenv("TRUSTPAGER_DB_URL", f"sqlite:///{tmp_path / 'agent.db'}")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TRUSTPAGER_TWILIO_FROM", "+14155550100")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN_FILE", str(path))
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Provider: Twilio +1 415 555 0100" in out and TOKEN not in out


def test_the_settings_page_says_why_the_keyring_is_not_used(qtbot, sqlite_db, plaintext_keyring):
    from trustpager_desktop.services import AppServices
    from trustpager_desktop.ui.settings_page import SettingsPage
    from trustpager_desktop.usecases.settings import SettingsService

    page = SettingsPage(SettingsService(AppServices(sqlite_db)))
    qtbot.addWidget(page)
    page.load()
    assert "keeps secrets as plain text" in page.keyring_note.text()
