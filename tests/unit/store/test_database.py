import os
import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from trustpager_desktop.core import activity
from trustpager_desktop.core.states import ActivityKind, QueueStatus
from trustpager_desktop.store.database import Database, DatabaseError, resolve_database_url
from trustpager_desktop.store.migrate import current_revision, head_revision, include_name
from trustpager_desktop.store.models import Base


def test_models_and_migrations_agree(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            ),
            Base.metadata,
        )
    assert diff == []
    assert current_revision(db.engine) == head_revision()


def test_new_sqlite_file_is_owner_only_with_wal_and_foreign_keys(tmp_path):
    path = tmp_path / "sub" / "new.db"
    database = Database.open(f"sqlite:///{path}")
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        database.close()


def test_loose_permissions_are_tightened_on_open(tmp_path):
    path = tmp_path / "loose.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    Database.open(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_read_only_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "ro.db"
    Database.open(f"sqlite:///{path}").close()
    path.chmod(0o400)
    with pytest.raises(DatabaseError, match="read-only"):
        Database.open(f"sqlite:///{path}")


def test_read_only_folder_gets_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda *_a, **_k: False)
    path = tmp_path / "ro.db"
    path.touch()
    with pytest.raises(DatabaseError, match="read-only"):
        Database.open(f"sqlite:///{path}")


def test_not_a_database_file_is_refused(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is a spreadsheet, not a database" * 100)
    with pytest.raises(DatabaseError, match="not .*database"):
        Database.open(f"sqlite:///{path}")


def test_unreachable_postgres_gets_a_clear_error():
    with pytest.raises(DatabaseError, match="Cannot reach the database server"):
        Database.open("postgresql://postgres@127.0.0.1:1/nothing")


def test_garbage_url_is_refused():
    with pytest.raises(DatabaseError, match="not a database address"):
        Database.open("this is not a url")


def test_url_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("TRUSTPAGER_DB_URL", "sqlite:///env.db")
    assert resolve_database_url("sqlite:///cli.db", "sqlite:///s.db") == "sqlite:///cli.db"
    assert resolve_database_url(None, "sqlite:///s.db") == "sqlite:///env.db"
    monkeypatch.delenv("TRUSTPAGER_DB_URL")
    assert resolve_database_url(None, None).endswith("trustpager.db")


def test_history_tables_refuse_update_and_delete(db, clock):
    with db.write() as s:
        activity.append(
            s, activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="x", actor="t"), clock=clock
        )
    for statement in ("UPDATE activity_log SET summary = 'y'", "DELETE FROM activity_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    with db.read() as s:
        assert s.execute(text("SELECT summary FROM activity_log")).scalar_one() == "x"


def test_failed_write_changes_nothing(db, clock):
    with pytest.raises(RuntimeError), db.write() as s:
        activity.append(
            s, activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="half", actor="t"), clock=clock
        )
        raise RuntimeError("boom")
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM activity_log")).scalar_one() == 0


def test_locked_database_gets_a_clear_error_and_nothing_is_half_written(tmp_path, clock):
    import sqlite3

    path = tmp_path / "locked.db"
    database = Database.open(f"sqlite:///{path}", busy_timeout_ms=200)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError, match="locked by another program"), database.write() as s:
            activity.append(
                s,
                activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="blocked", actor="t"),
                clock=clock,
            )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with database.read() as s:
        assert s.execute(text("SELECT count(*) FROM activity_log")).scalar_one() == 0
    database.close()


def test_sqlite_uri_filenames_open_the_named_file_and_create_nothing_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "shared.db"
    Database.open(f"sqlite:///{path}").close()
    ro = Database.open(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    try:
        assert ro.sqlite_path == path
    finally:
        ro.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("shared.db")) == []


def test_migration_0008_gives_earlier_stop_replies_their_twilio_block(tmp_path):
    """A database from before 0008: a STOP-reply opt-out (re-consented by hand since) and a
    STOP then START get a block and no block respectively, so the first shows "waiting
    for the customer's START reply" after the upgrade."""
    from alembic import command

    from trustpager_desktop.store.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = Database.open(url, migrate=False).engine
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        insert = text(
            "INSERT INTO consent_events (contact_id, phone_e164, kind, source, method, evidence,"
            " message_sid, actor, received_at, recorded_at) VALUES (1, :phone, :kind, :source,"
            " NULL, '', :sid, 'Inbox', :at, :at)"
        )
        # Literal on purpose: the values as revision 0004 stored them, not today's enums.
        for phone, kind, source, at in (
            ("+14155550101", "opt_out", "stop_reply", "2026-01-01 10:00:00"),
            ("+14155550101", "re_consent", "manual_toggle", "2026-01-02 10:00:00"),
            ("+14155550102", "opt_out", "stop_reply", "2026-01-01 10:00:00"),
            ("+14155550102", "re_consent", "start_reply", "2026-01-03 10:00:00"),
            ("+14155550103", "opt_out", "manual_toggle", "2026-01-01 10:00:00"),
        ):
            conn.execute(insert, {"phone": phone, "kind": kind, "source": source, "sid": "SM1",
                                  "at": at})  # fmt: skip
    engine.dispose()
    database = Database.open(url)
    try:
        with database.engine.connect() as conn:
            blocks = conn.execute(text("SELECT phone_e164, source FROM provider_blocks")).all()
    finally:
        database.close()
    assert blocks == [("+14155550101", "stop_reply")]  # not a state: stored value


def test_upgrade_closes_finished_and_doubled_enrolments_and_leases_in_flight_items(tmp_path):
    """Migration 0005 on a database the old enrolment race had already doubled."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from trustpager_desktop.store.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        before = ScriptDirectory.from_config(cfg).get_revision("0005").down_revision
        command.upgrade(cfg, before)  # the schema just before enrolment claims
        conn.execute(
            text(
                "INSERT INTO automations (id, name, enabled, created_at) "
                "VALUES (1, 'R', 1, '2026-11-26 10:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO contacts (id, first_name, last_name, company, email, phone_raw, "
                "tags, search_text, sms_opted_out, created_at, updated_at) VALUES "
                "(1, 'Ann', '', '', '', '', '', '', 0, '2026-11-26', '2026-11-26'), "
                "(2, 'Bo', '', '', '', '', '', '', 0, '2026-11-26', '2026-11-26')"
            )
        )
        # Ann: enrolled twice at once (two open enrolments); Bo: one finished enrolment.
        conn.execute(
            text(
                "INSERT INTO enrollments (id, automation_id, contact_id, enrolled_at, "
                "enrolled_by) VALUES (1, 1, 1, '2026-11-26 10:00:00', 'a'), "
                "(2, 1, 1, '2026-11-26 10:00:00', 'b'), (3, 1, 2, '2026-11-25 10:00:00', 'a')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO queue_items (id, enrollment_id, automation_id, step_id, "
                "step_position, action_type, contact_id, due_at, status, claimed_at, "
                "finished_at, attempts) VALUES "
                "(1, 1, 1, 1, 1, 'send_sms', 1, '2026-11-26 10:00:00', 'in_flight', "
                "'2026-11-26 10:00:05', NULL, 0), "
                "(2, 2, 1, 1, 1, 'send_sms', 1, '2026-11-26 10:00:00', 'pending', NULL, NULL, 0), "
                "(3, 3, 1, 1, 1, 'send_sms', 2, '2026-11-25 10:00:00', 'sent', NULL, "
                "'2026-11-25 10:00:09', 1)"
            )
        )
    engine.dispose()
    db = Database.open(url)
    with db.read() as s:
        closed = dict(s.execute(text("SELECT id, closed_at FROM enrollments")).all())
        items = {r[0]: r[1:] for r in s.execute(
            text("SELECT id, status, reason, lease_until FROM queue_items"))}  # fmt: skip
    db.close()
    assert closed[1] is None  # Ann's first enrolment stays open
    assert closed[2] is not None and str(closed[3]).startswith("2026-11-25 10:00:09")
    assert items[2][:2] == (QueueStatus.SKIPPED, "skipped: duplicate enrolment (the contact was enrolled "
                            "twice at once)")  # fmt: skip
    assert str(items[1][2]).startswith("2026-11-26 10:02:05")  # the old 2-minute rule
