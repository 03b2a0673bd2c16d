"""Load-client cross-check: the same request (an up-to-date device asking for changes: an
empty pull page) at 50 connections for a few seconds, from the aiohttp client and from wrk.
If they agree, the aiohttp client is not what limits P2.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time

import aiohttp

from bench import clients, dataset, systems
from bench.report import table

CONNECTIONS = 50


async def _aiohttp_rate(url: str, token: str, seconds: float) -> tuple[float, int]:
    conn = aiohttp.TCPConnector(limit=CONNECTIONS)
    headers = {"Authorization": f"Bearer {token}"}
    done = errors = 0
    async with aiohttp.ClientSession(connector=conn) as http:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop:
                async with http.get(url, headers=headers) as resp:
                    await resp.read()
                    done += 1
                    errors += resp.status != 200
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return done / (time.perf_counter() - t0), errors


def _wrk_rate(url: str, token: str, seconds: float) -> float | None:
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{int(seconds)}s",
                          "-H", f"Authorization: Bearer {token}", url],
                         capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else None


def run(n: int, seconds: float = 5.0, rounds: int = 3) -> list[list[object]]:
    server = systems.watchbook(dataset.working_copy(n, "capacity"), "watchbook-capacity")
    server.start()
    rows: list[list[object]] = []
    try:
        async def prepare() -> tuple[str, str]:
            async with clients.session() as http:
                token = await clients.enrol(http, server.base, "capacity")
                # catch up once: afterwards every pull is an empty page
                return token, (await clients.watchbook_pull(http, server.base, token)).cursor
        token, cursor = asyncio.run(prepare())
        url = f"{server.base}/api/sync/pull?cursor={cursor}"
        for _ in range(rounds):
            c0 = server.cpu()
            rate, errors = asyncio.run(_aiohttp_rate(url, token, seconds))
            cpu = server.cpu() - c0
            rows.append(["aiohttp", rate, cpu / (rate * seconds) * 1000, errors])
            c0 = server.cpu()
            wrk = _wrk_rate(url, token, seconds)
            if wrk is not None:
                cpu = server.cpu() - c0
                rows.append(["wrk", wrk, cpu / (wrk * seconds) * 1000, "-"])
    finally:
        server.stop()
    return rows


def report(rows: list[list[object]]) -> str:
    return table(f"Load client cross-check: empty pull page, {CONNECTIONS} connections "
                 "(each round)", ["client", "req/s", "server CPU ms / req", "non-200"], rows)
