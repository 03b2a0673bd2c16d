"""Federation: two Watchbook servers in one test process. The follower follows the leader's
partner feed (`server/follow.py` over an httpx transport to the leader's ASGI app); its own
crew devices then hold the shared records read-only, marked with the owning service, cannot
push edits to them, and drop them when they leave the share or the share ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from engines import engine  # noqa: F401
from world import World, fast_hash_env, fast_settings

from server import clock, follow, partners
from server.app import create_app
from server.store import follows

LEADER = "Ashby Fire and Rescue"


@contextlib.asynccontextmanager
async def follower(tmp_path: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient, str, str]]:
    """The neighbour's own Watchbook: one station, one crew user with a device. Yields (app,
    its client, the device's token, its device id)."""
    (tmp_path / "follower").mkdir()
    app = create_app(fast_settings(tmp_path / "follower"))
    async with app.router.lifespan_context(app):
        await app.state.db.execute_write(
            "INSERT INTO stations (code, name, lat, lon) VALUES ('Z09', 'Zeal', 52.1, 0.0)")
        uid = await app.state.auth.add_user("zcrew", "Zed Crew", "crew", "Z09", "pw-zcrew",
                                            check_password=False, service=1)
        who = await app.state.auth.principal_for_user(uid)
        device, token = await app.state.auth.enrol_device(who, "Pump 1 Zeal")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://follower") as client:
            yield app, client, token, device


async def leader_share(world: World, **form: Any) -> tuple[int, str]:
    """The leader names itself, adds the neighbour as a fire partner and shares with it;
    (share id, feed key)."""
    await world.db.execute_write("UPDATE organisations SET name = ? WHERE id = 1", (LEADER,))
    org = await partners.add_organisation(world.db, "Zeal Fire and Rescue", "fire", 1)
    base: dict[str, Any] = {"partner": str(org), "purpose": "Cross-border attendance",
                            "profile": "operational_summary", "expires_on": clock.today(30),
                            "stations": ["A01", "B02"], "levels": ["2"]}
    base.update(form)
    share_id = await partners.make_share(world.db, 1, base, "admin")
    _, key = await partners.make_key(world.db, 1, share_id, "admin")
    return share_id, key


async def run_follow(world: World, app: Any, key: str) -> follow.Outcome:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://leader") as to_leader:
        return await follow.follow_once(app.state.db, to_leader, "http://leader", key)


async def pull_all(client: httpx.AsyncClient, token: str, cursor: str = ""
                   ) -> tuple[dict[str, Any], list[str], str]:
    held: dict[str, Any] = {}
    left: list[str] = []
    while True:
        got = await client.get(f"/api/sync/pull?cursor={cursor}",
                               headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200, got.text
        page = got.json()
        held.update({c["record"]["id"]: c["record"] for c in page["changes"]
                     if c["type"] == "premises"})
        left += page["left_scope"]
        cursor = page["cursor"]
        if not page["more"]:
            return held, left, cursor


async def test_the_followers_device_holds_the_shared_records_read_only(
        world: World, tmp_path: Path) -> None:
    _, key = await leader_share(world)
    async with follower(tmp_path) as (app, client, token, device):
        done = await run_follow(world, app, key)
        assert (done.stored, done.dropped, done.ended) == (3, 0, False)
        held, left, _ = await pull_all(client, token)
        assert sorted(held) == ["f1-p1", "f1-p2", "f1-p3"] and left == []
        p1 = held["f1-p1"]
        assert p1["name"] == "Maple Court Care Home" and "key_box" not in p1
        assert p1["shared"]["service"] == LEADER and p1["shared"]["read_only"] is True
        assert p1["shared"]["source_id"] == "p1"
        assert p1["shared"]["age"]["assessed"].startswith("Never inspected")
        pushed = await client.post("/api/sync/push", headers={
            "Authorization": f"Bearer {token}"}, json={"mutations": [
                {"kind": "add_observation", "device_id": device, "seq": 1,
                 "premises_id": "f1-p1", "base_version": 0,
                 "observation": {"id": "o1", "category": "access", "note": "Gate moved"}}]})
        receipt = pushed.json()["receipts"][0]
        assert receipt["status"] == "rejected" and receipt["reason"] == "forbidden"
        assert f"read only by {LEADER}" in receipt["message"]


async def test_a_record_leaving_the_share_leaves_the_followers_devices(
        world: World, tmp_path: Path) -> None:
    share_id, key = await leader_share(world)
    async with follower(tmp_path) as (app, client, token, _):
        await run_follow(world, app, key)
        _, _, cursor = await pull_all(client, token)
        # on the leader: p3 drops to level 4 (out of the share), p2 is deleted, p1 changes
        device = world.tokens["super"][3:].split("_", 1)[0]
        pushed = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
            "mutations": [
                {"kind": "update", "device_id": device, "seq": 1, "premises_id": "p3",
                 "base_version": 1, "changes": [{"field": "risk_level", "old": 2, "new": 4}]},
                {"kind": "delete", "device_id": device, "seq": 2, "premises_id": "p2",
                 "base_version": 1},
                {"kind": "update", "device_id": device, "seq": 3, "premises_id": "p1",
                 "base_version": 1, "changes": [{"field": "rvp", "old": "", "new": "Gate B"}]}]})
        assert pushed.status_code == 200, pushed.text
        done = await run_follow(world, app, key)
        assert (done.stored, done.dropped) == (1, 2)
        held, left, cursor = await pull_all(client, token, cursor)
        assert sorted(left) == ["f1-p2", "f1-p3"]
        assert list(held) == ["f1-p1"] and held["f1-p1"]["rvp"] == "Gate B"
        # the share ends: the next run drops the rest, and the device drops it too
        assert await partners.end_share(world.db, 1, share_id, "admin")
        done = await run_follow(world, app, key)
        assert done.ended and done.dropped == 1
        held, left, _ = await pull_all(client, token, cursor)
        assert held == {} and left == ["f1-p1"]
        listed = await follows.listing(app.state.db)
        assert listed[0]["records"] == 0 and "ended" in listed[0]["last_error"]


async def test_a_follow_run_that_cannot_reach_the_leader_keeps_what_is_held(
        world: World, tmp_path: Path) -> None:
    _, key = await leader_share(world)
    async with follower(tmp_path) as (app, client, token, _):
        await run_follow(world, app, key)

        def down(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("no route to host", request=request)
        async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as broken:
            with pytest.raises(follow.FollowError, match="could not reach"):
                await follow.follow_once(app.state.db, broken, "http://leader", key)
        held, _, _ = await pull_all(client, token)
        assert sorted(held) == ["f1-p1", "f1-p2", "f1-p3"]


def test_bad_follow_input_names_the_field() -> None:
    for bad in ("leader", "ftp://x/feed", ""):
        with pytest.raises(Exception, match="not the address") as caught:
            follow.feed_url(bad)
        assert getattr(caught.value, "field", None) == "url"
    with pytest.raises(Exception, match="feed key") as caught:
        follow.read_key("not a key")
    assert getattr(caught.value, "field", None) == "key_file"
    assert follow.feed_url("https://w.example/") == "https://w.example/api/partner/feed"
    assert follow.feed_url("https://w.example/api/partner/feed?x=1") == \
        "https://w.example/api/partner/feed"


def test_the_follow_command_checks_its_key_file_and_lists_what_is_followed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from server import cli
    db = str(tmp_path / "w.db")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["follow", "--help"])
    assert exit_.value.code == 0 and "--key-file" in capsys.readouterr().out
    assert cli.main(["follow", "https://leader.example", "--key-file",
                     str(tmp_path / "missing"), "--db", db]) == 2
    assert "key-file: cannot read" in capsys.readouterr().err
    bad = tmp_path / "key"
    bad.write_text("password123\n")
    assert cli.main(["follow", "https://leader.example", "--key-file", str(bad),
                     "--db", db]) == 2
    err = capsys.readouterr().err
    assert "feed key" in err and "password123" not in err
    assert cli.main(["follow", "--list", "--db", db]) == 0


def test_a_neighbour_crew_user_is_added_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from server import cli
    fast_hash_env(monkeypatch)
    db = str(tmp_path / "w.db")
    assert cli.main(["partner", "add", "Zeal Fire and Rescue", "--kind", "fire",
                     "--db", db]) == 0
    assert cli.main(["partner", "add", "Shire Police", "--kind", "police", "--db", db]) == 0
    args = ["--name", "Zed Crew", "--password", "a long neighbour password", "--role", "crew",
            "--db", db]
    assert cli.main(["partner", "user-add", "zcrew", "--organisation",
                     "Zeal Fire and Rescue", *args]) == 0
    assert "Added crew user zcrew" in capsys.readouterr().out
    assert cli.main(["partner", "user-add", "pccrew", "--organisation", "Shire Police",
                     *args]) == 1
    assert "role: Only a neighbouring fire service" in capsys.readouterr().err
