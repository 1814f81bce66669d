"""The `trustpager` command line: clear errors, non-zero exits, nothing half-written."""

import subprocess
import sys

import pytest

from trustpager_desktop.cli import main


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRUSTPAGER_DB_URL", url)
    return url


def test_version_and_help_work_without_a_database(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "trustpager 0.1.0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "contacts" in capsys.readouterr().out


def test_demo_fills_an_empty_database_once(db_url, capsys):
    assert main(["demo"]) == 0
    assert "50 contacts" in capsys.readouterr().out
    assert main(["demo"]) == 1
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Contacts: 50" in out and "Sandbox: no texts leave this computer" in out


def test_add_contact_refuses_bad_phone_with_one_line_and_adds_nothing(db_url, capsys):
    assert main(["contacts", "add", "Ann", "--phone", "12"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trustpager: '12' is not a valid phone number") and err.count("\n") == 1
    assert main(["contacts", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_search_from_the_command_line_matches_any_phone_format(db_url, capsys):
    assert main(["contacts", "add", "Ann", "--last", "Lee", "--phone", "(415) 555-0101"]) == 0
    capsys.readouterr()
    assert main(["contacts", "list", "+1 415 555 0101"]) == 0
    assert "Ann Lee" in capsys.readouterr().out


def test_unreachable_database_is_one_clear_line_and_exit_2(capsys):
    assert main(["--db", "postgresql://postgres@127.0.0.1:1/nothing", "status"]) == 2
    assert "Cannot reach the database server" in capsys.readouterr().err


def test_console_scripts_are_installed():
    for script, module in (
        ("trustpager", "trustpager_desktop.cli"),
        ("trustpager-desktop", "trustpager_desktop"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", module, "--version"], capture_output=True, text=True, check=True
        ).stdout
        assert script in out and "0.1.0" in out


def test_contacts_add_records_consent_and_list_filters_no_consent(db_url, capsys):
    assert main(["contacts", "add", "Ann", "--phone", "4155550101", "--consent-date",
                 "2026-03-15", "--consent-source", "web form, spring promo",
                 "--consent-method", "written", "--consent-evidence", "form #42"]) == 0  # fmt: skip
    assert "15 Mar 2026, web form, spring promo" in capsys.readouterr().out
    assert main(["contacts", "add", "Bob", "--phone", "4155550102"]) == 0
    assert "No consent on record" in capsys.readouterr().out
    assert main(["contacts", "list", "--no-consent"]) == 0
    listed = capsys.readouterr().out
    assert "Bob" in listed and "Ann" not in listed
    # A bad date is one clear line and adds nobody.
    assert main(["contacts", "add", "Cy", "--phone", "4155550103", "--consent-date", "soon"]) == 1
    assert "'soon' is not a date" in capsys.readouterr().err
    assert main(["contacts", "list", "Cy"]) == 0 and capsys.readouterr().out == ""


def test_declined_purposes_and_automation_purposes_from_the_command_line(db_url, tmp_path,
                                                                         capsys):  # fmt: skip
    assert main(["contacts", "add", "Ann", "--phone", "4155550101", "--declined", "Reminders"]) == 1
    assert "'Reminders' is not one of the SMS purposes" in capsys.readouterr().err
    assert main(["contacts", "add", "Ann", "--phone", "4155550101", "--declined", "marketing"]) == 0
    assert "Declined SMS purposes: Marketing" in capsys.readouterr().out
    file = tmp_path / "autos.json"
    file.write_text('{"format": "trustpager-automations", "version": 1, "automations": ['
                    '{"name": "Promo", "steps": [{"action": "send_sms", "template": "Hi"}]}]}')  # fmt: skip
    assert main(["automations", "import", str(file)]) == 0
    assert main(["automations", "purpose", "Promo", "Reminders"]) == 1
    assert "add it in Settings first" in capsys.readouterr().err
    assert main(["automations", "list"]) == 0
    assert "Marketing" in capsys.readouterr().out
