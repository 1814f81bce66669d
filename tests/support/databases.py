"""Test databases: a migrated SQLite template copied per test, and a PostgreSQL
database made for the run (truncated between tests, dropped at the end).

PostgreSQL is at 127.0.0.1:5432, user postgres, trust auth. In CI
(TRUSTPAGER_REQUIRE_POSTGRES=1 or CI=true) a missing server is a failure;
elsewhere PostgreSQL tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Base

PG_ADMIN_URL = os.environ.get(
    "TRUSTPAGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_required() -> bool:
    return bool(os.environ.get("TRUSTPAGER_REQUIRE_POSTGRES")) or os.environ.get("CI") == "true"


def postgres_unavailable_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "no usable server"
        return f"no PostgreSQL server at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"


def create_pg_database(prefix: str = "trustpager_test") -> str:
    """Create an empty database; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class SqliteTemplate:
    """Migrate once per run, then copy the file for each test (migrations take ~0.2 s)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        Database.open(f"sqlite:///{self.path}").close()

    def fresh(self, folder: Path) -> Database:
        target = folder / "trustpager.db"
        shutil.copyfile(self.path, target)
        target.chmod(0o600)
        return Database.open(f"sqlite:///{target}")


ALL_TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


def empty_all_tables(engine) -> None:  # type: ignore[no-untyped-def]
    """Empty every table of a PostgreSQL test database and restart its ids.

    The history tables refuse TRUNCATE (statement triggers, migration 0007). Only here,
    in this one transaction, the test runs as a replication session: PostgreSQL fires no
    ordinary trigger for it. Setting it needs a superuser, which the test server's user
    is; the application never does this."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {ALL_TABLES} RESTART IDENTITY CASCADE"))


class PostgresScratch:
    """One migrated database for the run; every test starts from empty tables."""

    def __init__(self) -> None:
        self.url = create_pg_database()
        self.db = Database.open(self.url)

    def fresh(self) -> Database:
        empty_all_tables(self.db.engine)
        return self.db

    def close(self) -> None:
        self.db.close()
        drop_pg_database(self.url)


def require_postgres() -> None:
    """Skip (or fail in CI) when no PostgreSQL server answers."""
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if postgres_required():
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)
