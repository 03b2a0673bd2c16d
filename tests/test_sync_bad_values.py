"""Values that pass a push's schema but not the record's own types: a `rejected` receipt naming
the field, never a 5xx, and the device's next mutation still applies (a 5xx is retried for ever,
wedging the outbox behind it). Over the real app: HTTP push, console form."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_console import base_fields, browser, sign_in
from test_sync_api import device_of, pull_all, push, update
from world import World, fast_settings, seed

from server.app import create_app
from sync.merge import FIELD_DEFAULTS
from sync.record import EDITABLE_FIELDS

BAD_VALUES = [("risk_level", 2, "high"), ("risk_level", 2, None),
              ("assessed_at", None, "not-a-date"), ("assessed_at", None, "2024-99-99"),
              ("assessed_at", None, "2024-02-30"), ("assessed_at", None, "2024-01-01\n")]


@pytest.mark.parametrize(("field", "old", "new"), BAD_VALUES)
async def test_a_bad_value_is_a_rejected_receipt_naming_the_field_and_the_next_applies(
        world: World, field: str, old: Any, new: Any) -> None:
    r = await push(world, "super", [update(world, "super", 1, field=field, old=old, new=new),
                                    update(world, "super", 2)])
    assert r.status_code == 200, r.text
    bad, good = r.json()["receipts"]
    assert bad["status"] == "rejected" and bad["reason"] == "invalid"
    assert ("Risk level" if field == "risk_level" else "Date assessed") in bad["message"]
    assert good["status"] == "applied"
    records, _, _ = await pull_all(world, "super")
    assert records["p1"]["risk_notes"] == "new notes" and records["p1"].get(field) == old


async def test_a_created_record_with_an_impossible_date_is_rejected_and_the_next_applies(
        world: World) -> None:
    record = {"id": "n1", "station": "A01", "name": "New Mill", "assessed_at": "2024-13-01"}
    r = await push(world, "super", [{"kind": "create", "device_id": device_of(world, "super"),
                                     "seq": 1, "premises_id": "n1", "base_version": 0,
                                     "record": record}, update(world, "super", 2)])
    assert r.status_code == 200, r.text
    bad, good = r.json()["receipts"]
    assert bad["status"] == "rejected" and bad["reason"] == "invalid"
    assert "Date assessed" in bad["message"]
    assert good["status"] == "applied"  # the outbox is not stuck behind the bad create
    records, _, _ = await pull_all(world, "super")
    assert "n1" not in records and records["p1"]["risk_notes"] == "new notes"


async def test_resolving_a_conflict_with_a_client_value_holding_a_bad_date_is_rejected(
        world: World) -> None:
    await push(world, "super", [update(world, "super", 1, field="assessed_at", old=None,
                                       new="2024-01-01")])
    r = (await push(world, "admin", [update(world, "admin", 1, field="assessed_at", old=None,
                                            new="2024-02-30")])).json()
    [cid] = r["receipts"][0]["conflict_ids"]
    resolve = {"kind": "resolve_conflict", "device_id": device_of(world, "super"), "seq": 2,
               "premises_id": "p1", "base_version": 2, "conflict_id": cid, "choice": "client"}
    r = await push(world, "super", [resolve, update(world, "super", 3, base=2)])
    assert r.status_code == 200, r.text
    bad, good = r.json()["receipts"]
    assert bad["status"] == "rejected" and "Date assessed" in bad["message"]
    assert good["status"] in ("applied", "merged")
    records, _, _ = await pull_all(world, "super")
    assert records["p1"]["assessed_at"] == "2024-01-01"


async def test_the_console_edit_form_refuses_an_impossible_date_naming_the_field(
        world: World) -> None:
    client = browser(world)
    assert (await sign_in(client, "super")).status_code == 303
    response = await client.post("/console/premises/p2/edit", data={
        **base_fields((await client.get("/console/premises/p2/edit")).text),
        "name": "Ashby Engineering Works", "risk_level": "2", "assessed_at": "2024-02-30"})
    assert response.status_code == 422
    assert "Date assessed" in response.text and 'aria-invalid="true"' in response.text
    await client.aclose()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=30)
                    | st.sampled_from(["2024-02-30", "2024-01-01\n", "high", "AB1 2CD"]),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, World]]:
    """One app for every example (an event loop of its own, since hypothesis drives sync)."""
    loop = asyncio.new_event_loop()
    app = create_app(fast_settings(Path(tmp_path_factory.mktemp("bad")), max_push_mutations=10))
    life = app.router.lifespan_context(app)
    loop.run_until_complete(life.__aenter__())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    w = World(app, client)
    w.user_ids, w.tokens = loop.run_until_complete(seed(app))
    yield loop, w
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(life.__aexit__(None, None, None))
    loop.close()


_next_seq = [1]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(sorted(EDITABLE_FIELDS)), JSON, JSON, st.booleans()),
                min_size=1, max_size=6))
def test_arbitrary_json_in_any_editable_field_never_5xx_and_each_mutation_gets_a_receipt(
        live: tuple[Any, World], edits: list[tuple[str, Any, Any, bool]]) -> None:
    loop, w = live
    first = _next_seq[0]
    pid = f"fuzz{first}"  # a fresh record each time: no open conflict locks its fields
    created = {"id": pid, "station": "A01", "name": "Fuzz Works"}
    seen = {**FIELD_DEFAULTS, **created}  # `old` as the server holds it, so the value is written
    mutations = [{"kind": "create", "device_id": device_of(w, "super"), "seq": first,
                  "premises_id": pid, "base_version": 0, "record": created}]
    mutations += [update(w, "super", first + 1 + i, pid, f, seen[f] if as_seen else old, new)
                  for i, (f, old, new, as_seen) in enumerate(edits)]
    mutations.append(update(w, "super", first + 1 + len(edits), pid, "name", None, "Fuzz Mill"))
    r = loop.run_until_complete(push(w, "super", mutations))
    assert r.status_code == 200, r.text
    receipts = r.json()["receipts"]
    assert [x["seq"] for x in receipts] == [m["seq"] for m in mutations]
    assert all(x["status"] in ("applied", "merged", "conflict", "rejected") for x in receipts)
    _next_seq[0] = r.json()["next_seq"]
