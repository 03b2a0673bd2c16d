"""Stations and grounds (server/grounds.py) over the real app: a change of grounds reaches
devices at their next pull through the sync engine; retiring moves premises through the one
writer; bad input names its field."""

from __future__ import annotations

from typing import Any

import pytest
from world import World

from server import grounds, users
from server.errors import ApiError
from server.store import records, stations
from server.store import sync as sync_store


async def pull_all(w: World, user: str, cursor: str = "") -> tuple[set[str], list[str], str]:
    """Live record ids and left_scope ids of every page after `cursor`, and the last cursor."""
    live: set[str] = set()
    left: list[str] = []
    while True:
        r = await w.client.get("/api/sync/pull", params={"cursor": cursor}, headers=w.as_(user))
        assert r.status_code == 200, r.text
        page = r.json()
        live |= {c["record"]["id"] for c in page["changes"]
                 if c["type"] == "premises" and not c["record"].get("deleted")}
        left += page["left_scope"]
        cursor = page["cursor"]
        if not page["more"]:
            return live, left, cursor


async def test_changing_a_stations_extra_grounds_reaches_devices_at_their_next_pull(
        world: World) -> None:
    got, _, cursor = await pull_all(world, "crew")
    assert got == {"p1", "p2", "p3"}  # A01 and its extra ground B02
    await grounds.edit(world.db, "A01", extra=["C03"])
    got, left, _ = await pull_all(world, "crew", cursor)
    assert "p4" in got and left == ["p3"]


async def test_a_users_own_extra_grounds_add_to_their_stations(world: World) -> None:
    _, _, cursor = await pull_all(world, "csuper")
    await users.edit(world.db, world.user_ids["csuper"], extra=["B02"])
    got, left, _ = await pull_all(world, "csuper", cursor)
    assert got == {"p3", "p4"} and left == []
    me = await world.client.get("/api/me", headers=world.as_("csuper"))
    assert me.json()["grounds"] == ["C03", "B02"]


async def test_retiring_a_station_moves_its_premises_through_the_one_writer(
        world: World) -> None:
    _, _, cursor = await pull_all(world, "super")  # A01 + B02
    await users.edit(world.db, world.user_ids["csuper"], station="B02")
    moved = await grounds.retire(world.db, "C03", "B02", "ada")
    assert moved == 1
    got, _, _ = await pull_all(world, "super", cursor)
    assert got == {"p4"}
    history = await sync_store.history(world.db, "p4")
    assert history[-1]["kind"] == grounds.RETIRE_KIND and history[-1]["user"] == "ada"
    assert history[-1]["before"] == {"station": "C03"}
    assert history[-1]["after"] == {"station": "B02"}
    assert await world.db.read(lambda c: stations.codes(c, 1)) == ["A01", "B02"]
    retired = await world.db.read(lambda c: stations.get(c, "C03"))
    assert retired is not None and retired["retired_at"]


async def test_a_retired_station_takes_no_new_premises_and_leaves_extra_grounds(
        world: World) -> None:
    await grounds.retire(world.db, "B02", "A01", "ada")
    ashby = await world.db.read(lambda c: stations.get(c, "A01"))
    assert ashby is not None and ashby["extra_grounds"] == []
    device = world.tokens["admin"][3:].split("_", 1)[0]
    r = await world.client.post("/api/sync/push", headers=world.as_("admin"), json={
        "mutations": [{"kind": "create", "device_id": device, "seq": 1, "premises_id": "n1",
                       "record": {"id": "n1", "station": "B02", "name": "New"}}]})
    receipt = r.json()["receipts"][0]
    assert receipt["status"] == "rejected" and "B02" in receipt["message"]


@pytest.mark.parametrize("code, move_to, field, status", [
    ("C03", "B02", "code", 409),      # a user (csuper) is based there
    ("A01", None, "code", 409),       # users based there come first
    ("ZZZ", "A01", "code", 404),
])
async def test_retiring_is_refused_with_the_reason(world: World, code: str,
                                                   move_to: str | None, field: str,
                                                   status: int) -> None:
    with pytest.raises(ApiError) as refused:
        await grounds.retire(world.db, code, move_to, "ada")
    assert (refused.value.field, refused.value.status) == (field, status)
    assert await world.db.read(lambda c: stations.codes(c, 1)) == ["A01", "B02", "C03"]


async def test_a_station_with_premises_is_retired_only_with_somewhere_to_move_them(
        world: World) -> None:
    await users.edit(world.db, world.user_ids["csuper"], station="A01")
    for move_to in (None, "C03", "NOPE"):
        with pytest.raises(ApiError) as refused:
            await grounds.retire(world.db, "C03", move_to, "ada")
        assert refused.value.field == "move_to"
    doc: Any = await world.db.read(lambda c: records.get(c, "p4"))
    assert doc["station"] == "C03"


@pytest.mark.parametrize("code, name, lat, lon, extra, field", [
    ("no spaces", "X", None, None, [], "code"),
    ("A01", "Taken", None, None, [], "code"),
    ("D04", "", None, None, [], "name"),
    ("D04", "Dunton", 52.1, None, [], "lon"),
    ("D04", "Dunton", 95.0, 0.1, [], "lat"),
    ("D04", "Dunton", None, None, ["QQQ"], "grounds"),
])
async def test_adding_a_station_names_the_bad_field(world: World, code: str, name: str,
                                                    lat: float | None, lon: float | None,
                                                    extra: list[str], field: str) -> None:
    with pytest.raises(ApiError) as refused:
        await grounds.add(world.db, code, name, lat, lon, extra, service=1)
    assert refused.value.field == field and refused.value.status < 500


async def test_a_station_may_be_added_before_its_position_is_known(world: World) -> None:
    assert await grounds.add(world.db, "d04", "Dunton", extra=["a01"], service=1) == "D04"
    row = await world.db.read(lambda c: stations.get(c, "D04"))
    assert row is not None and (row["lat"], row["lon"]) == (None, None)
    assert row["extra_grounds"] == ["A01"]
    listed = await world.client.get("/api/stations", headers=world.as_("crew"))
    assert {"code": "D04", "name": "Dunton", "lat": None, "lon": None,
            "extra_grounds": ["A01"]} in listed.json()["items"]
