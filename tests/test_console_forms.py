"""Console forms people can read: the add-user form's defaults are a valid form as they stand,
and a form with several problems shows every one at once, beside its field, with a summary
linking to each (every console form: users, premises, hazards, stations, password, shares,
high-rise); nothing is written."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from test_console import browser, csrf_of, sign_in
from world import World

from server import clock, partners


async def test_the_add_user_defaults_make_a_valid_form_and_every_problem_shows_at_once(
        world: World) -> None:
    client = browser(world)
    assert (await sign_in(client, "admin")).status_code == 303
    page = (await client.get("/console/admin/users")).text
    role = re.search(r'<select id="new-role".*?<option value="(\w+)" selected', page, re.S)
    station = re.search(r'<select id="new-station".*?<option value="(\w*)" selected', page, re.S)
    assert role and station and (role.group(1), station.group(1)) == ("crew", "A01")
    added = await client.post("/console/admin/users", data={
        "csrf": csrf_of(page), "username": "newbie", "name": "New Person",
        "role": role.group(1), "station": station.group(1), "password": "long enough pass 42"})
    assert added.status_code == 303, added.text  # the defaults, filled in, are accepted
    bad = await client.post("/console/admin/users", data={
        "csrf": csrf_of(page), "username": "", "name": "", "role": "crew", "station": "",
        "password": "x"})
    await client.aclose()
    assert bad.status_code == 422
    for field in ("username", "name", "station", "password"):
        assert f'id="new-{field}-error"' in bad.text, field
    assert "4 problems" in bad.text


async def signed_in(world: World, username: str) -> httpx.AsyncClient:
    client = browser(world)
    assert (await sign_in(client, username)).status_code == 303
    return client


def assert_every_problem_shown(page: httpx.Response, prefix: str, fields: dict[str, str]) -> None:
    """422; each field's own message beside it (its -error id) and, linked, in the summary."""
    assert page.status_code == 422, page.text[:500]
    text = html.unescape(page.text)
    summary = re.search(r'<div class="flash flash-error error-summary".*?</div>', text, re.S)
    assert summary and f"{len(fields)} problems" in summary.group(0), summary and summary.group(0)
    for field, words in fields.items():
        beside = re.search(rf'id="{prefix}{field}-error">([^<]*)<', text)
        assert beside, f"no message beside {field}"
        assert words in beside.group(1), (field, beside.group(1))
        assert f'<a href="#{prefix}{field}">{beside.group(1)}</a>' in text, field


async def premises_doc(world: World, pid: str = "p1") -> dict[str, Any]:
    return (await world.client.get(f"/api/premises/{pid}", headers=world.as_("admin"))).json()  # type: ignore[no-any-return]


async def test_the_premises_edit_form_shows_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "super")
    form = (await client.get("/console/premises/p1/edit")).text
    base = html.unescape(re.search(r'name="base" value="([^"]*)"', form).group(1))  # type: ignore[union-attr]
    version = re.search(r'name="base_version" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
    before = await premises_doc(world)
    bad = await client.post("/console/premises/p1/edit", data={
        "csrf": csrf_of(form), "base": base, "base_version": version,
        "name": "", "lat": "north", "risk_score": "500", "tactical_plan": "x" * 20_001})
    await client.aclose()
    assert_every_problem_shown(bad, "f-", {
        "name": "Name is required", "lat": "enter a number", "risk_score": "Risk score",
        "tactical_plan": "Tactical plan is too long: 20,001 characters, at most 20,000"})
    assert await premises_doc(world) == before  # nothing written


async def test_the_new_premises_form_shows_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "super")
    form = (await client.get("/console/premises/new")).text
    bad = await client.post("/console/premises/new", data={
        "csrf": csrf_of(form), "name": "", "station": "ZZ9", "address": "", "postcode": "",
        "uprn": "", "use": "", "lat": "52.2", "lon": "east", "risk_level": "9"})
    await client.aclose()
    assert_every_problem_shown(bad, "np-", {
        "name": "Enter the premises name", "station": "Choose a station in your grounds",
        "lon": "Enter a number", "risk_level": "Risk level"})


async def test_the_add_hazard_form_shows_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "super")
    form = (await client.get("/console/premises/p1/hazards")).text
    before = await premises_doc(world)
    bad = await client.post("/console/premises/p1/hazards/add", data={
        "csrf": csrf_of(form), "base_version": str(before["version"]), "type": "",
        "severity": "medium", "location": "Yard", "hazchem": "TOO-LONG-CODE",
        "expires": "next week", "description": ""})
    await client.aclose()
    assert_every_problem_shown(bad, "hz-", {
        "type": "Choose a hazard type", "hazchem": "Hazchem is too long",
        "expires": "use a date such as"})
    assert await premises_doc(world) == before


async def test_the_station_forms_show_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "admin")
    page = (await client.get("/console/admin/stations")).text
    added = await client.post("/console/admin/stations", data={
        "csrf": csrf_of(page), "code": "no good!", "name": "", "lat": "91", "lon": "0.1",
        "grounds": "NOPE"})
    assert_every_problem_shown(added, "st-", {
        "code": "1 to 16 letters or digits", "name": "Enter the station's name",
        "lat": "Latitude must be between -90 and 90",
        "grounds": "No station in service with code NOPE"})
    page = (await client.get("/console/admin/stations/A01")).text
    edited = await client.post("/console/admin/stations/A01", data={
        "csrf": csrf_of(page), "name": "", "lat": "fifty", "lon": ""})
    await client.aclose()
    assert_every_problem_shown(edited, "st-", {"name": "Enter the station's name",
                                               "lat": "Enter a number"})


async def test_the_edit_user_form_shows_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "admin")
    crew = world.user_ids["crew"]
    page = (await client.get(f"/console/admin/users/{crew}")).text
    bad = await client.post(f"/console/admin/users/{crew}", data={
        "csrf": csrf_of(page), "name": "", "role": "boss", "station": "ZZ9"})
    await client.aclose()
    assert_every_problem_shown(bad, "u-", {"name": "Enter the person's name",
                                           "role": "Choose a role",
                                           "station": "No station in service with code ZZ9"})


async def test_the_change_password_form_shows_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "super")
    page = (await client.get("/console/password")).text
    bad = await client.post("/console/password", data={
        "csrf": csrf_of(page), "current_password": "", "new_password": "short",
        "confirm_password": "different"})
    await client.aclose()
    assert_every_problem_shown(bad, "", {"current_password": "Enter your current password",
                                         "new_password": "at least",
                                         "confirm_password": "The two new passwords differ"})
    still = browser(world)
    assert (await sign_in(still, "super")).status_code == 303  # the old password still works
    await still.aclose()


async def test_the_new_share_form_shows_every_problem_at_once(world: World) -> None:
    await partners.add_organisation(world.db, "Shire Police", "police", 1)
    client = await signed_in(world, "admin")
    page = (await client.get("/console/shares/new")).text
    bad = await client.post("/console/shares/new", data={
        "csrf": csrf_of(page), "partner": "", "purpose": "", "profile": "operational_summary",
        "bbox": "1, 2, 3", "expires_on": clock.today(-1), "sensitive": ["key_box"]})
    await client.aclose()
    assert_every_problem_shown(bad, "s-", {
        "partner": "Choose the partner organisation", "purpose": "Say what the share is for",
        "bbox": "needs four numbers", "sensitive_reason": "needs a recorded reason",
        "expires_on": "must be after today"})


async def test_the_high_rise_form_shows_every_problem_at_once(world: World) -> None:
    client = await signed_in(world, "admin")
    page = (await client.get("/console/premises/p4/high-rise")).text
    bad = await client.post("/console/premises/p4/high-rise", data={
        "csrf": csrf_of(page), "action": "save", "height_m": "tall", "storeys": "many",
        "email": "not-an-address"})
    await client.aclose()
    assert bad.status_code == 422
    text = html.unescape(bad.text)
    assert "3 problems" in text
    for field in ("height_m", "storeys", "email"):
        assert f'id="hr-{field}-error"' in text and f'href="#hr-{field}"' in text, field
