"""`watchbook follow --service NAME`: on a deployment hosting several owning services, the
followed records go to the devices of the service named, never to another's; a feed is
followed for one service only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from engines import engine  # noqa: F401
from test_federation import follower, leader_share, pull_all
from world import World, fast_hash_env

from server import follow, services
from server.errors import ApiError

PW = "a long bravo password"


async def test_followed_records_go_to_the_named_services_devices_only(
        world: World, tmp_path: Path) -> None:
    _, key = await leader_share(world)
    async with follower(tmp_path) as (app, client, own_token, _):
        bravo = await services.add(app.state.auth, "Bravo Fire and Rescue", "badmin",
                                   "Bea Bravo", PW)
        await app.state.db.execute_write(
            "INSERT INTO stations (code, name, lat, lon, organisation_id) "
            "VALUES ('Y08', 'Yarm', 52.0, 0.1, ?)", (bravo,))
        uid = await app.state.auth.add_user("ycrew", "Yan Crew", "crew", "Y08", PW,
                                            check_password=False, service=bravo)
        _, bravo_token = await app.state.auth.enrol_device(
            await app.state.auth.principal_for_user(uid), "Pump 1 Yarm")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                     base_url="http://leader") as to_leader:
            done = await follow.follow_once(app.state.db, to_leader, "http://leader", key,
                                            organisation_id=bravo)
            assert done.stored == 3
            held, _, _ = await pull_all(client, bravo_token)
            assert sorted(held) == ["f1-p1", "f1-p2", "f1-p3"]
            theirs, _, _ = await pull_all(client, own_token)
            assert not [pid for pid in theirs if pid.startswith("f")]  # service 1's: none
            with pytest.raises(ApiError) as refused:  # the same feed for another service
                await follow.follow_once(app.state.db, to_leader, "http://leader", key,
                                         organisation_id=1)
            assert refused.value.status == 409 and refused.value.field == "service"


def test_the_follow_command_takes_the_receiving_service(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from server import cli
    fast_hash_env(monkeypatch)
    db = str(tmp_path / "w.db")
    secret = tmp_path / "pw"
    secret.write_text(PW + "\n")
    key = tmp_path / "key"
    key.write_text("wbk_" + "k" * 43 + "\n")
    assert cli.main(["service", "add", "Bravo Fire and Rescue", "--admin", "badmin",
                     "--admin-name", "Bea Bravo", "--password-file", str(secret),
                     "--db", db]) == 0
    capsys.readouterr()
    leader = ["follow", "http://leader.invalid", "--key-file", str(key), "--db", db]
    assert cli.main(leader) == 2  # two services: which one?
    assert "--service" in capsys.readouterr().err
    assert cli.main([*leader, "--service", "No Such Service"]) == 2
    assert "service: There is no owning service" in capsys.readouterr().err
    assert cli.main([*leader, "--service", "Bravo Fire and Rescue"]) == 1  # unreachable
    capsys.readouterr()
    assert cli.main(["follow", "--list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "http://leader.invalid/api/partner/feed  for Bravo Fire and Rescue" in listed
