"""NATIONAL: a national dataset on PostgreSQL. N premises over 1,000 stations, bulk loaded
with COPY into a fresh schema of a durable throwaway cluster (tests/pg.py, fsync on); one
station's initial pull (rows/s) and a push of 10 updates (ms) at each N, in process through
the sync store and the engine (no HTTP), with the app's and PostgreSQL's CPU apart. The
measured station holds the same 1,000 premises at every N, spread evenly through the change
order and the heap; the other 999 share the rest round-robin. Run:

    .venv/bin/python -m bench.national [--sizes 20000,100000,300000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from bench import dataset
from bench.clients import WatchbookPage
from bench.engines_burst import tree_cpu
from bench.report import percentile, ratio, table
from server.demo import generate_premises, generate_stations
from server.store.postgres import sync as pg_sync
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate as pg_migrate
from server.store.records import COLUMNS, row_values
from sync import engine
from sync.protocol import FieldChange, Update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pg import Cluster, binaries  # noqa: E402

STATIONS = 1000
STATION = "N0000"   # the measured station
HELD = 1000         # its premises, at every size
TEMPLATES = 2000    # distinct demo records the rows are copied from
PULLS, PUSHES = 20, 100  # CPU is read in 10 ms ticks
CFG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095})
ACTOR = engine.Actor(1, "sam", "Sam", "supervisor", (STATION,), "national")
_page = msgspec.json.Decoder(WatchbookPage)


def station_of(i: int, n: int) -> str:
    """Row i's station: every (n / HELD)-th row the measured one's, else round-robin."""
    step = n // HELD
    return STATION if i % step == 0 and i // step < HELD else f"N{1 + i % (STATIONS - 1):04d}"


def load(url: str, n: int, templates: list[dict[str, Any]]) -> float:
    """The schema, 1,000 stations and `n` premises by COPY, then VACUUM ANALYZE; returns the
    seconds taken by COPY alone."""
    async def schema() -> None:
        db = await PgDatabase(url, size=1).open()
        try:
            await pg_migrate(db)
            await db.write(lambda c: pg_sync.ensure_epoch(c))
        finally:
            await db.close()
    asyncio.run(schema())
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur, cur.copy("COPY stations (code, name, lat, lon) FROM STDIN") as cp:
            for k in range(STATIONS):
                cp.write_row((f"N{k:04d}", f"Station {k}", 50 + k % 40 / 10, -3 + k // 40 / 10))
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy(
                f"COPY premises ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for i in range(n):
                t = templates[i % len(templates)]
                doc = {**t, "id": f"n{i:07d}", "station": station_of(i, n),
                       "uprn": str(200_000_000_000 + i)}
                cp.write_row(row_values(doc, i + 1))
        conn.execute("INSERT INTO meta (key, value) VALUES ('change_seq', %s) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value", (str(n),))
        conn.commit()
        copy_s = time.perf_counter() - t0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return copy_s


def _pull(db: PgDatabase) -> int:
    cursor, rows = "", 0
    while True:
        out = db.read_now(lambda c, cur=cursor: engine.pull(pg_sync.PgReader(c), ACTOR, cur,
                                                            None, CFG))
        page = _page.decode(out)  # rows left as raw JSON, as bench/clients.py reads them
        rows += len(page.changes)
        cursor = page.cursor
        if not page.more:
            return rows


def measure(url: str, postmaster: int) -> dict[str, Any]:
    db = asyncio.run(PgDatabase(url, size=1).open())
    try:
        held = db.read_now(lambda c: [msgspec.json.decode(r[0]) for r in c.execute(
            "SELECT doc FROM premises WHERE station = %s ORDER BY id", (STATION,)).fetchall()])
        assert len(held) == HELD, len(held)
        walls, rows = [], 0
        a0, d0 = time.process_time(), tree_cpu(postmaster)
        for _ in range(PULLS):
            t = time.perf_counter()
            got = _pull(db)
            walls.append(time.perf_counter() - t)
            assert got == HELD, got
            rows += got
        a1, d1 = time.process_time(), tree_cpu(postmaster)
        push_ms: list[float] = []
        statuses: Counter[str] = Counter()
        for k in range(PUSHES):
            batch = [Update(device_id=ACTOR.device_id, seq=10 * k + j + 1,
                            premises_id=d["id"], base_version=d["version"],
                            changes=[FieldChange("risk_notes", d.get("risk_notes"),
                                                 f"checked {k}.{j}")])
                     for j in range(10) for d in [held[(10 * k + j) % HELD]]]
            t = time.perf_counter()
            res = db.write_now(lambda c, b=batch: pg_sync.run_tx(c, lambda tx: engine.push(
                tx, ACTOR, b, "2026-01-01T00:00:00Z", CFG)))
            push_ms.append((time.perf_counter() - t) * 1000)
            statuses.update(r.status for r in res.receipts)
        a2, d2 = time.process_time(), tree_cpu(postmaster)
    finally:
        asyncio.run(db.close())
    pull_s = statistics.median(walls)
    return {"pull rows/s": HELD / pull_s, "first pull rows/s": HELD / walls[0],
            "push p50 ms": statistics.median(push_ms),
            "push p95 ms": percentile(push_ms, 95),
            "receipts": ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())),
            "app CPU ms / 1,000 pulled rows": 1e6 * (a1 - a0) / rows,
            "db CPU ms / 1,000 pulled rows": 1e6 * (d1 - d0) / rows,
            "app CPU ms / push": 1000 * (a2 - a1) / PUSHES,
            "db CPU ms / push": 1000 * (d2 - d1) / PUSHES}


def run(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    bindir = binaries()
    if bindir is None:
        raise SystemExit("needs Debian's PostgreSQL: sudo apt-get install postgresql")
    templates = generate_premises(TEMPLATES, generate_stations(12), dataset.SEED, dataset.TODAY)
    out = []
    cluster = Cluster(bindir, durable=True).start()
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        for n in sizes:
            url = cluster.fresh_url()
            copy_s = load(url, n, templates)
            print(f"  {n:,} premises loaded: COPY {copy_s:.0f} s ({n / copy_s:,.0f} rows/s)",
                  flush=True)
            out.append({"premises": n, "COPY rows/s": n / copy_s, **measure(url, postmaster)})
            with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
                schema = url.rsplit("%3D", 1)[1]
                conn.execute(f"DROP SCHEMA {schema} CASCADE")  # the next size's disk and cache
    finally:
        cluster.stop()
    return out


def report(rows: list[dict[str, Any]]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = table(f"NATIONAL: one station's {HELD:,} premises among N over {STATIONS:,} stations, "
                 f"PostgreSQL (fsync on), in process, medians of {PULLS} pulls and {PUSHES} "
                 f"pushes of 10 updates ({when}, load average {os.getloadavg()[0]:.1f}, "
                 "2 shared cores)", list(rows[0]), [list(r.values()) for r in rows])
    base = rows[0]
    text += "\n" + table(f"NATIONAL ratios to {base['premises']:,} premises (same run; "
                         "1.00 is flat)", ["premises", "pull rows/s", "push p50 ms",
                                           "push p95 ms"], [
        [r["premises"], ratio(r["pull rows/s"], base["pull rows/s"]),
         ratio(r["push p50 ms"], base["push p50 ms"]),
         ratio(r["push p95 ms"], base["push p95 ms"])] for r in rows])
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000")
    args = parser.parse_args()
    print(report(run(tuple(int(x) for x in args.sizes.split(",")))))
