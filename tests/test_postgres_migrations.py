"""The PostgreSQL schema (server/store/postgres/migrations.py) follows the one list of versions:
every version has a PostgreSQL form, the tables and columns match SQLite's, and several
processes starting at once migrate once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from pg import Cluster

from server.store import search
from server.store.database import Database
from server.store.migrations import MIGRATIONS, migrate
from server.store.postgres import migrations as pg
from server.store.postgres import search as pg_search
from server.store.postgres.database import PgDatabase


def test_every_schema_version_has_a_postgresql_form() -> None:
    assert pg.missing_forms() == [], "add the PostgreSQL form of each new migration"
    assert pg.LATEST == MIGRATIONS[-1][0]


async def test_postgresql_has_the_tables_and_columns_of_sqlite(postgres: Cluster,
                                                               tmp_path: Path) -> None:
    lite = await Database(tmp_path / "w.db", read_connections=1).open()
    await migrate(lite)

    def sqlite_columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
        # SQLite's FTS5 search index (version 9: a virtual table and its shadow tables) is
        # an index on PostgreSQL, not a table
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'premises\\_fts%' ESCAPE '\\' ORDER BY name")]
        return {t: sorted(r[1] for r in conn.execute(f"PRAGMA table_info({t})"))
                for t in tables}
    want = await lite.read(sqlite_columns)
    await lite.close()

    db = await PgDatabase(postgres.fresh_url(), size=1).open()
    try:
        await pg.migrate(db)

        def pg_columns(conn: Any) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for table, column in conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
                    # the search vectors (version 22) PostgreSQL makes of premises.search are
                    # its FTS5 index, as the index tables left out of SQLite's list above
                    " AND is_generated = 'NEVER'").fetchall():
                out.setdefault(table, []).append(column)
            return {t: sorted(c) for t, c in sorted(out.items())}
        assert await db.read(pg_columns) == want
    finally:
        await db.close()


async def test_processes_starting_at_once_migrate_once(postgres: Cluster) -> None:
    url = postgres.fresh_url()
    dbs = [await PgDatabase(url, size=1).open() for _ in range(3)]
    try:
        versions = await asyncio.gather(*(pg.migrate(db) for db in dbs))
        assert versions == [pg.LATEST] * 3
        assert await pg.schema_version(dbs[0]) == pg.LATEST
        assert await pg.migrate(dbs[1]) == pg.LATEST  # again: nothing to do
    finally:
        for db in dbs:
            await db.close()


async def test_records_written_before_the_search_vectors_are_found_after_the_upgrade(
        postgres: Cluster) -> None:
    before = pg.VERSIONS[pg.VERSIONS.index(22) - 1]
    db = await PgDatabase(postgres.fresh_url(), size=1).open()
    try:
        await pg.migrate(db, upto=before)
        doc = {"id": "old1", "station": "A01", "name": "Café Mill", "address": "Quai, Ashby",
               "postcode": "CB3 3CC", "uprn": "200000000004", "risk_level": 2, "version": 1}

        def old_rows(conn: Any) -> None:  # as an older release wrote them
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
            conn.execute(
                "INSERT INTO premises (id, station, name, address, postcode, uprn, risk_level, "
                "search, doc) VALUES ('old1', 'A01', 'Café Mill', 'Quai, Ashby', 'CB3 3CC', "
                "'200000000004', 2, 'café mill quai, ashby cb3 3cc cb33cc 200000000004', %s)",
                (json.dumps(doc),))
        await db.write(old_rows)
        assert await pg.migrate(db) == pg.LATEST

        for q in ("cafe mi", "ashby", "cb33cc", "200000000004"):
            found = await db.read(lambda c, q=q: pg_search.search(c, q, search.Filters()))
            assert [d["id"] for d in found.docs] == ["old1"], q
    finally:
        await db.close()
