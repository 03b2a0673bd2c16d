"""`python -m bench.stores`: the sync store alone, in process, on SQLite and on PostgreSQL
(psycopg 3, the throwaway cluster of tests/pg.py, or WATCHBOOK_DATABASE_URL's database, into a
fresh schema): median ms of a push of 10 updates (one transaction through engine.push) and of a
1,000-row pull page from 20,000 premises. No HTTP; one client at a time."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server.store import records
from server.store.database import Database
from server.store.migrations import migrate
from server.store.postgres import records as pg_records
from server.store.postgres import sync as pg_sync
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate as pg_migrate
from server.store.sync import SqliteStore, ensure_epoch
from sync import engine
from sync.protocol import FieldChange, Update

PREMISES, PUSHES, PULLS = 20_000, 200, 20
CFG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095})
ACTOR = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), "bench")


def docs() -> list[dict[str, Any]]:
    return [{"id": f"p{i:05d}", "station": "A01", "name": f"Premises {i}", "version": 1,
             "address": f"{i} High Street", "risk_level": 2, "risk_notes": "x" * 800,
             "hazards": [{"id": f"h{i}", "type": "lpg"}]} for i in range(PREMISES)]


async def measure(store: Any) -> tuple[float, float]:
    async def timed(fn: Callable[[], Awaitable[Any]], n: int) -> float:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            await fn()
            out.append((time.perf_counter() - t) * 1000)
        return statistics.median(out)
    seq = iter(range(1, 10 * PUSHES + 1))

    async def push() -> None:
        ms = [Update(device_id="bench", seq=next(seq), premises_id=f"p{(i * 97) % PREMISES:05d}",
                     base_version=1, changes=[FieldChange("rvp", None, f"v{i}")])
              for i in range(10)]
        await store.write(lambda tx: engine.push(tx, ACTOR, ms, "2026-01-01T00:00:00Z", CFG))

    async def pull() -> None:
        await store.read(lambda r: r.changes(0, ["A01"], 1000, 8 * 2**20))
    return await timed(push, PUSHES), await timed(pull, PULLS)


async def sqlite() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database(Path(tmp) / "b.db", read_connections=1).open()
        await migrate(db)

        def seed(conn: Any) -> None:
            ensure_epoch(conn)
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
            records.insert_many(conn, docs())
        await db.write(seed)
        try:
            return await measure(SqliteStore(db))
        finally:
            await db.close()


async def postgres(url: str) -> tuple[float, float]:
    db = await PgDatabase(url, size=2).open()
    await pg_migrate(db)

    def seed(conn: Any) -> None:
        pg_sync.ensure_epoch(conn)
        conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
        pg_records.insert_many(conn, docs())
        conn.execute("ANALYZE")
    await db.write(seed)
    try:
        return await measure(pg_sync.PgStore(db))
    finally:
        await db.close()


def pushes_per_second(url: str, threads: int, seconds: float = 5.0) -> float:
    """Pushes of 10 updates committed per second by `threads` connections at once, each
    thread its own device and its own records (no lock shared but the change counter)."""
    async def setup() -> PgDatabase:
        db = await PgDatabase(url, size=threads).open()
        await pg_migrate(db)

        def seed(conn: Any) -> None:
            pg_sync.ensure_epoch(conn)
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0) "
                         "ON CONFLICT DO NOTHING")
            pg_records.insert_many(conn, [{**d, "id": f"t{threads}-{d['id']}"}
                                          for d in docs()[:threads * 1000]])
        await db.write(seed)
        return db
    db = asyncio.run(setup())
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def work(k: int) -> None:
        a = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), f"t{threads}-{k}")
        n = 0
        while time.perf_counter() < stop:
            ms = [Update(device_id=a.device_id, seq=10 * n + i + 1,
                         premises_id=f"t{threads}-p{k * 1000 + (10 * n + i) % 1000:05d}",
                         base_version=1, changes=[FieldChange("rvp", None, f"v{n}")])
                  for i in range(10)]
            db.write_now(lambda c, batch=ms: pg_sync.run_tx(c, lambda tx: engine.push(
                tx, a, batch, "2026-01-01T00:00:00Z", CFG)))
            n += 1
            done[k] += 1
    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    rate = sum(done) / (time.perf_counter() - start)
    asyncio.run(db.close())
    return rate


def throughput() -> None:
    """`python -m bench.stores throughput`: pushes/s on a durable cluster (fsync on)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg import Cluster, binaries
    bindir = binaries()
    if bindir is None:
        sys.exit("PostgreSQL is not installed: apt-get install postgresql")
    cluster = Cluster(bindir, durable=True).start()
    try:
        url = cluster.fresh_url()
        print("| connections pushing at once | pushes of 10 updates per second (fsync on) |")
        print("| --- | --- |")
        for threads in (1, 2, 4, 8):
            print(f"| {threads} | {pushes_per_second(url, threads):.0f} |")
    finally:
        cluster.stop()


def main() -> None:
    if sys.argv[1:] == ["throughput"]:
        throughput()
        return
    rows = [("SQLite (aiosqlite)", asyncio.run(sqlite()))]
    url = os.environ.get("WATCHBOOK_DATABASE_URL")
    if url:
        rows.append(("PostgreSQL (psycopg 3), WATCHBOOK_DATABASE_URL",
                     asyncio.run(postgres(url))))
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pg import Cluster, binaries  # the tests' throwaway cluster: fsync off
        bindir = binaries()
        if bindir is None:
            sys.exit("PostgreSQL is not installed: apt-get install postgresql")
        cluster = Cluster(bindir).start()
        try:
            rows.append(("PostgreSQL (psycopg 3), throwaway cluster, fsync off",
                         asyncio.run(postgres(cluster.fresh_url()))))
        finally:
            cluster.stop()
    print(f"| store | push of 10 updates, median ms ({PUSHES}) | "
          f"pull page of 1,000 rows of {PREMISES:,}, median ms ({PULLS}) |")
    print("| --- | --- | --- |")
    for name, (push_ms, pull_ms) in rows:
        print(f"| {name} | {push_ms:.2f} | {pull_ms:.1f} |")


if __name__ == "__main__":
    main()
