"""POST /api/sync/push and GET /api/sync/pull over the real app (SQLite, auth, error shapes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from engines import engine  # noqa: F401 (every test here runs on both engines)
from world import World, fast_settings

from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, engine: str,  # noqa: F811 (the imported fixture, by name)
             request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("postgres").fresh_url() if engine == "postgres" else ""
    return fast_settings(tmp_path, max_push_mutations=5, max_concurrent_pushes=2,
                         pull_page_rows=2, database_url=url)


def device_of(w: World, user: str) -> str:
    return w.tokens[user][3:].split("_", 1)[0]


def update(w: World, user: str, seq: int, pid: str = "p1", field: str = "risk_notes",
           old: Any = "", new: Any = "new notes", base: int = 1) -> dict[str, Any]:
    return {"kind": "update", "device_id": device_of(w, user), "seq": seq, "premises_id": pid,
            "base_version": base, "client_time": "2026-01-01T10:00:00Z",
            "changes": [{"field": field, "old": old, "new": new}]}


async def push(w: World, user: str, mutations: list[dict[str, Any]], **headers: str) -> Any:
    return await w.client.post("/api/sync/push", json={"mutations": mutations},
                               headers={**w.as_(user), **headers})


async def pull(w: World, user: str, cursor: str = "", **params: Any) -> Any:
    r = await w.client.get("/api/sync/pull", params={"cursor": cursor, **params},
                           headers=w.as_(user))
    assert r.status_code == 200, r.text
    return r.json()


async def pull_all(w: World, user: str, cursor: str = "") -> tuple[dict[str, Any], list[Any], str]:
    """Every page after `cursor`: records by id, conflicts, and the last cursor."""
    records: dict[str, Any] = {}
    conflicts: list[Any] = []
    while True:
        page = await pull(w, user, cursor)
        for c in page["changes"]:
            if c["type"] == "premises":
                records[c["record"]["id"]] = c["record"]
            else:
                conflicts.append(c["conflict"])
        cursor = page["cursor"]
        if not page["more"]:
            return records, conflicts, cursor


async def test_a_supervisor_edit_is_applied_and_pulled_back(world: World) -> None:
    r = await push(world, "super", [update(world, "super", 1)])
    assert r.status_code == 200
    body = r.json()
    assert body["receipts"] == [{"seq": 1, "status": "applied", "premises_id": "p1",
                                 "version": 2}]
    assert body["next_seq"] == 2 and body["gap"] is False
    records, _, _ = await pull_all(world, "super")
    assert records["p1"]["risk_notes"] == "new notes" and records["p1"]["updated_by"] == "super"
    assert set(records) == {"p1", "p2", "p3"}  # A01 plus its extra ground B02


async def test_a_retried_push_returns_the_stored_receipts_and_changes_nothing(world: World
                                                                              ) -> None:
    first = (await push(world, "super", [update(world, "super", 1)])).json()
    again = (await push(world, "super", [update(world, "super", 1)])).json()
    assert again == first
    records, _, _ = await pull_all(world, "super")
    assert records["p1"]["version"] == 2


async def test_bad_json_is_a_400_naming_the_problem(world: World) -> None:
    r = await world.client.post("/api/sync/push", content=b'{"mutations": [',
                                headers=world.as_("super"))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    assert "JSON" in r.json()["error"]["message"]


async def test_a_wrong_type_is_a_422_naming_the_field(world: World) -> None:
    m = update(world, "super", 1)
    m["seq"] = "one"
    r = await push(world, "super", [m])
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "mutations[0].seq"


async def test_an_unknown_mutation_kind_is_a_422(world: World) -> None:
    r = await push(world, "super", [{**update(world, "super", 1), "kind": "explode"}])
    assert r.status_code == 422 and r.json()["error"]["field"] == "mutations[0].kind"


async def test_a_mutation_for_another_device_is_a_422(world: World) -> None:
    r = await push(world, "super", [update(world, "crew", 1)])
    assert r.status_code == 422 and r.json()["error"]["field"] == "mutations[0].device_id"


async def test_an_oversized_batch_is_refused_naming_the_limit(world: World) -> None:
    r = await push(world, "super", [update(world, "super", i) for i in range(1, 7)])
    assert r.status_code == 413
    assert r.json()["error"]["field"] == "mutations" and r.json()["error"]["limit"] == 5


async def test_a_sequence_gap_is_refused_without_applying_later_mutations(world: World) -> None:
    r = (await push(world, "super", [update(world, "super", 1),
                                     update(world, "super", 3, new="later")])).json()
    assert [x["seq"] for x in r["receipts"]] == [1]
    assert r["gap"] is True and r["next_seq"] == 2
    r = (await push(world, "super", [update(world, "super", 3, new="later")])).json()
    assert r["receipts"] == [] and r["gap"] is True and r["next_seq"] == 2


async def test_a_revoked_device_is_told_to_wipe(world: World) -> None:
    await world.auth.revoke_device(device_of(world, "crew"), wipe=True)
    r = await push(world, "crew", [update(world, "crew", 1)])
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "device_revoked" and r.json()["error"]["wipe"] is True


async def test_crew_trying_a_supervisor_mutation_gets_a_forbidden_receipt(world: World) -> None:
    r = (await push(world, "crew", [update(world, "crew", 1)])).json()
    assert r["receipts"][0]["status"] == "rejected"
    assert r["receipts"][0]["reason"] == "forbidden"
    assert r["next_seq"] == 2  # a rejected mutation still advances the sequence


async def test_crew_may_add_an_observation(world: World) -> None:
    obs = {"kind": "add_observation", "device_id": device_of(world, "crew"), "seq": 1,
           "premises_id": "p1", "base_version": 1,
           "observation": {"id": "o1", "category": "access", "note": "Key box moved"}}
    r = (await push(world, "crew", [obs])).json()
    assert r["receipts"][0]["status"] == "applied"
    records, _, _ = await pull_all(world, "crew")
    assert records["p1"]["observations"][0]["by"] == "Casey Crew"


async def test_the_server_says_who_made_an_observation_and_when_whatever_the_client_sends(
        world: World) -> None:
    obs = {"kind": "add_observation", "device_id": device_of(world, "crew"), "seq": 1,
           "premises_id": "p1", "base_version": 1,
           "observation": {"id": "o1", "category": "access", "note": "Key box moved",
                           "by": "GM Station Commander (verified)", "at": "2020-01-01",
                           "status": "accepted"}}
    r = (await push(world, "crew", [obs])).json()
    assert r["receipts"][0]["status"] == "applied"
    records, _, _ = await pull_all(world, "crew")
    [kept] = records["p1"]["observations"]
    assert (kept["by"], kept["status"]) == ("Casey Crew", "open")
    assert kept["at"] == records["p1"]["updated_at"]  # the server's time of the write


async def test_a_created_record_keeps_no_client_set_attachment_or_observation_stamps(
        world: World) -> None:
    sha = "ab" * 32
    record = {"id": "n1", "station": "A01", "name": "New Mill",
              "observations": [{"id": "o1", "category": "hazard", "note": "Drums in the yard",
                                "by": "Someone Else", "at": "2020-01-01",
                                "status": "accepted"}],
              "attachments": [{"id": "a1", "sha256": sha, "kind": "floor_plan",
                               "content_type": "image/png", "size": 10, "available": True,
                               "by": "Someone Else", "at": "2020-01-01"}]}
    r = (await push(world, "super", [{"kind": "create", "device_id": device_of(world, "super"),
                                      "seq": 1, "premises_id": "n1", "base_version": 0,
                                      "record": record}])).json()
    assert r["receipts"][0]["status"] == "applied", r
    records, _, _ = await pull_all(world, "super")
    doc = records["n1"]
    [obs], [att] = doc["observations"], doc["attachments"]
    assert (obs["by"], obs["at"], obs["status"]) == ("Sam Supervisor", doc["updated_at"], "open")
    assert (att["available"], att["by"], att["at"]) == (False, "Sam Supervisor",
                                                        doc["updated_at"])


def review(w: World, user: str, seq: int, status: str, **old: str) -> dict[str, Any]:
    return {"kind": "review_observation", "device_id": device_of(w, user), "seq": seq,
            "premises_id": "p1", "base_version": 2, "observation_id": "o1", "status": status,
            **old}


async def test_two_supervisors_reviewing_one_open_observation_differently_is_a_conflict(
        world: World) -> None:
    obs = {"kind": "add_observation", "device_id": device_of(world, "crew"), "seq": 1,
           "premises_id": "p1", "base_version": 1,
           "observation": {"id": "o1", "category": "access", "note": "Key box moved"}}
    await push(world, "crew", [obs])
    first = (await push(world, "super", [review(world, "super", 1, "accepted", old="open")]))
    assert first.json()["receipts"][0]["status"] == "applied"
    second = (await push(world, "admin", [review(world, "admin", 1, "dismissed", old="open")]))
    [receipt] = second.json()["receipts"]
    assert receipt["status"] == "conflict"
    records, conflicts, _ = await pull_all(world, "super")
    assert [(c["path"], c["base"], c["server"], c["client"]) for c in conflicts] == [
        ("observations/o1/status", "open", "accepted", "dismissed")]
    assert records["p1"]["observations"][0]["status"] == "accepted"


async def test_a_review_without_old_from_an_older_app_still_applies(world: World) -> None:
    obs = {"kind": "add_observation", "device_id": device_of(world, "crew"), "seq": 1,
           "premises_id": "p1", "base_version": 1,
           "observation": {"id": "o1", "category": "access", "note": "Key box moved"}}
    await push(world, "crew", [obs])
    await push(world, "super", [review(world, "super", 1, "accepted")])
    later = (await push(world, "admin", [review(world, "admin", 1, "dismissed")])).json()
    assert later["receipts"][0]["status"] == "merged"  # as before `old` was sent
    records, conflicts, _ = await pull_all(world, "super")
    assert records["p1"]["observations"][0]["status"] == "dismissed" and conflicts == []


async def test_editing_outside_your_grounds_is_forbidden(world: World) -> None:
    r = (await push(world, "super", [update(world, "super", 1, pid="p4")])).json()
    assert r["receipts"][0]["reason"] == "forbidden"


async def test_an_unknown_premises_is_rejected(world: World) -> None:
    r = (await push(world, "super", [update(world, "super", 1, pid="nope")])).json()
    assert r["receipts"][0]["reason"] == "unknown_premises"


async def test_a_stale_cursor_answers_reset(world: World) -> None:
    page = await pull(world, "super", "not-a-cursor")
    assert page["reset"] is True and page["total"] == 3


async def test_a_cursor_behind_the_tombstone_horizon_answers_reset(world: World) -> None:
    from server.store.sync import purge_tombstones
    _, _, cursor = await pull_all(world, "super")
    delete = {"kind": "delete", "device_id": device_of(world, "super"), "seq": 1,
              "premises_id": "p2", "base_version": 1}
    assert (await push(world, "super", [delete])).json()["receipts"][0]["status"] == "applied"
    top = (await world.db.execute("SELECT max(change_seq) FROM premises")).single_value()
    assert await purge_tombstones(world.db, top) == 1
    page = await pull(world, "super", cursor)
    assert page["reset"] is True and page["total"] == 2


async def test_pull_pages_say_more_and_count_the_scope_on_the_first(world: World) -> None:
    first = await pull(world, "super")
    assert first["total"] == 3 and first["more"] is True and len(first["changes"]) == 2
    second = await pull(world, "super", first["cursor"])
    assert second["total"] is None and second["more"] is False
    assert len(second["changes"]) == 1


async def test_each_pull_page_names_its_cursor_and_whether_more_follows_in_its_headers(
        world: World) -> None:
    # A client asks for the next page when these arrive, before the body: they must say what
    # the body says.
    cursor, seen = "", 0
    while True:
        r = await world.client.get("/api/sync/pull", params={"cursor": cursor},
                                   headers=world.as_("super"))
        page = r.json()
        assert r.headers["Watchbook-Cursor"] == page["cursor"]
        assert r.headers["Watchbook-More"] == ("1" if page["more"] else "0")
        seen, cursor = seen + 1, page["cursor"]
        if not page["more"]:
            break
    assert seen == 2  # pages of two rows, three records in scope


async def test_a_cursor_too_long_for_a_proxy_header_is_left_to_the_body(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.api import sync as api_sync
    monkeypatch.setattr(api_sync, "MAX_CURSOR_HEADER", 8)  # shorter than any cursor
    r = await world.client.get("/api/sync/pull", headers=world.as_("super"))
    assert "Watchbook-Cursor" not in r.headers and r.headers["Watchbook-More"] == "1"
    assert r.json()["cursor"] and r.json()["more"] is True


async def test_a_shrunk_scope_lists_records_that_left_it(world: World) -> None:
    _, _, cursor = await pull_all(world, "super")
    await world.db.execute_write("UPDATE stations SET extra_grounds = '[]' WHERE code = 'A01'")
    page = await pull(world, "super", cursor)
    assert page["left_scope"] == ["p3"] and page["reset"] is False


async def test_a_record_moved_out_of_scope_is_listed_as_left(world: World) -> None:
    _, _, cursor = await pull_all(world, "super")
    move = update(world, "admin", 1, field="station", old="A01", new="C03")
    assert (await push(world, "admin", [move])).json()["receipts"][0]["status"] == "applied"
    page = await pull(world, "super", cursor)
    assert page["left_scope"] == ["p1"] and page["changes"] == []
    records, _, _ = await pull_all(world, "csuper")
    assert records["p1"]["station"] == "C03"


async def test_an_open_conflict_follows_its_record_to_a_new_station(world: World) -> None:
    await push(world, "super", [update(world, "super", 1, new="from super")])
    r = (await push(world, "admin", [update(world, "admin", 1, new="from admin")])).json()
    [cid] = r["receipts"][0]["conflict_ids"]
    move = update(world, "admin", 2, field="station", old="A01", new="C03", base=2)
    assert (await push(world, "admin", [move])).json()["receipts"][0]["status"] == "applied"
    _, conflicts, _ = await pull_all(world, "csuper")
    assert [(c["id"], c["station"]) for c in conflicts] == [(cid, "C03")]


async def test_moving_a_record_to_a_station_outside_your_grounds_is_forbidden(world: World
                                                                              ) -> None:
    move = update(world, "super", 1, field="station", old="A01", new="C03")
    r = (await push(world, "super", [move])).json()
    assert r["receipts"][0]["reason"] == "forbidden"


async def test_a_grown_scope_is_resent_from_the_start(world: World) -> None:
    _, _, cursor = await pull_all(world, "csuper")
    await world.db.execute_write("UPDATE stations SET extra_grounds = '[\"B02\"]' "
                                 "WHERE code = 'C03'")
    page = await pull(world, "csuper", cursor, limit=1)
    assert page["total"] == 2 and page["more"] is True and len(page["changes"]) == 1
    records, _, _ = await pull_all(world, "csuper", cursor)
    assert set(records) == {"p3", "p4"}


async def test_an_old_protocol_is_a_426(world: World) -> None:
    r = await push(world, "super", [update(world, "super", 1)], **{"Watchbook-Protocol": "0"})
    assert r.status_code == 426 and r.json()["error"]["code"] == "upgrade_required"
    r = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "protocol": 0, "mutations": [update(world, "super", 1)]})
    assert r.status_code == 426


async def test_a_protocol_that_is_not_a_number_is_a_400_saying_what_is_supported(
        world: World) -> None:
    from sync.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_VERSION
    supported = [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]
    for headers, body in [({"Watchbook-Protocol": "two"}, {}), ({}, {"protocol": "two"}),
                          ({}, {"protocol": 1.5})]:
        r = await world.client.post("/api/sync/push", headers={**world.as_("super"), **headers},
                                    json={"mutations": [update(world, "super", 1)], **body})
        assert r.status_code == 400, (headers, body, r.text)
        error = r.json()["error"]
        assert error["code"] == "protocol_unsupported" and error["field"] == "protocol"
        assert error["supported"] == supported
    r = await world.client.get("/api/sync/pull", headers={**world.as_("super"),
                                                           "Watchbook-Protocol": "x"})
    assert r.status_code == 400 and r.json()["error"]["supported"] == supported
    records, _, _ = await pull_all(world, "super")
    assert records["p1"]["version"] == 1  # nothing was applied


async def test_pushes_beyond_the_concurrency_cap_get_429_with_retry_after(world: World) -> None:
    service = world.app.state.sync
    service.queue_seconds = 0.05
    cap = world.app.state.settings.max_concurrent_pushes
    held = [await service.acquire_push_slot() for _ in range(cap)]
    try:
        r = await push(world, "super", [update(world, "super", 1)])
    finally:
        for _ in held:
            service.release_push_slot()
    assert all(held)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert (await push(world, "super", [update(world, "super", 1)])).status_code == 200


async def test_a_push_over_the_cap_waits_for_a_slot_instead_of_being_refused(
        world: World) -> None:
    service = world.app.state.sync
    cap = world.app.state.settings.max_concurrent_pushes
    for _ in range(cap):
        assert await service.acquire_push_slot()
    waiting = asyncio.create_task(push(world, "super", [update(world, "super", 1)]))
    await asyncio.sleep(0.05)
    assert not waiting.done() and service.waiting == 1
    service.release_push_slot()  # one push finishes: the waiting one goes ahead
    r = await waiting
    for _ in range(cap - 1):
        service.release_push_slot()
    assert r.status_code == 200 and r.json()["receipts"][0]["seq"] == 1


async def test_a_clash_comes_back_as_a_conflict_receipt_and_pulls(world: World) -> None:
    await push(world, "super", [update(world, "super", 1, new="from super")])
    r = (await push(world, "admin", [update(world, "admin", 1, new="from admin")])).json()
    assert r["receipts"][0]["status"] == "conflict"
    [cid] = r["receipts"][0]["conflict_ids"]
    _, conflicts, _ = await pull_all(world, "super")
    assert [(c["id"], c["server"], c["client"]) for c in conflicts] == [
        (cid, "from super", "from admin")]
    assert conflicts[0]["server_author"]["user"] == "super"


async def test_a_conflict_names_the_devices_of_both_edits(world: World) -> None:
    """Two edits by one supervisor on two devices: the conflict says which device made each."""
    enrolled = (await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super", "device_name": "Pump 1 WIS"})).json()
    world.tokens["super-pump"] = enrolled["token"]
    await push(world, "super", [update(world, "super", 1, new="from the first device")])
    r = (await push(world, "super-pump", [update(world, "super-pump", 1,
                                                 new="from the pump")])).json()
    assert r["receipts"][0]["status"] == "conflict"
    _, [conflict], _ = await pull_all(world, "crew")
    assert conflict["server_author"]["device_name"] == "test device"
    assert conflict["client_author"]["device_name"] == "Pump 1 WIS"
    assert conflict["client_author"]["user"] == conflict["server_author"]["user"] == "super"


def test_openapi_operations_use_msgspec_types() -> None:
    from server.api import sync as sync_api
    from server.api.openapi import operations
    types = [t for _, _, op in operations(sync_api.routes) for t in (op.request, op.response)
             if t is not None]
    schemas, components = msgspec.json.schema_components(types)
    assert "PushRequest" in components and "PullResponse" in components


async def test_a_sequence_number_too_large_for_a_device_is_refused_naming_the_field(
        world: World) -> None:
    me = (await world.client.get("/api/me", headers=world.as_("super"))).json()
    body = {"protocol": 1, "mutations": [{
        "kind": "update", "device_id": me["device_id"], "seq": 2**64, "client_time": "",
        "premises_id": "p1", "base_version": 1,
        "changes": [{"field": "rvp", "old": "", "new": "Gate"}]}]}
    r = await world.client.post("/api/sync/push", json=body, headers=world.as_("super"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "mutations[0].seq"


async def test_pushes_trickling_their_bodies_hold_no_slot_and_get_a_408(world: World) -> None:
    service = world.app.state.sync
    cap = world.app.state.settings.max_concurrent_pushes
    service.queue_seconds, service.body_seconds = 0, 0.5  # no queue: a held slot means a 429
    body = msgspec.json.encode({"mutations": [update(world, "crew", 1)]})

    async def trickle() -> Any:  # one byte every 50 ms, never the whole body in time
        for i in range(len(body)):
            yield body[i:i + 1]
            await asyncio.sleep(0.05)

    slow = [asyncio.create_task(world.client.post(
        "/api/sync/push", content=trickle(), headers={
            **world.as_("crew"), "Content-Type": "application/json"}))
        for _ in range(cap * 3)]
    await asyncio.sleep(0.2)                   # every slow push has started sending
    assert service.active_pushes == 0
    r = await push(world, "super", [update(world, "super", 1)])
    assert r.status_code == 200, r.text        # the slow ones hold no slot
    refused = await asyncio.gather(*slow)
    assert {x.status_code for x in refused} == {408}
    error = refused[0].json()["error"]
    assert error["code"] == "body_timeout" and error["field"] == "body"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert service.active_pushes == 0 and not service._slots.locked()  # noqa: SLF001


def test_every_engine_refusal_code_has_an_http_status() -> None:
    from typing import get_args

    from server.api.sync import REFUSAL_STATUS
    from sync.engine import RefusalCode
    assert set(REFUSAL_STATUS) == set(get_args(RefusalCode))
    assert all(400 <= status < 500 for status in REFUSAL_STATUS.values())
