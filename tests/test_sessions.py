"""Console sessions kept on the server (server/web/sessions.py): the cookie is an id, and the
session ends on sign-out, a password change, a disable, and after its idle and absolute limits."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest
from world import World

from server.store import sessions

DASHBOARD = "/console/dashboard"


def _client(world: World, cookie: str | None = None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                               base_url="http://test")
    if cookie:
        client.cookies.set("watchbook_session", cookie)
    return client


async def _csrf(client: httpx.AsyncClient, path: str = "/console/signin") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert found
    return found.group(1)


async def _signed_in(world: World, username: str) -> httpx.AsyncClient:
    client = _client(world)
    r = await client.post("/console/signin", data={
        "csrf": await _csrf(client), "username": username, "password": "pw-" + username})
    assert r.status_code == 303
    return client


def _is_signin(r: httpx.Response) -> bool:
    return r.status_code == 303 and "/console/signin" in r.headers["location"]


async def test_a_copied_cookie_stops_working_when_its_owner_signs_out(world: World) -> None:
    owner = await _signed_in(world, "super")
    copy = _client(world, owner.cookies["watchbook_session"])
    try:
        assert (await copy.get(DASHBOARD)).status_code == 200
        r = await owner.post("/console/signout", data={"csrf": await _csrf(owner, DASHBOARD)})
        assert _is_signin(r)
        assert _is_signin(await copy.get(DASHBOARD))
        assert _is_signin(await owner.get(DASHBOARD))
    finally:
        await owner.aclose()
        await copy.aclose()


async def test_the_cookie_holds_a_random_id_and_the_session_lives_in_the_database(
        world: World) -> None:
    client = await _signed_in(world, "super")
    try:
        cookie = client.cookies["watchbook_session"]
        assert "user" not in cookie and "csrf" not in cookie and len(cookie) < 64
        row = await sessions.load(world.db, hashlib.sha256(cookie.encode()).hexdigest())
        assert row is not None and row["user_id"] == world.user_ids["super"]
    finally:
        await client.aclose()


async def test_a_cookie_the_server_never_made_is_not_adopted(world: World) -> None:
    planted = "planted-by-an-attacker-0123456789"
    client = _client(world, planted)
    try:
        r = await client.post("/console/signin", data={
            "csrf": await _csrf(client), "username": "super", "password": "pw-super"})
        assert r.status_code == 303
        given = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert given != planted
        assert _is_signin(await _client(world, planted).get(DASHBOARD))
        assert (await _client(world, given).get(DASHBOARD)).status_code == 200
    finally:
        await client.aclose()


async def test_signing_in_replaces_the_pre_sign_in_session_id(world: World) -> None:
    client = _client(world)
    try:
        csrf = await _csrf(client)
        before = client.cookies["watchbook_session"]
        await client.post("/console/signin", data={
            "csrf": csrf, "username": "super", "password": "pw-super"})
        assert client.cookies["watchbook_session"] != before
        assert _is_signin(await _client(world, before).get(DASHBOARD))
    finally:
        await client.aclose()


async def test_disabling_a_user_ends_their_sessions_for_good(world: World) -> None:
    victim = await _signed_in(world, "super")
    admin = await _signed_in(world, "admin")
    try:
        uid = world.user_ids["super"]
        csrf = await _csrf(admin, "/console/admin/users")
        assert (await admin.post(f"/console/admin/users/{uid}/disable",
                                 data={"csrf": csrf})).status_code == 303
        assert await sessions.count_for_user(world.db, uid) == 0
        assert (await admin.post(f"/console/admin/users/{uid}/enable",
                                 data={"csrf": csrf})).status_code == 303
        assert _is_signin(await victim.get(DASHBOARD))  # enabled again, still signed out
    finally:
        await victim.aclose()
        await admin.aclose()


async def test_a_session_ends_after_the_idle_limit(world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr("server.web.sessions.time.time", lambda: clock[0])
    idle = world.app.state.settings.session_idle_seconds
    client = await _signed_in(world, "super")
    try:
        clock[0] += idle - 5
        assert (await client.get(DASHBOARD)).status_code == 200  # in use: kept alive
        clock[0] += idle - 5
        assert (await client.get(DASHBOARD)).status_code == 200
        clock[0] += idle + 1
        assert _is_signin(await client.get(DASHBOARD))
    finally:
        await client.aclose()


async def test_a_session_in_constant_use_ends_at_the_absolute_limit(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr("server.web.sessions.time.time", lambda: clock[0])
    settings = world.app.state.settings
    client = await _signed_in(world, "super")
    try:
        step = settings.session_idle_seconds // 2
        used = 0
        while used + step < settings.session_max_age_seconds:
            clock[0] += step
            used += step
            assert (await client.get(DASHBOARD)).status_code == 200
        clock[0] += step
        assert _is_signin(await client.get(DASHBOARD))
    finally:
        await client.aclose()


async def test_a_damaged_cookie_header_is_no_session_and_no_error(world: World) -> None:
    client = _client(world)
    try:
        r = await client.get(DASHBOARD, headers={"Cookie": 'watchbook_session="\\x; a=b'})
        assert _is_signin(r)
    finally:
        await client.aclose()
