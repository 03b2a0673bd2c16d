"""Cross-border devices on one deployment: a neighbouring fire service's crew devices hold the
premises shared with that service in their offline replica through the normal pull — only
the share's fields, read-only, marked with the owning service and the record's age — cannot
push edits to them (a durable receipt in plain words), and drop them when they leave the
share or the share ends."""

from __future__ import annotations

from typing import Any

from engines import engine  # noqa: F401
from world import World

from server import clock, partners
from server.sharing import PROFILES
from server.store import shares

PW = "a long neighbour password"
OWNER = "Ashby Fire and Rescue"
ALWAYS = {"id", "station", "updated_at", "shared"}


async def neighbour(world: World, username: str = "nb.crew") -> tuple[int, str, str]:
    """The neighbouring service, one crew user of it with an enrolled device: (org id,
    token, device id)."""
    await world.db.execute_write("UPDATE organisations SET name = ? WHERE id = 1", (OWNER,))
    org = await partners.add_organisation(world.db, "Barset Fire and Rescue", "fire", 1)
    uid = await partners.add_partner_user(world.auth, username, "Nell Neighbour", org, PW,
                                          role="crew", service=1)
    who = await world.auth.principal_for_user(uid)
    device, token = await world.auth.enrol_device(who, "Pump 1 Barset")
    return org, token, device


async def share(world: World, org: int, **form: Any) -> int:
    base: dict[str, Any] = {"partner": str(org), "purpose": "Cross-border attendance",
                            "profile": "operational_summary", "expires_on": clock.today(30),
                            "stations": ["A01"]}
    base.update(form)
    return await partners.make_share(world.db, 1, base, "admin")


async def pull(world: World, token: str, cursor: str = "") -> dict[str, Any]:
    got = await world.client.get(f"/api/sync/pull?cursor={cursor}",
                                 headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    # the headers a device asks for the next page by say what the body says, shared part too
    assert got.headers["Watchbook-Cursor"] == body["cursor"]
    assert got.headers["Watchbook-More"] == ("1" if body["more"] else "0")
    return body


async def pull_all(world: World, token: str, cursor: str = "") -> tuple[dict[str, Any], str]:
    """Every page from `cursor`: (records by id, the last cursor); left ids under None."""
    held: dict[str, Any] = {}
    left: list[str] = []
    while True:
        page = await pull(world, token, cursor)
        held.update({c["record"]["id"]: c["record"] for c in page["changes"]
                     if c["type"] == "premises"})
        left += page["left_scope"]
        cursor = page["cursor"]
        if not page["more"]:
            return {**held, None: left}, cursor  # type: ignore[dict-item]


async def test_a_neighbour_crew_device_pulls_exactly_the_shared_premises_and_fields(
        world: World) -> None:
    org, token, _ = await neighbour(world)
    share_id = await share(world, org)
    got, _ = await pull_all(world, token)
    left = got.pop(None)
    assert sorted(got) == ["p1", "p2"] and left == []  # A01's; never B02's nor C03's
    fields = {"id", "station", "updated_at", *PROFILES["operational_summary"], "shared"}
    for record in got.values():
        assert set(record) == fields
        mark = record["shared"]
        assert mark["service"] == OWNER and mark["read_only"] is True
        assert mark["source"] == f"s{share_id}"
        assert mark["age"]["assessed"].startswith("Never inspected")
    assert "key_box" not in got["p1"] and "entry_codes" not in got["p1"]
    assert got["p1"]["hazards"][0]["type"] == "oxygen"
    log = await shares.reads(world.db, [share_id])
    assert [r["kind"] for r in log] == ["device"] and log[0]["username"] == "nb.crew"
    assert "p1" in log[0]["detail"] and "key_box" not in log[0]["detail"]


async def test_the_key_box_reaches_the_device_only_when_the_share_ticks_it(
        world: World) -> None:
    org, token, _ = await neighbour(world)
    await share(world, org, stations=["A01"], levels=["2"], sensitive=["key_box"],
                sensitive_reason="Crews force entry at night")
    got, _ = await pull_all(world, token)
    assert got["p1"]["key_box"] == "4512" and "entry_codes" not in got["p1"]


async def test_a_crew_device_of_the_owning_service_gets_no_shared_part(world: World) -> None:
    org, _, _ = await neighbour(world)
    await share(world, org)
    page = await pull(world, world.tokens["crew"])
    assert "." not in page["cursor"]
    assert all("shared" not in c["record"] for c in page["changes"] if c["type"] == "premises")


async def test_a_pushed_edit_of_a_shared_record_is_rejected_with_a_stored_receipt(
        world: World) -> None:
    org, token, device = await neighbour(world)
    await share(world, org)
    await pull_all(world, token)
    body = {"mutations": [
        {"kind": "add_observation", "device_id": device, "seq": 1, "premises_id": "p1",
         "base_version": 1, "observation": {"id": "o1", "category": "access",
                                            "note": "Gate code changed"}},
        {"kind": "update", "device_id": device, "seq": 2, "premises_id": "p2",
         "base_version": 1, "changes": [{"field": "rvp", "old": "", "new": "Car park"}]}]}
    auth = {"Authorization": f"Bearer {token}"}
    pushed = (await world.client.post("/api/sync/push", headers=auth, json=body)).json()
    receipts = pushed["receipts"]
    assert [r["status"] for r in receipts] == ["rejected", "rejected"]
    assert {r["reason"] for r in receipts} == {"forbidden"}
    assert all(f"shared with you read only by {OWNER}" in r["message"] for r in receipts)
    assert pushed["next_seq"] == 3  # durable: the seqs are used
    again = (await world.client.post("/api/sync/push", headers=auth, json=body)).json()
    assert again["receipts"] == receipts  # a retry gets the stored receipts back
    p1 = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    assert p1.get("observations", []) == []


async def test_records_leave_the_device_when_they_leave_the_share_or_it_ends(
        world: World) -> None:
    org, token, _ = await neighbour(world)
    share_id = await share(world, org, stations=["A01", "B02"], levels=["2"])
    got, cursor = await pull_all(world, token)
    assert sorted(k for k in got if k) == ["p1", "p2", "p3"]
    # p2 drops to level 4 (out of the share); p1's hazards change (still in it)
    device = world.tokens["super"][3:].split("_", 1)[0]
    pushed = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [
            {"kind": "update", "device_id": device, "seq": 1, "premises_id": "p2",
             "base_version": 1, "changes": [{"field": "risk_level", "old": 2, "new": 4}]},
            {"kind": "update", "device_id": device, "seq": 2, "premises_id": "p1",
             "base_version": 1, "changes": [{"field": "rvp", "old": "", "new": "Gate B"}]}]})
    assert [r["status"] for r in pushed.json()["receipts"]] == ["applied", "applied"]
    later, cursor = await pull_all(world, token, cursor)
    assert later.pop(None) == ["p2"]
    assert sorted(later) == ["p1"] and later["p1"]["rvp"] == "Gate B"
    assert await partners.end_share(world.db, 1, share_id, "admin")
    ended, cursor = await pull_all(world, token, cursor)
    assert sorted(ended.pop(None)) == ["p1", "p2", "p3"] and ended == {}
    quiet, _ = await pull_all(world, token, cursor)
    assert quiet == {None: []}


async def test_a_record_never_shared_is_never_named_to_the_neighbour(world: World) -> None:
    org, token, _ = await neighbour(world)
    await share(world, org, stations=["A01"])
    _, cursor = await pull_all(world, token)
    device = world.tokens["admin"][3:].split("_", 1)[0]
    pushed = await world.client.post("/api/sync/push", headers=world.as_("admin"), json={
        "mutations": [{"kind": "update", "device_id": device, "seq": 1, "premises_id": "p3",
                       "base_version": 1, "changes": [{"field": "rvp", "old": "",
                                                       "new": "Yard"}]}]})
    assert pushed.json()["receipts"][0]["status"] == "applied"
    got = await world.client.get(f"/api/sync/pull?cursor={cursor}",
                                 headers={"Authorization": f"Bearer {token}"})
    assert '"p3"' not in got.text  # as a JSON string: the page's cursor may hold "p3"


async def test_an_expired_share_leaves_the_device_at_its_next_pull(world: World,
                                                                     monkeypatch: Any) -> None:
    org, token, _ = await neighbour(world)
    await share(world, org, expires_on=clock.today(2))
    got, cursor = await pull_all(world, token)
    assert sorted(k for k in got if k) == ["p1", "p2"]
    later = clock.today(3)
    monkeypatch.setattr(clock, "today", lambda plus_days=0: later)
    gone, _ = await pull_all(world, token, cursor)
    assert sorted(gone.pop(None)) == ["p1", "p2"] and gone == {}


async def test_an_unreadable_shared_cursor_restarts_the_whole_scope(world: World) -> None:
    org, token, _ = await neighbour(world)
    await share(world, org)
    _, cursor = await pull_all(world, token)
    page = await pull(world, token, cursor.split(".")[0] + ".%%%")
    assert page["reset"] is True
    assert sorted(c["record"]["id"] for c in page["changes"]) == ["p1", "p2"]


async def test_a_record_in_two_shares_stays_when_one_of_them_ends(world: World) -> None:
    org, token, _ = await neighbour(world)
    wide = await share(world, org, stations=["A01", "B02"])
    await share(world, org, stations=["A01"], purpose="Second share")
    got, cursor = await pull_all(world, token)
    assert sorted(k for k in got if k) == ["p1", "p2", "p3"]
    assert await partners.end_share(world.db, 1, wide, "admin")
    later, _ = await pull_all(world, token, cursor)
    assert later.pop(None) == ["p3"]  # p1 and p2 are still given by the second share
