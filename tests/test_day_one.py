"""Day one of a real fire service, as docs/deployment.md tells a newcomer: from an empty
directory `watchbook init`, three stations, a supervisor and a crew member with grounds, a CSV
import, then a crew device syncs exactly its grounds, and a change of the crew member's grounds
in the console changes what the device holds after its next sync."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from world import fast_settings

from server import cli
from server.app import create_app

CSV = """id,station,name,address,postcode,risk_level
w1,WIS,Wisbech Cold Store,1 Dock Road,PE13 1AA,2
w2,WIS,Wisbech Grammar School,North Brink,PE13 1JX,3
m1,MAR,March Grain Silo,Station Road,PE15 8AA,2
m2,MAR,March Leisure Centre,Gaul Drove,PE15 9AB,3
c1,CHA,Chatteris Garden Centre,Fenton Road,PE16 6AB,4
c2,CHA,Chatteris Battery Store,Bridge Street,PE16 6CD,1
"""


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("ARGON2_TIME_COST", "1"), ("ARGON2_MEMORY_COST", "8"),
                        ("ARGON2_PARALLELISM", "1")):
        monkeypatch.setenv("WATCHBOOK_" + name, value)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Device:
    """A crew device's replica, kept by the pull rules of docs/sync-protocol.md."""

    def __init__(self, client: httpx.AsyncClient, token: str):
        self.client, self.token = client, token
        self.records: dict[str, dict[str, Any]] = {}
        self.cursor = ""

    async def sync(self) -> None:
        while True:
            r = await self.client.get("/api/sync/pull", params={"cursor": self.cursor},
                                      headers={"Authorization": f"Bearer {self.token}"})
            assert r.status_code == 200, r.text
            page = r.json()
            if page["reset"]:
                self.records.clear()
            for change in page["changes"]:
                if change["type"] == "premises":
                    record = change["record"]
                    if record.get("deleted"):
                        self.records.pop(record["id"], None)
                    else:
                        self.records[record["id"]] = record
            for gone in page["left_scope"]:
                self.records.pop(gone, None)
            self.cursor = page["cursor"]
            if not page["more"]:
                return


def test_a_new_service_is_set_up_from_nothing_and_crews_sync_their_grounds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "var" / "watchbook.db")
    monkeypatch.setenv("WATCHBOOK_ADMIN_PASSWORD", "first-admin-pw")
    assert cli.main(["init", "--username", "ada", "--name", "Ada Admin", "--db", db]) == 0
    for code, name in (("WIS", "Wisbech"), ("MAR", "March"), ("CHA", "Chatteris")):
        assert cli.main(["station", "add", code, "--name", name, "--db", db]) == 0
    assert cli.main(["user", "add", "sm1", "--name", "Sam Supervisor", "--role", "supervisor",
                     "--station", "WIS", "--password", "sm1-password", "--db", db]) == 0
    assert cli.main(["user", "add", "cm1", "--name", "Casey Crew", "--role", "crew",
                     "--station", "MAR", "--grounds", "CHA", "--password", "cm1-password",
                     "--db", db]) == 0
    (tmp_path / "premises.csv").write_text(CSV)
    assert cli.main(["import", "premises.csv", "--db", db]) == 0
    assert "Imported 6 premises" in capsys.readouterr().out
    asyncio.run(_crew_device_follows_its_grounds(tmp_path, Path(db)))


async def _crew_device_follows_its_grounds(tmp_path: Path, db: Path) -> None:
    """The server from the files made above: cm1's device syncs, the admin gives cm1 WIS
    instead of CHA in the console, and the device's next sync follows."""
    app = create_app(fast_settings(tmp_path).with_(db_path=db))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            enrolled = await client.post("/api/devices/enrol", json={
                "username": "cm1", "password": "cm1-password", "device_name": "Appliance 1"})
            assert enrolled.status_code == 201, enrolled.text
            assert enrolled.json()["user"]["grounds"] == ["MAR", "CHA"]
            device = Device(client, enrolled.json()["token"])
            await device.sync()
            assert set(device.records) == {"m1", "m2", "c1", "c2"}

            async with httpx.AsyncClient(transport=transport, base_url="http://test") as desk:
                form = await desk.get("/console/signin")
                signed = await desk.post("/console/signin", data={
                    "csrf": csrf_of(form.text), "username": "ada",
                    "password": "first-admin-pw"})
                assert signed.status_code == 303
                users = await desk.get("/console/admin/users")
                user_id = re.search(r'href="/console/admin/users/(\d+)">cm1<', users.text)
                assert user_id, users.text
                page = await desk.get(f"/console/admin/users/{user_id.group(1)}")
                assert "Appliance 1" in page.text  # the user's devices are on their page
                saved = await desk.post(f"/console/admin/users/{user_id.group(1)}", data={
                    "csrf": csrf_of(page.text), "name": "Casey Crew", "role": "crew",
                    "station": "MAR", "grounds": "WIS"})
                assert saved.status_code == 303, saved.text

            await device.sync()
            assert set(device.records) == {"m1", "m2", "w1", "w2"}


def test_init_refuses_a_database_that_already_has_users(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    monkeypatch.setenv("WATCHBOOK_ADMIN_PASSWORD", "first-admin-pw")
    assert cli.main(["init", "--username", "ada", "--name", "Ada", "--db", db]) == 0
    assert cli.main(["init", "--username", "bob", "--name", "Bob", "--db", db]) == 1
    assert "already has users" in capsys.readouterr().err
    assert cli.main(["user", "list", "--db", db]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == ["ada"]


def test_init_creates_the_admin_and_nothing_else(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-file-pw\n")
    assert cli.main(["init", "--username", "ada", "--name", "Ada", "--password-file",
                     str(secret), "--db", db]) == 0
    capsys.readouterr()
    assert cli.main(["station", "list", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []  # no stations
    assert cli.main(["user", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 1 and lines[0].split()[0] == "ada" and " admin " in lines[0]


def test_init_asks_for_the_password_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    monkeypatch.delenv("WATCHBOOK_ADMIN_PASSWORD", raising=False)
    answers = iter(["typed-once", "typed-twice"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    assert cli.main(["init", "--username", "ada", "--name", "Ada", "--db", db]) == 1
    assert "do not match" in capsys.readouterr().err
    answers = iter(["same-password", "same-password"])
    assert cli.main(["init", "--username", "ada", "--name", "Ada", "--db", db]) == 0
