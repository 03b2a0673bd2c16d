"""P2 ON ENGINES: the shift-change burst of bench/burst.py (D devices, 10 edits each, 50
connections, push then pull) against SQLite's one server process and PostgreSQL's with 1 and
2 (`watchbook serve --workers N`), in one run over the same premises (PostgreSQL's copied
from the same SQLite file by `watchbook migrate-to-postgres`); each round's receipts audit;
and server CPU, the app's processes and PostgreSQL's apart, per mutation of the burst and
per 1,000 rows of full initial pulls. PostgreSQL is a throwaway cluster (tests/pg.py, fsync
on) on the same machine. Run:

    .venv/bin/python -m bench.engines_burst [--premises 20000] [--devices 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench import burst, dataset, systems
from bench.procs import TICKS, Server, free_port
from bench.report import percentile, ratio, table
from bench.transport import AiohttpTransport
from sync.client import SyncClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pg import Cluster, binaries  # noqa: E402

PULLS = 20  # full initial pulls timed per engine (CPU is read in 10 ms ticks)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(text[text.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its descendants, with children already reaped."""
    kids, total, todo = _children(), 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        f = text[text.rindex(")") + 2:].split()
        total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / TICKS
        todo.extend(kids.get(pid, []))
    return total


def _watchbook_pg(url: str, workers: int, name: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())",
            "serve", "--port", str(port), "--workers", str(workers)]
    return Server(name, argv, port, systems.LOGS / f"{name}.log", ready_path="/healthz",
                  env={"WATCHBOOK_DATABASE_URL": url, "WATCHBOOK_SECRET_KEY": "bench",
                       **dataset.FAST_HASH_ENV})


async def _initial_pulls(server: Server, token: str) -> int:
    """Full pulls of one device's scope from no cursor; the rows received."""
    rows = 0
    async with aiohttp.ClientSession() as http:
        for _ in range(PULLS):
            c = SyncClient(AiohttpTransport(http, server.base), token, "")
            await c.pull()
            rows += len(c.replica)
    return rows


def round_on(name: str, server: Server, premises_db: Path, url: str, postmaster: int | None,
             devices_n: int, seed: int) -> dict[str, Any]:
    with server:
        devices, _ = asyncio.run(burst._prepare(server, devices_n, seed))
        db_cpu = (lambda: tree_cpu(postmaster)) if postmaster else (lambda: 0.0)
        a0, d0 = tree_cpu(server.pid), db_cpu()
        rows = asyncio.run(_initial_pulls(server, devices[1].token))
        a1, d1 = tree_cpu(server.pid), db_cpu()
        wall, transport = asyncio.run(burst._burst(server, devices))
        a2, d2 = tree_cpu(server.pid), db_cpu()
    if url:
        with psycopg.connect(url) as conn:
            statuses, audit = burst.audit_on(conn, devices)
    else:
        statuses, audit = burst._audit(premises_db, devices)
    lat = [x * 1000 for x in transport.latencies]
    mutations = audit["mutations"]
    return {"engine": name, "mutations": mutations, "wall s": wall,
            "p50 ms": percentile(lat, 50), "p95 ms": percentile(lat, 95),
            "lost": audit["lost (no server receipt)"],
            "duplicated": audit["duplicated receipts"] + audit["duplicated audit entries"],
            "app CPU ms / mutation": 1000 * (a2 - a1) / mutations,
            "db CPU ms / mutation": 1000 * (d2 - d1) / mutations,
            "app CPU ms / 1,000 pulled rows": 1e6 * (a1 - a0) / rows,
            "db CPU ms / 1,000 pulled rows": 1e6 * (d1 - d0) / rows}


def main(premises: int, devices: int, seed: int = 11) -> str:
    bindir = binaries()
    if bindir is None:
        raise SystemExit("needs Debian's PostgreSQL: sudo apt-get install postgresql")
    rows = []
    db = dataset.working_copy(premises, "p2-sqlite")
    rows.append(round_on("SQLite, 1 process", systems.watchbook(db, "p2-sqlite"), db, "",
                         None, devices, seed))
    cluster = Cluster(bindir, durable=True).start()
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        for workers in (1, 2):
            url = cluster.fresh_url()
            source = dataset.working_copy(premises, f"p2-pg{workers}")
            subprocess.run([sys.executable, "-c", "import sys; from server.cli import main; "
                            "sys.exit(main())", "migrate-to-postgres", "--from", str(source)],
                           env={**os.environ, "WATCHBOOK_DATABASE_URL": url}, check=True,
                           capture_output=True)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            server = _watchbook_pg(url, workers, f"p2-pg{workers}")
            rows.append(round_on(f"PostgreSQL, {workers} process{'es' if workers > 1 else ''}",
                                 server, source, url, postmaster, devices, seed))
    finally:
        cluster.stop()
    base = rows[0]
    text = table(f"P2 on both engines: {devices} devices, {premises:,} premises, one run "
                 f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
                 f"{os.getloadavg()[0]:.1f})", list(base), [list(r.values()) for r in rows])
    text += "\n" + table("Ratios to SQLite", ["engine", "wall", "p95", "CPU / mutation",
                                              "CPU / 1,000 pulled rows"], [
        [r["engine"], ratio(r["wall s"], base["wall s"]), ratio(r["p95 ms"], base["p95 ms"]),
         ratio(r["app CPU ms / mutation"] + r["db CPU ms / mutation"],
               base["app CPU ms / mutation"]),
         ratio(r["app CPU ms / 1,000 pulled rows"] + r["db CPU ms / 1,000 pulled rows"],
               base["app CPU ms / 1,000 pulled rows"])] for r in rows])
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--premises", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()
    print(main(args.premises, args.devices))
