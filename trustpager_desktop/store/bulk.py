"""Batch statements that cost one statement per batch, not one per row.

The dispatch path writes a few hundred rows per transaction. SQLite runs an
executemany in-process, cheaply. On PostgreSQL every row of an executemany is
its own statement for the server (psycopg pipelines them, but parses, plans and
answers each), so here a batch goes as ONE statement whose parameters are
arrays, unpacked by ``unnest``; its text depends only on the columns, so psycopg
prepares it once. Values go through the columns' own types first (aware times
become naive UTC, as ``UtcDateTime`` stores them), and the arrays are sent in
binary (``%(name)b``): the text form escapes every string with a regular
expression, which cost more than the statement itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Integer, Table, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

# Values per ``IN (...)`` list: far below SQLite's limit on bound parameters, and short
# enough that PostgreSQL plans each list quickly.
IN_LIST_SIZE = 500


def chunks(values: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size`` (for IN lists and batches)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def id_in(
    column: ColumnElement[int] | QueryableAttribute[int], ids: Sequence[int], dialect: str
) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``column = ANY(:array)``, one parameter whatever
    the count, so the statement's text (and its prepared plan) is the same every time."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(list(ids))


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (all with the same keys) into ``table``."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    arrays = ", ".join(_array(connection, table, name, name) for name in names)
    columns = ", ".join(_quote(connection, name) for name in names)
    statement = (
        f"INSERT INTO {_quote(connection, table.name)} ({columns}) SELECT * FROM unnest({arrays})"
    )
    connection.exec_driver_sql(statement, _columns(connection, table, rows, names))


def insert_rows_returning_ids(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """PostgreSQL: INSERT ``rows`` (same keys, no id) into ``table`` and return their new
    ids in the rows' order, in ONE statement: each row takes the next value of the id
    sequence in a WITH, the INSERT reads that WITH, and the ids come back sorted by the
    rows' position (a plain INSERT .. RETURNING promises no order)."""
    if not rows:
        return []
    names = list(rows[0])
    arrays = ", ".join(_array(connection, table, name, name) for name in names)
    columns = ", ".join(_quote(connection, name) for name in names)
    name = _quote(connection, table.name)
    statement = (
        # The sequence is looked up once (a sub-select), not for every row.
        f"WITH _new AS (SELECT nextval((SELECT pg_get_serial_sequence('{table.name}', 'id')"
        "::regclass)) AS _id, "
        f"v.* FROM unnest({arrays}) WITH ORDINALITY AS v({columns}, _position)), "
        f"_inserted AS (INSERT INTO {name} (id, {columns}) SELECT _id, {columns} FROM _new) "
        "SELECT _id FROM _new ORDER BY _position"
    )
    return list(
        connection.exec_driver_sql(statement, _columns(connection, table, rows, names)).scalars()
    )


def update_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    only_where: Mapping[str, Any] | None = None,
) -> set[int]:
    """UPDATE the rows of ``table`` whose id is each row's ``key`` value, setting the row's
    other values (every row has the same keys). ``only_where`` adds conditions that must
    hold too: a compare-and-set, rows that no longer match are left alone. Returns the
    ids of the rows that changed."""
    if not rows:
        return set()
    only_where = dict(only_where or {})
    names = [name for name in rows[0] if name != key]
    if connection.dialect.name != "postgresql":
        return _update_rows_one_by_one(connection, table, rows, key, names, only_where)
    quoted = {name: _quote(connection, name) for name in [*names, *only_where]}
    sets = ", ".join(f"{quoted[n]} = v.{quoted[n]}" for n in names)
    arrays = ", ".join(
        [f"CAST(%({key})b AS INTEGER[])"] + [_array(connection, table, n, n) for n in names]
    )
    conditions = "".join(f" AND t.{quoted[c]} = %(only_{c})s" for c in only_where)
    statement = (
        f"UPDATE {_quote(connection, table.name)} AS t SET {sets} FROM unnest({arrays}) "
        f"AS v(_key, {', '.join(quoted[n] for n in names)}) WHERE t.id = v._key{conditions} "
        "RETURNING t.id"
    )
    params = _columns(connection, table, rows, names)
    params[key] = [row[key] for row in rows]
    params.update({f"only_{c}": _bind(connection, table, c, v) for c, v in only_where.items()})
    return set(connection.exec_driver_sql(statement, params).scalars())


def _update_rows_one_by_one(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: str,
    names: list[str],
    only_where: Mapping[str, Any],
) -> set[int]:
    """SQLite: an executemany (cheap in-process) of the rows that still match, found first
    (under the write lock nothing changes in between)."""
    matching = {row[key] for row in rows}
    if only_where:
        found = connection.execute(
            select(table.c.id).where(
                id_in(table.c.id, sorted(matching), connection.dialect.name),
                *[table.c[c] == value for c, value in only_where.items()],
            )
        )
        matching = set(found.scalars())
    todo = [row for row in rows if row[key] in matching]
    if todo:
        statement = update(table).where(table.c.id == bindparam(key))
        connection.execute(statement, [dict(row) for row in todo])
    return matching


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _array(connection: Connection, table: Table, column: str, param: str) -> str:
    sql_type = table.c[column].type.compile(dialect=connection.dialect)
    return f"CAST(%({param})b AS {sql_type}[])"


def _columns(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], names: list[str]
) -> dict[str, list[Any]]:
    """One list per column, each value converted by the column's type where it has its own."""
    arrays = {}
    for name in names:
        values = [row[name] for row in rows]
        column_type = table.c[name].type
        if isinstance(column_type, TypeDecorator):
            convert, dialect = column_type.process_bind_param, connection.dialect
            values = [convert(value, dialect) for value in values]
        arrays[name] = values
    return arrays


def _bind(connection: Connection, table: Table, column: str, value: Any) -> Any:
    """The value as the column's type would hand it to the driver."""
    column_type = table.c[column].type
    if isinstance(column_type, TypeDecorator):
        return column_type.process_bind_param(value, connection.dialect)
    return value
