"""The console's audit log (/console/audit, admins): changes, sign-ins, enrolments, revocations,
views of sensitive fields and exports, filtered, paged and downloadable as guarded CSV."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator

import httpx
from engines import engine  # noqa: F401 (every test here runs on both engines)
from world import World

from server import clock
from server.console import auditlog
from server.store import events


@contextlib.asynccontextmanager
async def _admin(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as client:
        yield await _signed_in(client)


async def _signed_in(client: httpx.AsyncClient) -> httpx.AsyncClient:
    form = await client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    signed = await client.post("/console/signin", data={
        "csrf": csrf.group(1), "username": "admin", "password": "pw-admin"})
    assert signed.status_code == 303
    return client


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_log_holds_changes_sign_ins_enrolments_revocations_and_views(
        world: World) -> None:
    crew = world.as_("crew")
    edit = {"kind": "update", "device_id": world.tokens["super"][3:].split("_", 1)[0],
            "seq": 1, "premises_id": "p1", "base_version": 1,
            "changes": [{"field": "tactical_plan", "old": "", "new": "Use the rear gate"}]}
    pushed = await world.client.post("/api/sync/push", json={"mutations": [edit]},
                                     headers=world.as_("super"))
    assert pushed.json()["receipts"][0]["status"] == "applied"
    crew_device = world.tokens["crew"][3:].split("_", 1)[0]
    assert (await world.client.get("/api/me", headers=crew)).status_code == 200
    await world.auth.revoke_device(crew_device)
    async with _admin(world) as client:
        assert (await client.get("/console/premises/p1")).status_code == 200  # shows key box
        whole = _csv((await client.get("/console/audit?format=csv")).text)
        kinds = {r["What"] for r in whole}
        assert {"change: update", "sign_in", "enrol", "revoke", "sensitive view"} <= kinds
        change = next(r for r in whole if r["What"] == "change: update")
        assert change["User"] == "super" and change["Premises"] == "p1"
        assert change["Station"] == "A01"
        revoked = next(r for r in whole if r["What"] == "revoke")
        assert revoked["Device"] == crew_device and revoked["User"] == "crew"

        by_user = _csv((await client.get("/console/audit?format=csv&user=super")).text)
        assert by_user and {r["User"] for r in by_user} == {"super"}
        by_device = _csv((await client.get(f"/console/audit?format=csv&device={crew_device}")
                          ).text)
        assert {r["What"] for r in by_device} == {"enrol", "revoke"}
        by_premises = _csv((await client.get("/console/audit?format=csv&premises=p1")).text)
        assert {r["What"] for r in by_premises} == {"change: update", "sensitive view"}
        by_station = _csv((await client.get("/console/audit?format=csv&station=A01")).text)
        assert "change: update" in {r["What"] for r in by_station}
        assert {r["Station"] for r in by_station} == {"A01"}
        assert not [r for r in _csv((await client.get("/console/audit?format=csv&station=C03")
                                     ).text) if r["Premises"] == "p1"]
        assert not _csv((await client.get("/console/audit?format=csv&until=2000-01-01")).text)
        today = clock.today()
        assert _csv((await client.get(f"/console/audit?format=csv&since={today}&until={today}")
                     ).text)
        bad = await client.get("/console/audit?since=yesterday")
        assert bad.status_code == 400 and "since" in bad.text
        page = await client.get("/console/audit?user=super")
        assert page.status_code == 200 and "change: update" in page.text
        # the download itself is recorded
        again = _csv((await client.get("/console/audit?format=csv")).text)
        assert any(r["What"] == "export" and "audit log CSV" in r["Detail"] for r in again)


async def test_the_log_is_paged(world: World) -> None:
    now = clock.now("seconds")
    for i in range(auditlog.PAGE_SIZE + 5):
        await events.add(world.db, now, "export", None, detail=f"file {i}")
    async with _admin(world) as client:
        first = await client.get("/console/audit")
        assert "page=2" in first.text and "Older" in first.text
        second = await client.get("/console/audit?page=2")
        assert second.status_code == 200 and "Newer" in second.text


async def test_the_csv_guards_cells_a_spreadsheet_would_run(world: World) -> None:
    await events.add(world.db, clock.now("seconds"), "export", None,
                     detail="=HYPERLINK(\"http://evil\")")
    async with _admin(world) as client:
        rows = _csv((await client.get("/console/audit?format=csv")).text)
    assert any(r["Detail"] == "'=HYPERLINK(\"http://evil\")" for r in rows)


async def test_a_revocation_in_the_console_names_the_admin(world: World) -> None:
    device_id = world.tokens["crew"][3:].split("_", 1)[0]
    async with _admin(world) as client:
        page = await client.get("/console/admin/devices")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        done = await client.post(f"/console/admin/devices/{device_id}/revoke",
                                 data={"csrf": csrf.group(1), "wipe": "1"})
        assert done.status_code == 303
        rows = _csv((await client.get(f"/console/audit?format=csv&device={device_id}")).text)
    [revoked] = [r for r in rows if r["What"] == "revoke"]
    assert revoked["Detail"] == "revoked, wipe ordered, by admin"
    assert revoked["User"] == "crew"  # the device's owner, so filtering by user finds it
