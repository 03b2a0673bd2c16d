"""Retire vs revoke (issue 12 §1): a retired device's pushes are still applied, exactly once,
every sync answer carries the retire order, and its token ends once it acknowledges; a revoked
device is refused at once with the wipe order. The console confirms both first; the CLI has
`device revoke --retire`."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from engines import engine  # noqa: F401  (each World test runs on SQLite and PostgreSQL)
from test_matrix import console_client

from server import cli
from server.auth import Auth
from server.settings import Settings
from server.store.database import Database

if TYPE_CHECKING:
    from world import World


def device_of(world: World, username: str) -> str:
    return world.tokens[username][3:].split("_", 1)[0]


def observation(device: str, seq: int, note: str) -> dict[str, Any]:
    return {"kind": "add_observation", "device_id": device, "seq": seq, "premises_id": "p1",
            "base_version": 1,
            "observation": {"id": f"o-retire-{seq}", "category": "access", "note": note}}


async def push(world: World, username: str, *mutations: dict[str, Any]) -> httpx.Response:
    return await world.client.post("/api/sync/push", json={"mutations": list(mutations)},
                                   headers=world.as_(username))


async def observation_notes(world: World) -> list[str]:
    doc = (await world.client.get("/api/premises/p1", headers=world.as_("admin"))).json()
    return [o["note"] for o in doc.get("observations", [])]


async def test_a_retired_devices_answers_carry_the_order_and_its_pushes_apply_once(
        world: World) -> None:
    crew = device_of(world, "crew")
    assert "retire" not in (await push(world, "crew")).json()
    assert await world.auth.retire_device(crew, by="admin")
    first = await push(world, "crew", observation(crew, 1, "key box moved to gate"))
    assert first.status_code == 200 and first.json()["retire"] is True
    assert first.json()["receipts"][0]["status"] in ("applied", "merged")
    again = await push(world, "crew", observation(crew, 1, "key box moved to gate"))
    assert again.status_code == 200 and again.json()["retire"] is True
    assert again.json()["receipts"][0]["status"] in ("duplicate", "applied", "merged")
    assert (await observation_notes(world)).count("key box moved to gate") == 1
    pull = await world.client.get("/api/sync/pull", headers=world.as_("crew"))
    assert pull.status_code == 200 and pull.json()["retire"] is True
    assert isinstance(pull.json()["changes"], list)
    other = await world.client.get("/api/sync/pull", headers=world.as_("super"))
    assert "retire" not in other.json()


async def test_the_token_stops_working_once_the_retired_device_acknowledges(
        world: World) -> None:
    crew = device_of(world, "crew")
    await world.auth.retire_device(crew)
    assert (await world.client.get("/api/me", headers=world.as_("crew"))).status_code == 200
    done = await world.client.post("/api/sync/retired", headers=world.as_("crew"))
    assert done.status_code == 200 and done.json() == {"retired": True}
    for r in (await world.client.get("/api/sync/pull", headers=world.as_("crew")),
              await push(world, "crew", observation(crew, 1, "too late"))):
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "device_revoked" and r.json()["error"]["wipe"]
    assert "too late" not in await observation_notes(world)


async def test_a_device_not_ordered_to_retire_cannot_acknowledge_one(world: World) -> None:
    r = await world.client.post("/api/sync/retired", headers=world.as_("crew"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_retiring"
    assert (await world.client.get("/api/me", headers=world.as_("crew"))).status_code == 200


async def test_revoking_is_unchanged_refused_at_once_with_the_wipe_order(world: World) -> None:
    crew = device_of(world, "crew")
    await world.auth.revoke_device(crew, wipe=True)
    r = await push(world, "crew", observation(crew, 1, "lost with the device"))
    assert r.status_code == 401 and r.json()["error"]["wipe"] is True
    assert not await world.auth.retire_device(crew), "a revoked device cannot be retired"
    r = await world.client.post("/api/sync/retired", headers=world.as_("crew"))
    assert r.status_code == 401


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_the_console_retires_after_a_confirmation_page_naming_the_device(
        world: World) -> None:
    crew = device_of(world, "crew")
    pull = await world.client.get("/api/sync/pull", headers={
        **world.as_("crew"), "X-Watchbook-Pending": "3"})
    assert pull.status_code == 200
    admin = await console_client(world, "admin")
    try:
        listing = (await admin.get("/console/admin/devices")).text
        assert f"/console/admin/devices/{crew}/retire" in listing
        assert f"/console/admin/devices/{crew}/revoke" in listing
        user_page = (await admin.get(f"/console/admin/users/{world.user_ids['crew']}")).text
        assert f"/console/admin/devices/{crew}/retire?back=user" in user_page
        page = await admin.get(f"/console/admin/devices/{crew}/retire")
        assert page.status_code == 200
        assert "test device" in page.text and "Casey Crew" in page.text
        pending = re.search(r'class="pending-count">([^<]+)<', page.text)
        assert pending and pending.group(1).startswith("3 ")
        assert re.search(r'class="last-sync">(?!Never)[^<]+<', page.text)
        token = CSRF.search(page.text)
        assert token
        refused = await admin.post(f"/console/admin/devices/{crew}/retire", data={})
        assert refused.status_code == 403
        assert "retire" not in (await push(world, "crew")).json()
        done = await admin.post(f"/console/admin/devices/{crew}/retire",
                                data={"csrf": token.group(1)})
        assert done.status_code == 303
        assert (await push(world, "crew")).json()["retire"] is True
        assert "Retiring" in (await admin.get("/console/admin/devices")).text
        audit = (await admin.get(f"/console/audit?format=csv&device={crew}")).text
        [row] = [r for r in csv.DictReader(io.StringIO(audit)) if r["What"] == "retire"]
        assert row["Detail"].endswith("by admin") and row["User"] == "crew"
        revoke_page = (await admin.get(f"/console/admin/devices/{crew}/revoke")).text
        assert "3 unsent changes will be lost" in revoke_page
    finally:
        await admin.aclose()


async def test_the_confirmation_pages_of_an_unknown_device_are_not_found(world: World) -> None:
    admin = await console_client(world, "admin")
    try:
        for action in ("retire", "revoke"):
            r = await admin.get(f"/console/admin/devices/dnope/{action}")
            assert r.status_code == 404
    finally:
        await admin.aclose()


def test_the_command_retires_a_device(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "w.db"
    db = str(db_path)
    assert cli.main(["demo-data", "--premises", "5", "--stations", "1", "--db", db]) == 0

    async def enrol() -> str:
        database = await Database(db_path).open()
        try:
            auth = Auth(database, Settings.from_env(db_path=db_path))
            who = await auth.principal_for_user(1)
            return (await auth.enrol_device(who, "Pump 1 WIS"))[0]
        finally:
            await database.close()
    device = asyncio.run(enrol())
    capsys.readouterr()
    assert cli.main(["device", "revoke", device, "--retire", "--db", db]) == 0
    assert "sends what it holds" in capsys.readouterr().out
    assert cli.main(["device", "list", "--db", db]) == 0
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if device in ln]
    assert "retiring" in line
    assert cli.main(["device", "revoke", "dnope", "--retire", "--db", db]) == 1
    assert cli.main(["device", "revoke", "dnope", "--retire", "--keep-data", "--db", db]) == 2
    assert "do not go together" in capsys.readouterr().err
