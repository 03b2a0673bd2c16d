"""The console: sign-in, roles, CSRF, premises pages, dashboard, admin, edits and conflicts.

Each test signs in its own browser-like client (cookies kept) over the `world` fixture.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from world import fast_settings

from server.app import create_app
from server.store import records

if TYPE_CHECKING:  # the `world` fixture's type; tests/conftest.py builds it
    from world import World

Browser = Callable[[str], Awaitable[httpx.AsyncClient]]


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def browser(world: World) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                             base_url="http://test")


async def sign_in(client: httpx.AsyncClient, username: str, password: str | None = None,
                  ) -> httpx.Response:
    form = await client.get("/console/signin")
    return await client.post("/console/signin", data={
        "csrf": csrf_of(form.text), "username": username,
        "password": password or "pw-" + username})


@pytest.fixture
async def as_user(world: World) -> AsyncIterator[Browser]:
    clients: list[httpx.AsyncClient] = []

    async def open_as(username: str) -> httpx.AsyncClient:
        client = browser(world)
        clients.append(client)
        response = await sign_in(client, username)
        assert response.status_code == 303, response.text
        return client
    yield open_as
    for client in clients:
        await client.aclose()


async def post_form(client: httpx.AsyncClient, page_url: str, action: str,
                    data: dict[str, str] | None = None) -> httpx.Response:
    page = await client.get(page_url)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf": csrf_of(page.text), **(data or {})})


# -- sign-in, roles, CSRF ------------------------------------------------------------------

async def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    async with browser(world) as client:
        response = await client.get("/console/premises?q=maple")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/signin?next=/console/premises%3Fq%3Dmaple"


async def test_supervisor_lands_on_dashboard_and_can_sign_out(as_user: Browser) -> None:
    client = await as_user("super")
    landing = await client.get("/console/", follow_redirects=True)
    assert landing.url.path == "/console/dashboard"
    assert "Reviews due" in landing.text
    out = await client.post("/console/signout", data={"csrf": csrf_of(landing.text)})
    assert out.status_code == 303
    assert (await client.get("/console/dashboard")).status_code == 303


async def test_sign_in_returns_to_the_page_asked_for(world: World) -> None:
    async with browser(world) as client:
        form = await client.get("/console/signin?next=/console/premises/p1")
        response = await client.post("/console/signin", data={
            "csrf": csrf_of(form.text), "username": "super", "password": "pw-super",
            "next": "/console/premises/p1"})
        assert response.headers["location"] == "/console/premises/p1"


async def test_wrong_password_shows_an_error_not_a_crash(world: World) -> None:
    async with browser(world) as client:
        response = await sign_in(client, "super", "nope")
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
        assert 'value="super"' in response.text


async def test_repeated_failures_are_throttled_with_a_readable_message(world: World) -> None:
    async with browser(world) as client:
        for _ in range(world.app.state.settings.signin_max_failures):
            await sign_in(client, "super", "nope")
        response = await sign_in(client, "super", "pw-super")
        assert response.status_code == 429
        assert "Too many failed sign-ins" in response.text


async def test_sign_in_without_csrf_is_refused(world: World) -> None:
    async with browser(world) as client:
        await client.get("/console/signin")
        response = await client.post("/console/signin",
                                     data={"username": "super", "password": "pw-super"})
        assert response.status_code == 403
        assert "user_id" not in str(client.cookies)


async def test_post_without_csrf_token_is_refused(as_user: Browser) -> None:
    client = await as_user("admin")
    response = await client.post("/console/admin/users", data={
        "username": "x", "name": "X", "role": "crew", "station": "A01",
        "password": "long-enough"})
    assert response.status_code == 403
    assert "stale" in response.text
    assert "x" not in [u for u in (await client.get("/console/admin/users")).text.split()]


async def test_crew_is_refused_the_console_and_pointed_at_the_app(as_user: Browser) -> None:
    client = await as_user("crew")
    response = await client.get("/console/dashboard")
    assert response.status_code == 403
    assert "The console is for supervisors and admins" in response.text
    assert 'href="/"' in response.text


async def test_supervisor_is_refused_admin_pages(as_user: Browser) -> None:
    client = await as_user("super")
    for url in ("/console/admin/users", "/console/admin/devices"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "Admins only" in response.text


async def test_every_read_page_renders_for_supervisor_and_admin(as_user: Browser) -> None:
    for username in ("super", "admin"):
        client = await as_user(username)
        for url in ("/console/dashboard", "/console/premises", "/console/premises/p1",
                    "/console/premises?q=ashby&risk_level=2&review=overdue&station=A01"):
            response = await client.get(url)
            assert response.status_code == 200, (username, url, response.text)
            assert '<main id="main"' in response.text
            assert "style=" not in response.text and "<script" not in response.text


async def test_disabled_user_is_signed_out_on_the_next_page(world: World,
                                                             as_user: Browser) -> None:
    client = await as_user("super")
    await world.db.execute_write("UPDATE users SET disabled = 1 WHERE username = 'super'")
    response = await client.get("/console/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/signin")


# -- premises pages --------------------------------------------------------------------------

async def test_search_finds_premises_by_postcode_and_uprn(as_user: Browser) -> None:
    client = await as_user("super")
    by_postcode = await client.get("/console/premises", params={"q": "CB1 2AB"})
    assert "Maple Court Care Home" in by_postcode.text
    assert "Ashby Engineering Works" not in by_postcode.text
    by_uprn = await client.get("/console/premises", params={"q": "100010001002"})
    assert "Ashby Engineering Works" in by_uprn.text
    assert "Maple Court" not in by_uprn.text


async def test_premises_list_says_plus_when_the_count_is_capped(
        as_user: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.store import search
    client = await as_user("admin")
    exact = await client.get("/console/premises", params={"q": "cb"})
    assert "of 3 premises" in exact.text
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    capped = await client.get("/console/premises", params={"q": "cb"})
    assert "of 2+ premises" in capped.text and "add words to narrow" in capped.text
    for q in ('"', "NEAR(", "*-", "name:x"):  # no input is a search syntax error
        assert (await client.get("/console/premises", params={"q": q})).status_code == 200


async def test_premises_list_stays_within_the_users_grounds(as_user: Browser) -> None:
    client = await as_user("super")  # A01, with B02 as extra grounds
    page = await client.get("/console/premises")
    assert "Barton Grain Store" in page.text and "Carrow Towers" not in page.text
    assert (await client.get("/console/premises?station=C03")).status_code == 403
    assert (await client.get("/console/premises/p4")).status_code == 403


async def test_premises_page_puts_hazards_before_access(as_user: Browser) -> None:
    client = await as_user("super")
    page = (await client.get("/console/premises/p1")).text
    assert "Oxygen (medical or industrial)" in page
    assert page.index('id="hazards"') < page.index('id="access"') < page.index('id="water"')
    assert "sev-high" in page and ">High<" in page


async def test_expired_temporary_hazard_is_shown_as_expired(world: World,
                                                           as_user: Browser) -> None:
    doc = await world.db.read(lambda c: records.get(c, "p2"))
    doc["hazards"].append({"id": "h9", "type": "scaffolding", "location": "North wall",
                           "severity": "medium", "expires": "2001-01-01"})
    await world.db.write(lambda c: records.insert_many(c, [doc]))
    client = await as_user("super")
    page = (await client.get("/console/premises/p2")).text
    assert "Expired 2001-01-01" in page
    assert page.index("Acetylene cylinders") < page.index("Scaffolding")


async def test_viewing_entry_codes_is_recorded(world: World, as_user: Browser) -> None:
    client = await as_user("super")
    page = (await client.get("/console/premises/p1")).text
    assert "C1234" in page and "4512" in page
    rows = (await world.db.execute("SELECT user_id, premises_id, fields FROM sensitive_views"))
    assert [tuple(r) for r in rows] == [(world.user_ids["super"], "p1", "entry_codes,key_box")]
    history = (await client.get("/console/premises/p1/history")).text
    assert "Sam Supervisor" in history and "entry codes, key box" in history


async def test_dashboard_lists_overdue_premises_for_the_supervisors_station(
        as_user: Browser) -> None:
    page = (await (await as_user("super")).get("/console/dashboard")).text
    overdue = page[page.index('id="overdue-title"'):page.index('id="soon-title"')]
    assert "Maple Court Care Home" in overdue
    assert "Ashby Engineering Works" not in overdue
    other = (await (await as_user("csuper")).get("/console/dashboard")).text
    assert "Maple Court Care Home" not in other
    everyone = (await (await as_user("admin")).get("/console/dashboard")).text
    assert "C03 Carrow" in everyone and "Maple Court Care Home" in everyone


# -- admin ---------------------------------------------------------------------------------

async def test_admin_adds_and_disables_a_user(world: World, as_user: Browser) -> None:
    client = await as_user("admin")
    added = await post_form(client, "/console/admin/users", "/console/admin/users", {
        "username": "newbie", "name": "Nia Newbie", "role": "supervisor", "station": "B02",
        "password": "a-long-password"})
    assert added.status_code == 303
    listing = await client.get("/console/admin/users")
    assert "Added Nia Newbie" in listing.text and "newbie" in listing.text
    user_id = (await world.db.execute("SELECT id FROM users WHERE username = 'newbie'")
               ).single_value()
    disabled = await post_form(client, "/console/admin/users",
                               f"/console/admin/users/{user_id}/disable")
    assert disabled.status_code == 303
    async with browser(world) as other:
        response = await sign_in(other, "newbie", "a-long-password")
        assert response.status_code == 403 and "disabled" in response.text


async def test_add_user_form_shows_errors_beside_fields(as_user: Browser) -> None:
    client = await as_user("admin")
    response = await post_form(client, "/console/admin/users", "/console/admin/users", {
        "username": "super", "name": "Dup", "role": "crew", "station": "A01",
        "password": "a-long-password"})
    assert response.status_code == 422
    assert "taken" in html.unescape(response.text)
    assert 'aria-invalid="true"' in response.text


async def test_admin_revokes_a_device_and_its_token_stops_working(world: World,
                                                                  as_user: Browser) -> None:
    client = await as_user("admin")
    assert (await world.client.get("/api/me", headers=world.as_("crew"))).status_code == 200
    device_id = (await world.db.execute(
        "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.username = 'crew'"
    )).single_value()
    page = await client.get(f"/console/admin/devices?user={world.user_ids['crew']}")
    assert device_id in page.text
    response = await client.post(f"/console/admin/devices/{device_id}/revoke",
                                 data={"csrf": csrf_of(page.text), "wipe": "1"})
    assert response.status_code == 303
    me = await world.client.get("/api/me", headers=world.as_("crew"))
    assert me.status_code == 401
    assert me.json()["error"]["wipe"] is True


def selected(page: str, select_id: str) -> str:
    """The value of the option a <select> shows first (the selected one, else the first)."""
    block = page.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    chosen = re.search(r'<option value="([^"]*)" selected>', block) or re.search(
        r'<option value="([^"]*)"', block)
    assert chosen, block
    return chosen.group(1)


async def test_the_add_user_form_as_it_first_shows_is_a_valid_one(world: World,
                                                                   as_user: Browser) -> None:
    client = await as_user("admin")
    page = await client.get("/console/admin/users")
    role, station = selected(page.text, "new-role"), selected(page.text, "new-station")
    assert (role, station) == ("crew", "A01")
    added = await client.post("/console/admin/users", data={
        "csrf": csrf_of(page.text), "username": "fresh", "name": "Fran Fresh", "role": role,
        "station": station, "password": "a-long-password"})
    assert added.status_code == 303, added.text


async def test_a_users_page_lists_their_devices_and_changes_their_grounds(
        world: World, as_user: Browser) -> None:
    client = await as_user("admin")
    url = f"/console/admin/users/{world.user_ids['crew']}"
    page = await client.get(url)
    assert page.status_code == 200 and "test device" in page.text
    saved = await client.post(url, data={"csrf": csrf_of(page.text), "name": "Casey Crew",
                                         "role": "supervisor", "station": "A01",
                                         "grounds": ["B02", "C03"]})
    assert saved.status_code == 303
    me = (await world.client.get("/api/me", headers=world.as_("crew"))).json()
    assert (me["role"], me["grounds"]) == ("supervisor", ["A01", "B02", "C03"])
    bad = await client.post(url, data={"csrf": csrf_of(page.text), "name": "Casey Crew",
                                       "role": "crew", "station": ""})
    assert bad.status_code == 422 and "A crew needs a home station." in bad.text


async def test_an_admin_cannot_take_away_their_own_admin_role(world: World,
                                                              as_user: Browser) -> None:
    client = await as_user("admin")
    url = f"/console/admin/users/{world.user_ids['admin']}"
    page = await client.get(url)
    r = await client.post(url, data={"csrf": csrf_of(page.text), "name": "Ada Admin",
                                     "role": "crew", "station": "A01"})
    assert r.status_code == 422 and "your own admin role" in r.text


async def test_disabling_in_the_console_sends_the_users_devices_the_wipe_order(
        world: World, as_user: Browser) -> None:
    client = await as_user("admin")
    url = f"/console/admin/users/{world.user_ids['crew']}"
    r = await post_form(client, url, url + "/disable")
    assert r.status_code == 303
    assert "will wipe their local data" in (await client.get(url)).text
    pulled = await world.client.get("/api/sync/pull", headers=world.as_("crew"))
    assert pulled.status_code == 401 and pulled.json()["error"]["wipe"] is True
    enabled = await post_form(client, url, url + "/enable")
    assert enabled.status_code == 303
    async with browser(world) as again:
        assert (await sign_in(again, "crew")).status_code in (303, 403)  # crews: no console
        enrol = await world.client.post("/api/devices/enrol",
                                        json={"username": "crew", "password": "pw-crew"})
        assert enrol.status_code == 201


async def test_a_first_sign_in_on_an_empty_service_shows_the_setup_checklist(
        tmp_path: Path) -> None:
    app = create_app(fast_settings(tmp_path))
    async with app.router.lifespan_context(app):
        await app.state.auth.add_user("ada", "Ada Admin", "admin", None, "pw-ada",
                                      check_password=False, service=1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            assert (await sign_in(client, "ada")).status_code == 303
            page = await client.get("/console/dashboard")
            assert "Getting started" in page.text
            for step in ("Add your stations", "Add your users", "watchbook import"):
                assert step in page.text
            assert 'href="/console/admin/stations"' in page.text
            assert 'href="/console/import"' in page.text  # the import step, in the console
            assert "Done" not in page.text
            users = await client.get("/console/admin/users")
            assert selected(users.text, "new-role") == "admin"  # no station to be based at


async def test_the_checklist_is_gone_once_the_service_is_set_up(as_user: Browser) -> None:
    client = await as_user("admin")
    assert "Getting started" not in (await client.get("/console/dashboard")).text


# -- edits through the sync engine, conflicts, history ---------------------------------------

def base_fields(page: str) -> dict[str, str]:
    """The hidden fields an edit form carries: csrf, base and base_version."""
    return {name: html.unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page)}


async def test_edit_form_saves_through_sync_with_history_and_a_new_version(
        world: World, as_user: Browser) -> None:
    client = await as_user("super")
    form = await client.get("/console/premises/p2/edit")
    assert form.status_code == 200 and 'for="f-risk_notes"' in form.text
    data = {**base_fields(form.text), "name": "Ashby Engineering Works", "risk_level": "1",
            "risk_score": "80", "postcode": "CB1 3CD", "uprn": "100010001002",
            "address": "Unit 4, Fen Lane, Ashby", "use": "Workshop", "lat": "52.21",
            "lon": "0.14", "rvp": "Fen Lane gate", "harms": ["life_firefighter"]}
    saved = await client.post("/console/premises/p2/edit", data=data)
    assert saved.status_code == 303, saved.text
    page = await client.get(saved.headers["location"])
    assert "Saved." in page.text and "Version 2" in page.text
    assert "Fen Lane gate" in page.text
    doc = await world.db.read(lambda c: records.get(c, "p2"))
    assert (doc["version"], doc["risk_level"], doc["rvp"]) == (2, 1, "Fen Lane gate")
    assert doc["harms"] == ["life_firefighter"]
    history = await client.get("/console/premises/p2/history")
    assert "Rendezvous point" in history.text and "Fen Lane gate" in history.text
    assert "console-" in history.text


async def test_invalid_edit_is_shown_on_the_form_and_not_saved(world: World,
                                                              as_user: Browser) -> None:
    client = await as_user("super")
    form = await client.get("/console/premises/p1/notes")
    response = await client.post("/console/premises/p2/edit", data={
        **base_fields((await client.get("/console/premises/p2/edit")).text),
        "name": "Ashby Engineering Works", "postcode": "not a postcode", "risk_level": "2"})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert form.status_code == 200


async def test_hazards_are_added_and_removed_through_sync(world: World,
                                                         as_user: Browser) -> None:
    client = await as_user("super")
    page = await client.get("/console/premises/p2/hazards")
    added = await client.post("/console/premises/p2/hazards/add", data={
        **base_fields(page.text), "type": "lpg", "severity": "high",
        "location": "Side yard cage", "hazchem": "2we", "expires": "", "description": ""})
    assert added.status_code == 303
    page = await client.get("/console/premises/p2/hazards")
    assert "Saved." in page.text and "Side yard cage" in page.text and "2WE" in page.text
    forms = re.findall(r'action="(/console/premises/p2/hazards/(h[0-9a-f]+)/remove)"',
                       page.text)
    new_id = next(h for _, h in forms if h != "h2")
    old = html.unescape(re.search(
        rf'hazards/{new_id}/remove".*?name="old" value="([^"]*)"', page.text, re.S).group(1))
    removed = await client.post(f"/console/premises/p2/hazards/{new_id}/remove", data={
        "csrf": csrf_of(page.text), "base_version": "2", "old": old})
    assert removed.status_code == 303
    assert "Side yard cage" not in (await client.get("/console/premises/p2")).text


async def test_clashing_edit_becomes_a_conflict_that_can_be_resolved(
        world: World, as_user: Browser) -> None:
    client = await as_user("super")
    form = await client.get("/console/premises/p1/notes")  # rendered before the device edit
    device_id = (await world.db.execute(
        "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id "
        "WHERE u.username = 'super'")).single_value()
    pushed = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [{"kind": "update", "device_id": device_id, "seq": 1, "premises_id": "p1",
                       "base_version": 1, "changes": [
                           {"field": "risk_notes", "old": "", "new": "Oxygen moved upstairs"}]}]})
    assert pushed.json()["receipts"][0]["status"] == "applied"
    saved = await client.post("/console/premises/p1/notes", data={
        **base_fields(form.text), "risk_notes": "Night staff: two"})
    page = await client.get(saved.headers["location"])
    assert "clash with another edit" in page.text
    inbox = await client.get("/console/conflicts")
    assert "Maple Court Care Home" in inbox.text and "Risk notes" in inbox.text
    link = re.search(r'href="(/console/conflicts/[^"]+)"', inbox.text)
    assert link
    conflict = await client.get(link.group(1))
    assert "Oxygen moved upstairs" in conflict.text and "Night staff: two" in conflict.text
    resolved = await client.post(link.group(1) + "/resolve", data={
        "csrf": csrf_of(conflict.text), "choice": "value",
        "value": "Oxygen moved upstairs. Night staff: two"})
    assert resolved.status_code == 303
    assert "No open conflicts" in (await client.get("/console/conflicts")).text
    premises = await client.get("/console/premises/p1")
    assert "Oxygen moved upstairs. Night staff: two" in premises.text


async def test_conflicts_of_other_grounds_are_not_shown(as_user: Browser) -> None:
    client = await as_user("csuper")
    assert "No open conflicts" in (await client.get("/console/conflicts")).text
    assert (await client.get("/console/premises/p1/history")).status_code == 403


async def test_marking_a_review_done_moves_the_next_review_date(world: World,
                                                                as_user: Browser) -> None:
    client = await as_user("super")
    page = await client.get("/console/premises/p1")
    assert "Review overdue" in page.text
    done = await client.post("/console/premises/p1/reviewed", data={
        **base_fields(page.text), "old_assessed_at": "", "old_assessed_by": ""})
    after = await client.get(done.headers["location"])
    assert "Review of Maple Court Care Home recorded" in after.text
    assert "Review overdue" not in after.text


async def test_supervisor_accepts_a_crew_observation(world: World, as_user: Browser) -> None:
    device_id = (await world.db.execute(
        "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id "
        "WHERE u.username = 'crew'")).single_value()
    pushed = await world.client.post("/api/sync/push", headers=world.as_("crew"), json={
        "mutations": [{"kind": "add_observation", "device_id": device_id, "seq": 1,
                       "premises_id": "p1", "base_version": 1, "observation": {
                           "id": "o1", "category": "access", "note": "Key box moved"}}]})
    assert pushed.json()["receipts"][0]["status"] == "applied"
    client = await as_user("super")
    page = await client.get("/console/premises/p1")
    assert "Key box moved" in page.text and "1 open" in page.text
    accepted = await client.post("/console/premises/p1/observations/o1", data={
        "csrf": csrf_of(page.text), "base_version": "2", "status": "accepted"})
    assert accepted.status_code == 303
    page = await client.get("/console/premises/p1")
    assert "badge-obs-accepted" in page.text and "1 open" not in page.text


async def test_contacts_and_water_supplies_are_edited_one_a_line(world: World,
                                                                as_user: Browser) -> None:
    client = await as_user("super")
    form = await client.get("/console/premises/p3/edit")
    saved = await client.post("/console/premises/p3/edit", data={
        **base_fields(form.text),
        "contacts": "Jo Farmer | Owner | 07700 900001\n\nNight watch",
        "water_supplies": "open_water | Farm pond | Hard standing by the barn"})
    assert saved.status_code == 303, saved.text
    doc = await world.db.read(lambda c: records.get(c, "p3"))
    assert doc["contacts"] == [{"name": "Jo Farmer", "role": "Owner", "phone": "07700 900001"},
                               {"name": "Night watch", "role": "", "phone": ""}]
    assert doc["water_supplies"][0]["location"] == "Farm pond"
    again = await client.get("/console/premises/p3/edit")
    resent = await client.post("/console/premises/p3/edit", data={
        **base_fields(again.text), "contacts": "Jo Farmer | Owner | 07700 900001\nNight watch"})
    assert "Nothing changed." in (await client.get(resent.headers["location"])).text
    bad = await client.post("/console/premises/p3/edit", data={
        **base_fields(again.text), "water_supplies": "canal | Lock 3"})
    assert bad.status_code == 422 and 'id="f-water_supplies-error"' in bad.text
