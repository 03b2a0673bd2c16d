"""P1, the initial pull: every premises, page by page, over loopback HTTP from this process,
for Watchbook (one device; ten devices at once), Datasette and pouchdb-server; and the limit
(bench/limit.py). Rounds are interleaved: each round runs every system once.

Server CPU is read from /proc/<pid>/stat of the server process before and after a read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import clients, dataset, limit, systems
from bench.procs import Server
from bench.report import median, ratio, table, verdict

Job = Callable[[], Awaitable[list[clients.Read]]]


@dataclass
class Sample:
    rows: int
    wall: float
    cpu: float
    wire: int
    raw: int


@dataclass
class Result:
    system: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return median([s.wall for s in self.samples])

    @property
    def cpu_per_k(self) -> float:
        return median([s.cpu / s.rows * 1e6 for s in self.samples])  # ms per 1,000 rows

    @property
    def rows(self) -> int:
        return self.samples[0].rows

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall

    @property
    def wire(self) -> int:
        return self.samples[0].wire

    @property
    def raw(self) -> int:
        return self.samples[0].raw


async def _measure(server: Server | None, job: Job) -> Sample:
    c0 = server.cpu() if server else 0.0
    t0 = time.perf_counter()
    reads = await job()
    wall = time.perf_counter() - t0
    cpu = (server.cpu() if server else 0.0) - c0
    return Sample(sum(r.rows for r in reads), wall, cpu, sum(r.wire for r in reads),
                  sum(r.raw for r in reads))


async def _run(n: int, rounds: int, db: Path, pouch: bool, ten: bool) -> dict[str, Result]:
    results: dict[str, Result] = {}
    wb = systems.watchbook(dataset.working_copy(n, "p1"), "watchbook-p1").start()
    servers = [wb]
    try:
        ds = systems.datasette(db).start()
        servers.append(ds)
        pd = systems.pouchdb(n).start() if pouch else None
        if pd is not None:
            servers.append(pd)
        async with clients.session() as http:
            tokens = [await clients.enrol(http, wb.base, f"bench-{i}") for i in range(10)]
            dbname = db.stem
            jobs: dict[str, tuple[Server, Job]] = {
                "Watchbook, 1 device (gzip)": (wb, lambda: _gather(
                    clients.watchbook_pull(http, wb.base, tokens[0], gzip=True))),
                "Watchbook, 1 device (identity)": (wb, lambda: _gather(
                    clients.watchbook_pull(http, wb.base, tokens[0], gzip=False))),
            }
            if ten:
                jobs["Watchbook, 10 devices at once (gzip)"] = (wb, lambda: _gather(
                    *(clients.watchbook_pull(http, wb.base, t, gzip=True) for t in tokens)))
            jobs["Datasette (_next pages)"] = (ds, lambda: _gather(
                clients.datasette_pull(http, ds.base, dbname)))
            if pd is not None:
                jobs["pouchdb-server (_changes pages)"] = (pd, lambda: _gather(
                    clients.pouchdb_pull(http, pd.base)))
            for name, (server, job) in jobs.items():  # warm-up: caches, first token check
                await _measure(server, job)
                results[name] = Result(name)
            for _ in range(rounds):
                for name, (server, job) in jobs.items():
                    results[name].samples.append(await _measure(server, job))
                for name, fn in (("limit: SQLite + encode, in process", limit.sqlite_pages),
                                 ("limit: SQLite + encode + gzip-1, in process",
                                  lambda p: limit.sqlite_pages(p, gzip=True)),
                                 ("engine pull in process (no HTTP)", limit.engine_pages)):
                    run = fn(db)
                    results.setdefault(name, Result(name)).samples.append(
                        Sample(run.rows, run.wall, run.cpu, run.body, run.body))
    finally:
        for s in servers:
            s.stop()
    return results


async def _gather(*reads: Awaitable[clients.Read]) -> list[clients.Read]:
    return list(await asyncio.gather(*reads))


def run(n: int, rounds: int, pouch: bool = True, ten: bool = True) -> dict[str, Result]:
    """Every system `rounds` times, interleaved, after one warm-up read each."""
    db = dataset.premises_db(n)
    if pouch:
        systems.ensure_pouchdb(n)  # loads the documents once per size
    return asyncio.run(_run(n, rounds, db, pouch, ten))


def report(n: int, results: dict[str, Result]) -> str:
    wb1 = results["Watchbook, 1 device (gzip)"]
    rows = []
    for r in results.values():
        rows.append([r.system, r.rows, r.wall, r.rows_per_s, r.cpu_per_k, r.wire / 1e6,
                     len(r.samples)])
    out = table(f"P1 initial pull, {n:,} premises (medians)",
                ["system", "rows", "wall s", "rows/s", "server CPU ms / 1k rows",
                 "wire MB", "rounds"], rows)
    lim = results["limit: SQLite + encode, in process"]
    limz = results["limit: SQLite + encode + gzip-1, in process"]
    wbi = results["Watchbook, 1 device (identity)"]
    checks = []
    for peer, target in (("Datasette (_next pages)", 2.0),
                         ("pouchdb-server (_changes pages)", 8.0)):
        if peer not in results:
            continue
        for label, wb in (("gzip", wb1), ("identity", wbi)):
            speed = ratio(results[peer].wall, wb.wall)
            checks.append([f"wall: {peer} / Watchbook ({label})", speed, f">= {target}",
                           verdict(speed >= target)])
        checks.append([f"server CPU/row: {peer} / Watchbook (gzip)",
                       ratio(results[peer].cpu_per_k, wb1.cpu_per_k), "-", "-"])
    for label, wb, lm in (("gzip", wb1, limz), ("identity", wbi, lim)):
        cpu = ratio(wb.cpu_per_k, lm.cpu_per_k)
        checks.append([f"server CPU/row: Watchbook ({label}) / limit ({label})", cpu, "<= 2",
                       verdict(cpu <= 2)])
        checks.append([f"wall: Watchbook ({label}) / limit ({label})",
                       ratio(wb.wall, lm.wall), "-", "-"])
    out += "\n" + table(f"P1 ratios, {n:,} premises", ["ratio", "value", "target", ""],
                        checks)
    return out


def wire_report(n: int, results: dict[str, Result]) -> str:
    """P4: bytes on the wire for the whole initial pull, compressed versus raw JSON."""
    gz, raw = results["Watchbook, 1 device (gzip)"], results["Watchbook, 1 device (identity)"]
    share = ratio(gz.wire, raw.wire)
    rows = [["Watchbook gzip (level 1)", gz.wire / 1e6, share, "<= 25%", verdict(share <= 0.25)],
            ["Watchbook identity (raw JSON)", raw.wire / 1e6, 1.0, "-", "-"]]
    for peer in ("Datasette (_next pages)", "pouchdb-server (_changes pages)"):
        if peer in results:
            rows.append([peer, results[peer].wire / 1e6, ratio(results[peer].wire, raw.wire),
                         "-", "-"])
    return table(f"P4 bytes on the wire, full initial pull of {n:,} premises",
                 ["system", "MB", "share of raw JSON", "target", ""], rows)
