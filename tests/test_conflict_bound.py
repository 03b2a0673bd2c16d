"""One push may open only so many conflicts (WATCHBOOK_MAX_CONFLICTS_PER_PUSH): a mutation that
would open more is a rejected receipt saying so, nothing of it written; the rest still run.
The console's conflicts inbox is paged. Over the real app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_console import browser, sign_in
from test_sync_api import device_of, pull_all, push
from world import World, fast_settings

from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, max_conflicts_per_push=2)


def edit(w: World, user: str, seq: int, **fields: tuple[Any, Any]) -> dict[str, Any]:
    return {"kind": "update", "device_id": device_of(w, user), "seq": seq, "premises_id": "p1",
            "base_version": 1, "changes": [{"field": f, "old": old, "new": new}
                                           for f, (old, new) in fields.items()]}


async def test_a_push_opens_at_most_the_set_number_of_conflicts_and_says_what_it_refused(
        world: World) -> None:
    await push(world, "super", [edit(world, "super", 1, risk_notes=("", "super notes"),
                                     tactical_plan=("", "super plan"))])
    r = await push(world, "admin", [
        edit(world, "admin", 1, risk_notes=("", "a")),                          # 1 conflict
        edit(world, "admin", 2, risk_notes=("", "b"), tactical_plan=("", "c")),  # 2: too many
        edit(world, "admin", 3, rvp=("", "North gate")),                        # no clash
        edit(world, "admin", 4, tactical_plan=("", "d")),                       # the last one
        edit(world, "admin", 5, risk_notes=("", "e"))])                         # over the bound
    assert r.status_code == 200, r.text
    receipts = r.json()["receipts"]
    assert [x["status"] for x in receipts] == ["conflict", "rejected", "merged", "conflict",
                                               "rejected"]
    assert receipts[1]["reason"] == receipts[4]["reason"] == "too_many_conflicts"
    assert "at most 2 a push" in receipts[1]["message"]
    assert r.json()["next_seq"] == 6
    records, conflicts, _ = await pull_all(world, "super")
    assert len(conflicts) == 2 and records["p1"]["rvp"] == "North gate"
    assert records["p1"]["risk_notes"] == "super notes"


async def test_the_console_conflicts_inbox_shows_one_page_at_a_time(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.console import edit as console_edit
    monkeypatch.setattr(console_edit, "CONFLICTS_PAGE", 1)
    await push(world, "super", [edit(world, "super", 1, risk_notes=("", "super notes"),
                                     tactical_plan=("", "super plan"))])
    r = (await push(world, "admin", [edit(world, "admin", 1, risk_notes=("", "a"),
                                          tactical_plan=("", "b"))])).json()
    assert r["receipts"][0]["status"] == "conflict"
    client = browser(world)
    assert (await sign_in(client, "super")).status_code == 303
    first = await client.get("/console/conflicts")
    second = await client.get("/console/conflicts?page=2")
    beyond = await client.get("/console/conflicts?page=999999999999")
    await client.aclose()
    assert first.status_code == second.status_code == beyond.status_code == 200
    assert 'class="count">2<' in first.text and "Page 1 of 2" in first.text
    assert first.text.count('<th scope="row">') == 1 and 'rel="next"' in first.text
    assert "Page 2 of 2" in second.text and 'rel="prev"' in second.text
    assert "Risk notes" in first.text and "Tactical plan" in second.text
    assert "Page 1 of 2" in beyond.text
