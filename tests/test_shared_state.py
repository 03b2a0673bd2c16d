"""Several server processes on one PostgreSQL database: two apps (each its own pool, Auth and
sync service, as two `--workers` would have) share console sessions, sign-in throttling, device
enrolment and the cursor epoch, because none of it lives in one process's memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pg import Cluster
from test_console import csrf_of
from world import World, fast_settings, seed

from server.app import create_app


@pytest.fixture
async def two(postgres: Cluster, tmp_path: Path) -> AsyncIterator[tuple[World, World]]:
    settings = fast_settings(tmp_path, database_url=postgres.fresh_url())
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first),
                                     base_url="http://test") as a, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=second),
                                  base_url="http://test") as b:
            wa, wb = World(first, a), World(second, b)
            wa.user_ids, wa.tokens = await seed(first)
            wb.user_ids, wb.tokens = wa.user_ids, wa.tokens
            yield wa, wb


async def test_a_console_session_made_by_one_process_is_honoured_by_another(
        two: tuple[World, World]) -> None:
    a, b = two
    form = await a.client.get("/console/signin")
    r = await a.client.post("/console/signin", data={
        "csrf": csrf_of(form.text), "username": "super", "password": "pw-super"})
    assert r.status_code == 303
    b.client.cookies = a.client.cookies
    page = await b.client.get("/console/", follow_redirects=True)
    assert page.status_code == 200 and "Sam Supervisor" in page.text
    assert "/console/signin" not in str(page.url)


async def test_failed_sign_ins_on_one_process_throttle_the_other(
        two: tuple[World, World]) -> None:
    a, b = two
    for _ in range(a.app.state.settings.signin_max_failures):
        r = await a.client.post("/api/devices/enrol", json={"username": "crew", "password": "x"})
        assert r.status_code == 401
    r = await b.client.post("/api/devices/enrol",
                            json={"username": "crew", "password": "pw-crew"})
    assert r.status_code == 429 and "Retry-After" in r.headers


async def test_a_device_enrolled_on_one_process_pushes_to_the_other_and_pulls_from_the_first(
        two: tuple[World, World]) -> None:
    a, b = two
    r = await a.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super", "device_name": "Appliance 2"})
    assert r.status_code == 201, r.text
    token, device = r.json()["token"], r.json()["device_id"]
    auth = {"Authorization": f"Bearer {token}"}
    push = await b.client.post("/api/sync/push", headers=auth, json={"mutations": [
        {"kind": "update", "device_id": device, "seq": 1, "premises_id": "p1",
         "base_version": 1, "client_time": "2026-01-01T10:00:00Z",
         "changes": [{"field": "risk_notes", "old": "", "new": "both processes"}]}]})
    assert push.status_code == 200, push.text
    assert push.json()["receipts"][0]["status"] == "applied"
    cursor, notes = "", {}
    while True:
        page = (await a.client.get("/api/sync/pull", headers=auth,
                                   params={"cursor": cursor})).json()
        notes.update((c["record"]["id"], c["record"].get("risk_notes"))
                     for c in page["changes"] if c["type"] == "premises")
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert notes["p1"] == "both processes"
    # the epoch is the database's: a cursor from one process is good on the other
    again = await b.client.get("/api/sync/pull", headers=auth, params={"cursor": cursor})
    assert again.status_code == 200 and not again.json().get("reset")
    assert again.json()["changes"] == []
