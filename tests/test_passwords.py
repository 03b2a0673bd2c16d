"""Passwords (server/passwords.py): one policy wherever a password is set, changing your own
in the console and the app, and an admin's reset (console or command line) that makes its owner
choose a new one at their next sign-in."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from world import World

from server import cli, passwords
from server.store import sessions


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert found, path
    return found.group(1)


async def _console(world: World, username: str, password: str | None = None
                   ) -> tuple[httpx.AsyncClient, httpx.Response]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                               base_url="http://test")
    r = await client.post("/console/signin", data={
        "csrf": await _csrf(client, "/console/signin"), "username": username,
        "password": password or "pw-" + username})
    return client, r


async def _enrol(world: World, username: str, password: str) -> httpx.Response:
    return await world.client.post("/api/devices/enrol", json={
        "username": username, "password": password})


def test_the_policy_refuses_short_common_and_username_passwords() -> None:
    assert passwords.problem("a")
    assert passwords.problem("seven77")
    assert passwords.problem("Password123")
    assert passwords.problem("aaaaaaaaaaaa")
    assert passwords.problem("stationmanager", "StationManager")
    assert passwords.problem("blue kettle on the hob") is None


def test_user_add_on_the_command_line_refuses_a_one_character_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["user", "add", "boss", "--name", "B", "--role", "admin",
                     "--password", "x", "--db", db]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert cli.main(["user", "list", "--db", db]) == 0
    assert "boss" not in capsys.readouterr().out


async def test_the_console_add_user_form_refuses_a_common_password(world: World) -> None:
    admin, _ = await _console(world, "admin")
    try:
        r = await admin.post("/console/admin/users", data={
            "csrf": await _csrf(admin, "/console/admin/users"), "username": "jo", "name": "Jo",
            "role": "crew", "station": "A01", "password": "password1"})
        assert r.status_code == 422 and "anyone guessing" in r.text
    finally:
        await admin.aclose()


async def test_a_supervisor_changes_their_password_in_the_console(world: World) -> None:
    desk, _ = await _console(world, "super")
    other, _ = await _console(world, "super")
    try:
        form = {"csrf": await _csrf(desk, "/console/password"), "current_password": "pw-super",
                "new_password": "copper kettle 42", "confirm_password": "copper kettle 42"}
        weak = await desk.post("/console/password", data={
            **form, "new_password": "qwerty123", "confirm_password": "qwerty123"})
        assert weak.status_code == 422 and "anyone guessing" in weak.text
        wrong = await desk.post("/console/password", data={**form, "current_password": "nope"})
        assert wrong.status_code == 403 and "current password is wrong" in wrong.text
        r = await desk.post("/console/password", data=form)
        assert r.status_code == 303 and r.headers["location"].endswith("/console/dashboard")
        assert (await desk.get("/console/dashboard")).status_code == 200  # this desk stays in
        assert (await other.get("/console/dashboard")).status_code == 303  # others end
    finally:
        await desk.aclose()
        await other.aclose()
    assert (await _enrol(world, "super", "pw-super")).status_code == 401
    assert (await _enrol(world, "super", "copper kettle 42")).status_code == 201


async def test_a_user_changes_their_password_through_the_api(world: World) -> None:
    url, h = "/api/me/password", world.as_("crew")
    wrong = await world.client.post(url, headers=h, json={
        "current_password": "nope", "new_password": "blue kettle on the hob"})
    assert wrong.status_code == 403 and wrong.json()["error"]["field"] == "current_password"
    weak = await world.client.post(url, headers=h, json={
        "current_password": "pw-crew", "new_password": "abc"})
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "new_password"
    ok = await world.client.post(url, headers=h, json={
        "current_password": "pw-crew", "new_password": "blue kettle on the hob"})
    assert ok.status_code == 204
    assert (await world.client.get("/api/premises", headers=h)).status_code == 200  # same token
    assert (await _enrol(world, "crew", "pw-crew")).status_code == 401
    assert (await _enrol(world, "crew", "blue kettle on the hob")).status_code == 201


async def test_an_admin_reset_in_the_console_forces_a_change_at_next_sign_in(
        world: World) -> None:
    victim, _ = await _console(world, "super")
    admin, _ = await _console(world, "admin")
    uid = world.user_ids["super"]
    try:
        page = f"/console/admin/users/{uid}/password"
        assert "Reset password" in (await admin.get("/console/admin/users")).text
        r = await admin.post(page, data={"csrf": await _csrf(admin, page),
                                         "password": "temporary pass 7"})
        assert r.status_code == 303
        assert await sessions.count_for_user(world.db, uid) == 0
        assert (await victim.get("/console/dashboard")).status_code == 303  # signed out
    finally:
        await victim.aclose()
        await admin.aclose()
    desk, signed = await _console(world, "super", "temporary pass 7")
    try:
        assert signed.status_code == 303
        r = await desk.get("/console/premises")
        assert r.status_code == 303 and r.headers["location"].endswith("/console/password")
        change = await desk.post("/console/password", data={
            "csrf": await _csrf(desk, "/console/password"),
            "current_password": "temporary pass 7", "new_password": "my own choice 9",
            "confirm_password": "my own choice 9"})
        assert change.status_code == 303
        assert (await desk.get("/console/premises")).status_code == 200
    finally:
        await desk.aclose()


async def test_after_a_reset_the_app_must_change_the_password_before_anything_else(
        world: World) -> None:
    await world.auth.reset_password("crew", "temporary pass 7")
    h = world.as_("crew")
    blocked = await world.client.get("/api/premises", headers=h)
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "password_change_required"
    me = await world.client.get("/api/me", headers=h)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    r = await world.client.post("/api/me/password", headers=h, json={
        "current_password": "temporary pass 7", "new_password": "my own choice 9"})
    assert r.status_code == 204
    assert (await world.client.get("/api/premises", headers=h)).status_code == 200


def test_reset_password_on_the_command_line_forces_a_change(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["demo-data", "--premises", "5", "--stations", "1", "--db", db]) == 0
    assert cli.main(["user", "reset-password", "crew", "--password", "c", "--db", db]) == 1
    assert cli.main(["user", "reset-password", "nobody", "--password", "temporary pass 7",
                     "--db", db]) == 1
    assert cli.main(["user", "reset-password", "crew", "--password", "temporary pass 7",
                     "--db", db]) == 0
    err = capsys.readouterr().err
    assert "at least 8 characters" in err and "no user 'nobody'" in err
    import sqlite3
    with sqlite3.connect(db) as conn:
        flag = conn.execute("SELECT must_change_password FROM users WHERE username = 'crew'")
        assert flag.fetchone()[0] == 1
