"""`python -m bench forged`: 16 clients sending forged bearer tokens for a real device id (and,
second, 16 sending wrong passwords) to a live server with production argon2 parameters, while
`/healthz` is timed; the issue's target is a median under 50 ms during the forged flood.

Each part reports the /healthz latency (median, p95, max) alone and under the flood, and how
many flood requests were answered per second. Runs alone: it needs nothing of the other parts.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp

from bench import clients, dataset, systems
from bench.report import table

ARGON2_DEFAULTS = {"WATCHBOOK_ARGON2_TIME_COST": "3", "WATCHBOOK_ARGON2_MEMORY_COST": "65536",
                   "WATCHBOOK_ARGON2_PARALLELISM": "4"}
Flood = Callable[[aiohttp.ClientSession], Awaitable[int]]


async def _healthz_latencies(http: aiohttp.ClientSession, base: str, seconds: float,
                             gap: float = 0.02) -> list[float]:
    """/healthz answered one after another, `gap` s apart, for `seconds`: ms each."""
    out: list[float] = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        async with http.get(f"{base}/healthz") as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(gap)
    return out


async def _under_flood(base: str, flood: Flood, workers: int, seconds: float
                       ) -> tuple[list[float], float, dict[int, int]]:
    """/healthz latencies while `workers` clients repeat `flood`; (ms, flood req/s, statuses)."""
    statuses: dict[int, int] = {}
    done = 0
    running = True
    async with clients.session(workers + 4) as http:
        async def worker() -> None:
            nonlocal done
            while running:
                status = await flood(http)
                statuses[status] = statuses.get(status, 0) + 1
                done += 1
        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        await asyncio.sleep(0.5)  # the flood is under way
        t0, before = time.perf_counter(), done
        latencies = await _healthz_latencies(http, base, seconds)
        rate = (done - before) / (time.perf_counter() - t0)
        running = False
        await asyncio.gather(*tasks)
    return latencies, rate, statuses


def _row(name: str, ms: list[float], rate: float | None, statuses: dict[int, int]) -> list[object]:
    ms = sorted(ms)
    return [name, len(ms), round(statistics.median(ms), 1),
            round(ms[int(len(ms) * 0.95) - 1], 1), round(ms[-1], 1),
            "" if rate is None else round(rate), ", ".join(
                f"{k}: {v}" for k, v in sorted(statuses.items()))]


def run(workers: int = 16, seconds: float = 5.0, premises: int = 200) -> list[list[object]]:
    server = systems.watchbook(dataset.working_copy(premises, "forged"), "watchbook-forged",
                               **ARGON2_DEFAULTS)
    server.start()
    rows: list[list[object]] = []
    try:
        async def go() -> None:
            async with clients.session() as http:
                token = await clients.enrol(http, server.base, "forged-bench")
                quiet = await _healthz_latencies(http, server.base, seconds)
            rows.append(_row("/healthz alone", quiet, None, {}))
            device = token[3:].split("_", 1)[0]

            async def forged(http: aiohttp.ClientSession) -> int:
                fake = f"wb_{device}_{secrets.token_urlsafe(32)}"
                async with http.get(f"{server.base}/api/me",
                                    headers={"Authorization": f"Bearer {fake}"}) as resp:
                    await resp.read()
                    return resp.status

            async def wrong_password(http: aiohttp.ClientSession) -> int:
                async with http.post(f"{server.base}/api/devices/enrol", json={
                        "username": "nobody-" + secrets.token_hex(4),
                        "password": "wrong"}) as resp:
                    await resp.read()
                    return resp.status

            for name, flood in ((f"/healthz under {workers} forged-token clients", forged),
                                (f"/healthz under {workers} wrong-password clients",
                                 wrong_password)):
                ms, rate, statuses = await _under_flood(server.base, flood, workers, seconds)
                rows.append(_row(name, ms, rate, statuses))
        asyncio.run(go())
    finally:
        server.stop()
    return rows


def report(rows: list[list[object]]) -> str:
    return table("Forged tokens and sign-in floods: /healthz latency (ms)",
                 ["measured", "samples", "median", "p95", "max", "flood req/s",
                  "flood answers"], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench forged", description=__doc__)
    p.add_argument("--workers", type=int, default=16, help="flooding clients (default 16)")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per part (default 5)")
    args = p.parse_args(argv)
    print(report(run(args.workers, args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
