"""Issue 13 item 9: a clear one-line error, never a traceback, for a database from a newer
version, a damaged SQLite file, a URL that is no database, an argument that is not text;
a read-only database opens read-only for exports and verify, and says so."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.records import seed_log
from trustpager_desktop.cli import main
from trustpager_desktop.store.database import Database


@pytest.fixture
def url(tmp_path, monkeypatch):
    value = f"sqlite:///{tmp_path / 'office.db'}"
    monkeypatch.setenv("TRUSTPAGER_DB_URL", value)
    return value


def _one_line(err: str) -> str:
    assert err.startswith("trustpager: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_a_database_from_a_newer_version_is_refused_in_one_line(url, capsys):
    db = Database.open(url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    db.close()
    assert main(["status"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "upgraded by a newer version of TrustPager (schema 0099" in err


def test_log_verify_on_a_damaged_file_is_one_line(url, tmp_path, clock, capsys):
    db = Database.open(url)
    seed_log(db, clock, 3000)
    db.close()
    path = tmp_path / "office.db"
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # scribble over pages in the middle of the log
        handle.seek(size // 2)
        handle.write(os.urandom(size // 4))
    code = main(["log", "verify"])
    assert code in (1, 2)
    err = _one_line(capsys.readouterr().err)
    assert "is damaged" in err or "not a TrustPager database" in err


def test_a_web_address_is_not_a_database(capsys):
    assert main(["--db", "http://example.com/trustpager", "status"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "'http://example.com/trustpager' is not a database address TrustPager can open" in err


def test_an_argument_that_is_not_text_is_one_line(url, capsys):
    assert main(["contacts", "add", "Ann\udcff"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "argument 3 ('Ann\\udcff') is not valid text" in err


def test_raw_bytes_on_the_real_command_line(url, tmp_path):
    script = "import sys; from trustpager_desktop.cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", script, "contacts", "add", b"Jos\xe9"],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"},
        timeout=60,
    )
    assert done.returncode == 2
    err = done.stderr.decode("utf-8", "replace")
    assert err.count("\n") == 1 and "is not valid text" in err and "Traceback" not in err


def test_a_read_only_database_opens_read_only_for_exports_and_verify(
    url, tmp_path, clock, capsys, monkeypatch
):
    db = Database.open(url)
    seed_log(db, clock, 5)
    db.close()
    path = tmp_path / "office.db"
    path.chmod(0o400)
    real_access = os.access

    def access(target, mode, **kwargs):  # type: ignore[no-untyped-def]
        # Root may write any file: answer as the office user this file belongs to would see it.
        if mode & os.W_OK and Path(target) in (path, path.parent):
            return False
        return real_access(target, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    out_dir = tmp_path.parent / f"{tmp_path.name}-exports"
    out_dir.mkdir()
    assert main(["log", "export", str(out_dir / "log.csv")]) == 0
    captured = capsys.readouterr()
    assert "is read-only for this user; opened read-only" in captured.err
    assert "Exported 5 log entries" in captured.out
    assert main(["log", "verify"]) == 0
    captured = capsys.readouterr()
    assert "5 entries verified" in captured.out
    assert main(["contacts", "add", "Ann"]) == 2  # a change is refused, clearly
    err = _one_line(capsys.readouterr().err)
    assert "read-only for this user" in err
