"""`trustpager log verify` catches and names each tampering (exit 1) on SQLite and
PostgreSQL; `--full`, the key commands and the head printed on `log export`."""

import pytest

from tests.support.records import TAMPERING, seed_for_tampering, seed_log, tamper
from trustpager_desktop.cli import main
from trustpager_desktop.core import log_keys


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_log_verify_names_each_tampering_and_exits_1(db, clock, capsys, case):
    seed_for_tampering(db, clock)
    assert main(["--db", db.url, "log", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    attack, named = TAMPERING[case]
    attack(db)
    assert main(["--db", db.url, "log", "verify"]) == 1
    assert named in capsys.readouterr().out


def test_truncate_of_the_consent_events_is_named(db, clock, capsys):
    if not db.is_postgres:
        pytest.skip("TRUNCATE is PostgreSQL's")
    seed_for_tampering(db, clock)
    tamper(db, "TRUNCATE consent_events")
    assert main(["--db", db.url, "log", "verify"]) == 1
    out = capsys.readouterr().out
    assert "(Ann Lee) is marked opted out, but no consent event records an opt-out" in out


def test_full_verify_and_the_head_on_exports(db, clock, capsys, tmp_path):
    seed_log(db, clock, 5)
    assert main(["--db", db.url, "log", "verify", "--full"]) == 0
    assert "5 entries verified" in capsys.readouterr().out
    assert main(["--db", db.url, "log", "export", str(tmp_path / "log.csv")]) == 0
    assert "Log head: entry #5, hash " in capsys.readouterr().out


def test_key_export_warns_and_another_desktop_can_import_it(
    db, clock, capsys, tmp_path, monkeypatch
):
    seed_log(db, clock, 2)
    key_file = tmp_path / "backup" / "keys.json"
    assert main(["--db", db.url, "log", "export-key", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert "Keep this file private and safe" in out and "can no longer be proved" in out
    assert key_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("TRUSTPAGER_DATA_DIR", str(tmp_path / "second-desktop"))
    assert main(["--db", db.url, "log", "verify"]) == 3  # signed elsewhere: cannot check yet
    assert "could not be checked on this computer" in capsys.readouterr().out
    assert main(["--db", db.url, "log", "import-key", str(key_file)]) == 0
    assert main(["--db", db.url, "log", "verify"]) == 0
    assert main(["--db", db.url, "log", "keys"]) == 0
    assert log_keys.key_ring().own_key().key_id in capsys.readouterr().out


def test_forget_head_after_replacing_the_database_on_purpose(db, clock, capsys):
    seed_log(db, clock, 3)
    assert main(["--db", db.url, "log", "verify"]) == 0
    tamper(db, "DELETE FROM activity_log")
    assert main(["--db", db.url, "log", "verify"]) == 1
    assert main(["--db", db.url, "log", "forget-head"]) == 0
    assert main(["--db", db.url, "log", "verify"]) == 0
