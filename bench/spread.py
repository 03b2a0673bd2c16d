"""SPREAD: P2's shift-change burst (bench/burst.py: 10 edits a device, 50 connections, push
then pull, the receipts audit) with the fleet spread over every station instead of one
station's hot set: device i belongs to station i mod 12 (a crew or supervisor account of that
station, one device in four a supervisor's), and edits its own station's hot premises. Run
beside the one-hot-set burst at the same fleet size, in one run, on SQLite:

    .venv/bin/python -m bench.spread [--premises 20000] [--devices 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import burst, clients, dataset, systems
from bench.burst import Device
from bench.procs import Server
from bench.report import percentile, ratio, table
from bench.transport import AiohttpTransport
from sync.client import SyncClient


def add_station_users(db: Path) -> list[str]:
    """A `crew-<code>` and a `supervisor-<code>` account at every station (the demo's own
    password hashes: the password is the role's); returns the station codes."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO users (username, name, role, station, password_hash, disabled, "
            "created_at, must_change_password, extra_grounds, organisation_id) "
            "SELECT u.username || '-' || s.code, u.name || ' ' || s.code, u.role, s.code, "
            "u.password_hash, 0, u.created_at, 0, '[]', u.organisation_id "
            "FROM users u, stations s WHERE u.username IN ('crew', 'supervisor')")
        return [r[0] for r in conn.execute("SELECT code FROM stations ORDER BY rowid")]


async def prepare(server: Server, stations: list[str], n_devices: int, seed: int
                  ) -> list[Device]:
    """Enrol the devices; per (station, role) pull the scope once and hand every device of it
    that replica and cursor; queue each device's edits on its station's hot set."""
    homes: dict[str, str] = {}
    devices = []
    for i in range(n_devices):
        # one device in four a supervisor's at every station (i // stations, not i: 4 and 12
        # share factors, and i mod 4 would put every supervisor at 3 stations)
        role = "supervisor" if (i // len(stations)) % burst.SUPERVISOR_SHARE == 0 else "crew"
        d = Device(f"dev{i:04d}", role)
        homes[d.name] = stations[i % len(stations)]
        devices.append(d)
    sem = asyncio.Semaphore(20)
    async with clients.session() as http:
        async def enrol(d: Device) -> None:
            async with sem:
                d.token = await clients.enrol(http, server.base, d.name,
                                              (f"{d.role}-{homes[d.name]}", d.role))
        await asyncio.gather(*(enrol(d) for d in devices))
    seeds: dict[tuple[str, str], SyncClient] = {}
    async with aiohttp.ClientSession() as http:
        for d in devices:
            key = (homes[d.name], d.role)
            if key not in seeds:
                c = SyncClient(AiohttpTransport(http, server.base), d.token, "")
                await c.pull()
                seeds[key] = c
    async with clients.session() as http:  # each device has synced before
        async def warm(d: Device) -> None:
            async with sem:
                await clients.watchbook_pull(http, server.base, d.token,
                                             cursor=seeds[(homes[d.name], d.role)].cursor)
        await asyncio.gather(*(warm(d) for d in devices))
    rng = random.Random(seed)
    per_station = -(-n_devices // len(stations))
    hots: dict[str, list[str]] = {}
    for code in stations:
        held = [set(c.replica) for (home, _), c in seeds.items() if home == code]
        if not held:
            continue
        any_client = next(c for (home, _), c in seeds.items() if home == code)
        # the premises of the station's own grounds its roles hold; as P2, about 50 edits
        # a premises at most: the hot set grows with the station's share of the fleet
        ids = sorted(pid for pid in set.intersection(*held)
                     if any_client.replica[pid].get("station") == code)
        hots[code] = rng.sample(ids, min(max(burst.HOT, per_station // 5), len(ids)))
    for d in devices:
        home = homes[d.name]
        seed_client = seeds[(home, d.role)]
        hot = hots[home]
        c = SyncClient(lambda *a: None, d.token, burst._device_id(d.token),  # type: ignore[arg-type]
                       rng=random.Random(rng.random()))
        c.replica = {pid: copy.deepcopy(seed_client.replica[pid]) for pid in hot}
        c.cursor = seed_client.cursor
        burst._edits(rng, d, hot, c)
        d.sent = list(c.outbox)
        d.client = c
    return devices


def run(n: int, n_devices: int, seed: int = 11) -> dict[str, Any]:
    db = dataset.working_copy(n, "spread")
    stations = add_station_users(db)
    server = systems.watchbook(db, "watchbook-spread").start()
    try:
        devices = asyncio.run(prepare(server, stations, n_devices, seed))
        c0, client0 = server.cpu(), time.process_time()
        wall, transport = asyncio.run(burst._burst(server, devices))
        cpu, client_cpu = server.cpu() - c0, time.process_time() - client0
    finally:
        server.stop()
    _statuses, audit = burst._audit(db, devices)
    lat = [x * 1000 for x in transport.latencies]
    return {"fleet": f"spread over {len(stations)} stations", "devices": n_devices,
            "mutations": audit["mutations"], "wall s": wall,
            "p50 ms": percentile(lat, 50), "p95 ms": percentile(lat, 95),
            "p99 ms": percentile(lat, 99), "429s": transport.statuses.get(429, 0),
            "server CPU s": cpu, "client CPU s": client_cpu,
            "clean audit": "yes" if burst._clean(audit) else f"NO: {audit}"}


def hot_row(o: burst.Outcome) -> dict[str, Any]:
    s = burst.summary(o)
    return {"fleet": "one station's hot set", "devices": o.devices, "mutations": s["mutations"],
            "wall s": s["wall s"], "p50 ms": s["p50 ms"], "p95 ms": s["p95 ms"],
            "p99 ms": s["p99 ms"], "429s": s["429s"], "server CPU s": s["server CPU s"],
            "client CPU s": s["client CPU s"],
            "clean audit": "yes" if burst._clean(o.audit) else f"NO: {o.audit}"}


def report(n: int, rows: list[dict[str, Any]]) -> str:
    text = table(f"SPREAD: P2 burst, one station's hot set against a fleet spread over every "
                 f"station, {n:,} premises, SQLite, {burst.CONNECTIONS} connections, one run "
                 f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
                 f"{os.getloadavg()[0]:.1f}, 2 shared cores)", list(rows[0]),
                 [list(r.values()) for r in rows])
    base = rows[0]
    text += "\n" + table("SPREAD ratios to the hot set (same run)",
                         ["fleet", "wall", "p95", "server CPU"],
                         [[r["fleet"], ratio(r["wall s"], base["wall s"]),
                           ratio(r["p95 ms"], base["p95 ms"]),
                           ratio(r["server CPU s"], base["server CPU s"])] for r in rows])
    return text


def main(n: int, devices: int) -> str:
    spread = run(n, devices)  # first: the row a short run must not lose
    print(f"  spread: {spread}", flush=True)
    return report(n, [hot_row(burst.run(n, devices)), spread])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--premises", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=2000)
    args = parser.parse_args()
    print(main(args.premises, args.devices))
