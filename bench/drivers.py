"""`python -m bench.drivers`: psycopg 3 against asyncpg on the statements of a push and a pull
page of the PostgreSQL sync store (server/store/postgres/sync.py), on the tests' throwaway
cluster (tests/pg.py, fsync off) with 20,000 premises. psycopg runs each transaction whole on a
worker thread (as PgDatabase does); asyncpg awaits each statement on the event loop (what the
store would have to become). Prints median ms; one client at a time."""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import psycopg

from server.store.postgres import records as pg_records
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate
from server.store.records import COLUMNS, row_values

PREMISES, PUSHES, PULLS, EDITS = 20_000, 200, 30, 10
_encode = msgspec.json.Encoder().encode

DEVICE = ("INSERT INTO sync_devices (device_id, last_seq) VALUES ($1, 0) ON CONFLICT (device_id) "
          "DO UPDATE SET last_seq = sync_devices.last_seq RETURNING last_seq")
RECORD = "SELECT doc FROM premises WHERE id = $1 FOR UPDATE"
OPEN = ("SELECT doc FROM conflicts WHERE premises_id = $1 AND status = 'open' "
        "ORDER BY change_seq FOR UPDATE")
WRITERS = "SELECT path, author FROM field_writers WHERE premises_id = $1"
COUNTER = ("INSERT INTO meta (key, value) VALUES ('change_seq', $1) ON CONFLICT (key) DO UPDATE "
           "SET value = (meta.value::bigint + $2)::text RETURNING value")
UPSERT = (f"INSERT INTO premises ({', '.join(COLUMNS)}) VALUES "
          f"({', '.join(f'${i + 1}' for i in range(len(COLUMNS)))}) ON CONFLICT (id) DO UPDATE SET "
          + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "id"))
WRITER = ("INSERT INTO field_writers (premises_id, path, author) VALUES ($1, $2, $3) "
          "ON CONFLICT (premises_id, path) DO UPDATE SET author = excluded.author")
SEQ = "UPDATE sync_devices SET last_seq = $1 WHERE device_id = $2"
RECEIPT = "INSERT INTO sync_receipts (device_id, seq, body) VALUES ($1, $2, $3)"
AUDIT = "INSERT INTO audit (premises_id, server_time, entry) VALUES ($1, $2, $3)"
PAGE = ("(SELECT change_seq, 'p', doc FROM premises WHERE station = ANY($1) AND change_seq > $2 "
        "ORDER BY change_seq LIMIT $3) UNION ALL (SELECT change_seq, 'c', doc FROM conflicts "
        "WHERE station = ANY($4) AND change_seq > $5 ORDER BY change_seq LIMIT $6) "
        "ORDER BY 1 LIMIT $7")


def psql(sql: str) -> str:
    return re.sub(r"\$\d+", "%s", sql)


def doc(i: int) -> dict[str, Any]:
    return {"id": f"p{i:05d}", "station": "A01", "name": f"Premises {i}", "version": 1,
            "address": f"{i} High Street", "risk_level": 2, "risk_notes": "x" * 800,
            "hazards": [{"id": f"h{i}", "type": "lpg"}]}


def edits(n: int) -> tuple[list[str], int]:
    return [f"p{(n * EDITS + i) * 97 % PREMISES:05d}" for i in range(EDITS)], n * EDITS


def revised(raw: str, n: int) -> dict[str, Any]:
    d: dict[str, Any] = msgspec.json.decode(raw)
    return {**d, "rvp": f"v{n}", "version": d["version"] + 1}


def push_psycopg(conn: psycopg.Connection[Any], n: int) -> None:
    ids, base = edits(n)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(psql(DEVICE), ("bench",))
        docs = []
        for pid in ids:
            row = cur.execute(psql(RECORD), (pid,)).fetchone()
            assert row is not None
            cur.execute(psql(OPEN), (pid,)).fetchall()
            cur.execute(psql(WRITERS), (pid,)).fetchall()
            docs.append(revised(row[0], n))
        first = int(cur.execute(psql(COUNTER), (str(EDITS), EDITS)).fetchone()[0])  # type: ignore[index]
        cur.executemany(psql(UPSERT), [row_values(d, first - EDITS + 1 + i)
                                       for i, d in enumerate(docs)])
        cur.executemany(psql(WRITER), [(d["id"], "rvp", '{"user":"sam"}') for d in docs])
        cur.execute(psql(SEQ), (base + EDITS, "bench"))
        cur.executemany(psql(RECEIPT), [("bench", base + i + 1, '{"status":"applied"}')
                                        for i in range(EDITS)])
        cur.executemany(psql(AUDIT), [(d["id"], "T", _encode(d).decode()) for d in docs])


async def push_asyncpg(conn: asyncpg.Connection, n: int) -> None:
    ids, base = edits(n)
    async with conn.transaction():
        await conn.fetchval(DEVICE, "bench")
        docs = []
        for pid in ids:
            raw = await conn.fetchval(RECORD, pid)
            await conn.fetch(OPEN, pid)
            await conn.fetch(WRITERS, pid)
            docs.append(revised(raw, n))
        first = int(await conn.fetchval(COUNTER, str(EDITS), EDITS))
        await conn.executemany(UPSERT, [row_values(d, first - EDITS + 1 + i)
                                        for i, d in enumerate(docs)])
        await conn.executemany(WRITER, [(d["id"], "rvp", '{"user":"sam"}') for d in docs])
        await conn.execute(SEQ, base + EDITS, "bench")
        await conn.executemany(RECEIPT, [("bench", base + i + 1, '{"status":"applied"}')
                                         for i in range(EDITS)])
        await conn.executemany(AUDIT, [(d["id"], "T", _encode(d).decode()) for d in docs])


def page_psycopg(conn: psycopg.Connection[Any]) -> int:
    with conn.transaction():
        rows = conn.execute(psql(PAGE), (["A01"], 0, 1001, ["A01"], 0, 1001, 1001)).fetchall()
        return sum(len(d.encode()) for _, _, d in rows)


async def page_asyncpg(conn: asyncpg.Connection) -> int:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(PAGE, ["A01"], 0, 1001, ["A01"], 0, 1001, 1001)
        return sum(len(r[2].encode()) for r in rows)


async def median_ms(fn: Callable[[int], Awaitable[Any]], n: int) -> float:
    out = []
    for i in range(n):
        t = time.perf_counter()
        await fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


async def run(url: str) -> list[tuple[str, float, float]]:
    db = await PgDatabase(url, size=1).open()
    await migrate(db)

    def seed(conn: Any) -> None:
        conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
        pg_records.insert_many(conn, [doc(i) for i in range(PREMISES)])
    await db.write(seed)
    await db.close()
    loop = asyncio.get_running_loop()
    thread = ThreadPoolExecutor(1)
    sync_conn = await loop.run_in_executor(
        thread, lambda: psycopg.connect(url, autocommit=True))
    async_conn = await asyncpg.connect(url)
    try:
        await loop.run_in_executor(thread, lambda: sync_conn.execute("ANALYZE"))
        rows = []
        for rnd in range(2):  # interleaved rounds: both drivers meet the same machine load
            base = rnd * 2 * PUSHES
            pp = await median_ms(lambda i, b=base: loop.run_in_executor(
                thread, push_psycopg, sync_conn, b + i), PUSHES)
            pa = await median_ms(lambda i, b=base: push_asyncpg(async_conn, b + PUSHES + i),
                                 PUSHES)
            lp = await median_ms(lambda i: loop.run_in_executor(thread, page_psycopg,
                                                                sync_conn), PULLS)
            la = await median_ms(lambda i: page_asyncpg(async_conn), PULLS)
            rows += [(f"psycopg 3 on a worker thread, round {rnd + 1}", pp, lp),
                     (f"asyncpg on the event loop, round {rnd + 1}", pa, la)]
        return rows
    finally:
        await async_conn.close()
        await loop.run_in_executor(thread, sync_conn.close)
        thread.shutdown()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg import Cluster, binaries  # the tests' throwaway cluster: fsync off
    bindir = binaries()
    if bindir is None:
        sys.exit("PostgreSQL is not installed: apt-get install postgresql")
    cluster = Cluster(bindir).start()
    try:
        rows = asyncio.run(run(cluster.admin_url))
    finally:
        cluster.stop()
    print(f"| driver | push of {EDITS} updates, median ms ({PUSHES}) | "
          f"pull page of 1,000 rows, median ms ({PULLS}) |")
    print("| --- | --- | --- |")
    for name, push_ms, pull_ms in rows:
        print(f"| {name} | {push_ms:.2f} | {pull_ms:.2f} |")


if __name__ == "__main__":
    main()
