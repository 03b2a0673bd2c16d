"""The role and scope matrix: every route of the app (API, sync, console, admin, PWA) called as
every kind of caller, against a table built from the app's own routes.

Callers: anonymous, crew (A01), a supervisor of another station (C03), a supervisor of A01
(whose grounds take in B02) and an admin. A route without a row fails the first test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route
from world import World

from server.app import create_app
from server.settings import Settings

PERSONAS = ("anon", "crew", "other_super", "super", "admin")
USERNAME = {"crew": "crew", "other_super": "csuper", "super": "super", "admin": "admin"}
OK, SIGNIN, UNAUTHORIZED, FORBIDDEN = "ok", "signin", "401", "403"

OPEN = dict.fromkeys(PERSONAS, OK)
API = {"anon": UNAUTHORIZED, "crew": OK, "other_super": OK, "super": OK, "admin": OK}
API_A01 = {**API, "other_super": FORBIDDEN}           # a record of station A01
CONSOLE = {"anon": SIGNIN, "crew": FORBIDDEN, "other_super": OK, "super": OK, "admin": OK}
CONSOLE_A01 = {**CONSOLE, "other_super": FORBIDDEN}
ADMIN_PAGE = {**CONSOLE, "other_super": FORBIDDEN, "super": FORBIDDEN}
ADMIN_API = {"anon": UNAUTHORIZED, "crew": FORBIDDEN, "other_super": FORBIDDEN,
             "super": FORBIDDEN, "admin": OK}
EDIT_A01 = {"anon": UNAUTHORIZED, "crew": FORBIDDEN, "other_super": FORBIDDEN, "super": OK,
            "admin": OK}
PARTNER_PAGE = {"anon": SIGNIN, "crew": FORBIDDEN, "other_super": FORBIDDEN,
                "super": FORBIDDEN, "admin": FORBIDDEN}
FEED = dict.fromkeys(PERSONAS, UNAUTHORIZED)  # a device token is not a share's feed key
SHA = "0" * 64


@dataclass
class Callers:
    """Per persona: API headers and a console client signed in as that user."""

    world: World
    console: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    conflict_id: str = ""
    device_ids: dict[str, str] = field(default_factory=dict)

    def headers(self, persona: str) -> dict[str, str]:
        return {} if persona == "anon" else self.world.as_(USERNAME[persona])

    def device(self, persona: str) -> str:
        return self.world.tokens[USERNAME[persona]][3:].split("_", 1)[0]


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(client: httpx.AsyncClient) -> str:
    page = await client.get("/console/signin")
    found = CSRF.search(page.text)
    assert found, "the sign-in page carries a CSRF token"
    return found.group(1)


async def console_client(world: World, username: str | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                               base_url="http://test")
    if username:
        r = await client.post("/console/signin", data={
            "username": username, "password": "pw-" + username, "csrf": await csrf_of(client)})
        assert r.status_code == 303, r.text
    return client


Call = Callable[[Callers, str], Awaitable[httpx.Response]]


def get(path: str) -> Call:
    async def call(c: Callers, persona: str) -> httpx.Response:
        if path.startswith("/console/"):
            return await c.console[persona].get(path)
        return await c.world.client.get(path, headers=c.headers(persona))
    return call


def form(path: str, **fields: str) -> Call:
    """A console form POST carrying the caller's CSRF token."""
    async def call(c: Callers, persona: str) -> httpx.Response:
        client = c.console[persona]
        data = {**fields, "csrf": await csrf_of(client)}
        return await client.post(path.format(conflict=c.conflict_id), data=data)
    return call


def portal_post(path: str) -> Call:
    """A portal form POST: no account, only a submission link's token in the path."""
    async def call(c: Callers, persona: str) -> httpx.Response:
        return await c.console[persona].post(path, data={"kind": "dry_riser"})
    return call


def console_user_action(action: str) -> Call:
    async def call(c: Callers, persona: str) -> httpx.Response:
        uid = c.world.user_ids["crew"]
        return await form(f"/console/admin/users/{uid}/{action}")(c, persona)
    return call


async def reset_page(c: Callers, persona: str) -> httpx.Response:
    return await get(f"/console/admin/users/{c.world.user_ids['crew']}/password")(c, persona)


async def change_own_password(c: Callers, persona: str) -> httpx.Response:
    """A too-short new password: refused with 422 (nothing changes) once past the checks."""
    username = USERNAME.get(persona, "nobody")
    return await c.world.client.post("/api/me/password", headers=c.headers(persona), json={
        "current_password": "pw-" + username, "new_password": "short"})


async def console_user_page(c: Callers, persona: str) -> httpx.Response:
    return await get(f"/console/admin/users/{c.world.user_ids['crew']}")(c, persona)


async def console_user_edit(c: Callers, persona: str) -> httpx.Response:
    return await form(f"/console/admin/users/{c.world.user_ids['crew']}", name="Casey Crew",
                      role="crew", station="A01", grounds="C03")(c, persona)


async def revoke(c: Callers, persona: str) -> httpx.Response:
    return await form(f"/console/admin/devices/{c.device('crew')}/revoke", wipe="1")(c, persona)


async def retire(c: Callers, persona: str) -> httpx.Response:
    return await form(f"/console/admin/devices/{c.device('crew')}/retire")(c, persona)


async def confirm_page(c: Callers, persona: str, action: str) -> httpx.Response:
    return await get(f"/console/admin/devices/{c.device('crew')}/{action}")(c, persona)


async def confirm_retire(c: Callers, persona: str) -> httpx.Response:
    return await confirm_page(c, persona, "retire")


async def confirm_revoke(c: Callers, persona: str) -> httpx.Response:
    return await confirm_page(c, persona, "revoke")


async def retired(c: Callers, persona: str) -> httpx.Response:
    """A device acknowledging a retire order it was never given: 409 once past the checks."""
    return await c.world.client.post("/api/sync/retired", headers=c.headers(persona))


async def conflict_page(c: Callers, persona: str) -> httpx.Response:
    return await get(f"/console/conflicts/{c.conflict_id}")(c, persona)


async def enrol(c: Callers, persona: str) -> httpx.Response:
    username = USERNAME.get(persona, "nobody")
    return await c.world.client.post("/api/devices/enrol", json={
        "username": username, "password": "pw-" + username})


async def metrics_from_afar(c: Callers, persona: str) -> httpx.Response:
    remote = httpx.ASGITransport(app=c.world.app, client=("10.9.8.7", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://test") as client:
        return await client.get("/metrics", headers=c.headers(persona))


async def push_edit_of_p1(c: Callers, persona: str) -> httpx.Response:
    mutation = {"kind": "update", "device_id": "" if persona == "anon" else c.device(persona),
                "seq": 2 if persona in ("super", "admin") else 1,  # 1 opened the conflict
                "premises_id": "p1", "base_version": 1,
                "changes": [{"field": "tactical_plan", "old": "", "new": "by " + persona}]}
    return await c.world.client.post("/api/sync/push", json={"mutations": [mutation]},
                                     headers=c.headers(persona))


async def put_blob(c: Callers, persona: str) -> httpx.Response:
    return await c.world.client.put(f"/api/blobs/{SHA}", content=b"not an image",
                                    headers={**c.headers(persona), "content-type": "image/png"})


@dataclass(frozen=True)
class Row:
    call: Call
    expect: dict[str, str]


P1 = "/console/premises/p1"
# (method, route template) -> how to call it and what each persona gets.
ROWS: dict[tuple[str, str], Row] = {
    # the JSON API
    ("POST", "/api/devices/enrol"): Row(enrol, {**OPEN, "anon": UNAUTHORIZED}),
    ("GET", "/api/me"): Row(get("/api/me"), API),
    ("POST", "/api/me/password"): Row(change_own_password, API),
    ("GET", "/api/premises"): Row(get("/api/premises"), API),
    ("GET", "/api/premises/nearest"): Row(get("/api/premises/nearest?lat=52.2&lon=0.1"), API),
    ("GET", "/api/premises/{premises_id}"): Row(get("/api/premises/p1"), API_A01),
    ("GET", "/api/stations"): Row(get("/api/stations"), API),
    ("GET", "/api/openapi.json"): Row(get("/api/openapi.json"), OPEN),
    ("GET", "/api/coverage"): Row(get("/api/coverage"), {**API, "crew": FORBIDDEN}),
    ("POST", "/api/sync/push"): Row(push_edit_of_p1, EDIT_A01),
    ("GET", "/api/sync/pull"): Row(get("/api/sync/pull"), API),
    ("POST", "/api/sync/retired"): Row(retired, API),
    ("PUT", "/api/blobs/{sha256}"): Row(put_blob, API),
    ("GET", "/api/blobs/{sha256}"): Row(get(f"/api/blobs/{SHA}"), API),
    ("GET", "/api/blobs/{sha256}/thumb"): Row(get(f"/api/blobs/{SHA}/thumb"), API),
    # operations
    ("GET", "/healthz"): Row(get("/healthz"), OPEN),
    ("GET", "/metrics"): Row(metrics_from_afar, ADMIN_API),
    # the PWA shell
    ("GET", "/"): Row(get("/"), OPEN),
    ("GET", "/sw.js"): Row(get("/sw.js"), OPEN),
    ("GET", "/manifest.webmanifest"): Row(get("/manifest.webmanifest"), OPEN),
    ("GET", "/pwa/{path:path}"): Row(get("/pwa/db.js"), OPEN),
    # the console
    ("GET", "/console/"): Row(get("/console/"), CONSOLE),
    ("GET", "/console/signin"): Row(get("/console/signin"), OPEN),
    ("POST", "/console/signin"): Row(form("/console/signin", username="x", password="y"),
                                     dict.fromkeys(PERSONAS, UNAUTHORIZED)),
    ("POST", "/console/signout"): Row(form("/console/signout"),
                                      dict.fromkeys(PERSONAS, SIGNIN)),
    ("GET", "/console/static/{path:path}"): Row(get("/console/static/console.css"), OPEN),
    ("GET", "/console/dashboard"): Row(get("/console/dashboard"), CONSOLE),
    ("GET", "/console/premises"): Row(get("/console/premises"), CONSOLE),
    ("GET", "/console/premises/{premises_id}"): Row(get(P1), CONSOLE_A01),
    ("GET", "/console/premises/{premises_id}/edit"): Row(get(P1 + "/edit"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/edit"): Row(form(P1 + "/edit"), CONSOLE_A01),
    ("GET", "/console/premises/{premises_id}/notes"): Row(get(P1 + "/notes"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/notes"): Row(form(P1 + "/notes"), CONSOLE_A01),
    ("GET", "/console/premises/{premises_id}/high-rise"): Row(get(P1 + "/high-rise"),
                                                              CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/high-rise"): Row(
        form(P1 + "/high-rise", storeys="9"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/links"): Row(form(P1 + "/links", days="90"),
                                                          CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/links/{link_id}/revoke"): Row(
        form(P1 + "/links/1/revoke"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/links/{link_id}/replace"): Row(
        form(P1 + "/links/1/replace"), CONSOLE_A01),
    # The responsible person's portal: the submission link's token, not the caller, decides
    # (an unknown token is a 404 for everyone; tests/test_portal.py has the rest).
    ("GET", "/portal/{token}"): Row(get("/portal/unknown"), OPEN),
    ("POST", "/portal/{token}/faults"): Row(portal_post("/portal/unknown/faults"), OPEN),
    ("GET", "/portal/{token}/faults/{reference}"): Row(get("/portal/unknown/faults/F-1"), OPEN),
    ("POST", "/portal/{token}/faults/{reference}/repaired"): Row(
        portal_post("/portal/unknown/faults/F-1/repaired"), OPEN),
    ("GET", "/portal/{token}/plans"): Row(get("/portal/unknown/plans"), OPEN),
    ("GET", "/portal/{token}/plans/floor"): Row(get("/portal/unknown/plans/floor"), OPEN),
    ("POST", "/portal/{token}/plans/floor"): Row(portal_post("/portal/unknown/plans/floor"),
                                                 OPEN),
    ("GET", "/portal/{token}/plans/building"): Row(get("/portal/unknown/plans/building"), OPEN),
    ("POST", "/portal/{token}/plans/building"): Row(
        portal_post("/portal/unknown/plans/building"), OPEN),
    ("GET", "/portal/{token}/walls"): Row(get("/portal/unknown/walls"), OPEN),
    ("POST", "/portal/{token}/walls"): Row(portal_post("/portal/unknown/walls"), OPEN),
    # Building owners' submissions (submission 1: a floor plan of p1, seeded by `callers`).
    ("GET", "/console/submissions"): Row(get("/console/submissions"), CONSOLE),
    ("GET", "/console/submissions/{submission_id}"): Row(get("/console/submissions/1"),
                                                         CONSOLE_A01),
    ("GET", "/console/submissions/{submission_id}/files/{n}"): Row(
        get("/console/submissions/1/files/0"), CONSOLE_A01),
    ("POST", "/console/submissions/{submission_id}/accept"): Row(
        form("/console/submissions/1/accept"), CONSOLE_A01),
    ("POST", "/console/submissions/{submission_id}/reject"): Row(
        form("/console/submissions/1/reject", reason="Not legible"), CONSOLE_A01),
    ("POST", "/portal/{token}/information-box"): Row(
        portal_post("/portal/unknown/information-box"), OPEN),
    # a supervisor's review of a fault, and the compliance view (tests/test_compliance.py)
    ("POST", "/console/premises/{premises_id}/faults/{reference}/confirm"): Row(
        form(P1 + "/faults/F-AAAAAAAA/confirm"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/faults/{reference}/repaired"): Row(
        form(P1 + "/faults/F-AAAAAAAA/repaired", note="Seen working"), CONSOLE_A01),
    ("GET", "/console/compliance"): Row(get("/console/compliance?station=A01"), CONSOLE_A01),
    ("GET", "/console/compliance/reminders.csv"): Row(
        get("/console/compliance/reminders.csv?station=A01"), CONSOLE_A01),
    ("GET", "/api/compliance"): Row(get("/api/compliance?station=A01"), EDIT_A01),
    ("GET", "/console/premises/{premises_id}/hazards"): Row(get(P1 + "/hazards"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/hazards/add"): Row(
        form(P1 + "/hazards/add", type="asbestos", location="Roof"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/hazards/{hazard_id}/remove"): Row(
        form(P1 + "/hazards/h1/remove"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/reviewed"): Row(form(P1 + "/reviewed"),
                                                              CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/observations/{observation_id}"): Row(
        form(P1 + "/observations/o1", decision="accept"), CONSOLE_A01),
    ("GET", "/console/premises/{premises_id}/history"): Row(get(P1 + "/history"), CONSOLE_A01),
    ("GET", "/console/premises/{premises_id}/history.json"): Row(get(P1 + "/history.json"),
                                                                 CONSOLE_A01),
    ("GET", "/console/conflicts"): Row(get("/console/conflicts"), CONSOLE),
    ("GET", "/console/observations"): Row(get("/console/observations"), CONSOLE),
    ("GET", "/console/conflicts/{conflict_id}"): Row(conflict_page, CONSOLE_A01),
    ("POST", "/console/conflicts/{conflict_id}/resolve"): Row(
        form("/console/conflicts/{conflict}/resolve", choice="server"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/attachments"): Row(
        form(P1 + "/attachments", kind="photo"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/attachments/{attachment_id}/remove"): Row(
        form(P1 + "/attachments/a1/remove"), CONSOLE_A01),
    ("GET", "/console/blobs/{sha256}"): Row(get(f"/console/blobs/{SHA}"), CONSOLE),
    ("GET", "/console/blobs/{sha256}/thumb"): Row(get(f"/console/blobs/{SHA}/thumb"), CONSOLE),
    ("GET", "/console/admin/users"): Row(get("/console/admin/users"), ADMIN_PAGE),
    ("POST", "/console/admin/users"): Row(form(
        "/console/admin/users", username="new", name="New", role="crew", station="A01",
        password="long-enough"), ADMIN_PAGE),
    ("POST", "/console/admin/users/{user_id:int}/disable"): Row(
        console_user_action("disable"), ADMIN_PAGE),
    ("POST", "/console/admin/users/{user_id:int}/enable"): Row(
        console_user_action("enable"), ADMIN_PAGE),
    ("GET", "/console/admin/devices"): Row(get("/console/admin/devices"), ADMIN_PAGE),
    ("GET", "/console/audit"): Row(get("/console/audit"), ADMIN_PAGE),
    ("GET", "/console/admin/service"): Row(get("/console/admin/service"), ADMIN_PAGE),
    ("POST", "/console/admin/service"): Row(form("/console/admin/service",
                                                 name="This service"), ADMIN_PAGE),
    ("GET", "/console/password"): Row(get("/console/password"), CONSOLE),
    ("POST", "/console/password"): Row(form("/console/password", current_password="x",
                                            new_password="a", confirm_password="b"), CONSOLE),
    ("GET", "/console/admin/users/{user_id:int}/password"): Row(reset_page, ADMIN_PAGE),
    ("POST", "/console/admin/users/{user_id:int}/password"): Row(
        console_user_action("password"), ADMIN_PAGE),
    ("POST", "/console/admin/devices/{device_id}/revoke"): Row(revoke, ADMIN_PAGE),
    ("GET", "/console/admin/devices/{device_id}/revoke"): Row(confirm_revoke, ADMIN_PAGE),
    ("POST", "/console/admin/devices/{device_id}/retire"): Row(retire, ADMIN_PAGE),
    ("GET", "/console/admin/devices/{device_id}/retire"): Row(confirm_retire, ADMIN_PAGE),
    ("GET", "/console/admin/users/{user_id:int}"): Row(console_user_page, ADMIN_PAGE),
    ("POST", "/console/admin/users/{user_id:int}"): Row(console_user_edit, ADMIN_PAGE),
    ("GET", "/console/admin/stations"): Row(get("/console/admin/stations"), ADMIN_PAGE),
    ("POST", "/console/admin/stations"): Row(form(
        "/console/admin/stations", code="D04", name="Dunton"), ADMIN_PAGE),
    ("GET", "/console/admin/stations/{code}"): Row(get("/console/admin/stations/A01"),
                                                   ADMIN_PAGE),
    ("POST", "/console/admin/stations/{code}"): Row(form(
        "/console/admin/stations/A01", name="Ashby", grounds="B02"), ADMIN_PAGE),
    ("POST", "/console/admin/stations/{code}/retire"): Row(form(
        "/console/admin/stations/C03/retire", move_to="B02", confirm="yes"), ADMIN_PAGE),
    ("GET", "/console/premises/new"): Row(get("/console/premises/new"), CONSOLE),
    ("POST", "/console/premises/new"): Row(form(
        "/console/premises/new", name="New Mill", station="A01", risk_level="3"), CONSOLE),
    ("GET", "/console/premises/deleted"): Row(get("/console/premises/deleted"), CONSOLE),
    ("GET", "/console/premises/{premises_id}/move"): Row(get(P1 + "/move"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/move"): Row(
        form(P1 + "/move", station="B02", base_version="2"), CONSOLE_A01),
    ("GET", "/console/premises/{premises_id}/delete"): Row(get(P1 + "/delete"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/delete"): Row(
        form(P1 + "/delete", confirm="yes", base_version="2"), CONSOLE_A01),
    ("POST", "/console/premises/{premises_id}/restore"): Row(form(P1 + "/restore"),
                                                             CONSOLE_A01),
    ("GET", "/console/import"): Row(get("/console/import"), ADMIN_PAGE),
    ("POST", "/console/import"): Row(form("/console/import"), ADMIN_PAGE),
    ("GET", "/console/import/{job_id:int}"): Row(get("/console/import/1"), ADMIN_PAGE),
    ("POST", "/console/import/{job_id:int}/confirm"): Row(form("/console/import/1/confirm"),
                                                          ADMIN_PAGE),
    ("POST", "/console/import/{job_id:int}/discard"): Row(form("/console/import/1/discard"),
                                                          ADMIN_PAGE),
    ("GET", "/console/export"): Row(get("/console/export"), CONSOLE),
    ("POST", "/console/export"): Row(form("/console/export", station="A01", format="csv"),
                                     CONSOLE_A01),
    # partners (issue 15): sharing is for admins; the partner view for partner users only
    # (tests/test_partners.py calls each as a partner); the feed takes a share's key only
    ("GET", "/console/partners"): Row(get("/console/partners"), ADMIN_PAGE),
    ("POST", "/console/partners/organisations"): Row(form(
        "/console/partners/organisations", name="Shire Police", kind="police"), ADMIN_PAGE),
    ("POST", "/console/partners/users"): Row(form(
        "/console/partners/users", organisation="2", username="pc", name="PC",
        password="a long partner password"), ADMIN_PAGE),
    ("GET", "/console/shares"): Row(get("/console/shares"), ADMIN_PAGE),
    ("GET", "/console/shares/new"): Row(get("/console/shares/new"), ADMIN_PAGE),
    ("POST", "/console/shares/new"): Row(form(
        "/console/shares/new", partner="2", purpose="x", profile="operational_summary",
        expires_on="2099-01-01"), ADMIN_PAGE),
    ("GET", "/console/shares/{share_id}"): Row(get("/console/shares/1"), ADMIN_PAGE),
    ("POST", "/console/shares/{share_id}/end"): Row(form("/console/shares/1/end"),
                                                    ADMIN_PAGE),
    ("POST", "/console/shares/{share_id}/keys"): Row(form("/console/shares/1/keys"),
                                                     ADMIN_PAGE),
    ("POST", "/console/shares/{share_id}/keys/{key_id}/revoke"): Row(
        form("/console/shares/1/keys/1/revoke"), ADMIN_PAGE),
    ("GET", "/console/partner/"): Row(get("/console/partner/"), PARTNER_PAGE),
    ("GET", "/console/partner/log"): Row(get("/console/partner/log"), PARTNER_PAGE),
    ("GET", "/console/partner/shares/{share_id}"): Row(get("/console/partner/shares/1"),
                                                       PARTNER_PAGE),
    ("GET", "/console/partner/shares/{share_id}/premises/{premises_id}"): Row(
        get("/console/partner/shares/1/premises/p1"), PARTNER_PAGE),
    ("GET", "/console/partner/shares/{share_id}/premises/{premises_id}/print"): Row(
        get("/console/partner/shares/1/premises/p1/print"), PARTNER_PAGE),
    ("POST", "/console/partner/shares/{share_id}/premises/{premises_id}/observations"): Row(
        form("/console/partner/shares/1/premises/p1/observations", category="hazard",
             note="x"), PARTNER_PAGE),
    ("GET", "/api/partner/feed"): Row(get("/api/partner/feed"), FEED),
    ("GET", "/api/partner/feed.geojson"): Row(get("/api/partner/feed.geojson"), FEED),
}


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            inner = route.routes  # the routes inside, past any middleware
            if inner:
                yield from _walk(inner, prefix + route.path)
            else:  # a mounted app (static files)
                yield "GET", prefix + route.path + "/{path:path}"
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield method, prefix + route.path


def app_routes(settings: Settings) -> set[tuple[str, str]]:
    return set(_walk(create_app(settings).routes))


def test_every_route_of_the_app_has_a_row_in_the_matrix(settings: Settings) -> None:
    routes = app_routes(settings)
    assert sorted(routes - ROWS.keys()) == [], "routes without a row in tests/test_matrix.py"
    assert sorted(ROWS.keys() - routes) == [], "rows for routes the app no longer has"


def outcome(r: httpx.Response) -> str:
    """How the app answered: refused (401, 403, sign-in redirect) or let the caller through."""
    assert r.status_code < 500, r.text
    if r.status_code == 303 and "/console/signin" in r.headers.get("location", ""):
        return SIGNIN
    if r.status_code in (401, 403):
        return str(r.status_code)
    if r.request.url.path == "/api/sync/push" and r.status_code == 200:
        reasons = {x.get("reason") for x in r.json()["receipts"]}
        return FORBIDDEN if "forbidden" in reasons else OK
    return OK


async def _conflict_on_p1(world: World) -> str:
    """Two devices change p1's risk notes from the same base: a conflict, opened by admin."""
    for username, seq in (("super", 1), ("admin", 1)):
        device = world.tokens[username][3:].split("_", 1)[0]
        r = await world.client.post("/api/sync/push", headers=world.as_(username), json={
            "mutations": [{"kind": "update", "device_id": device, "seq": seq,
                           "premises_id": "p1", "base_version": 1,
                           "changes": [{"field": "risk_notes", "old": "",
                                        "new": "notes of " + username}]}]})
    receipt = r.json()["receipts"][0]
    assert receipt["status"] == "conflict", receipt
    return str(receipt["conflict_ids"][0])


async def _submission_on_p1(world: World) -> None:
    """A floor plan of p1 sent through a submission link, waiting for review (id 1)."""
    from server.store import building_submissions, owner_links
    link = await owner_links.add_link(world.db, "p1", "sha256:matrix", "super",
                                      "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z")
    sub = {"premises_id": "p1", "link_id": link, "kind": "floor_plan", "floor": "Floor 1",
           "submitted_at": "2026-01-02T00:00:00Z", "submitted_by": "Priya Shah",
           "detail": {"files": [{"sha256": SHA, "name": "plan.pdf", "size": 10,
                                 "content_type": "application/pdf"}]}, "bytes": 10}
    assert await world.db.write(lambda conn: building_submissions.add(conn, sub)) == (1, 1)


@pytest.fixture
async def callers(world: World) -> AsyncIterator[Callers]:
    c = Callers(world)
    c.conflict_id = await _conflict_on_p1(world)
    await _submission_on_p1(world)
    for persona in PERSONAS:
        c.console[persona] = await console_client(world, USERNAME.get(persona))
    try:
        yield c
    finally:
        for client in c.console.values():
            await client.aclose()


@pytest.mark.parametrize("key", sorted(ROWS), ids=lambda k: f"{k[0]} {k[1]}")
async def test_each_caller_gets_what_their_role_and_grounds_allow(
        callers: Callers, key: tuple[str, str]) -> None:
    row = ROWS[key]
    got = {}
    for persona in PERSONAS:  # the admin last: its writes must not change others' answers
        got[persona] = outcome(await row.call(callers, persona))
    assert got == row.expect


# -- the rules behind the table, one by one ---------------------------------------------------

async def _push(world: World, username: str, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
    device = world.tokens[username][3:].split("_", 1)[0]
    last = 0
    body = []
    for i, m in enumerate(mutations, start=1):
        body.append({"device_id": device, "seq": i, "base_version": 1, **m})
        last = i
    r = await world.client.post("/api/sync/push", json={"mutations": body},
                                headers=world.as_(username))
    assert r.status_code == 200, r.text
    receipts: list[dict[str, Any]] = r.json()["receipts"]
    assert len(receipts) == last
    return receipts


def _notes(premises_id: str, text: str) -> dict[str, Any]:
    return {"kind": "update", "premises_id": premises_id,
            "changes": [{"field": "tactical_plan", "old": "", "new": text}]}


async def test_crew_may_add_observations_but_not_edit_records_or_resolve_conflicts(
        world: World) -> None:
    conflict_id = await _conflict_on_p1(world)
    receipts = await _push(
        world, "crew",
        _notes("p1", "crew edit"),
        {"kind": "add_hazard", "premises_id": "p1",
         "hazard": {"id": "hx", "type": "lpg", "location": "Yard"}},
        {"kind": "resolve_conflict", "premises_id": "p1", "conflict_id": conflict_id,
         "choice": "client"},
        {"kind": "delete", "premises_id": "p2"},
        {"kind": "add_observation", "premises_id": "p1",
         "observation": {"id": "o9", "category": "access", "note": "key box moved"}})
    assert [(r["status"], r.get("reason")) for r in receipts[:4]] == [
        ("rejected", "forbidden")] * 4
    assert receipts[4]["status"] in ("applied", "merged")
    doc = (await world.client.get("/api/premises/p1", headers=world.as_("crew"))).json()
    assert doc.get("tactical_plan", "") == "" and [h["id"] for h in doc["hazards"]] == ["h1"]


async def test_a_supervisor_edits_grounds_in_scope_and_not_another_stations(
        world: World) -> None:
    own, neighbour = await _push(world, "super", _notes("p1", "A01"), _notes("p3", "B02"))
    assert own["status"] == "applied" and neighbour["status"] == "applied"
    other, home = await _push(world, "csuper", _notes("p1", "from C03"), _notes("p4", "C03"))
    assert (other["status"], other["reason"]) == ("rejected", "forbidden")
    assert home["status"] == "applied"


async def test_a_supervisor_cannot_resolve_a_conflict_outside_their_grounds(
        world: World) -> None:
    conflict_id = await _conflict_on_p1(world)
    [receipt] = await _push(world, "csuper", {
        "kind": "resolve_conflict", "premises_id": "p1", "conflict_id": conflict_id,
        "choice": "client"})
    assert (receipt["status"], receipt["reason"]) == ("rejected", "forbidden")
    [receipt] = await _push(world, "super", {
        "kind": "resolve_conflict", "premises_id": "p1", "conflict_id": conflict_id,
        "choice": "client", "base_version": 2})
    assert receipt["status"] in ("applied", "merged")


async def test_a_revoked_device_is_refused_by_push_and_pull_at_once(world: World) -> None:
    h = world.as_("super")
    assert (await world.client.get("/api/sync/pull", headers=h)).status_code == 200
    await world.auth.revoke_device(world.tokens["super"][3:].split("_", 1)[0], wipe=True)
    pull = await world.client.get("/api/sync/pull", headers=h)
    push = await world.client.post("/api/sync/push", json={"mutations": []}, headers=h)
    for r in (pull, push):
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "device_revoked" and r.json()["error"]["wipe"]


async def test_a_disabled_user_is_refused_by_sync_and_signed_out_of_the_console_at_once(
        world: World) -> None:
    console = await console_client(world, "super")
    try:
        assert (await console.get("/console/dashboard")).status_code == 200
        await world.db.execute_write("UPDATE users SET disabled = 1 WHERE username = 'super'")
        page = await console.get("/console/dashboard")
        assert page.status_code == 303 and "/console/signin" in page.headers["location"]
        push = await world.client.post("/api/sync/push", json={"mutations": []},
                                       headers=world.as_("super"))
        assert push.status_code == 401
        again = await console.post("/console/signin", data={
            "username": "super", "password": "pw-super", "csrf": await csrf_of(console)})
        assert again.status_code == 403
    finally:
        await console.aclose()
