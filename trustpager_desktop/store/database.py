"""Opening the database: engine, SQLite pragmas, migrations, short sessions.

``Database.open(url)`` is the only way the application gets a database. It
upgrades the schema with Alembic, and hands out short-lived sessions:
``read()`` for queries and ``write()`` for changes. On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` so two writers queue on the busy
timeout instead of failing half-way; on PostgreSQL, row locks and advisory
locks do that job.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("trustpager.store")

APP_DIR_NAME = "TrustPager"
SQLITE_BUSY_TIMEOUT_MS = 10_000
DB_URL_ENV = "TRUSTPAGER_DB_URL"


class DatabaseError(Exception):
    """The database cannot be opened or used; the message is for a person."""


def default_database_url() -> str:
    """SQLite file in the platform user data folder (created on demand)."""
    folder = Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))
    return f"sqlite:///{folder / 'trustpager.db'}"


def resolve_database_url(cli_url: str | None = None, settings_url: str | None = None) -> str:
    """``--db`` wins over ``TRUSTPAGER_DB_URL``, which wins over settings, then the default."""
    return cli_url or os.environ.get(DB_URL_ENV) or settings_url or default_database_url()


def _sqlite_path(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # create_app_engine says what is wrong with it
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # an SQLite URI filename (uri=true): file:/path?mode=ro
        return Path(database[len("file:") :].split("?", 1)[0])
    return Path(database)


def sqlite_is_read_only(path: Path) -> bool:
    """An existing SQLite file this user may read but not change (the file or its folder,
    where SQLite writes its journal, refuses writes)."""
    if not path.exists() or not os.access(path, os.R_OK):
        return False
    return not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)


def read_only_sqlite_url(path: Path, *, immutable: bool = False) -> str:
    """A URL opening ``path`` read-only (``immutable``: not even the WAL index is touched,
    for a file in a folder this user cannot write)."""
    flag = "immutable=1" if immutable else "mode=ro"
    return f"sqlite:///file:{path.resolve()}?{flag}&uri=true"


def _prepare_sqlite_file(path: Path) -> None:
    """Create the folder and file, owner-only, and fail early with a clear reason."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"Cannot create the folder {path.parent}: {exc.strerror}.") from exc
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        except OSError as exc:
            raise DatabaseError(f"Cannot create the database file {path}: {exc.strerror}.") from exc
    elif not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseError(
            f"The database file {path} is read-only for this user. "
            "Ask whoever manages this computer to give you write access, or choose another file."
        )
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:  # the DBAPI is untyped
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        if not read_only:  # switching the journal mode writes to the file
            cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a power cut must not lose a committed "sending" record (it would be re-sent).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("write_lock"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages and the About box."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable database address)"


SUPPORTED_BACKENDS = ("sqlite", "postgresql", "postgres")


def _is_read_only_url(url: str) -> bool:
    database = make_url(url).database or ""
    return "mode=ro" in database or "immutable=1" in database


def create_app_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"'{url}' is not a database address SQLAlchemy understands.") from exc
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseError(
            f"'{describe_url(url)}' is not a database address TrustPager can open: use "
            "sqlite:///path/to/file.db or postgresql://user@server/database."
        )
    path = _sqlite_path(url)
    read_only = _is_read_only_url(url)
    if path is not None and parsed.query.get("mode") != "ro" and not read_only:
        _prepare_sqlite_file(path)
    if parsed.drivername.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _install_sqlite_pragmas(engine, busy_timeout_ms, read_only)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args = {"connect_timeout": 5} if parsed.drivername.startswith("postgresql") else {}
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"The database driver for {parsed.drivername} is not installed ({exc.name})."
        ) from exc


class Database:
    """An open, migrated database and its session factories."""

    def __init__(self, engine: Engine, url: str, *, read_only: bool = False) -> None:
        self.engine = engine
        self.url = url
        self.read_only = read_only  # opened read-only: reads, exports and verify only
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(
            engine.execution_options(write_lock=True), expire_on_commit=False
        )

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        migrate: bool = True,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        allow_read_only: bool = False,
    ) -> Database:
        """Open (and by default upgrade) the database at ``url``.

        ``allow_read_only``: an SQLite file this user cannot write is opened read-only
        (``read_only`` is True; reads, exports and verify work) instead of refused; it
        must already have this version's schema. Raises DatabaseError with a
        plain-language reason when the database is unreachable, read-only (and that is
        not allowed), locked, not a database, or from a newer version of TrustPager.
        """
        url = url or resolve_database_url()
        path = _sqlite_path(url)
        if allow_read_only and path is not None and sqlite_is_read_only(path):
            return cls._open_read_only(url, path, busy_timeout_ms)
        engine = create_app_engine(url, busy_timeout_ms)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            engine.dispose()
            raise DatabaseError(_explain(exc, url)) from exc
        db = cls(engine, url)
        if migrate:
            from trustpager_desktop.store.migrate import upgrade_to_head

            try:
                upgrade_to_head(engine)
            except SQLAlchemyError as exc:
                engine.dispose()
                raise DatabaseError(_explain(exc, url)) from exc
            except DatabaseError:
                engine.dispose()
                raise
        return db

    @classmethod
    def _open_read_only(cls, url: str, path: Path, busy_timeout_ms: int) -> Database:
        from trustpager_desktop.store.migrate import check_revision

        last_error: SQLAlchemyError | None = None
        for immutable in (False, True):  # a folder we cannot write: not even the WAL index
            engine = create_app_engine(read_only_sqlite_url(path, immutable=immutable),
                                       busy_timeout_ms)  # fmt: skip
            try:
                check_revision(engine, read_only=True)
                return cls(engine, url, read_only=True)
            except SQLAlchemyError as exc:
                engine.dispose()
                last_error = exc
            except DatabaseError:
                engine.dispose()
                raise
        assert last_error is not None
        raise DatabaseError(_explain(last_error, url)) from last_error

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def sqlite_path(self) -> Path | None:
        return _sqlite_path(self.url)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short session for queries; closed (not committed) at the end.

        Objects read here stay usable afterwards as plain detached data."""
        with self._reads() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short transaction: committed on success, rolled back on any error."""
        with self._writes() as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise DatabaseError(_explain(exc, self.url)) from exc
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def explain_error(exc: Exception, url: str) -> str:
    """A database error (SQLAlchemy's or the driver's own) as one sentence for a person."""
    return _explain(exc, url)  # type: ignore[arg-type]  # a driver error is read like SQLAlchemy's


def _explain(exc: SQLAlchemyError, url: str) -> str:
    """Turn a driver error into a sentence an office user can act on."""
    raw = str(getattr(exc, "orig", exc)).lower()
    where = describe_url(url)
    if "readonly" in raw or "read-only" in raw:
        return f"The database {where} is read-only; changes cannot be saved."
    if "locked" in raw or "busy" in raw:
        return (
            f"The database {where} is locked by another program. "
            "Close other copies of TrustPager (or the program holding the file) and try again."
        )
    if "disk" in raw and ("full" in raw or "i/o" in raw):
        return f"The disk holding {where} is full or failing; nothing was saved."
    if "not a database" in raw or "file is encrypted" in raw:
        return f"{where} is not a TrustPager database (the file is not an SQLite database)."
    if "malformed" in raw or "corrupt" in raw:
        return (
            f"The database {where} is damaged (SQLite: {raw.splitlines()[0]}); its contents "
            "cannot be read or checked. Restore it from a backup."
        )
    if "connection refused" in raw or "could not connect" in raw or "timeout" in raw:
        return (
            f"Cannot reach the database server at {where}. Is it running, and is the address right?"
        )
    if "does not exist" in raw and "database" in raw:
        return f"The database at {where} does not exist on that server."
    if "authentication" in raw or "password" in raw:
        return f"The database server at {where} refused the user name or password."
    first_line = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
    return f"Database problem with {where}: {first_line}"
