"""Premises over their life in the console: create, move to another station, delete after a
confirmation page, restore from the deleted list; each through the sync engine, so history
records it and devices see it at their next pull."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from test_console import Browser, as_user, csrf_of, post_form

from server.store import records
from server.store import sync as sync_store

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user"]  # the signed-in browser fixture, shared with tests/test_console.py


async def pull(world: World, user: str, cursor: str = "") -> dict[str, Any]:
    r = await world.client.get("/api/sync/pull", params={"cursor": cursor},
                               headers=world.as_(user))
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def test_a_supervisor_creates_premises_that_devices_then_pull(as_user: Browser,
                                                                    world: World) -> None:
    cursor = (await pull(world, "crew"))["cursor"]
    supervisor = await as_user("super")
    r = await post_form(supervisor, "/console/premises/new", "/console/premises/new", {
        "name": "Fen Lane Battery Store", "station": "A01", "postcode": "cb1 4ef",
        "lat": "52.21", "lon": "0.13", "risk_level": "1"})
    assert r.status_code == 303
    premises_id = r.headers["location"].rsplit("/", 1)[1]
    doc = await world.db.read(lambda c: records.get(c, premises_id))
    assert doc is not None and doc["postcode"] == "CB1 4EF" and doc["risk_level"] == 1
    assert (await sync_store.history(world.db, premises_id))[0]["kind"] == "create"
    page = await pull(world, "crew", cursor)
    assert [c["record"]["name"] for c in page["changes"]] == ["Fen Lane Battery Store"]


async def test_the_create_form_names_a_bad_field_and_refuses_other_grounds(
        as_user: Browser, world: World) -> None:
    supervisor = await as_user("super")
    bad = await post_form(supervisor, "/console/premises/new", "/console/premises/new", {
        "name": "Somewhere", "station": "A01", "lat": "north", "risk_level": "2"})
    assert bad.status_code == 422 and "Enter a number." in bad.text
    outside = await post_form(supervisor, "/console/premises/new", "/console/premises/new", {
        "name": "Somewhere", "station": "C03", "risk_level": "2"})
    assert outside.status_code == 422 and "Choose a station in your grounds." in outside.text
    assert await world.db.read(records.count) == 4


async def test_moving_premises_tells_the_old_grounds_and_the_new(as_user: Browser,
                                                                 world: World) -> None:
    crew_cursor = (await pull(world, "crew"))["cursor"]
    other_cursor = (await pull(world, "csuper"))["cursor"]
    admin = await as_user("admin")
    r = await post_form(admin, "/console/premises/p2/move", "/console/premises/p2/move",
                        {"station": "C03", "base_version": "1"})
    assert r.status_code == 303
    assert (await pull(world, "crew", crew_cursor))["left_scope"] == ["p2"]
    arrived = await pull(world, "csuper", other_cursor)
    assert [c["record"]["id"] for c in arrived["changes"]] == ["p2"]


async def test_deleting_asks_for_confirmation_then_tombstones_the_record(
        as_user: Browser, world: World) -> None:
    cursor = (await pull(world, "crew"))["cursor"]
    supervisor = await as_user("super")
    confirm = await supervisor.get("/console/premises/p2/delete")
    assert confirm.status_code == 200 and "Delete Ashby Engineering Works?" in confirm.text
    unconfirmed = await supervisor.post("/console/premises/p2/delete", data={
        "csrf": csrf_of(confirm.text), "base_version": "1"})
    assert unconfirmed.status_code == 422
    assert not (await world.db.read(lambda c: records.get(c, "p2")) or {}).get("deleted")
    r = await supervisor.post("/console/premises/p2/delete", data={
        "csrf": csrf_of(confirm.text), "base_version": "1", "confirm": "yes"})
    assert r.status_code == 303
    page = await pull(world, "crew", cursor)
    assert [(c["record"]["id"], c["record"]["deleted"]) for c in page["changes"]] == [
        ("p2", True)]
    assert (await supervisor.get("/console/premises/p2")).status_code == 404


async def test_a_deleted_record_is_listed_and_restored_for_every_device(
        as_user: Browser, world: World) -> None:
    supervisor = await as_user("super")
    await post_form(supervisor, "/console/premises/p2/delete", "/console/premises/p2/delete",
                    {"base_version": "1", "confirm": "yes"})
    cursor = (await pull(world, "crew"))["cursor"]
    deleted = await supervisor.get("/console/premises/deleted")
    assert "Ashby Engineering Works" in deleted.text
    r = await supervisor.post("/console/premises/p2/restore",
                              data={"csrf": csrf_of(deleted.text)})
    assert r.status_code == 303 and r.headers["location"] == "/console/premises/p2"
    page = await pull(world, "crew", cursor)
    assert [(c["record"]["id"], c["record"]["deleted"]) for c in page["changes"]] == [
        ("p2", False)]
    kinds = [e["kind"] for e in await sync_store.history(world.db, "p2")]
    assert kinds[-2:] == ["delete", "restore"]
    await supervisor.get("/console/premises/p2")  # shows the flash message
    assert "Ashby Engineering Works" not in (
        await supervisor.get("/console/premises/deleted")).text


async def test_records_outside_your_grounds_cannot_be_moved_deleted_or_restored(
        as_user: Browser) -> None:
    other = await as_user("csuper")
    for path in ("/console/premises/p1/move", "/console/premises/p1/delete"):
        assert (await other.get(path)).status_code == 403
    page = await other.get("/console/premises/deleted")
    r = await other.post("/console/premises/p1/restore", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 403
