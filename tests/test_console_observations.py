"""The console's observations inbox: every open crew observation of the user's grounds, in one
list, accepted or dismissed from there; and an empty combined value never resolves a conflict."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from engines import engine  # noqa: F401 (every test here runs on both engines)
from world import World


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


@pytest.fixture
async def desk(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as client:
        form = await client.get("/console/signin")
        r = await client.post("/console/signin", data={
            "csrf": csrf_of(form.text), "username": "super", "password": "pw-super"})
        assert r.status_code == 303
        yield client


async def device_of(world: World, username: str) -> str:
    return str((await world.db.execute(
        "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.username = ?",
        (username,))).single_value())


async def observe(world: World, premises: list[tuple[str, str, str]]) -> None:
    """Crew (grounds A01) and csuper (C03) report observations: (user, premises id, note)."""
    seqs: dict[str, int] = {}
    for n, (user, pid, note) in enumerate(premises):
        seqs[user] = seqs.get(user, 0) + 1
        r = await world.client.post("/api/sync/push", headers=world.as_(user), json={
            "mutations": [{"kind": "add_observation", "device_id": await device_of(world, user),
                           "seq": seqs[user], "premises_id": pid, "base_version": 1,
                           "observation": {"id": f"o{n}", "category": "access", "note": note,
                                           "at": f"2026-12-01T10:0{n}:00Z"}}]})
        assert r.json()["receipts"][0]["status"] in ("applied", "merged"), r.text


async def test_the_inbox_lists_open_observations_of_the_users_grounds_only(
        world: World, desk: httpx.AsyncClient) -> None:
    await observe(world, [("crew", "p1", "Key box moved"), ("crew", "p2", "Gate chained"),
                          ("csuper", "p4", "Lift out of order")])
    page = await desk.get("/console/observations")
    assert page.status_code == 200
    assert "Key box moved" in page.text and "Gate chained" in page.text
    assert "Lift out of order" not in page.text  # Carrow is outside Ashby's grounds
    assert page.text.index("Gate chained") < page.text.index("Key box moved")  # newest first
    assert 'aria-current="page">Observations' in page.text


async def test_accepting_from_the_inbox_returns_to_it_and_accept_and_edit_opens_the_form(
        world: World, desk: httpx.AsyncClient) -> None:
    await observe(world, [("crew", "p1", "Key box moved"), ("crew", "p2", "Gate chained")])
    page = await desk.get("/console/observations")
    accepted = await desk.post("/console/premises/p1/observations/o0", data={
        "csrf": csrf_of(page.text), "base_version": "2", "status": "accepted", "back": "inbox"})
    assert accepted.headers["location"] == "/console/observations"
    page = await desk.get("/console/observations")
    assert "Key box moved" not in page.text and "Gate chained" in page.text
    edit = await desk.post("/console/premises/p2/observations/o1", data={
        "csrf": csrf_of(page.text), "base_version": "2", "status": "accepted_edit",
        "back": "inbox"})
    assert edit.headers["location"] == "/console/premises/p2/edit"
    assert "No open observations" in (await desk.get("/console/observations")).text


async def test_an_empty_combined_value_is_refused_saying_what_each_choice_keeps(
        world: World, desk: httpx.AsyncClient) -> None:
    form = await desk.get("/console/premises/p1/notes")
    pushed = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [{"kind": "update", "device_id": await device_of(world, "super"), "seq": 1,
                       "premises_id": "p1", "base_version": 1, "changes": [
                           {"field": "risk_notes", "old": "", "new": "Oxygen moved upstairs"}]}]})
    assert pushed.json()["receipts"][0]["status"] == "applied"
    fields = {k: html.unescape(v) for k, v in re.findall(
        r'name="(base|base_version|csrf)" value="([^"]*)"', form.text)}
    await desk.post("/console/premises/p1/notes", data={**fields, "risk_notes": "Night staff: two"})
    inbox = await desk.get("/console/conflicts")
    link = re.search(r'href="(/console/conflicts/[^"]+)"', inbox.text)
    assert link
    conflict = await desk.get(link.group(1))
    refused = await desk.post(link.group(1) + "/resolve", data={
        "csrf": csrf_of(conflict.text), "choice": "value", "value": "  "})
    assert refused.status_code == 422
    assert "The combined value is empty: saving it would erase Risk notes" in refused.text
    assert "Oxygen moved upstairs" in refused.text and "Night staff: two" in refused.text
    assert "No open conflicts" not in (await desk.get("/console/conflicts")).text


async def test_two_reviews_of_one_open_observation_from_the_console_become_a_conflict(
        world: World, desk: httpx.AsyncClient) -> None:
    """Sam accepts and Ada dismisses, both having seen it open: the second is a conflict for a
    person to settle, not a silent overwrite of the first."""
    await observe(world, [("crew", "p1", "Key box moved")])
    sams = await desk.get("/console/observations")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as ada:
        form = await ada.get("/console/signin")
        await ada.post("/console/signin", data={"csrf": csrf_of(form.text),
                                                "username": "admin", "password": "pw-admin"})
        adas = await ada.get("/console/premises/p1")
        assert 'name="old" value="open"' in adas.text and 'name="old" value="open"' in sams.text
        accepted = await desk.post("/console/premises/p1/observations/o0", data={
            "csrf": csrf_of(sams.text), "base_version": "2", "old": "open",
            "status": "accepted", "back": "inbox"})
        assert accepted.status_code == 303
        dismissed = await ada.post("/console/premises/p1/observations/o0", data={
            "csrf": csrf_of(adas.text), "base_version": "2", "old": "open",
            "status": "dismissed"}, follow_redirects=True)
        assert "conflict" in dismissed.text.lower()
    record = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    assert record["observations"][0]["status"] == "accepted"  # the first review stands
    conflicts = await world.db.execute(
        "SELECT json_extract(doc, '$.path') FROM conflicts "
        "WHERE premises_id = 'p1' AND status = 'open'")
    assert [r[0] for r in conflicts.rows] == ["observations/o0/status"]


async def test_a_damaged_seen_status_on_a_review_is_a_400(
        world: World, desk: httpx.AsyncClient) -> None:
    await observe(world, [("crew", "p1", "Key box moved")])
    page = await desk.get("/console/observations")
    r = await desk.post("/console/premises/p1/observations/o0", data={
        "csrf": csrf_of(page.text), "base_version": "2", "old": "maybe", "status": "accepted"})
    assert r.status_code == 400
