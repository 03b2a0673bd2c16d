"""`watchbook migrate-to-postgres --from FILE`: a SQLite service moved into PostgreSQL keeps
what devices rely on: a retry of a push already applied gets its stored receipts (the outbox
is never applied twice), an old cursor goes on where it was (no reset, no re-download), and
the next edit takes the next sequence number."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg import Cluster
from world import World, fast_settings, seed

from server import cli
from server.app import create_app


def update(device: str, seq: int, old: str, new: str) -> dict[str, Any]:
    return {"kind": "update", "device_id": device, "seq": seq, "premises_id": "p1",
            "base_version": seq, "client_time": "2026-01-01T10:00:00Z",
            "changes": [{"field": "risk_notes", "old": old, "new": new}]}


async def pull_to_end(w: World, auth: dict[str, str], cursor: str = "") -> tuple[list[Any], str]:
    changes: list[Any] = []
    while True:
        r = await w.client.get("/api/sync/pull", headers=auth, params={"cursor": cursor})
        assert r.status_code == 200, r.text
        page = r.json()
        assert not page.get("reset"), "the cursor was not kept"
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return changes, cursor


async def test_a_moved_service_keeps_receipts_cursors_and_sequences(
        postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    sqlite_settings = fast_settings(tmp_path)
    app = create_app(sqlite_settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            w = World(app, client)
            w.user_ids, w.tokens = await seed(app)
            auth = w.as_("super")
            device = (await w.db.execute(
                "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id "
                "WHERE u.username = 'super'")).single_value()
            first = [update(device, 1, "", "one"), update(device, 2, "one", "two")]
            pushed = await client.post("/api/sync/push", json={"mutations": first},
                                       headers=auth)
            receipts = pushed.json()["receipts"]
            _, cursor = await pull_to_end(w, auth)

    url = postgres.fresh_url()
    monkeypatch.setenv("WATCHBOOK_DATABASE_URL", url)
    move = ["migrate-to-postgres", "--from", str(sqlite_settings.db_path)]
    assert await asyncio.to_thread(cli.main, move) == 0  # the command runs its own loop
    assert "Copied" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, move) == 1
    assert "already holds" in capsys.readouterr().err

    app = create_app(fast_settings(tmp_path, database_url=url))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            w = World(app, client)
            retried = await client.post("/api/sync/push", json={"mutations": first},
                                        headers=auth)  # the old token still works
            assert retried.status_code == 200 and retried.json()["receipts"] == receipts
            changes, cursor = await pull_to_end(w, auth, cursor)
            assert changes == []  # nothing re-sent: the download is kept
            nxt = await client.post("/api/sync/push", headers=auth,
                                    json={"mutations": [update(device, 3, "two", "three")]})
            assert nxt.json()["receipts"][0]["status"] == "applied"
            changes, _ = await pull_to_end(w, auth, cursor)
            assert [c["record"]["risk_notes"] for c in changes] == ["three"]
            console = (await client.post("/api/devices/enrol", json={
                "username": "crew", "password": "pw-crew"})).status_code
            assert console == 201  # passwords came across; new rows take fresh ids
