"""One premises may hold only so many open observations (WATCHBOOK_MAX_OPEN_OBSERVATIONS): beyond
it a crew's new observation is a rejected receipt saying so in plain words, stored like any
receipt (a retry gets it again); there is room again once a supervisor reviews some. Over the
real app; the engine's own test is in tests/test_engine_rules.py (Rule 6d)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_sync_api import device_of, push
from world import World, fast_settings

from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, max_open_observations=2)


def observe(w: World, seq: int, oid: str) -> dict[str, Any]:
    return {"kind": "add_observation", "device_id": device_of(w, "crew"), "seq": seq,
            "premises_id": "p1", "base_version": 1,
            "observation": {"id": oid, "category": "access", "note": "Key box moved"}}


async def test_a_premises_with_its_bound_of_open_observations_refuses_more_until_reviewed(
        world: World) -> None:
    first = await push(world, "crew", [observe(world, 1, "o1"), observe(world, 2, "o2"),
                                       observe(world, 3, "o3")])
    assert first.status_code == 200, first.text
    ok1, ok2, refused = first.json()["receipts"]
    assert ok1["status"] != "rejected" and ok2["status"] != "rejected"
    assert (refused["status"], refused["reason"]) == ("rejected", "too_many_open_observations")
    assert refused["message"] == ("this premises already has 2 observations waiting for a "
                                  "supervisor; ask one to review them")
    again = await push(world, "crew", [observe(world, 3, "o3")])
    assert again.json()["receipts"] == [refused]  # the device's stored receipt, as every one
    record = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    assert [o["id"] for o in record["observations"]][-2:] == ["o1", "o2"]
    assert "o3" not in {o["id"] for o in record["observations"]}

    reviewed = await push(world, "super", [{
        "kind": "review_observation", "device_id": device_of(world, "super"), "seq": 1,
        "premises_id": "p1", "base_version": record["version"], "observation_id": "o1",
        "status": "accepted"}])
    assert reviewed.json()["receipts"][0]["status"] != "rejected", reviewed.text
    room = await push(world, "crew", [observe(world, 4, "o3")])
    assert room.json()["receipts"][0]["status"] != "rejected"  # one reviewed: room for one
