"""Bad console input: hypothesis sends arbitrary query parameters to every console page and
arbitrary form fields to every console form, as a signed-in admin with a valid CSRF token,
and no answer may be a 5xx. Then the inputs once found to give 500s, each by name.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Mount, Route
from world import World, fast_settings, seed

from server.app import create_app

EXAMPLES_PER_ROUTE = 14   # 28 routes: some 450 requests
IDS = {"premises_id": "p1", "hazard_id": "h1", "observation_id": "o1", "attachment_id": "a1",
       "sha256": "0" * 64, "code": "A01", "share_id": "1", "key_id": "1", "link_id": "1",
       "submission_id": "1", "n": "0", "reference": "F-AAAAAAAA"}
QUERY_NAMES = ["q", "station", "risk_level", "review", "page", "user", "next", "premises"]  # pages read
DEEP, DIGITS = "\x02deep:", "\x02digits:"
SKIP_POSTS = ("/console/signout", "/console/signin")  # would end or replace the session


def _console_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from _console_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route) and (prefix + route.path).startswith("/console/"):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, prefix + route.path


def _text() -> st.SearchStrategy[str]:
    """Values a form or query string can carry, weighted to the ones that broke parsers."""
    nested = st.builds(lambda n, k: f"{DEEP}{k}:{n}", st.integers(1, 200_000),
                       st.sampled_from(["list", "object", "open"]))
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                   inner, max_size=4),
        max_leaves=12).map(json.dumps)
    return st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
        st.integers(-10**40, 10**40).map(str),
        st.integers(1, 60).map(lambda n: "9" * n),
        st.integers(4000, 6000).map(lambda n: f"{DIGITS}{n}"),   # past int()'s digit limit
        st.sampled_from(["nan", "inf", "-inf", "1e309", "-0", "0x10", "１２", "٣", " 7 ",
                         "2024-02-30", "2024-13-01", "2024-01-01\n", "9999-99-99", "\x00",
                         "true", "null", "[]", "{}", '"', "'", "|||", "a | b | c | d | e"]),
        nested, json_values)


def expand(value: str) -> str:
    """Short stand-ins (kept short for hypothesis's reports) made into the long values."""
    if value.startswith(DIGITS):
        return "1" * int(value[len(DIGITS):])
    if value.startswith(DEEP):
        kind, _, n = value[len(DEEP):].partition(":")
        depth = int(n)
        return {"list": "[" * depth + "]" * depth, "object": '{"a":' * depth + "1" + "}" * depth,
                "open": "[" * depth}[kind]
    return value


def _fields(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), _text(), min_size=1, max_size=16)


class Console:
    """A seeded app with open conflicts of several value types, and an admin signed in."""

    def __init__(self, tmp: Path):
        self.app = create_app(fast_settings(tmp))
        self.runner = asyncio.Runner()
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.runner.run(self.lifespan.__aenter__())
        self.world = World(self.app, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"))
        self.client = httpx.AsyncClient(  # a crash is a 500 here, not an exception
            transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
            base_url="http://test")
        self.runner.run(self._seed())

    async def _seed(self) -> None:
        w = self.world
        w.user_ids, w.tokens = await seed(self.app)
        for seq, (field, old, first, second) in enumerate([
                ("risk_notes", "", "from super", "from admin"),
                ("risk_level", 2, 3, 1),
                ("lat", 52.201, 52.3, 52.4),
                ("contacts", [], [{"name": "A", "role": "", "phone": ""}],
                 [{"name": "B", "role": "", "phone": ""}])], start=1):
            for user, new, base in (("super", first, seq), ("admin", second, 1)):
                device = w.tokens[user][3:].split("_", 1)[0]
                r = await w.client.post("/api/sync/push", headers=w.as_(user), json={
                    "mutations": [{"kind": "update", "device_id": device, "seq": seq,
                                   "premises_id": "p1", "base_version": base,
                                   "changes": [{"field": field, "old": old, "new": new}]}]})
                assert r.status_code == 200, r.text
        page = await self.client.get("/console/signin")
        r = await self.client.post("/console/signin", data={
            "csrf": self.csrf(page.text), "username": "admin", "password": "pw-admin"})
        assert r.status_code == 303, r.text
        rows = await self.app.state.db.execute("SELECT id FROM conflicts")
        self.conflicts = [r[0] for r in rows]
        assert len(self.conflicts) == 4
        self.token = self.csrf((await self.client.get("/console/premises/p1/hazards")).text)

    @staticmethod
    def csrf(page: str) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match
        return match.group(1)

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.world.client.aclose())
        self.runner.run(self.lifespan.__aexit__(None, None, None))
        self.runner.close()

    def concrete(self, path: str, pick: int) -> str:
        values = {**IDS, "conflict_id": self.conflicts[pick % len(self.conflicts)],
                  "user_id:int": str(self.world.user_ids["crew"]), "job_id:int": "1",
                  "device_id": self.world.tokens["crew"][3:].split("_", 1)[0]}
        return re.sub(r"{([^}]+)}", lambda m: values[m.group(1)], path)

    def field_names(self) -> list[str]:
        """Every field name on the console's forms and the query parameters its pages read."""
        names = set(QUERY_NAMES) | {"choice", "value", "base", "base_version", "old",
                                    "status", "wipe", "kind", "caption"}

        async def scrape() -> None:
            for path in ("/console/premises/p1/edit", "/console/premises/p1/notes",
                         "/console/premises/p1/hazards", "/console/premises/p1",
                         "/console/admin/users", "/console/admin/devices",
                         f"/console/conflicts/{self.conflicts[0]}"):
                text = (await self.client.get(path)).text
                names.update(re.findall(r'name="([a-z_]+)"', text))
        self.runner.run(scrape())
        names.discard("csrf")
        return sorted(names)

    def send(self, method: str, path: str, fields: dict[str, str]) -> httpx.Response:
        fields = {k: expand(v) for k, v in fields.items()}
        if method == "GET":  # a URL stays within what servers take (h11: 64 KB of headers)
            fields = {k: v[:1000] for k, v in fields.items()}
            return self.runner.run(self.client.get(path, params=fields))
        return self.runner.run(self.client.post(path, data={**fields, "csrf": self.token}))


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    c = Console(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_no_console_query_or_form_field_gives_a_server_error(console: Console) -> None:
    routes = [(m, p) for m, p in _console_routes(console.app.routes)
              if not (m == "POST" and p in SKIP_POSTS) and "{path" not in p]
    names = console.field_names()
    failures: list[str] = []

    def fuzz(method: str, template: str) -> None:
        fields_of = QUERY_NAMES if method == "GET" else names
        # Explicit examples first, every field at once: a number too large for any column,
        # and JSON nested too deep for any parser; then generated ones.
        @example(pick=0, fields=dict.fromkeys(fields_of, "1" * 30))
        @example(pick=1, fields=dict.fromkeys(fields_of, f"{DEEP}list:20000"))
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                  derandomize=True, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        @given(pick=st.integers(0, 3),
               fields=_fields(fields_of))
        def run(pick: int, fields: dict[str, str]) -> None:
            r = console.send(method, console.concrete(template, pick), fields)
            if r.status_code >= 500:
                shown = {k: v[:60] for k, v in fields.items()}
                failures.append(f"{method} {template} {shown}: {r.status_code}")
        run()

    for method, template in routes:
        fuzz(method, template)
    assert not failures, "\n".join(failures[:20])
    assert len(routes) >= 20


# -- the inputs that were found ---------------------------------------------------------------

async def _admin(world: World) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                               base_url="http://test")
    page = await client.get("/console/signin")
    r = await client.post("/console/signin", data={
        "csrf": Console.csrf(page.text), "username": "admin", "password": "pw-admin"})
    assert r.status_code == 303
    return client


async def test_a_device_filter_too_large_for_a_user_id_is_a_400_naming_it(
        world: World) -> None:
    client = await _admin(world)
    try:
        r = await client.get("/console/admin/devices", params={"user": "1" * 30})
        assert r.status_code == 400 and "user" in r.text
        fine = await client.get("/console/admin/devices",
                                params={"user": str(world.user_ids["crew"])})
        assert fine.status_code == 200
    finally:
        await client.aclose()


async def test_deeply_nested_json_in_an_edit_form_is_a_400_not_a_crash(world: World) -> None:
    client = await _admin(world)
    try:
        form = await client.get("/console/premises/p1/notes")
        csrf = Console.csrf(form.text)
        deep = "[" * 100_000 + "]" * 100_000
        r = await client.post("/console/premises/p1/notes", data={
            "csrf": csrf, "base": deep, "base_version": "1", "risk_notes": "x"})
        assert r.status_code == 400 and "reload" in r.text
    finally:
        await client.aclose()
