"""One device may keep only so many conflicts open (WATCHBOOK_MAX_OPEN_CONFLICTS_PER_DEVICE):
beyond it a mutation that would open more is a rejected receipt saying so in plain words, stored
like any receipt (a retry gets it again); the device may open more once some are resolved.
Over the real app; the engine's own test is in tests/test_engine_rules.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_sync_api import device_of, push
from world import World, fast_settings

from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, max_open_conflicts_per_device=2)


def edit(w: World, user: str, seq: int, **fields: tuple[Any, Any]) -> dict[str, Any]:
    return {"kind": "update", "device_id": device_of(w, user), "seq": seq, "premises_id": "p1",
            "base_version": 1, "changes": [{"field": f, "old": old, "new": new}
                                           for f, (old, new) in fields.items()]}


async def test_a_device_with_its_bound_of_open_conflicts_is_refused_more_until_some_are_resolved(
        world: World) -> None:
    await push(world, "super", [edit(world, "super", 1, risk_notes=("", "s1"),
                                     tactical_plan=("", "s2"), rvp=("", "s3"))])
    first = (await push(world, "admin", [edit(world, "admin", 1, risk_notes=("", "a")),
                                         edit(world, "admin", 2, tactical_plan=("", "b"))]))
    assert [r["status"] for r in first.json()["receipts"]] == ["conflict", "conflict"]
    later = [edit(world, "admin", 3, rvp=("", "c")),              # a third: over the bound
             edit(world, "admin", 4, use=("Care home", "Nursing home"))]  # no clash: applies
    r = await push(world, "admin", later)
    assert r.status_code == 200, r.text
    refused, merged = r.json()["receipts"]
    assert refused["status"] == "rejected" and refused["reason"] == "too_many_conflicts"
    assert "already has 2 conflicts waiting for a supervisor (at most 2 a device)" in (
        refused["message"])
    assert merged["status"] == "merged"
    again = (await push(world, "admin", later)).json()["receipts"]
    assert again[0] == refused  # the refusal is the device's stored receipt, as every one
    record = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    assert record["rvp"] == "s3" and record["use"] == "Nursing home"

    [cid, _] = first.json()["receipts"][0]["conflict_ids"] + first.json()["receipts"][1][
        "conflict_ids"]
    resolved = await push(world, "super", [{
        "kind": "resolve_conflict", "device_id": device_of(world, "super"), "seq": 2,
        "premises_id": "p1", "base_version": 3, "conflict_id": cid, "choice": "server"}])
    assert resolved.json()["receipts"][0]["status"] == "applied", resolved.text
    room = await push(world, "admin", [edit(world, "admin", 5, rvp=("", "c"))])
    assert room.json()["receipts"][0]["status"] == "conflict"  # one resolved: room for one


async def test_another_device_still_opens_conflicts_when_one_device_is_at_its_bound(
        world: World) -> None:
    await push(world, "super", [edit(world, "super", 1, risk_notes=("", "s1"),
                                     tactical_plan=("", "s2"))])
    full = await push(world, "admin", [edit(world, "admin", 1, risk_notes=("", "a"),
                                            tactical_plan=("", "b"), rvp=("", "North gate"))])
    assert full.json()["receipts"][0]["status"] == "conflict"
    assert len(full.json()["receipts"][0]["conflict_ids"]) == 2  # admin's device is full
    stale = await push(world, "super", [edit(world, "super", 2, rvp=("", "South gate"))])
    assert stale.json()["receipts"][0]["status"] == "conflict"  # super's device is not
