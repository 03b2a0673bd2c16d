"""Console forms people can read: the add-user form's defaults are a valid form as they stand,
and a form with several problems shows every one at once, beside its field."""

from __future__ import annotations

import re

from test_console import browser, csrf_of, sign_in
from world import World


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
