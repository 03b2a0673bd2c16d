"""A station's pull page on PostgreSQL is planned for the stations it asks for, every time.

psycopg prepares a statement after its fifth run on a connection, and PostgreSQL then may use
one generic plan for every later run; for the pull page (`station = ANY(...) AND change_seq >
... ORDER BY change_seq`) that plan walks the server-wide change index and filters out every
other station's rows, so a station's pull slowed in proportion to the whole nation's premises
(bench/national.py: 3,200 rows/s at 1,000,000 premises against 29,000 at 20,000).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pg import Cluster

from server.store.postgres import records as pg_records
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate
from server.store.postgres.sync import PgReader, ensure_epoch

PAGE_QUERY = "%ORDER BY change_seq LIMIT%"


@pytest.fixture
def db(postgres: Cluster) -> Iterator[PgDatabase]:
    pg = PgDatabase(postgres.fresh_url(), size=1)
    asyncio.run(pg.open())
    asyncio.run(migrate(pg))

    def setup(conn: Any) -> None:
        ensure_epoch(conn)
        conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0), "
                     "('B02', 'B', 52, 1)")
        pg_records.insert_many(conn, [
            {"id": f"p{i:04d}", "station": "A01" if i % 10 == 0 else "B02",
             "name": f"Premises {i}", "version": 1} for i in range(300)])
    pg.write_now(setup)
    try:
        yield pg
    finally:
        asyncio.run(pg.close())


def test_a_stations_pull_page_is_planned_for_its_own_stations_on_every_pull(
        db: PgDatabase) -> None:
    def pulls(conn: Any) -> tuple[list[int], int]:
        reader = PgReader(conn)
        sizes = [len(reader.changes(0, ["A01"], 1000, 8 * 2**20)[0]) for _ in range(12)]
        kept = conn.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement "
                            "LIKE %s", (PAGE_QUERY,)).fetchone()[0]
        return sizes, int(kept)
    sizes, kept = db.read_now(pulls)
    assert sizes == [30] * 12  # every pull gets the station's 30 premises, and only them
    assert kept == 0, "the pull page's statement was prepared: later pulls get a generic plan"
