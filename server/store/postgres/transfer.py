"""Moving a service from SQLite to PostgreSQL: every row of every table of a SQLite database
copied as it is into an empty, migrated PostgreSQL schema, in one transaction: ids, change
numbers, the sync epoch, device sequence numbers and stored receipts included, so devices keep
their cursors (no re-download) and their outboxes (a retry gets its stored receipts). SQLite's
own tables (the FTS5 index, sqlite_*) are left behind: PostgreSQL indexes its own rows
(the `search` words of rows an older release wrote are made again from their records).
Must not change a row otherwise.
"""

from __future__ import annotations

import sqlite3
from graphlib import TopologicalSorter
from typing import Any

import psycopg

from server.store.postgres.records import refresh_words

Conn = psycopg.Connection[Any]
SKIP = ("schema_version",)  # each engine records its own schema version


def _pg_tables(conn: Conn) -> dict[str, list[str]]:
    """The schema's tables, each with the tables its foreign keys point to."""
    tables: dict[str, list[str]] = {r[0]: [] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE'")}
    for child, parent in conn.execute(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = current_schema()"):
        if child in tables and parent != child:
            tables[child].append(parent)
    return tables


def _columns(conn: Conn, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = %s ORDER BY ordinal_position", (table,))]


def is_empty(conn: Conn) -> bool:
    """No users and no premises: nothing a copy could clash with."""
    return all(conn.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {t})").fetchone()[0]  # type: ignore[index]
               for t in ("users", "premises", "devices"))


def copy_all(src: sqlite3.Connection, dst: Conn) -> dict[str, int]:
    """Copy every shared table from `src` into `dst` (inside the caller's transaction, on an
    empty schema); returns rows copied per table."""
    have = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables = _pg_tables(dst)
    copied: dict[str, int] = {}
    order = [t for t in TopologicalSorter(tables).static_order() if t not in SKIP and t in have]
    # Rows a fresh schema's migrations wrote (its own epoch, the owning organisation) give way
    # to the service's own: children first, so no foreign key is left dangling.
    for table in reversed(order):
        dst.execute(f"DELETE FROM {table}")
    for table in order:
        src_cols = {r[1] for r in src.execute(f"PRAGMA table_info({table})")}
        cols = [c for c in _columns(dst, table) if c in src_cols]
        n = 0
        with dst.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as out:
            for row in src.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                out.write_row(tuple(row))
                n += 1
        copied[table] = n
        seq = dst.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone() \
            if "id" in cols else None
        if seq and seq[0]:  # identity columns go on from the highest id copied
            dst.execute(f"SELECT setval(%s, (SELECT coalesce(max(id), 0) + 1 FROM {table}), "
                        "false)", (seq[0],))
    refresh_words(dst)
    return copied
