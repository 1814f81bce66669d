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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from trustpager_desktop.store.round_trips import PINGED

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
        options = conn.get_execution_options()
        if options.get("write_lock"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("snapshot", True):
            conn.exec_driver_sql("BEGIN")
        # snapshot=False: no transaction; each statement sees what was committed when it began.


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
        # No HSTORE columns here: without this, each first connection looks the type up
        # (three round trips).
        engine = create_engine(parsed, connect_args=connect_args, use_native_hstore=False)
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"The database driver for {parsed.drivername} is not installed ({exc.name})."
        ) from exc
    _ping_idle_connections(engine)
    _first_look_without_transaction(engine)
    return engine


def _first_look_without_transaction(engine: Engine) -> None:
    """SQLAlchemy's first look at a new server (version, schema, settings) in autocommit:
    psycopg would wrap it in BEGIN and ROLLBACK, two more round trips at every start."""

    @event.listens_for(engine, "connect", insert=True)  # before SQLAlchemy's own look
    def _before(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        dbapi_connection.autocommit = True

    @event.listens_for(engine, "connect")  # after it: transactions as usual
    def _after(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        dbapi_connection.autocommit = False


# A pooled connection unused for this long is checked before use (one round trip):
# a server restart or a dropped network link then costs a fresh connection, not an
# error. One used more recently is trusted, so a burst of short sessions (opening a
# page) does not pay a round trip each to the server for the check.
IDLE_PING_SECONDS = 10.0
_CHECKED_IN_AT = "trustpager_checked_in_at"


def _ping_idle_connections(engine: Engine) -> None:
    """``pool_pre_ping``, but only for connections that sat idle in the pool."""

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        if record is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        last_used = record.info.get(_CHECKED_IN_AT)
        due = last_used is not None and time.monotonic() - last_used > IDLE_PING_SECONDS
        record.info[PINGED] = due
        if due and not _answers(dbapi_connection):
            # The pool drops this connection and checks out another (a new one if need be).
            raise DisconnectionError("The database connection was lost while idle.")


def _answers(dbapi_connection) -> bool:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
    """One ``SELECT 1`` outside any transaction (psycopg would otherwise send BEGIN too)."""
    was_autocommit = dbapi_connection.autocommit
    try:
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.autocommit = was_autocommit
        return True
    except Exception:  # any failure: the connection cannot be trusted
        log.info("an idle database connection no longer answers; reconnecting")
        return False


class Database:
    """An open, migrated database and its session factories."""

    def __init__(self, engine: Engine, url: str, *, read_only: bool = False) -> None:
        self.engine = engine
        self.url = url
        self.read_only = read_only  # opened read-only: reads, exports and verify only
        self._transaction_reads = sessionmaker(engine, expire_on_commit=False)
        # Reads without a transaction: no BEGIN and ROLLBACK (two round trips to a
        # distant server). On PostgreSQL that changes nothing else for plain queries:
        # under READ COMMITTED each statement already sees its own snapshot.
        quick = engine.execution_options(snapshot=False)
        if engine.dialect.name == "postgresql":
            quick = quick.execution_options(isolation_level="AUTOCOMMIT")
        self._quick_reads = sessionmaker(quick, expire_on_commit=False)
        # The default: SQLite reads share one snapshot (free in-process); PostgreSQL
        # reads go without a transaction, which would buy them nothing but round trips.
        postgres = engine.dialect.name == "postgresql"
        self._reads = self._quick_reads if postgres else self._transaction_reads
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
            with engine.connect() as conn:  # connecting proves the server is there
                if engine.dialect.name == "sqlite":  # the file is read on first use
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
    def read(self, *, snapshot: bool | None = None) -> Iterator[Session]:
        """A short session for queries; closed (not committed) at the end.

        Objects read here stay usable afterwards as plain detached data. By default an
        SQLite session reads one snapshot and a PostgreSQL one has no transaction (each
        statement sees what was committed when it began, as READ COMMITTED does anyway,
        without a BEGIN and a ROLLBACK crossing the network). ``snapshot=False``: no
        transaction on SQLite either (a page read in a few statements). ``snapshot=True``:
        a transaction on both, for streaming results (``yield_per`` needs one on
        PostgreSQL). Never write in a read session."""
        if snapshot is None:
            factory = self._reads
        else:
            factory = self._transaction_reads if snapshot else self._quick_reads
        with factory() as session:
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
