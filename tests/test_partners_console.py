"""The console's partner users: an admin adds a neighbouring fire service's crew user (crew
offered and accepted for a fire service only, every problem of the form at once), and the
console's user edit never gives a partner organisation's user a station or grounds of the
owning service."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
from world import World, console_client

from server import partners
from server.store import organisations

PW = "a long neighbour password"


@contextlib.asynccontextmanager
async def admin_console(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A signed-in admin and a CSRF token of theirs."""
    async with console_client(world.app, "admin", "pw-admin") as client:
        page = await client.get("/console/partners")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        yield client, token.group(1)


async def test_an_admin_adds_a_neighbouring_services_crew_user_in_the_console(
        world: World) -> None:
    fire = await partners.add_organisation(world.db, "Barset Fire and Rescue", "fire", 1)
    async with admin_console(world) as (admin, csrf):
        form = (await admin.get("/console/partners")).text
        assert 'value="crew"' in form  # offered, as there is a fire service
        got = await admin.post("/console/partners/users", data={
            "csrf": csrf, "organisation": str(fire), "role": "crew", "username": "nb.crew",
            "name": "Nell Neighbour", "password": PW})
        assert got.status_code == 303, got.text
        listed = (await admin.get("/console/partners")).text
        assert "nb.crew" in listed and "crew (devices)" in listed
    row = (await world.db.execute("SELECT role, station, organisation_id FROM users "
                                  "WHERE username = 'nb.crew'")).first()
    assert row is not None and tuple(row) == ("crew", None, fire)
    who = await world.auth.principal_for_user(
        (await organisations.partner_users(world.db, 1))[0]["id"])
    assert who.role == "crew" and who.grounds == ()
    device, token = await world.auth.enrol_device(who, "Pump 1 Barset")
    assert device and token


async def test_crew_is_neither_offered_nor_accepted_for_a_police_force(world: World) -> None:
    police = await partners.add_organisation(world.db, "Shire Police", "police", 1)
    async with admin_console(world) as (admin, csrf):
        assert 'value="crew"' not in (await admin.get("/console/partners")).text
        got = await admin.post("/console/partners/users", data={
            "csrf": csrf, "organisation": str(police), "role": "crew", "username": "pc.crew",
            "name": "PC Crew", "password": PW})
        assert got.status_code == 422
        assert "Only a neighbouring fire service&#39;s users may be crew" in got.text
    assert (await world.db.execute(
        "SELECT count(*) FROM users WHERE username = 'pc.crew'")).single_value() == 0


async def test_the_partner_user_form_names_every_problem_at_once(world: World) -> None:
    police = await partners.add_organisation(world.db, "Shire Police", "police", 1)
    async with admin_console(world) as (admin, csrf):
        got = await admin.post("/console/partners/users", data={
            "csrf": csrf, "organisation": str(police), "role": "crew", "username": "bad name!",
            "name": " ", "password": "short"})
        assert got.status_code == 422
        for field in ("pu-username-error", "pu-name-error", "pu-role-error",
                      "pu-password-error"):
            assert f'id="{field}"' in got.text, field
    assert (await world.db.execute("SELECT count(*) FROM users WHERE organisation_id = ?",
                                   (police,))).single_value() == 0


async def test_the_console_never_gives_a_neighbours_crew_user_a_station_or_grounds(
        world: World) -> None:
    fire = await partners.add_organisation(world.db, "Barset Fire and Rescue", "fire", 1)
    uid = await partners.add_partner_user(world.auth, "nb.crew", "Nell Neighbour", fire, PW,
                                          role="crew", service=1)
    async with admin_console(world) as (admin, csrf):
        page = await admin.get(f"/console/admin/users/{uid}")
        assert page.status_code == 200 and 'name="station"' not in page.text
        got = await admin.post(f"/console/admin/users/{uid}", data={
            "csrf": csrf, "name": "Nell Neighbour", "role": "crew", "station": "A01",
            "grounds": ["B02"]})
        assert got.status_code == 422
        assert 'id="u-station-error"' in got.text and 'id="u-grounds-error"' in got.text
        promoted = await admin.post(f"/console/admin/users/{uid}", data={
            "csrf": csrf, "name": "Nell Neighbour", "role": "supervisor"})
        assert promoted.status_code == 422 and "keeps the crew role" in promoted.text
        renamed = await admin.post(f"/console/admin/users/{uid}", data={
            "csrf": csrf, "name": "Nell N. Neighbour", "role": "crew"})
        assert renamed.status_code == 303, renamed.text
    who = await world.auth.principal_for_user(uid)
    assert (who.role, who.station, who.grounds) == ("crew", None, ())
    assert tuple((await world.db.execute("SELECT name, extra_grounds FROM users WHERE id = ?",
                                   (uid,))).first()) == ("Nell N. Neighbour", "[]")


async def test_users_edit_refuses_a_partner_organisations_user_a_station(world: World) -> None:
    from server import users
    from server.errors import ApiError
    fire = await partners.add_organisation(world.db, "Barset Fire and Rescue", "fire", 1)
    uid = await partners.add_partner_user(world.auth, "nb.crew", "Nell Neighbour", fire, PW,
                                          role="crew", service=1)
    for change in ({"station": "A01"}, {"extra": ["A01"]}, {"role": "supervisor"}):
        try:
            await users.edit(world.db, uid, **change)
        except ApiError as exc:
            assert exc.status == 422
        else:
            raise AssertionError(f"{change} was allowed")
    who = await world.auth.principal_for_user(uid)
    assert (who.role, who.station, who.grounds) == ("crew", None, ())


async def test_the_console_header_names_the_signed_in_users_service(world: World) -> None:
    from server import services
    await world.db.execute_write("UPDATE organisations SET name = 'Ashby Fire and Rescue' "
                                 "WHERE id = 1")
    await services.add(world.auth, "Bravo Fire and Rescue", "badmin", "Bea Bravo", PW)
    police = await partners.add_organisation(world.db, "Shire Police", "police", 1)
    await partners.add_partner_user(world.auth, "pc.jones", "PC Jones", police, PW, service=1)
    header = re.compile(r'class="service-name"[^>]*>· ([^<]+)<')
    async with admin_console(world) as (admin, _):
        found = header.search((await admin.get("/console/", follow_redirects=True)).text)
        assert found and found.group(1) == "Ashby Fire and Rescue"
    for username, name in (("badmin", "Bravo Fire and Rescue"), ("pc.jones", "Shire Police")):
        async with console_client(world.app, username, PW) as client:
            got = await client.get("/console/", follow_redirects=True)
            found = header.search(got.text)
            assert found and found.group(1) == name, username
