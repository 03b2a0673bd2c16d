"""`watchbook serve --workers 2` on a throwaway PostgreSQL cluster: two server processes on one
database; pushes and pulls over fresh connections land on both, and every edit is applied
exactly once and pulled back."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pg import Cluster
from world import FAST_HASH, fast_settings, seed

from server.app import create_app

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_two_worker_processes_serve_one_postgresql_database(
        postgres: Cluster, tmp_path: Path) -> None:
    url = postgres.fresh_url()
    app = create_app(fast_settings(tmp_path, database_url=url))
    async with app.router.lifespan_context(app):
        _, tokens = await seed(app)
        device = (await app.state.db.execute(
            "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id "
            "WHERE u.username = 'super'")).single_value()
    port = _free_port()
    env = {**os.environ, "WATCHBOOK_DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           **{f"WATCHBOOK_{k.upper()}": str(v) for k, v in FAST_HASH.items()}}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--workers", "2",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                stderr=out, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {tokens['super']}"}
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2:  # each fresh connection is accepted by either worker
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "both workers never answered:\n" + \
                log.read_text()[-3000:]
            try:
                async with httpx.AsyncClient() as client:
                    r = await client.get(base + "/healthz", timeout=2)
                    pids.add(int(r.headers["X-Watchbook-Process"]))
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        mutations = [{"kind": "update", "device_id": device, "seq": n, "premises_id": "p1",
                      "base_version": n, "client_time": "2026-01-01T10:00:00Z",
                      "changes": [{"field": "risk_notes", "old": f"v{n - 1}" if n > 1 else "",
                                   "new": f"v{n}"}]} for n in range(1, 21)]
        for m in mutations:  # one connection each: the pushes spread over both processes
            async with httpx.AsyncClient() as client:
                r = await client.post(base + "/api/sync/push", json={"mutations": [m]},
                                      headers=auth, timeout=10)
                assert r.status_code == 200 and r.json()["receipts"][0]["status"] == "applied"
        async with httpx.AsyncClient() as client:  # every retry again, all at once
            again = await asyncio.gather(*(client.post(
                base + "/api/sync/push", json={"mutations": [m]}, headers=auth, timeout=10)
                for m in mutations))
        assert all(r.json()["receipts"][0]["status"] == "applied" for r in again)
        for _ in range(4):  # pulls through either process see the one result
            async with httpx.AsyncClient() as client:
                notes, cursor = {}, ""
                while True:
                    page = (await client.get(base + "/api/sync/pull", headers=auth,
                                             params={"cursor": cursor}, timeout=10)).json()
                    notes.update((c["record"]["id"], c["record"]) for c in page["changes"]
                                 if c["type"] == "premises")
                    cursor = page["cursor"]
                    if not page["more"]:
                        break
            assert notes["p1"]["risk_notes"] == "v20" and notes["p1"]["version"] == 21
        app2 = create_app(fast_settings(tmp_path, database_url=url))
        async with app2.router.lifespan_context(app2):
            audited = (await app2.state.db.execute(
                "SELECT count(*) FROM audit WHERE premises_id = 'p1'")).single_value()
        assert audited == 20  # each edit applied once, the retries none
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
