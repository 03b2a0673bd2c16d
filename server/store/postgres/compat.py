"""The server's store modules on PostgreSQL: `PgServerDatabase` gives them the same faces as
server/store/database.py (`read`, `write`, `execute`, `execute_write`, `executemany`) over a
PgDatabase, and `SqlConnection` lets their SQL (written for sqlite3: `?` and `:name`
placeholders, `INSERT OR IGNORE`, `PRAGMA user_version`, `lastrowid`, rows read by index or
name) run unchanged on a psycopg connection. What cannot be said both ways has a PostgreSQL
form of its own under server/store/postgres/ (search, gauges) or a SQL function made by the
PostgreSQL migrations (json_each, json_extract, json_type, sum over booleans). Must not hold
rules, HTTP or the shape of records.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import RowMaker

from server.store.postgres.database import PgDatabase

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|(?<!:):([A-Za-z_]\w*)|%")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_WRITES = re.compile(r"^\s*(INSERT|UPDATE)\b", re.I)
_PRAGMA_VERSION = re.compile(r"^\s*PRAGMA\s+user_version\s*$", re.I)


def translate(sql: str, named: bool) -> tuple[str, bool]:
    """SQLite's SQL as psycopg takes it: (the text, whether it has placeholders)."""
    if _PRAGMA_VERSION.match(sql):
        return "SELECT coalesce(max(version), 0) AS user_version FROM schema_version", False
    if _OR_IGNORE.match(sql):
        sql = _OR_IGNORE.sub("INSERT INTO", sql, count=1)
        at = _RETURNING.search(sql)
        sql = (sql[:at.start()] + "ON CONFLICT DO NOTHING " + sql[at.start():] if at
               else sql.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING")
    found = False

    def swap(m: re.Match[str]) -> str:
        nonlocal found
        text = m.group(0)
        if text == "?":
            found = True
            return "%s"
        if m.group(1) is not None and named:
            found = True
            return f"%({m.group(1)})s"
        return "%%" if text == "%" else text
    out = _TOKEN.sub(swap, sql)
    return (out, True) if found else (sql, False)


class Row(tuple[Any, ...]):
    """A row read by position (`row[0]`, unpacking) or by column name, like sqlite3.Row."""
    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    names = tuple(c.name for c in cursor.description or ())

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._names = names
        return row
    return make


class Cursor:
    """The part of sqlite3.Cursor the store modules use."""

    def __init__(self, conn: SqlConnection, cur: psycopg.Cursor[Row]):
        self._conn, self._cur = conn, cur

    def fetchone(self) -> Row | None:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[Row]:
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def lastrowid(self) -> int:
        """The id the last INSERT took from an identity column in this session."""
        row = self._conn.raw.execute("SELECT lastval()").fetchone()
        return int(row[0]) if row else 0


class SqlConnection:
    """A psycopg connection (inside a transaction PgDatabase opened) that takes sqlite3's
    calls; `raw` is the connection itself, for the PostgreSQL forms."""

    def __init__(self, raw: psycopg.Connection[Any]):
        self.raw = raw

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        text, has = translate(sql, isinstance(params, dict))
        cur = self.raw.cursor(row_factory=_row_factory)
        if not _WRITES.match(sql):
            cur.execute(text.encode(), params if has else None)
            return Cursor(self, cur)
        try:  # a savepoint: a caller that catches the refusal may go on, as on SQLite
            with self.raw.transaction():
                cur.execute(text.encode(), params if has else None)
        except psycopg.errors.IntegrityError as exc:  # worded as SQLite words it
            kind = {psycopg.errors.UniqueViolation: "UNIQUE",
                    psycopg.errors.ForeignKeyViolation: "FOREIGN KEY",
                    psycopg.errors.NotNullViolation: "NOT NULL",
                    psycopg.errors.CheckViolation: "CHECK"}.get(type(exc), "")
            raise sqlite3.IntegrityError(f"{kind} constraint failed: {exc}") from exc
        return Cursor(self, cur)

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        rows = list(rows)
        text, has = translate(sql, bool(rows) and isinstance(rows[0], dict))
        cur = self.raw.cursor(row_factory=_row_factory)
        if rows:
            cur.executemany(text.encode(), rows if has else [()] * len(rows))
        return Cursor(self, cur)


def is_pg(conn: object) -> bool:
    """Is this connection (or database) PostgreSQL's, for a store function with two forms?"""
    return isinstance(conn, (SqlConnection, PgServerDatabase))


class Result:
    """Rows of one query with the verbs of server/store/database.py's Result."""

    def __init__(self, rows: list[Row]):
        self.rows = rows

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def single_value(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(r.keys(), r, strict=True)) for r in self.rows]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class PgServerDatabase:
    """The Database faces over a PgDatabase (`pg`): each `write` one READ COMMITTED
    transaction (run again from the start after a deadlock or serialization failure), each
    `read` one REPEATABLE READ snapshot. No group commit: that is SQLite's alone."""

    engine = "postgresql"

    def __init__(self, pg: PgDatabase):
        self.pg = pg
        self.path = ""

    async def open(self) -> PgServerDatabase:
        await self.pg.open()
        return self

    async def close(self) -> None:
        await self.pg.close()

    async def write(self, fn: Callable[[Any], T]) -> T:
        return await self.pg.write(lambda raw: fn(SqlConnection(raw)))

    async def read(self, fn: Callable[[Any], T]) -> T:
        return await self.pg.read(lambda raw: fn(SqlConnection(raw)))

    async def execute_write(self, sql: str, params: Params = ()) -> int:
        def run(conn: SqlConnection) -> int:
            cur = conn.execute(sql, params)
            return cur.lastrowid if sql.lstrip()[:6].upper() == "INSERT" and _has_id(
                conn, sql) else 0
        return await self.write(run)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        await self.write(lambda c: c.executemany(sql, rows))

    async def execute(self, sql: str, params: Params = ()) -> Result:
        return await self.read(lambda c: Result(c.execute(sql, params).fetchall()))


def _has_id(conn: SqlConnection, sql: str) -> bool:
    """Did this INSERT's table take an identity value (so lastval() has one to give)?"""
    m = re.match(r"\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", sql, re.I)
    if not m:
        return False
    row = conn.raw.execute(
        "SELECT pg_get_serial_sequence(%s, 'id') IS NOT NULL "
        "FROM information_schema.columns WHERE table_name = %s AND column_name = 'id' "
        "AND table_schema = current_schema()", (m.group(1), m.group(1))).fetchone()
    return bool(row and row[0])
