"""Crash safety: the real server (`watchbook serve`, a subprocess) is killed with SIGKILL at
random moments while reference clients push; after every restart each acknowledged push is
still there, retries complete every mutation exactly once, and integrity_check stays ok.

About 40 s: 22 kills, each followed by a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from world import PREMISES, STATIONS, USERS, fast_settings

from server.app import create_app
from server.store import records
from sync.client import SyncClient, SyncUnavailable, TransportError

ROOT = Path(__file__).resolve().parent.parent
KILLS = 22
DEVICES = (("super", "A"), ("super", "B"), ("admin", "C"), ("crew", "D"))
FAST_ENV = {"WATCHBOOK_ARGON2_TIME_COST": "1", "WATCHBOOK_ARGON2_MEMORY_COST": "8",
            "WATCHBOOK_ARGON2_PARALLELISM": "1",
            # thousands of observations land on 3 premises and nobody reviews them: room for
            # all (the bound, engine Rule 6d, has its own tests), so each must be applied once
            "WATCHBOOK_MAX_OPEN_OBSERVATIONS": "1000000"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`watchbook serve` on a temp database, started and SIGKILLed on demand."""

    def __init__(self, db: Path, log: Path):
        self.db, self.log, self.port = db, log, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **FAST_ENV, "WATCHBOOK_DB": str(self.db),
               "PYTHONPATH": str(ROOT)}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--db", str(self.db),
                 "--port", str(self.port)], cwd=ROOT, env=env, stdout=out, stderr=out)

    async def ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
                try:
                    if (await client.get(self.base + "/healthz", timeout=1)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the server did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


async def _seed(tmp: Path) -> tuple[Path, dict[str, tuple[str, str]]]:
    """Stations, premises and users; one enrolled device (token, device id) per client."""
    app = create_app(fast_settings(tmp))
    devices: dict[str, tuple[str, str]] = {}
    async with app.router.lifespan_context(app):
        state = app.state

        def rows(conn: Any) -> None:
            conn.executemany("INSERT INTO stations (code, name, lat, lon, extra_grounds) "
                             "VALUES (?, ?, ?, ?, ?)", STATIONS)
            records.insert_many(conn, PREMISES)
        await state.db.write(rows)
        ids = {}
        for username, name, role, station in USERS:
            ids[username] = await state.auth.add_user(username, name, role, station, "pw",
                                                      check_password=False, service=1)
        for username, label in DEVICES:
            who = await state.auth.principal_for_user(ids[username])
            device_id, token = await state.auth.enrol_device(who, f"pump {label}")
            devices[label] = (token, device_id)
    return app.state.settings.db_path, devices


def http_transport(server: Server, client: httpx.AsyncClient) -> Any:
    async def send(method: str, path: str, headers: dict[str, str], body: bytes
                   ) -> tuple[int, dict[str, str], bytes]:
        try:
            r = await client.request(method, server.base + path, headers=headers,
                                     content=body or None, timeout=5)
        except httpx.HTTPError as exc:  # refused, reset, cut off mid-answer
            raise TransportError(str(exc)) from None
        return r.status_code, dict(r.headers), r.content
    return send


async def _drive(client: SyncClient, label: str, stop: asyncio.Event, rng: random.Random,
                 sent: list[str]) -> None:
    """Queue observations and push, over and over; outages only delay the outbox."""
    n = 0
    while not stop.is_set():
        for _ in range(rng.randint(1, 4)):
            n += 1
            obs_id = f"{label}{n}"
            client.add_observation(rng.choice(["p1", "p2", "p3"]), {
                "id": obs_id, "category": "other", "note": f"note {obs_id}"})
            sent.append(obs_id)
        try:
            await client.push()
        except SyncUnavailable:
            pass
        await asyncio.sleep(rng.uniform(0, 0.02))


def _acknowledged(clients: dict[str, SyncClient]) -> set[tuple[str, int]]:
    return {(c.device_id, seq) for c in clients.values() for seq in c.receipts}


def _stored_receipts(db: Path) -> set[tuple[str, int]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return {(r[0], r[1]) for r in conn.execute("SELECT device_id, seq FROM sync_receipts")}
    finally:
        conn.close()


async def test_sigkill_at_random_moments_loses_no_acknowledged_push_and_applies_each_once(
        tmp_path: Path) -> None:
    db, devices = await _seed(tmp_path)
    server = Server(db, tmp_path / "server.log")
    rng = random.Random(20261125)
    try:
        server.start()
        await server.ready()
        stop = asyncio.Event()
        sent: dict[str, list[str]] = {label: [] for _, label in DEVICES}
        async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as http:
            transport = http_transport(server, http)
            clients = {label: SyncClient(transport, token, device_id, batch_size=20,
                                         max_attempts=4, base_delay=0.05, max_delay=0.3,
                                         rng=random.Random(label))
                       for label, (token, device_id) in devices.items()}
            for client in clients.values():
                await client.pull()
            drivers = [asyncio.create_task(
                _drive(c, label, stop, random.Random(label), sent[label]))
                for label, c in clients.items()]
            try:
                for _ in range(KILLS):
                    await asyncio.sleep(rng.uniform(0.2, 0.9))
                    acked = _acknowledged(clients)
                    server.kill()
                    assert acked <= _stored_receipts(db), "an acknowledged push was lost"
                    server.start()
                    await server.ready()
            finally:
                stop.set()
                failed = [r for r in await asyncio.gather(*drivers, return_exceptions=True)
                          if isinstance(r, BaseException)]
            assert not failed, f"a client gave up: {failed}"
            for client in clients.values():  # retry whatever is left, with the server up
                for _ in range(10):
                    try:
                        await client.push()
                        break
                    except SyncUnavailable:
                        await asyncio.sleep(0.2)
                assert client.outbox == []
    finally:
        server.kill()

    assert _acknowledged(clients) <= _stored_receipts(db)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        observed: list[str] = []
        for (doc,) in conn.execute("SELECT doc FROM premises"):
            observed += [o["id"] for o in json.loads(doc).get("observations", [])]
    finally:
        conn.close()
    everything = [obs for label in sent for obs in sent[label]]
    assert len(everything) > 200, "the clients pushed a real burst"
    assert sorted(observed) == sorted(everything), "each mutation applied exactly once"
