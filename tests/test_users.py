"""Users over their life (server/users.py) over the real app: a new role or grounds is seen at
the next sync; disabling gives every device of the user the wipe order at its next contact."""

from __future__ import annotations

import pytest
from world import World

from server import users
from server.errors import ApiError


def device_of(w: World, user: str) -> str:
    return w.tokens[user][3:].split("_", 1)[0]


async def push_notes(w: World, user: str, seq: int) -> dict[str, object]:
    r = await w.client.post("/api/sync/push", headers=w.as_(user), json={"mutations": [
        {"kind": "update", "device_id": device_of(w, user), "seq": seq, "premises_id": "p2",
         "base_version": 1, "changes": [{"field": "risk_notes", "old": "", "new": "seen"}]}]})
    assert r.status_code == 200, r.text
    receipt: dict[str, object] = r.json()["receipts"][0]
    return receipt


async def test_a_crew_member_made_supervisor_may_edit_at_their_next_sync(world: World) -> None:
    assert (await push_notes(world, "crew", 1))["reason"] == "forbidden"
    await users.edit(world.db, world.user_ids["crew"], role="supervisor")
    assert (await push_notes(world, "crew", 2))["status"] == "applied"


async def test_a_new_home_station_changes_what_the_next_pull_brings(world: World) -> None:
    first = (await world.client.get("/api/sync/pull", headers=world.as_("crew"))).json()
    await users.edit(world.db, world.user_ids["crew"], station="C03")
    page = (await world.client.get("/api/sync/pull", params={"cursor": first["cursor"]},
                                   headers=world.as_("crew"))).json()
    assert [c["record"]["id"] for c in page["changes"] if c["type"] == "premises"] == ["p4"]
    assert page["left_scope"] == ["p1", "p2", "p3"]


async def test_disabling_a_user_gives_each_of_their_devices_the_wipe_order(
        world: World) -> None:
    revoked = await users.disable(world.db, world.user_ids["crew"])
    assert revoked == 1
    r = await world.client.get("/api/sync/pull", headers=world.as_("crew"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "device_revoked" and r.json()["error"]["wipe"] is True


async def test_an_enabled_user_signs_in_again_and_enrols_a_new_device(world: World) -> None:
    await users.disable(world.db, world.user_ids["crew"])
    signin = {"username": "crew", "password": "pw-crew"}
    assert (await world.client.post("/api/devices/enrol", json=signin)).status_code == 403
    await users.enable(world.db, world.user_ids["crew"])
    enrolled = await world.client.post("/api/devices/enrol", json=signin)
    assert enrolled.status_code == 201
    old = await world.client.get("/api/sync/pull", headers=world.as_("crew"))
    assert old.status_code == 401 and old.json()["error"]["wipe"] is True  # stays revoked


@pytest.mark.parametrize("change, field", [
    ({"role": "captain"}, "role"),
    ({"station": ""}, "station"),           # a crew member needs a home station
    ({"station": "ZZZ"}, "station"),
    ({"extra": ["B02", "QQQ"]}, "grounds"),
    ({"name": " "}, "name"),
])
async def test_a_bad_change_names_its_field_and_changes_nothing(
        world: World, change: dict[str, object], field: str) -> None:
    with pytest.raises(ApiError) as refused:
        await users.edit(world.db, world.user_ids["crew"], **change)  # type: ignore[arg-type]
    assert refused.value.field == field and refused.value.status == 422
    me = (await world.client.get("/api/me", headers=world.as_("crew"))).json()
    assert (me["role"], me["station"], me["grounds"]) == ("crew", "A01", ["A01", "B02"])


async def test_an_admin_needs_no_home_station(world: World) -> None:
    profile = await users.edit(world.db, world.user_ids["super"], role="admin", station="")
    assert profile["station"] is None
    me = (await world.client.get("/api/me", headers=world.as_("super"))).json()
    assert me["grounds"] == ["A01", "B02", "C03"]
