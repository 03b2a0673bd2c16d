"""SEARCH: 300 typed queries (name prefixes, name words, postcode districts, drawn
deterministically from the demo rows) against Watchbook's `GET /api/premises?q=` over loopback,
Datasette over an FTS5 table of the same rows, and in process (Watchbook's search function and
a bare FTS5 `MATCH … LIMIT 50`: the floor); one client and 20 at once. Datasette gets the
first PEER_QUERIES_BIG of them at 1,000,000 (over a second each), which keeps the run bounded.

Owns the query list, the Datasette copy of the rows and the timing; the servers come from
bench.systems.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import clients, dataset, systems
from bench.report import fmt, percentile, ratio, table, verdict
from server.store import search

QUERIES = 300
LIMIT = 50
CONCURRENCY = (1, 20)
PEER_QUERIES_BIG = 60   # Datasette takes over a second a query at 1,000,000: the first 60 only
TARGET_P95_MS = {20_000: 5.0, 1_000_000: 10.0}


def queries(n: int, count: int = QUERIES, seed: int = 18) -> list[str]:
    """A third each: the first 3-6 letters of a name's first word (typing), a whole word of a
    name, and a postcode district ("PE13"), from rows picked by a seeded generator."""
    with sqlite3.connect(dataset.premises_db(n)) as conn:
        total = conn.execute("SELECT max(rowid) FROM premises").fetchone()[0]
        rng = random.Random(seed)
        out: list[str] = []
        while len(out) < count:
            row = conn.execute("SELECT name, postcode FROM premises WHERE rowid = ?",
                               (rng.randint(1, total),)).fetchone()
            if row is None:
                continue
            name_words = [w for w in re.findall(r"[A-Za-z]+", row[0]) if len(w) >= 3]
            kind = len(out) % 3
            if kind == 0 and name_words:
                out.append(name_words[0][:rng.randint(3, 6)].lower())
            elif kind == 1 and name_words:
                out.append(rng.choice(name_words))
            elif kind == 2 and row[1]:
                out.append(row[1].split()[0])
        return out


def fts_expression(q: str) -> str:
    """What Datasette is sent (raw mode): the same prefix expression Watchbook builds."""
    return " AND ".join(f'"{w}"*' for w in search.words(q))


def datasette_db(n: int) -> Path:
    """The same rows as a plain table with an FTS5 index (content=premises), the way
    sqlite-utils `enable-fts` sets it up; built once."""
    path = dataset.DATA / f"datasette-search-{n}.db"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as conn:
        conn.execute(f"ATTACH '{dataset.premises_db(n)}' AS src")
        conn.executescript("""
            CREATE TABLE premises (id TEXT PRIMARY KEY, name TEXT, address TEXT,
                postcode TEXT, postcode_compact TEXT, uprn TEXT, station TEXT, risk_level INT);
            INSERT INTO premises SELECT id, name, address, postcode, replace(postcode, ' ', ''),
                uprn, station, risk_level FROM src.premises WHERE deleted = 0;
            CREATE VIRTUAL TABLE premises_fts USING fts5(name, address, postcode,
                postcode_compact, uprn, content=premises,
                tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 5 6');
            INSERT INTO premises_fts (premises_fts) VALUES ('rebuild');
        """)
        conn.commit()
        conn.execute("DETACH src")
    tmp.rename(path)
    return path


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)   # ms
    wall: float = 0.0
    errors: int = 0
    cpu: float = float("nan")   # server CPU seconds (the kernel's count: robust to a busy box)

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def qps(self) -> float:
        return len(self.latencies) / self.wall if self.wall else float("nan")


async def _drive(one: Callable[[str], Awaitable[bool]], qs: list[str], clients_: int) -> Result:
    """`clients_` workers take the queries in turn; each times its own requests."""
    result, todo = Result(), list(reversed(qs))

    async def worker() -> None:
        while todo:
            q = todo.pop()
            t0 = time.perf_counter()
            ok = await one(q)
            result.latencies.append((time.perf_counter() - t0) * 1000)
            result.errors += not ok
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients_)))
    result.wall = time.perf_counter() - t0
    return result


def _in_process(fn: Callable[[sqlite3.Connection, str], object], path: Path,
                qs: list[str]) -> Result:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for q in qs[:50]:  # warm the cache as the servers' first round does
            fn(conn, q)
        result = Result()
        t0, c0 = time.perf_counter(), time.process_time()
        for q in qs:
            t = time.perf_counter()
            fn(conn, q)
            result.latencies.append((time.perf_counter() - t) * 1000)
        result.wall = time.perf_counter() - t0
        result.cpu = time.process_time() - c0
        return result
    finally:
        conn.close()


def _watchbook_search(conn: sqlite3.Connection, q: str) -> object:
    return search.search(conn, q, search.Filters(), limit=LIMIT)


def _fts_limit(conn: sqlite3.Connection, q: str) -> object:
    return conn.execute("SELECT rowid FROM premises_fts WHERE premises_fts MATCH ? LIMIT ?",
                        (search.match_all(search.words(q)), LIMIT)).fetchall()


def run(n: int) -> dict[str, dict[int, Result]]:
    qs = queries(n)
    out: dict[str, dict[int, Result]] = {}
    wb_db = dataset.working_copy(n, "search")
    ds_db = datasette_db(n)
    server = systems.watchbook(wb_db, "watchbook-search").start()
    peer = systems.datasette(ds_db).start()
    try:
        async def over_http() -> None:
            async with clients.session(max(CONCURRENCY)) as http:
                token = await clients.enrol(http, server.base, "search")  # admin: every row
                headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}

                async def watchbook(q: str) -> bool:
                    async with http.get(f"{server.base}/api/premises",
                                        params={"q": q, "limit": str(LIMIT)},
                                        headers=headers) as resp:
                        await resp.read()
                        return resp.status == 200

                async def datasette(q: str) -> bool:
                    async with http.get(
                            f"{peer.base}/{ds_db.stem}/premises.json",
                            params={"_search": fts_expression(q), "_searchmode": "raw",
                                    "_size": str(LIMIT), "_shape": "objects"},
                            headers={"Accept-Encoding": "gzip"}) as resp:
                        await resp.read()
                        return resp.status == 200

                peer_qs = qs if n <= 100_000 else qs[:PEER_QUERIES_BIG]
                for name, one, proc, these in (
                        ("Watchbook GET /api/premises?q=", watchbook, server, qs),
                        ("Datasette ?_search= (FTS5)", datasette, peer, peer_qs)):
                    await _drive(one, these[:20], 4)  # warm-up, not counted
                    out[name] = {}
                    for c in CONCURRENCY:
                        c0 = proc.cpu()
                        out[name][c] = await _drive(one, these, c)
                        out[name][c].cpu = proc.cpu() - c0
        asyncio.run(over_http())
    finally:
        server.stop()
        peer.stop()
    wb_pristine = dataset.premises_db(n)
    out["Watchbook search(), in process"] = {1: _in_process(_watchbook_search, wb_pristine, qs)}
    out["limit: FTS5 MATCH … LIMIT 50, in process"] = {
        1: _in_process(_fts_limit, wb_pristine, qs)}
    return out


def report(results: dict[int, dict[str, dict[int, Result]]]) -> str:
    rows = []
    for n, by_system in sorted(results.items()):
        peer = by_system.get("Datasette ?_search= (FTS5)", {})
        for name, by_clients in by_system.items():
            for c, r in sorted(by_clients.items()):
                vs = ratio(r.qps, peer[c].qps) if c in peer and "Datasette" not in name else \
                    float("nan")
                rows.append([n, name, c, len(r.latencies), percentile(r.latencies, 50),
                             percentile(r.latencies, 95), r.qps, vs, r.cpu_ms, r.errors])
    text = table(f"SEARCH: {QUERIES} typed queries (name prefixes, name words, postcode "
                 f"districts), {LIMIT} a page",
                 ["premises", "system", "clients", "queries", "p50 ms", "p95 ms", "queries/s",
                  "× Datasette q/s", "CPU ms / query", "errors"], rows)
    lines = []
    for n, by_system in sorted(results.items()):
        wb = by_system.get("Watchbook GET /api/premises?q=", {})
        peer = by_system.get("Datasette ?_search= (FTS5)", {})
        target = TARGET_P95_MS.get(n)
        if 1 in wb and target is not None:
            p95 = percentile(wb[1].latencies, 95)
            lines.append(f"- {n:,} premises: single-client p95 {fmt(p95)} ms against a "
                         f"target of {fmt(target)} ms: {verdict(p95 <= target)}")
        for c in CONCURRENCY:
            if c in wb and c in peer:
                x = ratio(wb[c].qps, peer[c].qps)
                lines.append(f"- {n:,} premises, {c} client(s): {fmt(x)}× Datasette's "
                             f"queries/s (target 10×): {verdict(x >= 10)}")
    return text + "\n" + "\n".join(lines) + "\n"
