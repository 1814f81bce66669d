"""Counting round trips to the database with SQLAlchemy events.

Against a database across a network every request the driver sends and waits for
costs one round-trip time, so the number of them, not the number of ORM calls, is
what a user on a distant shared database feels. ``RoundTripCounter`` counts what
the driver actually sends:

- each statement (``before_cursor_execute``);
- the ``BEGIN`` psycopg sends by itself before the first statement of a
  transaction (it is its own request and reply; none in autocommit);
- on SQLite, the ``BEGIN`` the store issues is a statement and counted as one;
- ``COMMIT`` and ``ROLLBACK`` when the driver really has a transaction open
  (a rollback of a connection that is idle sends nothing);
- the liveness ping of a connection that sat idle in the pool (``store.database``);
- separately, each new connection. Its handshake and SQLAlchemy's first look at the
  server (version, schema, settings) are invisible to these events: with psycopg
  that is 2 round trips per connection and 6 more for an engine's first one, which
  only the proxy of ``benchmarks/remote_database.py`` sees. The pool keeps
  connections, so they are rare after start-up.

``benchmarks/remote_database.py`` checks these counts against the requests its
delay proxy sees on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, Pool, event

# store.database marks a connection record with this when it pinged the server on checkout.
PINGED = "trustpager_pinged"
# Counters listening now: code that talks to the driver directly (psycopg's pipeline mode,
# which SQLAlchemy's events do not see) reports its round trips through note_driver_round_trip.
_LISTENING: list[RoundTripCounter] = []


def note_driver_round_trip(connection: Connection, what: str) -> None:
    """One round trip sent on ``connection``'s driver connection behind SQLAlchemy's back
    (several statements pipelined and waited for once count as one)."""
    for counter in list(_LISTENING):
        # by pool: a session may run on an engine copy with its own execution options
        if counter.engine is None or counter.engine.pool is connection.engine.pool:
            counter.statements.append(what)


def driver_in_transaction(dbapi_connection: Any) -> bool:
    """Whether the DBAPI connection has a transaction open at the server (or in SQLite)."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is not None:  # psycopg 3: 0 is IDLE
        return int(pgconn.transaction_status) != 0
    return bool(getattr(dbapi_connection, "in_transaction", False))


def _driver_begins_implicitly(dbapi_connection: Any) -> bool:
    """psycopg sends BEGIN before a statement when not in autocommit and idle."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None or getattr(dbapi_connection, "autocommit", True):
        return False
    return int(pgconn.transaction_status) == 0


@dataclass
class RoundTripCounter:
    """Counts the round trips an engine makes while active (a context manager).

    ``total`` is statements + implicit BEGINs + COMMITs/ROLLBACKs + pings; new
    connections are counted apart in ``connections``. Thread-safe enough for counting
    (the GIL serialises the increments); ``statements`` keeps the SQL for a failure
    message."""

    engine: Engine | None = None  # None: every engine (one opened while counting, too)
    statements: list[str] = field(default_factory=list)
    begins: int = 0
    ends: int = 0
    pings: int = 0
    connections: int = 0
    _active: bool = False

    @property
    def total(self) -> int:
        return len(self.statements) + self.begins + self.ends + self.pings

    def reset(self) -> None:
        self.statements.clear()
        self.begins = self.ends = self.pings = self.connections = 0

    def describe(self) -> str:
        """The counted round trips, one per line, for an assertion message."""
        lines = [f"{self.total} round trips: {len(self.statements)} statements, "
                 f"{self.begins} implicit BEGIN, {self.ends} COMMIT/ROLLBACK, "
                 f"{self.pings} pings; {self.connections} new connections"]  # fmt: skip
        lines += [" ".join(sql.split())[:160] for sql in self.statements]
        return "\n".join(lines)

    # -- listening ----------------------------------------------------------------

    def __enter__(self) -> RoundTripCounter:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _listeners(self) -> list[tuple[Any, str, Any]]:
        engine = self.engine if self.engine is not None else Engine
        pool = self.engine.pool if self.engine is not None else Pool
        return [
            (engine, "before_cursor_execute", self._statement),
            (engine, "commit", self._end),
            (engine, "rollback", self._end),
            (pool, "reset", self._reset),
            (pool, "checkout", self._checkout),
            (pool, "connect", self._connect),
        ]

    def start(self) -> None:
        if not self._active:
            for target, name, listener in self._listeners():
                event.listen(target, name, listener)
            _LISTENING.append(self)
            self._active = True

    def stop(self) -> None:
        if self._active:
            for target, name, listener in self._listeners():
                event.remove(target, name, listener)
            _LISTENING[:] = [c for c in _LISTENING if c is not self]  # by identity, not ==
            self._active = False

    def _statement(self, conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        if _driver_begins_implicitly(conn.connection.dbapi_connection):
            self.begins += 1
        self.statements.append(statement)

    def _end(self, conn) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        if driver_in_transaction(conn.connection.dbapi_connection):
            self.ends += 1

    def _reset(self, dbapi_connection, _record, _reset_state) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        # The pool rolls back a connection it gets back; only an open transaction is sent.
        if driver_in_transaction(dbapi_connection):
            self.ends += 1

    def _checkout(self, _dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        if record.info.get(PINGED, False):
            self.pings += 1

    def _connect(self, _dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]  # an SQLAlchemy event listener: the event fixes the signature
        self.connections += 1
