"""Console stations pages (/console/admin/stations): add, edit grounds, retire with the
premises moved; forms carry CSRF, and a bad field gets a 422 page naming it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from test_console import Browser, as_user, post_form

from server.store import records, stations

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user"]  # the signed-in browser fixture, shared with tests/test_console.py


async def test_an_admin_adds_a_station_with_extra_grounds(as_user: Browser,
                                                          world: World) -> None:
    admin = await as_user("admin")
    r = await post_form(admin, "/console/admin/stations", "/console/admin/stations", {
        "code": "d04", "name": "Dunton", "lat": "52.3", "lon": "0.4", "grounds": "A01"})
    assert r.status_code == 303 and r.headers["location"] == "/console/admin/stations"
    listing = await admin.get("/console/admin/stations")
    assert "Added station D04 Dunton." in listing.text
    row = await world.db.read(lambda c: stations.get(c, "D04"))
    assert row is not None and row["extra_grounds"] == ["A01"] and row["lat"] == 52.3


async def test_a_bad_station_form_is_shown_again_naming_the_field(as_user: Browser,
                                                                 world: World) -> None:
    admin = await as_user("admin")
    for data, message in (
            ({"code": "A01", "name": "Again"}, "Station code A01 is taken."),
            ({"code": "D04", "name": "Dunton", "lat": "north"}, "Enter a number"),
            ({"code": "D04", "name": "Dunton", "lat": "52.1"}, "give both latitude"),
            ({"code": "D 4", "name": "Dunton"}, "1 to 16 letters or digits")):
        r = await post_form(admin, "/console/admin/stations", "/console/admin/stations", data)
        assert r.status_code in (409, 422)
        assert message.lower() in r.text.lower(), r.text
        assert 'aria-invalid="true"' in r.text
    assert await world.db.read(lambda c: stations.codes(c, 1)) == ["A01", "B02", "C03"]


async def test_editing_a_stations_grounds_changes_what_its_crews_reach(
        as_user: Browser, world: World) -> None:
    admin = await as_user("admin")
    r = await post_form(admin, "/console/admin/stations/A01", "/console/admin/stations/A01",
                        {"name": "Ashby", "lat": "52.2", "lon": "0.12", "grounds": "C03"})
    assert r.status_code == 303
    me = (await world.client.get("/api/me", headers=world.as_("crew"))).json()
    assert me["grounds"] == ["A01", "C03"]


async def test_retiring_a_station_moves_its_premises_and_lists_it_as_retired(
        as_user: Browser, world: World) -> None:
    admin = await as_user("admin")
    unconfirmed = await post_form(admin, "/console/admin/stations/C03",
                                  "/console/admin/stations/C03/retire", {"move_to": "B02"})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    refused = await post_form(admin, "/console/admin/stations/C03",
                              "/console/admin/stations/C03/retire",
                              {"move_to": "B02", "confirm": "yes"})
    assert refused.status_code == 409 and "csuper" in refused.text  # based there
    user_page = f"/console/admin/users/{world.user_ids['csuper']}"
    moved = await post_form(admin, user_page, user_page, {
        "name": "Cal Carrow", "role": "supervisor", "station": "B02"})
    assert moved.status_code == 303
    r = await post_form(admin, "/console/admin/stations/C03",
                        "/console/admin/stations/C03/retire", {"move_to": "B02", "confirm": "yes"})
    assert r.status_code == 303
    listing = await admin.get("/console/admin/stations")
    assert "Retired station C03; its 1 premises moved to B02." in listing.text
    assert "Retired " in listing.text
    doc = await world.db.read(lambda c: records.get(c, "p4"))
    assert doc is not None and doc["station"] == "B02"


async def test_supervisors_cannot_reach_the_stations_pages(as_user: Browser) -> None:
    supervisor = await as_user("super")
    assert (await supervisor.get("/console/admin/stations")).status_code == 403
