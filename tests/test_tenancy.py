"""Two owning services on one deployment cannot see or touch each other (issue 15, item 1).

Service A is the World's (stations A01, B02, C03; crew, super, csuper, admin). Service B is
added beside it with `services.add` (admin badmin), with stations X01 and Y02, a supervisor,
a crew member, premises, history, a conflict, an observation, an import job and a share.
Every route of the app (walked from its route table, so a new route cannot be forgotten) is
called by each of A's users aimed at B's ids: none ever shows a name or id of B's, a route
naming one of B's ids answers 404 or 403, and B's rows are the same afterwards. Runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from engines import engine  # noqa: F401
from test_matrix import app_routes, console_client
from world import World, make_premises

from server import clock, grounds, partners, services
from server.settings import Settings
from server.store import records

B_PW = "bravo service password"
B_PREMISES = [
    make_premises("q1", "X01", "Xylo Warehouse", address="9 Quay Street, Xenia",
                  postcode="XE1 1XX", uprn="900090009001", lat=52.205, lon=0.125,
                  hazards=[{"id": "hq1", "type": "lpg", "location": "Quayside"}],
                  key_box="9911", entry_codes="X7777",
                  observations=[{"id": "oq1", "category": "access", "note": "Bravo gate",
                                 "status": "open", "at": "2026-01-01T00:00:00Z"}]),
    make_premises("q2", "Y02", "Yew Tree Mill", address="Mill Lane, Yarrow",
                  postcode="YA2 2YY", uprn="900090009002", lat=52.202, lon=0.122),
]
# Words that exist only in service B: none may appear in anything A's users are served.
B_WORDS = ("Xylo Warehouse", "Yew Tree Mill", "Quay Street", "XE1 1XX", "900090009001",
           "Xenia", "Yarrow", "Bravo Fire", "Bea Bravo", "Bryn Bravo", "Bo Bravo", "badmin",
           "bsuper", "bcrew", "bravo pump", "9911", "X7777", "Bravo gate", "bravo-file",
           "Bravo Police", "pc.bravo", "Bravo joint visits")


@dataclass
class Bravo:
    """Service B's ids, and its state for comparing before and after each call."""

    service: int = 0
    user_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    conflict_id: str = ""
    job_id: int = 0
    share_id: int = 0
    key_id: int = 0

    def device(self, username: str) -> str:
        return self.tokens[username][3:].split("_", 1)[0]

    def ids(self) -> dict[str, str]:
        """A value for each path parameter, naming B's things."""
        return {"premises_id": "q1", "hazard_id": "hq1", "observation_id": "oq1",
                "attachment_id": "aq1", "conflict_id": self.conflict_id,
                "user_id": str(self.user_ids["bcrew"]), "device_id": self.device("bcrew"),
                "code": "X01", "job_id": str(self.job_id), "share_id": str(self.share_id),
                "key_id": str(self.key_id), "link_id": "1", "token": "unknown",
                "reference": "F-1", "sha256": "0" * 64}


async def _push(world: World, token: str, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
    device = token[3:].split("_", 1)[0]
    body = [{"device_id": device, "seq": i, "base_version": 1, **m}
            for i, m in enumerate(mutations, 1)]
    r = await world.client.post("/api/sync/push", json={"mutations": body},
                                headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    receipts: list[dict[str, Any]] = r.json()["receipts"]
    return receipts


async def _bravo(world: World) -> Bravo:
    b = Bravo()
    b.service = await services.add(world.auth, "Bravo Fire and Rescue", "badmin", "Bea Bravo",
                                   B_PW)
    await grounds.add(world.db, "X01", "Xenia", 52.2, 0.12, service=b.service)
    await grounds.add(world.db, "Y02", "Yarrow", 52.21, 0.13, ["X01"], service=b.service)
    await world.db.write(lambda c: records.insert_many(c, B_PREMISES))
    b.user_ids["badmin"] = (await world.db.execute(
        "SELECT id FROM users WHERE username = 'badmin'")).single_value()
    for username, name, role in (("bsuper", "Bryn Bravo", "supervisor"),
                                 ("bcrew", "Bo Bravo", "crew")):
        b.user_ids[username] = await world.auth.add_user(username, name, role, "X01", B_PW,
                                                         service=b.service)
    for username in ("badmin", "bsuper", "bcrew"):
        who = await world.auth.principal_for_user(b.user_ids[username])
        _, b.tokens[username] = await world.auth.enrol_device(who, "bravo pump")
    notes = {"kind": "update", "premises_id": "q1",
             "changes": [{"field": "risk_notes", "old": "", "new": "Bravo notes"}]}
    await _push(world, b.tokens["bsuper"], notes)
    [receipt] = await _push(world, b.tokens["badmin"], {**notes, "changes": [
        {"field": "risk_notes", "old": "", "new": "Other Bravo notes"}]})
    assert receipt["status"] == "conflict", receipt
    b.conflict_id = receipt["conflict_ids"][0]
    b.job_id = await world.app.state.imports.start(
        b.user_ids["badmin"], "bravo-file.csv", "csv", "id,station,name\nq9,X01,Bravo new\n")
    police = await partners.add_organisation(world.db, "Bravo Police", "police", b.service)
    await partners.add_partner_user(world.auth, "pc.bravo", "PC Bravo", police, B_PW,
                                    service=b.service)
    b.share_id = await partners.make_share(world.db, b.service, {
        "partner": str(police), "purpose": "Bravo joint visits",
        "profile": "operational_summary", "expires_on": clock.today(30)}, "badmin")
    b.key_id, _ = await partners.make_key(world.db, b.service, b.share_id, "badmin")
    return b


STATE = [  # every row of service B's, as compared before and after each call
    ("SELECT id, doc FROM premises WHERE station IN ('X01', 'Y02') ORDER BY id", ()),
    ("SELECT * FROM stations WHERE organisation_id = ? ORDER BY code", (0,)),
    ("SELECT * FROM users WHERE organisation_id = ? ORDER BY id", (0,)),
    ("SELECT d.id, d.revoked_at, d.wipe, d.token_hash FROM devices d JOIN users u "
     "ON u.id = d.user_id WHERE u.organisation_id = ? ORDER BY d.id", (0,)),
    ("SELECT id, status FROM import_jobs WHERE user_id IN "
     "(SELECT id FROM users WHERE organisation_id = ?) ORDER BY id", (0,)),
    ("SELECT id, ended_at FROM shares WHERE owner_id = ? ORDER BY id", (0,)),
    ("SELECT id, revoked_at FROM share_keys ORDER BY id", ()),
    ("SELECT id, status FROM conflicts WHERE station IN ('X01', 'Y02') ORDER BY id", ()),
    ("SELECT name FROM organisations WHERE id = ?", (0,)),
]


async def _state(world: World, b: Bravo) -> list[Any]:
    out = []
    for sql, params in STATE:
        bound = tuple(b.service if p == 0 else p for p in params)
        out.append([tuple(r) for r in (await world.db.execute(sql, bound)).rows])
    return out


@pytest.fixture
async def bravo(world: World) -> AsyncIterator[Bravo]:
    b = await _bravo(world)
    # the import job checks in the background: let it settle before comparing states
    for _attempt in range(6000):
        job = await world.app.state.imports.get(b.job_id)
        if job and job["status"] not in ("checking", "writing"):
            break
        await _sleep()
    assert job and job["status"] == "ready", job
    yield b


async def _sleep() -> None:
    import asyncio
    await asyncio.sleep(0.01)


FORM = {  # a form for any console POST, aimed at B wherever a field names a station
    "station": "X01", "grounds": "X01", "stations": "X01", "move_to": "X01", "code": "Z09",
    "name": "Hijacked", "role": "crew", "username": "hijacker",
    "password": "a long enough password", "confirm": "yes", "decision": "accept",
    "choice": "server", "base_version": "2", "format": "csv", "kind": "photo",
    "type": "asbestos", "location": "Roof", "purpose": "x", "profile": "operational_summary",
    "expires_on": "2099-01-01", "wipe": "1", "days": "90", "storeys": "9",
    "category": "hazard", "note": "x", "risk_notes": "hijacked", "tactical_plan": "hijacked",
}
# A's own things aimed at B's: each must be refused with a 4xx, leaving A's and B's as they were.
CROSSING = [
    ("/console/admin/users", {**FORM, "station": "X01"}),
    ("/console/admin/users/{crew}", {"name": "Casey Crew", "role": "crew", "station": "X01"}),
    ("/console/admin/users/{crew}", {"name": "Casey Crew", "role": "crew", "station": "A01",
                                     "grounds": "X01"}),
    ("/console/admin/stations", {"code": "Z09", "name": "Zed", "grounds": "X01"}),
    ("/console/admin/stations", {"code": "X01", "name": "Taken"}),
    ("/console/admin/stations/A01", {"name": "Ashby", "grounds": "Y02"}),
    ("/console/admin/stations/C03/retire", {"move_to": "X01", "confirm": "yes"}),
    ("/console/premises/new", {"name": "New Mill", "station": "X01", "risk_level": "3"}),
    ("/console/premises/p1/move", {"station": "X01", "base_version": "1"}),
    ("/console/export", {"station": "X01", "format": "csv"}),
    ("/console/shares/new", {**FORM, "partner": "2", "stations": "X01"}),
]
CONSOLE_USERS = ("crew", "super", "admin")
API_USERS = ("crew", "super", "admin")
B_ID_PARAMS = re.compile(r"\{(\w+)(?::\w+)?\}")


def _fill(template: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        return {"path": "console.css" if "/console/" in template else "db.js"}.get(
            name, values.get(name, "x"))
    return B_ID_PARAMS.sub(one, template)


def _leaks(text: str, path: str, b: Bravo) -> list[str]:
    """B's words and ids found in a response, but for those the request itself named."""
    ids = [b.device(u) for u in b.tokens] + [b.conflict_id]
    return [w for w in (*B_WORDS, *ids) if w in text and w not in path]


async def _call(world: World, clients: dict[str, httpx.AsyncClient], persona: str,
                method: str, path: str, b: Bravo, data: dict[str, str] | None = None
                ) -> httpx.Response:
    if path.startswith(("/console/", "/portal/")):
        client = clients[persona]
        if method == "GET":
            return await client.get(path)
        page = await client.get("/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        return await client.post(path, data={**(data or FORM), "csrf": csrf.group(1)})
    headers = world.as_(persona)
    if method == "GET":
        query = {"/api/premises": "?station=X01", "/api/coverage": "?station=X01",
                 "/api/premises/nearest": "?lat=52.205&lon=0.125"}.get(path, "")
        return await world.client.get(path + query, headers=headers)
    if path == "/api/sync/push":
        device = world.tokens[persona][3:].split("_", 1)[0]
        return await world.client.post("/api/sync/push", headers=headers, json={"mutations": [
            {"kind": "update", "device_id": device, "seq": 50, "premises_id": "q1",
             "base_version": 2, "changes": [{"field": "risk_notes", "old": "Bravo notes",
                                             "new": "hijacked"}]},
            {"kind": "add_observation", "device_id": device, "seq": 51, "premises_id": "q1",
             "base_version": 2, "observation": {"id": "ox", "category": "access",
                                                "note": "hijack"}},
            {"kind": "create", "device_id": device, "seq": 52, "premises_id": "qx",
             "record": make_premises("qx", "X01", "Planted")}]})
    if method == "PUT":
        return await world.client.put(path, content=b"not an image", headers={
            **headers, "content-type": "image/png"})
    return await world.client.post(path, headers=headers, json={})


@pytest.fixture
async def clients(world: World) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    made = {u: await console_client(world, u) for u in CONSOLE_USERS}
    try:
        yield made
    finally:
        for c in made.values():
            await c.aclose()


async def test_no_route_shows_or_touches_another_services_data(
        world: World, bravo: Bravo, clients: dict[str, httpx.AsyncClient],
        settings: Settings) -> None:
    before = await _state(world, bravo)
    ids = bravo.ids()
    problems: list[str] = []
    for method, template in sorted(app_routes(settings)):
        path = _fill(template, ids)
        names_b = any(f"{{{p}" in template for p in ids if p not in ("token", "reference",
                                                                     "link_id", "sha256"))
        for persona in CONSOLE_USERS if path.startswith(("/console/", "/portal/")) \
                else API_USERS:
            r = await _call(world, clients, persona, method, path, bravo)
            where = f"{method} {path} as {persona}"
            if r.status_code >= 500:
                problems.append(f"{where}: {r.status_code}")
            if leaked := _leaks(r.text, path, bravo):
                problems.append(f"{where}: shows {leaked}")
            if names_b and r.status_code not in (403, 404) and not (
                    r.status_code == 303 and "/signin" in r.headers.get("location", "")):
                problems.append(f"{where}: {r.status_code}, not 404 or 403")
            if path == "/api/sync/push" and r.status_code == 200:
                got = [(x["status"], x.get("reason")) for x in r.json()["receipts"]]
                if any(s != "rejected" for s, _ in got):
                    problems.append(f"{where}: receipts {got}")
            if await _state(world, bravo) != before:
                problems.append(f"{where}: changed service B's data")
                before = await _state(world, bravo)
    assert problems == []


async def test_an_admin_cannot_give_grounds_or_move_records_into_another_service(
        world: World, bravo: Bravo, clients: dict[str, httpx.AsyncClient]) -> None:
    before = await _state(world, bravo)
    mine = await world.db.execute("SELECT username, station, extra_grounds FROM users "
                                  "WHERE organisation_id = 1 ORDER BY id")
    problems = []
    for template, data in CROSSING:
        path = template.format(crew=world.user_ids["crew"])
        r = await _call(world, clients, "admin", "POST", path, bravo, data)
        if not 400 <= r.status_code < 500:
            problems.append(f"{path} {data}: {r.status_code}")
        if leaked := _leaks(r.text, path, bravo):
            problems.append(f"{path}: shows {leaked}")
    assert problems == []
    assert await _state(world, bravo) == before
    after = await world.db.execute("SELECT username, station, extra_grounds FROM users "
                                   "WHERE organisation_id = 1 ORDER BY id")
    assert [tuple(r) for r in after.rows] == [tuple(r) for r in mine.rows]
    p1 = await world.db.read(lambda c: records.get(c, "p1"))
    assert p1 is not None and p1["station"] == "A01"
    assert await world.db.read(lambda c: records.get(c, "qx")) is None


async def test_a_crew_device_pulls_only_its_own_services_premises(world: World,
                                                                  bravo: Bravo) -> None:
    seen: dict[str, set[str]] = {}
    for persona, token in (("crew", world.tokens["crew"]), ("admin", world.tokens["admin"]),
                           ("bcrew", bravo.tokens["bcrew"])):
        ids: set[str] = set()
        cursor = ""
        for _page in range(20):
            r = await world.client.get(f"/api/sync/pull?cursor={cursor}",
                                       headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            body = r.json()
            ids |= {c["record"]["id"] for c in body["changes"] if c["type"] == "premises"}
            ids |= {c["conflict"]["premises_id"] for c in body["changes"]
                    if c["type"] == "conflict"}
            assert not _leaks(r.text, "", bravo) or persona == "bcrew"
            if not body["more"]:
                break
            cursor = body["cursor"]
        seen[persona] = ids
    assert seen["crew"] == {"p1", "p2", "p3"}      # A01 and the B02 it covers
    assert seen["admin"] == {"p1", "p2", "p3", "p4"}  # every station of service A
    assert seen["bcrew"] == {"q1"}                  # X01 only: B's crew sees nothing of A's


async def test_grounds_are_the_services_own(world: World, bravo: Bravo) -> None:
    admin_a = await world.auth.principal_for_user(world.user_ids["admin"])
    admin_b = await world.auth.principal_for_user(bravo.user_ids["badmin"])
    assert admin_a.grounds == ("A01", "B02", "C03")
    assert admin_b.grounds == ("X01", "Y02")
    # a ground that names another service's station (written past the checks) is ignored
    await world.db.execute_write("UPDATE users SET extra_grounds = '[\"X01\"]' "
                                 "WHERE username = 'crew'")
    crew = await world.auth.principal_for_user(world.user_ids["crew"])
    assert crew.grounds == ("A01", "B02")


async def test_each_admin_reads_only_their_own_services_audit(
        world: World, bravo: Bravo, clients: dict[str, httpx.AsyncClient]) -> None:
    await _push(world, world.tokens["super"], {
        "kind": "update", "premises_id": "p1",
        "changes": [{"field": "risk_notes", "old": "", "new": "Alpha notes"}]})
    page = await clients["admin"].get("/console/audit")
    csv_a = await clients["admin"].get("/console/audit?format=csv")
    assert page.status_code == csv_a.status_code == 200
    assert "p1" in page.text and "super" in page.text
    for text in (page.text, csv_a.text):
        # service B's premises id as a word: a random token in the page may hold "q1"
        assert _leaks(text, "", bravo) == [] and not re.search(r"(?<![\w-])q1(?![\w-])", text)
    async with _signed_in(world, "badmin") as admin_b:
        page_b = await admin_b.get("/console/audit")
        assert "q1" in page_b.text and "bsuper" in page_b.text
        assert not re.search(r"(?<![\w-])p1(?![\w-])", page_b.text) and "Casey" not in page_b.text
        assert ">super<" not in page_b.text


class _signed_in:
    def __init__(self, world: World, username: str):
        self.world, self.username = world, username

    async def __aenter__(self) -> httpx.AsyncClient:
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.world.app),
                                        base_url="http://test")
        page = await self.client.get("/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = await self.client.post("/console/signin", data={
            "username": self.username, "password": B_PW, "csrf": csrf.group(1)})
        assert r.status_code == 303, r.text
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


async def test_an_admin_renames_their_own_service_in_the_console(
        world: World, bravo: Bravo, clients: dict[str, httpx.AsyncClient]) -> None:
    page = await clients["admin"].get("/console/admin/service")
    assert page.status_code == 200 and "This service" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    taken = await clients["admin"].post("/console/admin/service", data={
        "csrf": csrf.group(1), "name": "bravo fire and rescue"})
    assert taken.status_code == 409 and "already" in taken.text
    empty = await clients["admin"].post("/console/admin/service", data={
        "csrf": csrf.group(1), "name": "  "})
    assert empty.status_code == 422 and "Enter the service" in empty.text
    done = await clients["admin"].post("/console/admin/service", data={
        "csrf": csrf.group(1), "name": "Alpha Fire and Rescue"})
    assert done.status_code == 303
    names = {r["id"]: r["name"] for r in await services.listing(world.db)}
    assert names == {1: "Alpha Fire and Rescue", bravo.service: "Bravo Fire and Rescue"}


async def test_an_import_refuses_another_services_ids_and_stations(world: World,
                                                                   bravo: Bravo) -> None:
    from server import transfer
    text = ("id,station,name\nq1,A01,Stolen\nq2,X01,Moved\np9,A01,Fine\n")
    with pytest.raises(transfer.InvalidImport) as raised:
        await transfer.import_text(world.db, world.app.state.settings, text, "csv", service=1)
    found = [(p.where, p.field) for p in raised.value.problems]
    assert ("line 2", "id") in found and ("line 3", "id") in found
    assert ("line 3", "station") in found and not any(w == "line 4" for w, _ in found)
    q1 = await world.db.read(lambda c: records.get(c, "q1"))
    assert q1 is not None and q1["station"] == "X01" and q1["name"] == "Xylo Warehouse"
    assert json.dumps(q1).count("Stolen") == 0


async def test_a_console_import_of_another_services_ids_writes_nothing(
        world: World, bravo: Bravo, clients: dict[str, httpx.AsyncClient]) -> None:
    admin = clients["admin"]
    page = await admin.get("/console/import")
    assert "bravo-file" not in page.text  # B's import job is not listed for A
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    sent = await admin.post("/console/import", data={"csrf": csrf.group(1)}, files={
        "file": ("a.csv", b"id,station,name\nq1,A01,Stolen\n", "text/csv")})
    assert sent.status_code == 303
    job_id = int(sent.headers["location"].rstrip("/").rsplit("/", 1)[1])
    for _attempt in range(6000):
        job = await world.app.state.imports.get(job_id)
        if job and job["status"] not in ("checking", "writing"):
            break
        await _sleep()
    assert job is not None and job["status"] == "invalid"
    assert any(p.startswith("line 2, field id") for p in job["problems"]), job["problems"]
    shown = await admin.get(f"/console/import/{job_id}")
    assert _leaks(shown.text, "", bravo) == []
    q1 = await world.db.read(lambda c: records.get(c, "q1"))
    assert q1 is not None and q1["name"] == "Xylo Warehouse" and q1["station"] == "X01"
