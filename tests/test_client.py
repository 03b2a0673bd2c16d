"""The reference client: outbox and receipts, back-off, reset and scope changes that keep
pending work, and the whole loop end to end against the real app."""

from __future__ import annotations

import random
from typing import Any

import pytest
from syncfake import MemoryServer
from world import World

from server.store.sync import get_conflict, history, list_conflicts
from sync import engine
from sync.client import DeviceRevoked, SyncClient, SyncUnavailable, TransportError
from sync.protocol import FieldChange, ResolveConflict, Update
from sync.store import MemoryStore

SUPER = engine.Actor(1, "sam", "Sam", "supervisor", ("A01", "B02"), "dsam")
OTHER = engine.Actor(2, "ola", "Ola", "supervisor", ("A01",), "dola")


def world_of(*docs: dict[str, Any]) -> tuple[MemoryStore, MemoryServer]:
    store = MemoryStore(["A01", "B02"])
    store.insert(list(docs) or [{"id": f"p{i}", "station": "A01" if i < 4 else "B02",
                                 "name": f"Site {i}", "version": 1} for i in range(6)])
    return store, MemoryServer(store)


def client_for(server: MemoryServer, actor: engine.Actor, **kw: Any) -> SyncClient:
    async def no_sleep(_: float) -> None:
        return None
    return SyncClient(server, server.enrol(actor), actor.device_id, sleep=no_sleep,
                      rng=random.Random(1), **kw)


async def test_a_first_pull_downloads_the_scope_and_counts_it() -> None:
    store, server = world_of()
    c = client_for(server, SUPER)
    await c.pull()
    assert sorted(c.replica) == [f"p{i}" for i in range(6)]
    assert c.total == 6 and c.received == 6


async def test_edits_wait_in_the_outbox_until_a_receipt_arrives() -> None:
    store, server = world_of()
    c = client_for(server, SUPER)
    await c.pull()
    c.update("p1", name="Renamed")
    assert c.view("p1")["name"] == "Renamed" and c.replica["p1"]["name"] == "Site 1"
    receipts = await c.push()
    assert [(r.seq, r.status) for r in receipts] == [(1, "applied")] and c.outbox == []
    await c.pull()
    assert c.replica["p1"]["name"] == "Renamed" and c.replica["p1"]["version"] == 2


async def test_a_lost_response_is_retried_and_applied_once() -> None:
    store, server = world_of()
    lost = {"left": 1}

    async def flaky(method: str, path: str, headers: dict[str, str], body: bytes
                    ) -> tuple[int, dict[str, str], bytes]:
        answer = server.handle(method, path, headers, body)
        if method == "POST" and lost["left"]:
            lost["left"] -= 1
            raise TransportError("response lost after commit")
        return answer
    c = client_for(server, SUPER)
    await c.pull()
    c.transport = flaky
    c.update("p1", name="Once")
    [receipt] = await c.push()
    assert receipt.status == "applied"
    assert store.get("p1")["version"] == 2 and len(store.history("p1")) == 1


async def test_busy_answers_back_off_with_jitter_then_give_up() -> None:
    waits: list[float] = []

    async def busy(method: str, path: str, headers: dict[str, str], body: bytes
                   ) -> tuple[int, dict[str, str], bytes]:
        return 429, {"Retry-After": "2"}, b"{}"

    async def record(seconds: float) -> None:
        waits.append(seconds)
    c = SyncClient(busy, "t", "d", sleep=record, rng=random.Random(3), max_attempts=3)
    with pytest.raises(SyncUnavailable):
        await c.pull()
    assert len(waits) == 3 and all(2 <= w < 3 for w in waits) and len(set(waits)) == 3


async def test_a_reset_keeps_records_with_pending_edits() -> None:
    store, server = world_of()
    c = client_for(server, SUPER)
    await c.pull()
    c.replica["ghost"] = {"id": "ghost", "station": "A01", "name": "Gone", "version": 1}
    c.replica["ghost2"] = {"id": "ghost2", "station": "A01", "name": "Gone", "version": 1}
    c.update("ghost", name="Still editing")
    c.cursor = "stale"
    await c.pull()
    assert "ghost" in c.replica and "ghost2" not in c.replica and "p1" in c.replica


async def test_records_leaving_scope_are_dropped_unless_pending() -> None:
    store, server = world_of()
    c = client_for(server, SUPER)
    await c.pull()
    c.update("p4", name="Edited offline")
    server.actors[c.token] = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), "dsam")
    await c.pull()
    assert "p4" in c.replica and "p5" not in c.replica
    [receipt] = await c.push()
    assert receipt.reason == "forbidden"  # the edit is answered, not silently dropped


async def test_a_revoked_device_wipes_itself() -> None:
    store, server = world_of()
    c = client_for(server, SUPER)
    await c.pull()
    c.update("p1", name="x")
    server.revoked.add(c.token)
    with pytest.raises(DeviceRevoked):
        await c.push()
    assert c.replica == {} and c.outbox == []


async def test_a_kept_record_after_a_delete_conflict_replays_the_edit() -> None:
    store, server = world_of()
    a, b = client_for(server, SUPER), client_for(server, OTHER)
    await a.pull()
    await b.pull()
    a.delete("p2")
    await a.sync()
    b.update("p2", rvp="North gate")
    [receipt] = await b.push()
    assert receipt.status == "conflict"
    await a.pull()
    [conflict] = a.open_conflicts("p2")
    assert conflict["path"] == "deleted"
    a.resolve(conflict["id"], "keep")
    await a.sync()
    assert a.replica["p2"]["deleted"] is False and a.replica["p2"]["rvp"] == "North gate"
    assert a.conflicts[conflict["id"]]["status"] == "resolved"


async def test_console_and_device_clash_resolves_back_to_the_device(world: World) -> None:
    async def transport(method: str, path: str, headers: dict[str, str], body: bytes
                        ) -> tuple[int, dict[str, str], bytes]:
        r = await world.client.request(method, path, headers=headers, content=body or None)
        return r.status_code, dict(r.headers), r.content
    token = world.tokens["admin"]
    device = SyncClient(transport, token, token[3:].split("_", 1)[0])
    await device.pull()
    device.update("p1", risk_notes="device note")       # offline on the appliance

    service = world.app.state.sync
    supervisor = await world.auth.principal_for_user(world.user_ids["super"])
    [console] = await service.apply_local(supervisor, [Update(
        premises_id="p1", base_version=1, changes=[FieldChange("risk_notes", "", "console note")])])
    assert console.status == "applied"

    [receipt] = await device.push()
    assert receipt.status == "conflict"
    [cid] = receipt.conflict_ids
    [listed] = await list_conflicts(world.db, ["A01"])
    assert (listed["id"], listed["server"], listed["client"]) == (cid, "console note",
                                                                  "device note")
    assert listed["server_author"]["user"] == "super"

    [resolved] = await service.apply_local(supervisor, [ResolveConflict(
        premises_id="p1", conflict_id=cid, choice="value", value="console note; device note")])
    assert resolved.status == "applied"
    await device.pull()
    assert device.replica["p1"]["risk_notes"] == "console note; device note"
    assert device.conflicts[cid]["status"] == "resolved"
    assert (await get_conflict(world.db, cid))["resolution"] == "value"  # type: ignore[index]
    kinds = [(h["kind"], h["device_id"]) for h in await history(world.db, "p1")]
    assert kinds[0] == ("update", f"console-{world.user_ids['super']}")
    assert [k for k, _ in kinds] == ["update", "update", "resolve_conflict"]


def world_device(world: World, username: str) -> SyncClient:
    async def transport(method: str, path: str, headers: dict[str, str], body: bytes
                        ) -> tuple[int, dict[str, str], bytes]:
        r = await world.client.request(method, path, headers=headers, content=body or None)
        return r.status_code, dict(r.headers), r.content
    token = world.tokens[username]
    return SyncClient(transport, token, token[3:].split("_", 1)[0])


async def test_a_retired_device_sends_what_it_holds_then_acknowledges_and_clears(
        world: World) -> None:
    device = world_device(world, "super")
    await device.pull()
    device.update("p1", risk_notes="handover note")
    assert await world.auth.retire_device(device.device_id, by="admin")
    await device.sync()
    assert device.retired and device.replica == {} and device.outbox == [] and device.cursor == ""
    doc = (await world.client.get("/api/premises/p1", headers=world.as_("admin"))).json()
    assert doc["risk_notes"] == "handover note"
    after = await world.client.get("/api/sync/pull", headers=world.as_("super"))
    assert after.status_code == 401 and after.json()["error"]["wipe"] is True


async def test_a_retiring_device_keeps_a_refused_edit_until_the_person_discards_it(
        world: World) -> None:
    device = world_device(world, "super")
    await device.pull()
    refused = device.update("p1", tactical_plan="x" * 20001)
    assert await world.auth.retire_device(device.device_id, by="admin")
    await device.sync()
    assert device.receipts[refused.seq].status == "rejected"
    assert not device.retired and device.retiring and "p1" in device.replica
    assert device.unsent() == "1 change the server refused, to fix or discard"
    still = await world.client.get("/api/sync/pull", headers=world.as_("super"))
    assert still.status_code == 200  # the token lives on, so a fix can still be sent
    device.discard(refused.seq)
    await device.sync()
    assert device.retired and device.replica == {}


async def test_a_device_not_ordered_to_retire_never_clears_itself(world: World) -> None:
    device = world_device(world, "super")
    await device.sync()
    assert not device.retiring
    assert await device.retire() is False
    assert device.replica and not device.retired and device.token
