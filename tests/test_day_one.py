"""Day one of a real fire service, as docs/deployment.md tells a newcomer: from an empty
directory `watchbook init`, three stations, a supervisor and a crew member with grounds, a CSV
import, then a crew device syncs exactly its grounds, and a change of the crew member's grounds
in the console changes what the device holds after its next sync; then the same day from the
console: stations, users, a 20,000-row import as a job with its progress bar, and a bad file
whose every problem is listed and of which nothing is written."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from world import fast_hash_env, fast_settings

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
    fast_hash_env(monkeypatch)


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


# -- the console's day one: stations, users and a 20,000-row import, all from the desk -------
STATIONS = (("WIS", "Wisbech"), ("MAR", "March"), ("CHA", "Chatteris"))
ROWS = 20_000
PROGRESS = re.compile(r'<progress id="job-progress" data-phase="(\w+)" max="(\d+)" '
                      r'value="(\d+)"')


def big_csv(rows: int = ROWS) -> str:
    """`rows` premises over the three stations; postcodes typed in lower case (normalised)."""
    lines = ["id,station,name,address,postcode,risk_level,assessed_at"]
    for i in range(rows):
        code = STATIONS[i % 3][0]
        assessed = f"2025-{i % 12 + 1:02d}-15" if i % 4 else ""
        lines.append(f"p{i:05d},{code},Premises {i},{i} High Street,pe{i % 90 + 10} "
                     f"{i % 10}zz,{i % 4 + 1},{assessed}")
    return "\n".join(lines) + "\n"


BAD_CSV = """id,station,name,postcode,risk_level,assessed_at
p00000,WIS,Renamed but the file is bad,PE13 1AA,2,2025-01-01
b1,XXX,,PE13 1AA,9,2025-01-01
b2,MAR,Bad date and level,NOPE,0,1 May 2025
"""
BAD_PROBLEMS = [
    "line 3, field name: Name is required",
    "line 3, field risk_level: Risk level is too high: 9, at most 4",
    "line 3, field station: unknown station code &#39;XXX&#39;",
    "line 4, field postcode: Postcode is not in the right form",
    "line 4, field risk_level: Risk level is too low: 0, at least 1",
    "line 4, field assessed_at: Date assessed is not in the right form",
]


class Desk:
    """An admin at the console: signed in, posting forms with the page's CSRF token."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.csrf = ""

    async def sign_in(self, username: str, password: str) -> None:
        form = await self.client.get("/console/signin")
        signed = await self.client.post("/console/signin", data={
            "csrf": csrf_of(form.text), "username": username, "password": password})
        assert signed.status_code == 303, signed.text
        self.csrf = csrf_of((await self.client.get("/console/dashboard")).text)

    async def post(self, path: str, **fields: Any) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **fields})

    async def upload(self, name: str, body: str | bytes, ctype: str = "text/csv"
                     ) -> httpx.Response:
        return await self.client.post("/console/import", data={"csrf": self.csrf},
                                      files={"file": (name, body, ctype)})

    async def follow_job(self, location: str) -> tuple[str, list[tuple[str, int, int]]]:
        """Poll the job's status page (as its refresh does) until it stops running; the
        last page and every progress bar seen."""
        seen: list[tuple[str, int, int]] = []
        while True:
            page = (await self.client.get(location)).text
            bar = PROGRESS.search(page)
            if bar is None:
                return page, seen
            assert 'http-equiv="refresh"' in page  # no JavaScript needed to follow it
            seen.append((bar[1], int(bar[2]), int(bar[3])))
            await asyncio.sleep(0.05)


def test_day_one_from_the_console_stations_users_a_20000_row_import_and_crews_grounds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "var" / "watchbook.db"
    monkeypatch.setenv("WATCHBOOK_ADMIN_PASSWORD", "first-admin-pw")
    assert cli.main(["init", "--username", "ada", "--name", "Ada Admin", "--db", str(db)]) == 0
    asyncio.run(_the_console_day(tmp_path, db))


async def _the_console_day(tmp_path: Path, db: Path) -> None:
    app = create_app(fast_settings(tmp_path).with_(db_path=db))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            desk = Desk(client)
            await desk.sign_in("ada", "first-admin-pw")
            for code, name in STATIONS:
                added = await desk.post("/console/admin/stations", code=code, name=name)
                assert added.status_code == 303, added.text
            for username, name, role, station in (
                    ("sm1", "Sam Supervisor", "supervisor", "WIS"),
                    ("cm1", "Casey Crew", "crew", "MAR")):
                added = await desk.post("/console/admin/users", username=username, name=name,
                                        role=role, station=station,
                                        password=f"{username}-password")
                assert added.status_code == 303, added.text
            users = (await client.get("/console/admin/users")).text
            cm1 = re.search(r'href="/console/admin/users/(\d+)">cm1<', users)
            assert cm1, users
            given = await desk.post(f"/console/admin/users/{cm1[1]}", name="Casey Crew",
                                    role="crew", station="MAR", grounds="CHA")
            assert given.status_code == 303, given.text

            # the 20,000-row file: checked, previewed, confirmed, written by a job
            uploaded = await desk.upload("premises.csv", big_csv())
            assert uploaded.status_code == 303, uploaded.text
            job = uploaded.headers["location"]
            page, checking = await desk.follow_job(job)
            assert 'data-status="ready"' in page, page
            assert re.search(r'id="preview-created">20,000<', page)
            assert re.search(r'id="preview-changed">0<', page)
            assert (await client.get("/api/stations")).status_code == 401  # the API is apart
            confirmed = await desk.post(f"{job}/confirm")
            assert confirmed.status_code == 303
            page, writing = await desk.follow_job(job)
            assert 'data-status="done"' in page, page
            assert "20,000 premises created or changed, 0 left alone" in page
            bars = checking + writing
            assert bars, "no progress bar was shown"
            assert all(0 <= value <= top for _, top, value in bars)
            assert any(phase == "writing" and top == ROWS for phase, top, _ in writing)

            # a second file with bad rows: every problem listed, nothing written
            uploaded = await desk.upload("more.csv", BAD_CSV)
            page, _ = await desk.follow_job(uploaded.headers["location"])
            assert 'data-status="invalid"' in page, page
            for problem in BAD_PROBLEMS:
                assert problem in page, problem
            assert "6 problems in 2 rows" in page
            history = (await client.get("/console/premises/p00000/history")).text
            assert "Renamed but the file is bad" not in history
            assert "Premises 0" in (await client.get("/console/premises/p00000")).text

            # bad uploads get a clear 4xx naming the problem
            for name, body, status, words in (
                    ("premises.xlsx", b"PK\x03\x04", 415, "is not a CSV"),
                    ("premises.csv", b"id,name\n\xff\xfe bad", 422, "not UTF-8"),
                    ("premises.csv", b"  \n", 422, "is empty"),
                    ("premises.csv", b"id\x00,name", 415, "not a text file")):
                refused = await desk.upload(name, body)
                assert refused.status_code == status, (name, refused.status_code)
                assert words in refused.text

            # the crew device holds exactly its grounds (MAR and CHA), then follows a change
            enrolled = await client.post("/api/devices/enrol", json={
                "username": "cm1", "password": "cm1-password", "device_name": "Appliance 1"})
            assert enrolled.status_code == 201, enrolled.text
            device = Device(client, enrolled.json()["token"])
            await device.sync()
            expected = {f"p{i:05d}" for i in range(ROWS) if STATIONS[i % 3][0] in ("MAR", "CHA")}
            assert set(device.records) == expected
            assert device.records["p00001"]["postcode"] == "PE11 1ZZ"  # typed "pe11 1zz"
            changed = await desk.post(f"/console/admin/users/{cm1[1]}", name="Casey Crew",
                                      role="crew", station="MAR", grounds="WIS")
            assert changed.status_code == 303, changed.text
            await device.sync()
            assert set(device.records) == {
                f"p{i:05d}" for i in range(ROWS) if STATIONS[i % 3][0] in ("MAR", "WIS")}
