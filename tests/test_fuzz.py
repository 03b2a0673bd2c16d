"""Bad input: schemathesis fuzzes every operation of /api/openapi.json as every role, in-process,
and the explicit limits — bodies over the limit, malformed JSON, unknown fields, wrong types.

The fuzz run is bounded (deterministic examples, over 1,000 requests, well under a minute).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from world import PREMISES, World, fast_settings, seed

from server.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
EXAMPLES_PER_RUN = 30   # per operation x role x mode; small spaces end sooner
MIN_REQUESTS = 1000
ROLES = ("crew", "super", "admin", None)  # None: no token at all



class Target:
    """A seeded app on a temp database, wrapped to count the requests it serves."""

    def __init__(self, tmp: Path):
        self.app = create_app(fast_settings(tmp))
        self.tokens: dict[str, str] = {}
        self.requests = 0
        self.next_seq: dict[str, int] = {}

    async def seed(self) -> None:
        async with self.app.router.lifespan_context(self.app):
            _, self.tokens = await seed(self.app, "fuzz")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def _tame(value: Any) -> Any:
    """Whole numbers as ints in range: JSON Schema lets 3.0 or 2**70 be an integer, msgspec
    does not."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) >= 2**53:
        return abs(value) % 1000
    if isinstance(value, list):
        return [_tame(v) for v in value]
    if isinstance(value, dict):
        return {k: _tame(v) for k, v in value.items()}
    return value


def _aim_push_at_real_records(case: Any, token: str, target: Target) -> None:
    """Give generated mutations this token's device id, the next seqs and a real premises id
    half the time, so pushes get past the envelope checks and into the merge rules."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("mutations"), list):
        return
    body["mutations"] = _tame(body["mutations"])
    body.pop("protocol", None)
    device = token[3:].split("_", 1)[0]
    seq = target.next_seq.get(device, 1)
    for m in body["mutations"]:
        if isinstance(m, dict):
            m["device_id"], m["seq"] = device, seq
            seq += 1
            pick = int(hashlib.sha256(str(m.get("premises_id")).encode()).hexdigest(), 16) % 8
            if pick < 4:
                m["premises_id"] = PREMISES[pick]["id"]


def _fuzz(target: Target, operation: Any, mode: GenerationMode, token: str) -> str | None:
    """Run one operation's examples as one caller; the failure text, or None."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    aim = bool(token) and mode is GenerationMode.POSITIVE and operation.path == "/api/sync/push"
    device = token[3:].split("_", 1)[0]

    @settings(max_examples=EXAMPLES_PER_RUN, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    def run(case: Any) -> None:
        if aim:
            _aim_push_at_real_records(case, token, target)
        response = case.call_and_validate(checks=CHECKS)
        if aim and response.status_code == 200:
            target.next_seq[device] = response.json()["next_seq"]

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        pass  # nothing to negate: an operation without parameters or body
    except BaseException as exc:  # noqa: B036 - schemathesis raises exception groups
        return str(exc)[:3000]
    return None


def _negatable(operation: Any) -> bool:
    """Has query parameters or a JSON body to break (a bare string path parameter has none)."""
    return len(operation.query) > 0 or any(
        "json" in alternative.media_type for alternative in operation.body)


def test_fuzzing_every_operation_as_every_role_gives_no_5xx_and_only_documented_responses(
        tmp_path: Path) -> None:
    target = Target(tmp_path)
    asyncio.run(target.seed())
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", target)
    schema.config.generation.update(allow_extra_parameters=False,
                                    with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: list[str] = []
    try:
        for role in ROLES:
            token = target.tokens[role] if role else ""
            for operation in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    if mode is GenerationMode.NEGATIVE and not _negatable(operation):
                        continue
                    failure = _fuzz(target, operation, mode, token)
                    if failure:
                        failures.append(f"{role} {operation.label} {mode}: {failure}")
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
    assert target.requests >= MIN_REQUESTS


# -- the explicit limits ----------------------------------------------------------------------

def _device(world: World, username: str) -> str:
    return world.tokens[username][3:].split("_", 1)[0]


async def test_a_streamed_body_over_the_limit_is_413_without_a_content_length(
        world: World) -> None:
    limit = world.app.state.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = await world.client.post("/api/sync/push", content=chunks(),
                                headers={**world.as_("super"),
                                         "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


async def test_a_push_over_the_limit_by_content_length_is_413(world: World) -> None:
    limit = world.app.state.settings.max_body_bytes
    r = await world.client.post("/api/sync/push", content=b"[" * (limit + 1),
                                headers=world.as_("super"))
    assert r.status_code == 413


@pytest.mark.parametrize("body", [b"{nope", b"{", b'{"', b"", b"\xff\xfe", b"\x00"])
async def test_malformed_json_is_400_saying_so(world: World, body: bytes) -> None:
    for path in ("/api/devices/enrol", "/api/sync/push"):
        r = await world.client.post(path, content=body, headers={
            **world.as_("super"), "content-type": "application/json"})
        error = r.json()["error"]
        assert r.status_code == 400, (path, body)
        assert error["code"] == "malformed_json"
        assert error["message"].startswith("request body is not valid JSON: ")


async def test_an_unknown_field_in_enrolment_is_refused_by_name(world: World) -> None:
    r = await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super", "admin": True})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "Object contains unknown field `admin`"


async def test_an_unknown_field_in_a_mutation_is_refused_with_its_path(world: World) -> None:
    mutation = {"kind": "update", "device_id": _device(world, "super"), "seq": 1,
                "premises_id": "p1", "base_version": 1,
                "changes": [{"field": "risk_notes", "old": None, "new": "x"}],
                "sudo": True}
    r = await world.client.post("/api/sync/push", json={"mutations": [mutation]},
                                headers=world.as_("super"))
    assert r.status_code == 422
    error = r.json()["error"]
    assert "unknown field `sudo`" in error["message"] and error["field"] == "mutations[0]"


async def test_an_unknown_top_level_push_field_is_refused(world: World) -> None:
    r = await world.client.post("/api/sync/push", json={"mutations": [], "force": True},
                                headers=world.as_("super"))
    assert r.status_code == 422 and "`force`" in r.json()["error"]["message"]


async def test_a_wrong_type_is_422_naming_the_field(world: World) -> None:
    mutation = {"kind": "update", "device_id": _device(world, "super"), "seq": "one",
                "premises_id": "p1", "changes": [{"field": "risk_notes", "new": "x"}]}
    r = await world.client.post("/api/sync/push", json={"mutations": [mutation]},
                                headers=world.as_("super"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "mutations[0].seq"


async def test_query_parameters_out_of_range_are_400_naming_them(world: World) -> None:
    h = world.as_("crew")
    for path, params, name in [
            ("/api/premises", {"limit": "0"}, "limit"),
            ("/api/premises", {"limit": ""}, "limit"),
            ("/api/premises", {"offset": "-1"}, "offset"),
            ("/api/premises", {"overdue": "maybe"}, "overdue"),
            ("/api/premises", {"never_assessed": "maybe"}, "never_assessed"),
            ("/api/premises/nearest", {"lat": "91", "lon": "0"}, "lat"),
            ("/api/premises/nearest", {"lat": "nan", "lon": "0"}, "lat"),
            ("/api/premises/nearest", {"lat": "52", "lon": "inf"}, "lon")]:
        r = await world.client.get(path, params=params, headers=h)
        assert r.status_code == 400, (path, params)
        assert r.json()["error"]["field"] == name, (path, params)


async def test_the_openapi_document_declares_the_query_parameters_handlers_read(
        world: World) -> None:
    doc = (await world.client.get("/api/openapi.json")).json()
    declared = {p["name"] for p in doc["paths"]["/api/premises"]["get"]["parameters"]}
    assert declared == {"q", "station", "risk_level", "overdue", "never_assessed", "limit",
                        "offset"}
    nearest = doc["paths"]["/api/premises/nearest"]["get"]["parameters"]
    assert {p["name"] for p in nearest if p.get("required")} == {"lat", "lon"}


async def test_console_forms_with_garbage_values_never_give_a_server_error(
        world: World) -> None:
    from test_matrix import console_client, csrf_of
    from test_security import _concrete, _console_posts
    admin = await console_client(world, "admin")
    garbage = ["x", "-1", "1e999", "99999999999999999999999", "", "\x00", "[]", "{"]
    try:
        posts = sorted(set(_console_posts(world.app.routes)))
        for path in posts:
            if path.endswith(("/signout", "/signin")):
                continue
            for value in garbage:
                names = ("base_version", "base", "kind", "type", "choice", "decision",
                         "risk_level", "lat", "lon", "wipe", "role", "station", "seq")
                data = {n: value for n in names}
                r = await admin.post(_concrete(path, world),
                                     data={**data, "csrf": await csrf_of(admin)})
                assert r.status_code < 500, (path, value, r.text[:300])
    finally:
        await admin.aclose()
