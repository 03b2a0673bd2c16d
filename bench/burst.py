"""P2, the shift-change burst: D devices (the reference client over bench/transport.py), each
with 10 edits queued offline, many on the same premises, sync at once through 50 connections
(push, then pull). Then the audit: one receipt per mutation on both sides, none lost, none
duplicated. The limit is the engine applying the same mutations in process, one transaction
per device as the server does, with no HTTP.

Devices start already synced (a shared replica and cursor per role), as at a real shift change.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import random
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from bench import clients, dataset, systems
from bench.procs import RssSampler, Server, peak_rss_bytes, reset_peak_rss
from bench.report import median, percentile, ratio, table, verdict
from bench.transport import AiohttpTransport
from server.store.sync import run_tx
from sync import engine
from sync.client import SyncClient
from sync.protocol import Mutation

EDITS = 10
CONNECTIONS = 50
HOT = 100           # edits land on this many premises of the first station's grounds
SUPERVISOR_SHARE = 4  # one device in four belongs to a supervisor (edits); the rest crew


@dataclass
class Device:
    name: str
    role: str
    token: str = ""
    client: SyncClient | None = None
    sent: list[Mutation] = field(default_factory=list)


@dataclass
class Outcome:
    devices: int
    wall: float
    cpu: float
    latencies: list[float]
    statuses: dict[int, int]
    receipts: dict[str, int]
    audit: dict[str, int]
    peak_rss: int
    sampled_rss: int
    limit_wall: float = 0.0
    limit_cpu: float = 0.0
    limit_pull_wall: float = 0.0
    client_cpu: float = 0.0          # this (client) process, during the burst
    server_ms: list[float] = field(default_factory=list)  # the server's own request timings


def _edits(rng: random.Random, dev: Device, hot: list[str], client: SyncClient) -> None:
    for k in range(EDITS):
        pid = rng.choice(hot)
        roll = rng.random() if dev.role == "supervisor" else 0.0
        if roll < 0.4:
            client.add_observation(pid, {"id": f"o-{dev.name}-{k}", "category": "access",
                                         "note": f"gate code changed ({dev.name} {k})"})
        elif roll < 0.7:
            client.add_hazard(pid, {"id": f"h-{dev.name}-{k}", "type": "lpg",
                                    "location": "rear yard", "severity": "high",
                                    "description": f"LPG cylinders seen by {dev.name}"})
        else:
            client.update(pid, risk_notes=f"checked on shift change by {dev.name} ({k})")


async def _prepare(server: Server, n_devices: int, seed: int) -> tuple[list[Device], list[str]]:
    """Enrol the devices, pull each role's scope once and hand every device that replica."""
    async with clients.session() as http:
        devices = []
        for i in range(n_devices):
            role = "supervisor" if i % SUPERVISOR_SHARE == 0 else "crew"
            devices.append(Device(f"dev{i:04d}", role))
        sem = asyncio.Semaphore(20)

        async def enrol(d: Device) -> None:
            async with sem:
                d.token = await clients.enrol(http, server.base, d.name, (d.role, d.role))
        await asyncio.gather(*(enrol(d) for d in devices))
    seeds: dict[str, SyncClient] = {}
    async with aiohttp.ClientSession() as http:
        for role in ("crew", "supervisor"):
            first = next(d for d in devices if d.role == role)
            c = SyncClient(AiohttpTransport(http, server.base), first.token, "")
            await c.pull()
            seeds[role] = c
    async with clients.session() as http:  # each device has synced before: its token is known
        async def warm(d: Device) -> None:
            async with sem:
                await clients.watchbook_pull(http, server.base, d.token, cursor=seeds[
                    d.role].cursor)
        await asyncio.gather(*(warm(d) for d in devices))
    ids = sorted(set(seeds["crew"].replica) & set(seeds["supervisor"].replica))
    rng = random.Random(seed)
    # about 50 edits a premises at any fleet size: the hot set grows with the fleet
    hot = rng.sample(ids, min(max(HOT, n_devices // 5), len(ids)))
    for d in devices:
        seed_client = seeds[d.role]
        c = SyncClient(lambda *a: None, d.token, _device_id(d.token),  # type: ignore[arg-type]
                       rng=random.Random(rng.random()))
        c.replica = {pid: copy.deepcopy(seed_client.replica[pid]) for pid in hot}
        c.cursor = seed_client.cursor
        _edits(rng, d, hot, c)
        d.sent = list(c.outbox)
        d.client = c
    return devices, hot


def _device_id(token: str) -> str:
    return token[3:].split("_", 1)[0]


async def _burst(server: Server, devices: list[Device]) -> tuple[float, AiohttpTransport]:
    conn = aiohttp.TCPConnector(limit=CONNECTIONS, limit_per_host=CONNECTIONS)
    async with aiohttp.ClientSession(connector=conn,
                                     timeout=aiohttp.ClientTimeout(total=120)) as http:
        transport = AiohttpTransport(http, server.base)
        gate = asyncio.Semaphore(CONNECTIONS)

        async def one(d: Device) -> None:
            assert d.client is not None
            d.client.transport = transport
            async with gate:
                await d.client.sync()
            d.client.replica.clear()  # only receipts and the outbox are audited: free the rest
            d.client.conflicts.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one(d) for d in devices))
        return time.perf_counter() - t0, transport


def _audit(db: Path, devices: list[Device]) -> tuple[dict[str, int], dict[str, int]]:
    """Receipt statuses on the devices, and what the server holds: receipts, audit entries,
    and each added observation and hazard counted in the final records."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return audit_on(conn, devices)
    finally:
        conn.close()


def audit_on(conn: Any, devices: list[Device]) -> tuple[dict[str, int], dict[str, int]]:
    """`_audit` over an open connection of either engine (its `execute` and rows)."""
    statuses: dict[str, int] = {}
    client_receipts = 0
    for d in devices:
        assert d.client is not None
        client_receipts += len(d.client.receipts)
        for r in d.client.receipts.values():
            statuses[r.status] = statuses.get(r.status, 0) + 1
    ids = {_device_id(d.token) for d in devices}
    rows = conn.execute("SELECT device_id, count(*), count(DISTINCT seq) FROM sync_receipts "
                        "GROUP BY device_id").fetchall()
    server_receipts = sum(r[1] for r in rows if r[0] in ids)
    server_distinct = sum(r[2] for r in rows if r[0] in ids)
    entries = [msgspec.json.decode(e) for (e,) in conn.execute("SELECT entry FROM audit")]
    keys = [(e["device_id"], e["seq"]) for e in entries if e.get("device_id") in ids]
    added: dict[str, int] = {}
    for (doc,) in conn.execute("SELECT doc FROM premises"):
        rec = msgspec.json.decode(doc)
        for item in rec.get("observations", []) + rec.get("hazards", []):
            if item["id"][:2] in ("o-", "h-"):
                added[item["id"]] = added.get(item["id"], 0) + 1
    wanted = {m.observation.id if hasattr(m, "observation") else m.hazard.id  # type: ignore[attr-defined]
              for d in devices for m in d.sent if hasattr(m, "observation") or hasattr(m, "hazard")}
    mutations = sum(len(d.sent) for d in devices)
    audit = {
        "mutations": mutations,
        "receipts on devices": client_receipts,
        "receipts on server": server_receipts,
        "lost (no server receipt)": mutations - server_distinct,
        "duplicated receipts": server_receipts - server_distinct,
        "audit entries": len(keys),
        "duplicated audit entries": len(keys) - len(set(keys)),
        "added items expected": len(wanted),
        "added items missing": len(wanted - set(added)),
        "added items duplicated": sum(1 for k, v in added.items() if k in wanted and v > 1),
        "outbox left on devices": sum(len(d.client.outbox) for d in devices if d.client),
    }
    return statuses, audit


def _limit(db: Path, devices: list[Device], cursors: dict[str, str]
           ) -> tuple[float, float, float]:
    """The same pushes through the engine in process on a copy of the server's database as it
    was just before the burst (same epoch, devices, cursors), one BEGIN IMMEDIATE per
    device in the same order; then each device's pull, in process. Returns (push wall, push
    CPU, pull wall)."""
    from server import tenancy  # the server's own scope rule
    from server.store.sync import SqliteReader

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.row_factory = sqlite3.Row
    station = conn.execute("SELECT code FROM stations ORDER BY rowid LIMIT 1").fetchone()[0]
    cfg = engine.Config(review_interval_days=dataset.settings_for(db).review_interval_days)
    actors = {}
    for d in devices:
        actors[d.name] = engine.Actor(user_id=1, username=d.role, name=d.role, role=d.role,
                                      grounds=tenancy.scope_of(conn, d.role, station, (), 1).grounds,
                                      device_id=_device_id(d.token))
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    t0, c0 = time.perf_counter(), time.process_time()
    for d in devices:
        conn.execute("BEGIN IMMEDIATE")
        run_tx(conn, lambda tx, d=d: engine.push(tx, actors[d.name], d.sent, now, cfg))
        conn.execute("COMMIT")
    push_wall, push_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    for d in devices:
        assert d.client is not None
        cursor = cursors[d.role]
        while True:
            conn.execute("BEGIN")
            out = engine.pull(SqliteReader(conn), actors[d.name], cursor, None, cfg)
            conn.execute("COMMIT")
            tail = msgspec.json.decode(b"{" + out[out.rindex(b'],"cursor"') + 2:])
            cursor = tail["cursor"]
            if not tail["more"]:
                break
    pull_wall = time.perf_counter() - t0
    conn.close()
    return push_wall, push_cpu, pull_wall


def _nothing(pid: int) -> AbstractContextManager[None]:
    return nullcontext()


def _server_latencies(log: Path, start: int) -> list[float]:
    """Request durations the server logged (its JSON request log, `ms`) after `start`."""
    out = []
    with log.open("rb") as f:
        f.seek(start)
        for line in f:
            if b'"route":"/api/sync/' in line:
                try:
                    out.append(float(msgspec.json.decode(line)["ms"]))
                except (msgspec.DecodeError, KeyError, TypeError):
                    continue
    return out


def _snapshot(src: Path, dst: Path) -> Path:
    """A consistent copy of a live database (SQLite's online backup)."""
    for p in dst.parent.glob(dst.name + "*"):
        p.unlink()
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def run(n: int, n_devices: int, seed: int = 11,
        spy: Callable[[int], AbstractContextManager[Any]] | None = None,
        env: dict[str, str] | None = None) -> Outcome:
    """One round: a fresh server and database, the burst, the audit, then the limit. `spy`
    wraps the burst (a profiler attached to the server's pid)."""
    db = dataset.working_copy(n, "p2")
    server = systems.watchbook(db, "watchbook-p2", **(env or {})).start()
    try:
        devices, _hot = asyncio.run(_prepare(server, n_devices, seed))
        cursors = {d.role: d.client.cursor for d in devices if d.client is not None}
        limit_db = _snapshot(db, dataset.ROOT / "run" / f"p2-limit-{n}.db")
        reset_peak_rss(server.pid)
        c0, client0 = server.cpu(), time.process_time()
        log_start = server.log.stat().st_size
        with RssSampler(server.pid) as sampler, (spy or _nothing)(server.pid):
            wall, transport = asyncio.run(_burst(server, devices))
        cpu, client_cpu = server.cpu() - c0, time.process_time() - client0
        peak = peak_rss_bytes(server.pid)
        server_ms = _server_latencies(server.log, log_start)
    finally:
        server.stop()
    statuses, audit = _audit(db, devices)
    out = Outcome(n_devices, wall, cpu, transport.latencies, transport.statuses, statuses,
                  audit, peak, sampler.peak, client_cpu=client_cpu, server_ms=server_ms)
    out.limit_wall, out.limit_cpu, out.limit_pull_wall = _limit(limit_db, devices, cursors)
    return out


def summary(o: Outcome) -> dict[str, Any]:
    lat = [x * 1000 for x in o.latencies]
    return {"devices": o.devices, "mutations": o.audit["mutations"], "wall s": o.wall,
            "requests": len(lat), "p50 ms": percentile(lat, 50), "p95 ms": percentile(lat, 95),
            "p99 ms": percentile(lat, 99), "429s": o.statuses.get(429, 0),
            "server-side p95 ms": percentile(o.server_ms, 95),
            "server CPU s": o.cpu, "client CPU s": o.client_cpu, "limit push wall s": o.limit_wall,
            "limit push CPU s": o.limit_cpu, "limit pull wall s": o.limit_pull_wall,
            "wall / limit": ratio(o.wall, o.limit_wall),
            "wall / limit (push+pull)": ratio(o.wall, o.limit_wall + o.limit_pull_wall),
            "peak RSS MB": o.peak_rss / 2**20}


def _clean(a: dict[str, int]) -> bool:
    return (a["lost (no server receipt)"] == 0 and a["duplicated receipts"] == 0
            and a["duplicated audit entries"] == 0 and a["added items missing"] == 0
            and a["added items duplicated"] == 0 and a["outbox left on devices"] == 0
            and a["receipts on server"] == a["receipts on devices"] == a["mutations"])


def median_run(outcomes: list[Outcome]) -> Outcome:
    return sorted(outcomes, key=lambda x: x.wall)[len(outcomes) // 2]


def report(n: int, outcomes: list[Outcome]) -> str:
    rows = [[*summary(o).values()] for o in outcomes]
    head = list(summary(outcomes[0]).keys())
    text = table(f"P2 shift-change burst, {n:,} premises, {CONNECTIONS} connections "
                 f"(every round; each with its own in-process limit)", head, rows)
    o = median_run(outcomes)
    a = o.audit
    m = medians(outcomes)
    peak = max(x.peak_rss for x in outcomes) / 2**20
    text += "\n" + table(f"P2 medians of {len(outcomes)} rounds", ["figure", "median"],
                         [[k, v] for k, v in m.items()])
    text += "\n" + table("P2 audit (the median run)", ["check", "value"],
                         [[k, v] for k, v in {**a, **{f"receipts {k}": v for k, v in
                                                     o.receipts.items()}}.items()])
    clean = sum(1 for x in outcomes if _clean(x.audit))
    ok_audit = clean == len(outcomes)
    text += "\n" + table("P2 targets (medians; audit of the median run)",
                         ["figure", "value", "target", ""], [
        ["wall / limit (push)", m["wall / limit"], "<= 3", verdict(m["wall / limit"] <= 3)],
        ["p95 request latency ms", m["p95 ms"], "< 250", verdict(m["p95 ms"] < 250)],
        ["receipts, none lost, none duplicated", a["receipts on server"],
         f"= {a['mutations']}", verdict(ok_audit)],
        ["rounds with a clean audit", f"{clean} of {len(outcomes)}", "all", verdict(ok_audit)],
        ["server peak RSS MB (P4, largest round)", peak, "< 150", verdict(peak < 150)],
    ])
    return text


def medians(outcomes: list[Outcome]) -> dict[str, float]:
    keys = list(summary(outcomes[0]))
    return {k: median([float(summary(o)[k]) for o in outcomes]) for k in keys}
