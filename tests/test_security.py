"""Security at the edges: session cookies, CSRF on every console form, security headers on every
kind of response, no secret in the logs of a sign-in and a sync, and where sensitive access
fields (key box, entry codes) may and may not go.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from test_matrix import console_client, csrf_of
from world import World, fast_settings

from server import transfer
from server.app import create_app
from server.web.middleware import CSP
from server.web.observability import JsonFormatter

SECRET_CODES = {"key_box": "4512", "entry_codes": "C1234"}  # p1's, in tests/world.py


def _console_posts(routes: list[BaseRoute], prefix: str = "") -> Iterator[str]:
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from _console_posts(route.routes, prefix + route.path)
        elif isinstance(route, Route) and "POST" in (route.methods or ()):
            if (prefix + route.path).startswith("/console/"):
                yield prefix + route.path


def _concrete(path: str, world: World) -> str:
    """A route template with real ids: p1, h1, station C03, the crew user, the crew device."""
    values = {"premises_id": "p1", "hazard_id": "h1", "observation_id": "o1",
              "attachment_id": "a1", "conflict_id": "c1", "code": "C03", "share_id": "1",
              "key_id": "1", "link_id": "1", "submission_id": "1", "n": "0",
              "reference": "F-AAAAAAAA",
              "user_id:int": str(world.user_ids["crew"]),
              "job_id:int": "1",
              "device_id": world.tokens["crew"][3:].split("_", 1)[0]}
    return re.sub(r"{([^}]+)}", lambda m: values[m.group(1)], path)


# -- cookies ---------------------------------------------------------------------------------

async def _signin_cookie(world: World) -> str:
    client = await console_client(world, None)
    try:
        r = await client.post("/console/signin", data={
            "username": "admin", "password": "pw-admin", "csrf": await csrf_of(client)})
        assert r.status_code == 303
        return r.headers["set-cookie"].lower()
    finally:
        await client.aclose()


async def test_the_session_cookie_is_httponly_and_samesite_and_not_secure_over_http(
        world: World) -> None:
    cookie = await _signin_cookie(world)
    assert cookie.startswith("watchbook_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


async def test_behind_https_the_cookie_is_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    app = create_app(fast_settings(tmp_path, https=True))
    async with app.router.lifespan_context(app):
        await app.state.auth.add_user("admin", "Ada", "admin", None, "pw-admin", service=1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="https://test") as client:
            r = await client.post("/console/signin", data={
                "username": "admin", "password": "pw-admin", "csrf": await csrf_of(client)})
            assert r.status_code == 303
            cookie = r.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
            health = await client.get("/healthz")
            assert health.headers["strict-transport-security"].startswith("max-age=")


# -- CSRF ------------------------------------------------------------------------------------

async def test_every_console_form_post_without_a_valid_csrf_token_is_refused(
        world: World) -> None:
    posts = sorted(set(_console_posts(world.app.routes)))
    assert "/console/admin/users/{user_id:int}/disable" in posts and len(posts) >= 10
    admin = await console_client(world, "admin")
    try:
        for path in posts:
            url = _concrete(path, world)
            for token in (None, "forged-token"):
                data = {"csrf": token} if token else {}
                r = await admin.post(url, data={**data, "username": "admin",
                                                "password": "pw-admin"})
                assert r.status_code == 403, (url, token, r.status_code)
        crew = (await world.db.execute("SELECT disabled FROM users WHERE username = 'crew'"))
        assert crew.single_value() == 0, "a refused form changed nothing"
    finally:
        await admin.aclose()


FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


async def test_every_post_form_the_console_renders_carries_the_csrf_token(
        world: World) -> None:
    admin = await console_client(world, "admin")
    try:
        pages = ["/console/dashboard", "/console/premises", "/console/premises/p1",
                 "/console/premises/p1/edit", "/console/premises/p1/notes",
                 "/console/premises/p1/hazards", "/console/premises/p1/history",
                 "/console/conflicts", "/console/admin/users", "/console/admin/devices",
                 "/console/signin", "/console/password",
                 f"/console/admin/users/{world.user_ids['crew']}/password"]
        seen = 0
        for path in pages:
            html = (await admin.get(path)).text
            for form in FORM.findall(html):
                if re.search(r'method="post"', form, re.I):
                    seen += 1
                    assert 'name="csrf"' in form, (path, form[:200])
        assert seen >= 8
    finally:
        await admin.aclose()


# -- headers ---------------------------------------------------------------------------------

async def test_security_headers_are_on_every_kind_of_response(world: World) -> None:
    admin = await console_client(world, "admin")
    anon = await console_client(world, None)
    api = world.as_("crew")
    big = world.app.state.settings.max_body_bytes + 1
    try:
        responses = {
            "api json": await world.client.get("/api/premises", headers=api),
            "api list": await world.client.get("/api/premises", headers=api),
            "api error": await world.client.get("/api/premises/p4", headers=api),
            "api 413": await world.client.post("/api/sync/push", content=b"x" * big,
                                               headers=api),
            "sync pull": await world.client.get("/api/sync/pull", headers=api),
            "not found": await world.client.get("/no/such/page"),
            "healthz": await world.client.get("/healthz"),
            "metrics": await world.client.get("/metrics"),
            "pwa page": await world.client.get("/"),
            "service worker": await world.client.get("/sw.js"),
            "manifest": await world.client.get("/manifest.webmanifest"),
            "pwa module": await world.client.get("/pwa/db.js"),
            "console page": await admin.get("/console/premises/p1"),
            "console admin page": await admin.get("/console/admin/users"),
            "console error page": await admin.get("/console/premises/nope"),
            "console redirect": await anon.get("/console/dashboard"),
            "console sign-in": await anon.get("/console/signin"),
            "console static": await anon.get("/console/static/console.css"),
        }
    finally:
        await admin.aclose()
        await anon.aclose()
    for kind, r in responses.items():
        assert r.status_code < 500, kind
        h = r.headers
        assert h.get("content-security-policy") == CSP, kind
        assert h.get("x-content-type-options") == "nosniff", kind
        assert h.get("x-frame-options") == "DENY", kind
        assert h.get("referrer-policy") == "same-origin", kind
        assert h.get("x-request-id"), kind
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert "frame-ancestors 'none'" in CSP and "object-src 'none'" in CSP


async def test_responses_carrying_access_codes_are_never_stored_and_blobs_stay_immutable(
        world: World) -> None:
    sup = await console_client(world, "super")
    api = world.as_("super")
    png = b"\x89PNG\r\n\x1a\n" + bytes(8)
    try:
        secret = {
            "api premises": await world.client.get("/api/premises/p1", headers=api),
            "sync pull": await world.client.get("/api/sync/pull", headers=api),
            "console premises": await sup.get("/console/premises/p1"),
            "console edit form": await sup.get("/console/premises/p1/edit"),
        }
        other = {
            "api list": await world.client.get("/api/premises", headers=api),
            "api error": await world.client.get("/api/premises/p4", headers=api),
            "api 401": await world.client.get("/api/premises"),
            "sync push": await world.client.post("/api/sync/push", headers=api,
                                                 json={"mutations": []}),
            "healthz": await world.client.get("/healthz"),
            "console sign-in": await sup.get("/console/signin"),
        }
        put = await world.client.put("/api/blobs/" + "0" * 64, content=png, headers={
            **api, "Content-Type": "image/png"})
        assert put.status_code == 400     # named wrongly; its Cache-Control is checked below
        other["blob upload refused"] = put
        static = await sup.get("/console/static/console.css")
        blob = b"%PDF-1.4\n%%EOF\n"
        name = hashlib.sha256(blob).hexdigest()
        assert (await world.client.put(f"/api/blobs/{name}", content=blob, headers={
            **api, "Content-Type": "application/pdf"})).status_code == 201
        downloads = [await world.client.get(f"/api/blobs/{name}", headers=api),
                     await sup.get(f"/console/blobs/{name}")]
    finally:
        await sup.aclose()
    for kind, r in secret.items():
        assert r.status_code == 200, kind
        assert any(code in r.text for code in SECRET_CODES.values()), kind
        assert r.headers["cache-control"] == "no-store", kind
    for kind, r in other.items():
        assert r.headers["cache-control"] == "no-store", kind
    assert static.status_code == 200 and static.headers["cache-control"] == "no-cache"
    shell = await world.client.get("/")
    assert shell.headers["cache-control"] == "no-cache"     # its own: revalidated, not stored
    for r in downloads:                                     # named by their hash: kept for ever
        assert r.status_code == 200
        assert r.headers["cache-control"] == "private, max-age=31536000, immutable"


# -- logs ------------------------------------------------------------------------------------

@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line the app writes, formatted as in production (JSON)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("watchbook"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield out
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


async def test_a_sign_in_and_a_sync_write_no_secret_to_the_logs(
        world: World, log_lines: io.StringIO) -> None:
    enrol = await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super", "device_name": "Pump 7"})
    token, device = enrol.json()["token"], enrol.json()["device_id"]
    h = {"Authorization": f"Bearer {token}"}
    new_code = "KB-778899"
    push = await world.client.post("/api/sync/push", headers=h, json={"mutations": [{
        "kind": "update", "device_id": device, "seq": 1, "premises_id": "p1",
        "base_version": 1, "changes": [{"field": "key_box", "old": "4512", "new": new_code}]}]})
    assert push.json()["receipts"][0]["status"] == "applied"
    pull = await world.client.get("/api/sync/pull", headers=h)
    cursor = pull.json()["cursor"]
    more = await world.client.get("/api/sync/pull", params={"cursor": cursor}, headers=h)
    assert more.status_code == 200
    console = await console_client(world, "admin")
    await console.post("/console/signin", data={"username": "admin", "password": "wrong-pw",
                                                "csrf": await csrf_of(console)})
    await console.aclose()
    text = log_lines.getvalue()
    assert '"route":"/api/sync/push"' in text and '"route":"/api/sync/pull"' in text
    assert '"route":"/console/signin"' in text
    for secret in (token, token.rsplit("_", 1)[-1], "pw-super", "pw-admin", "wrong-pw",
                   new_code, cursor, *SECRET_CODES.values()):
        assert secret not in text


# -- sensitive fields ------------------------------------------------------------------------

async def test_sensitive_access_fields_reach_every_role_in_scope_through_the_api_and_pull(
        world: World) -> None:
    for username in ("crew", "super", "admin"):
        doc = (await world.client.get("/api/premises/p1", headers=world.as_(username))).json()
        assert {k: doc[k] for k in SECRET_CODES} == SECRET_CODES, username
        pull = (await world.client.get("/api/sync/pull", headers=world.as_(username))).json()
        [p1] = [c["record"] for c in pull["changes"]
                if c["type"] == "premises" and c["record"]["id"] == "p1"]
        assert {k: p1[k] for k in SECRET_CODES} == SECRET_CODES, username
    outside = await world.client.get("/api/premises/p1", headers=world.as_("csuper"))
    assert outside.status_code == 403 and "4512" not in outside.text


async def test_exports_leave_sensitive_fields_out_unless_asked(
        world: World, tmp_path: Path) -> None:
    plain, full = tmp_path / "plain.csv", tmp_path / "full.csv"
    await transfer.export_file(world.db, plain, service=1)
    await transfer.export_file(world.db, full, include_sensitive=True, service=1)
    plain_text, full_text = plain.read_text(), full.read_text()
    header = next(csv.reader(io.StringIO(plain_text)))
    assert not set(SECRET_CODES) & set(header)
    assert all(code not in plain_text for code in SECRET_CODES.values())
    assert all(code in full_text for code in SECRET_CODES.values())


async def test_viewing_access_codes_in_the_console_is_audited_without_the_values(
        world: World) -> None:
    admin = await console_client(world, "super")
    try:
        page = await admin.get("/console/premises/p1")
        assert "4512" in page.text
        await admin.get("/console/premises/p1/edit")
        await admin.get("/console/premises/p2")  # no codes: nothing to record
    finally:
        await admin.aclose()
    rows = (await world.db.execute(
        "SELECT user_id, premises_id, fields FROM sensitive_views ORDER BY id")).dicts()
    assert [(r["premises_id"], r["fields"]) for r in rows] == [
        ("p1", "entry_codes,key_box"), ("p1", "entry_codes,key_box")]
    assert {r["user_id"] for r in rows} == {world.user_ids["super"]}
    dump = str(rows)
    assert all(code not in dump for code in SECRET_CODES.values())


async def test_an_unexpected_error_is_a_500_with_the_security_headers_and_no_detail(
        tmp_path: Path) -> None:
    app = create_app(fast_settings(tmp_path))

    async def boom(request: Request) -> Response:
        raise RuntimeError("secret detail of the failure")

    app.router.routes.append(Route("/boom", boom))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.get("/boom")
    assert r.status_code == 500
    assert r.headers.get("content-security-policy") == CSP
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("x-request-id") and r.json()["error"]["code"] == "internal"
    assert "secret detail" not in r.text
