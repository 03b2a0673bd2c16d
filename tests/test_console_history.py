"""The console's history page and its JSON (server/console/history.py) read as people read
them: times as dates and "… ago", list changes as sentences, never raw JSON."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from test_console import browser, sign_in

from server.store.sync import SqliteStore
from sync import engine
from sync.protocol import (
    AddHazard,
    AddObservation,
    FieldChange,
    RemoveHazard,
    ReviewObservation,
    Update,
)
from sync.record import Hazard, Observation

if TYPE_CHECKING:
    from world import World

SAM = engine.Actor(2, "super", "Sam Supervisor", "supervisor", ("A01", "B02"), "dsam")
AL = {"name": "Al", "role": "Owner", "phone": "01223 000000"}


async def edits(world: World) -> str:
    """A morning's changes to p2, three hours ago."""
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat(
        timespec="seconds").replace("+00:00", "Z")
    ms: list[Any] = [
        AddHazard(premises_id="p2", base_version=1, hazard=Hazard(
            id="h9", type="acetylene", location="Cylinder cage")),
        RemoveHazard(premises_id="p2", base_version=2, hazard_id="h2"),
        AddObservation(premises_id="p2", base_version=3, observation=Observation(
            id="o1", category="access", note="Gate code changed")),
        ReviewObservation(premises_id="p2", base_version=4, observation_id="o1",
                          status="dismissed"),
        Update(premises_id="p2", base_version=5, changes=[FieldChange("contacts", [], [AL])]),
        Update(premises_id="p2", base_version=6, changes=[FieldChange(
            "contacts", [AL], [{**AL, "phone": "07700 900000"}])]),
    ]
    for seq, m in enumerate(ms, 1):
        m.device_id, m.seq, m.client_time = "dsam", seq, at
    receipts = await SqliteStore(world.db).write(
        lambda tx: engine.push(tx, SAM, ms, at, engine.Config()).receipts)
    assert [r.status for r in receipts] == ["applied"] * len(ms), receipts
    return at


async def test_history_says_what_changed_in_words_with_readable_times(world: World) -> None:
    await edits(world)
    async with browser(world) as client:
        await sign_in(client, "super")
        page = (await client.get("/console/premises/p2/history")).text
    for sentence in ("Hazard added: Acetylene cylinders (Cylinder cage)",
                     "Hazard removed: Acetylene cylinders (Rear yard)",
                     "Observation added: access: Gate code changed",
                     "Observation dismissed (access)", "Contact added: Al",
                     "Contact changed (Al): phone 01223 000000 → 07700 900000"):
        assert sentence in page
    assert "3 hours ago" in page and "UTC" in page
    assert '"id"' not in page and "{" not in page.split("<main", 1)[1].split("</main>")[0]


async def test_history_json_holds_the_same_sentences_and_times(world: World) -> None:
    at = await edits(world)
    async with browser(world) as client:
        await sign_in(client, "super")
        got = (await client.get("/console/premises/p2/history.json")).json()
        refused = await client.get("/console/premises/p4/history.json")  # not their grounds
    assert refused.status_code in (403, 404)
    newest = got["entries"][0]
    assert (newest["version"], newest["server_time"], newest["user"]) == (7, at, "super")
    assert newest["when"].endswith("3 hours ago")
    assert newest["changes"] == ["Contact changed (Al): phone 01223 000000 → 07700 900000"]
    assert [e["changes"] for e in got["entries"]][2] == ["Observation dismissed (access)"]
