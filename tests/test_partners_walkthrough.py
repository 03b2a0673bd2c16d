"""docs/partners.md's walk-through, from the console only, as a newcomer follows it: add a
police force and a neighbouring fire service with their users, share the border strip of
one station with the neighbour (its crew's device then holds exactly the strip's premises)
and the operational summary of risk levels 1–2 with the police, see a police observation
arrive in the supervisor's inbox, read the access log, end a share."""

from __future__ import annotations

import contextlib
import json
import re

import httpx
from test_crossborder import pull_all
from world import World, console_client

from server import clock

PW = "a long partner password"
STRIP = json.dumps({"type": "Polygon", "coordinates": [[
    [0.11, 52.19], [0.13, 52.19], [0.13, 52.205], [0.11, 52.205], [0.11, 52.19]]]})


def signed_in(world: World, username: str, password: str
              ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    return console_client(world.app, username, password)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def option(html: str, label: str) -> str:
    found = re.search(r'<option value="(\d+)"[^>]*>' + re.escape(label) + "<", html)
    assert found, label
    return found.group(1)


async def test_a_newcomer_follows_the_partners_walk_through_in_the_console(
        world: World) -> None:
    async with signed_in(world, "admin", "pw-admin") as admin:
        sharing = await admin.get("/console/shares")
        assert "Partner organisations and their users" in sharing.text
        csrf = csrf_of(sharing.text)
        # 1. the partners and a user of each
        for name, kind in (("Essex Police", "police"), ("Suffolk Fire and Rescue", "fire")):
            added = await admin.post("/console/partners/organisations",
                                     data={"csrf": csrf, "name": name, "kind": kind})
            assert added.status_code == 303, added.text
        page = (await admin.get("/console/partners")).text
        police, neighbour = option(page, "Essex Police"), option(page, "Suffolk Fire and Rescue")
        for username, name, org, role in (("pc.jones", "PC Jo Jones", police, "partner"),
                                          ("sfrs.crew", "Sam Suffolk", neighbour, "crew")):
            added = await admin.post("/console/partners/users", data={
                "csrf": csrf, "organisation": org, "role": role, "username": username,
                "name": name, "password": PW})
            assert added.status_code == 303, added.text
        # 2. the border strip of one station with the neighbour
        made = await admin.post("/console/shares/new", data={
            "csrf": csrf, "partner": neighbour, "purpose": "Cross-border attendance",
            "stations": "A01", "polygon": STRIP, "profile": "full_without_sensitive",
            "expires_on": clock.today(200)})
        assert made.status_code == 303, made.text
        strip_share = made.headers["location"].rsplit("/", 1)[1]
        # 3. the operational summary of risk levels 1-2 with the police, who may contribute
        made = await admin.post("/console/shares/new", data={
            "csrf": csrf, "partner": police, "purpose": "Officers attending with crews",
            "levels": ["1", "2"], "profile": "operational_summary", "contribute": "1",
            "expires_on": clock.today(200)})
        assert made.status_code == 303, made.text
        police_share = made.headers["location"].rsplit("/", 1)[1]
    # the neighbour's crew device holds the strip's premises only, read-only
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as app:
        enrolled = await app.post("/api/devices/enrol", json={
            "username": "sfrs.crew", "password": PW, "device_name": "Pump 1 Suffolk"})
        assert enrolled.status_code == 201, enrolled.text
        token = enrolled.json()["token"]
    held, _ = await pull_all(world, token)
    held.pop(None)
    assert sorted(held) == ["p1"] and held["p1"]["shared"]["read_only"] is True
    assert "key_box" not in held["p1"] and "tactical_plan" in held["p1"]
    # 4. a police observation arrives in the supervisor's inbox
    note = "Occupant known to be violent towards staff: police attend with crews"
    async with signed_in(world, "pc.jones", PW) as pc:
        home = await pc.get("/console/partner/")
        assert f"/console/partner/shares/{police_share}" in home.text
        found = await pc.get(f"/console/partner/shares/{police_share}?q=maple")
        assert "/premises/p1" in found.text
        record = await pc.get(f"/console/partner/shares/{police_share}/premises/p1")
        assert record.status_code == 200 and "4512" not in record.text
        sent = await pc.post(f"/console/partner/shares/{police_share}/premises/p1/observations",
                             data={"csrf": csrf_of(record.text), "category": "hazard",
                                   "note": note})
        assert sent.status_code == 303, sent.text
        own_log = await pc.get("/console/partner/log")
        assert own_log.status_code == 200
        assert "<td>contribute</td><td>Maple Court Care Home</td>" in own_log.text
    async with signed_in(world, "super", "pw-super") as supervisor:
        inbox = await supervisor.get("/console/observations")
        assert note in inbox.text and "PC Jo Jones, Essex Police (partner)" in inbox.text
    async with signed_in(world, "admin", "pw-admin") as admin:
        # 5. the access log, per share
        share_page = await admin.get(f"/console/shares/{police_share}")
        log = share_page.text[share_page.text.index("Access log"):]
        assert "pc.jones" in log or "PC Jo Jones" in log
        for kind in ("search", "view", "contribute"):
            assert kind in log, kind
        strip_page = await admin.get(f"/console/shares/{strip_share}")
        assert "device" in strip_page.text[strip_page.text.index("Access log"):]
        # 6. ending a share stops the partner at once
        ended = await admin.post(f"/console/shares/{police_share}/end",
                                 data={"csrf": csrf_of(share_page.text)})
        assert ended.status_code == 303
    async with signed_in(world, "pc.jones", PW) as pc:
        gone = await pc.get(f"/console/partner/shares/{police_share}/premises/p1")
        assert gone.status_code == 410
