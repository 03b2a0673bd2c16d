"""Building owners, abuse resistance (issue 16, item 5): a link that may have leaked is
replaced in one step (the old URL answers like any unknown link at once, the new one works,
only digests are kept, audited); a stranger trying tokens from one address gets 429 with
Retry-After after a few unknown-token answers, every one of which looks the same; each address
has a budget of portal requests in all, counted in the database for every process."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
from engines import engine  # noqa: F401  (each test on SQLite and on PostgreSQL)
from test_console import Browser, as_user, browser, csrf_of
from test_portal import HIGH_RISE, _issue, _post_form

from server.portal_throttle import PortalThrottle
from server.throttle import SharedThrottle

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user", "engine"]

PAGE = "/console/premises/p1/high-rise"


def from_address(world: World, address: str) -> httpx.AsyncClient:
    """A browser whose requests come from `address` (the ASGI peer: no trusted proxies)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app,
                                                           client=(address, 40000)),
                             base_url="http://test")


async def _replace(super_: httpx.AsyncClient, link_id: int) -> httpx.Response:
    return await _post_form(super_, PAGE, f"/console/premises/p1/links/{link_id}/replace", {})


async def test_replacing_a_link_stops_the_old_url_at_once_and_the_new_one_works(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    old = await _issue(super_)
    old_id, expires = (await world.db.execute(
        "SELECT id, expires_at FROM submission_links")).first()
    shown = await _replace(super_, int(old_id))
    assert shown.status_code == 200, shown.text
    match = re.search(r'id="link-open" href="http://test(/portal/[^"]+)"', shown.text)
    assert match and match.group(1) != old
    new = match.group(1)
    person = browser(world)
    refused = await person.get(old)
    unknown = await person.get("/portal/" + "x" * 43)
    assert refused.status_code == unknown.status_code == 404
    assert refused.text == unknown.text  # like any unknown link: nothing says it existed
    assert (await person.get(new)).status_code == 200
    rows = [dict(r) for r in await world.db.execute(
        "SELECT id, token_hash, expires_at, revoked_at, revoked_by, created_by "
        "FROM submission_links ORDER BY id")]
    tokens = (old.rsplit("/", 1)[1], new.rsplit("/", 1)[1])
    assert all(t not in r["token_hash"] for r in rows for t in tokens)  # digests only
    assert rows[1]["token_hash"].startswith("sha256:")
    assert rows[0]["revoked_at"] and rows[0]["revoked_by"] == "super"
    assert rows[1]["expires_at"] == expires and rows[1]["revoked_at"] is None
    events = [tuple(r) for r in await world.db.execute(
        "SELECT kind, detail FROM events WHERE kind = 'submission_link_replaced'")]
    assert events == [("submission_link_replaced", f"link {old_id} replaced by link "
                       f"{rows[1]['id']}")]
    listed = (await super_.get(PAGE)).text
    assert f"Replaced by link {rows[1]['id']}" in listed
    assert f"Replace link {rows[1]['id']}" in listed and f"Replace link {old_id}" not in listed


async def test_only_a_live_link_can_be_replaced_and_a_crew_user_cannot(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    await _issue(super_)
    link_id = int((await world.db.execute("SELECT id FROM submission_links")).first()[0])
    assert (await _replace(super_, link_id)).status_code == 200
    again = await _replace(super_, link_id)  # already replaced: not live
    assert again.status_code == 404
    crew = await as_user("crew")
    refused = await crew.post(f"/console/premises/p1/links/{link_id + 1}/replace",
                              data={"csrf": "x"})
    assert refused.status_code in (403, 404)
    live = (await world.db.execute("SELECT count(*) FROM submission_links WHERE "
                                   "revoked_at IS NULL")).first()[0]
    assert live == 1


async def test_a_stranger_trying_tokens_from_one_address_is_stopped_with_retry_after(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    budget = world.app.state.settings.portal_unknown_links_per_address
    stranger = from_address(world, "198.51.100.7")
    answers = [await stranger.get(f"/portal/guess-{n:04d}-{'a' * 30}") for n in range(budget)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1  # every unknown token: the same answer
    stopped = await stranger.get("/portal/guess-final")
    assert stopped.status_code == 429
    assert 500 <= int(stopped.headers["Retry-After"]) <= 601
    assert (await stranger.get(path)).status_code == 429  # a real token too: nothing to learn
    assert (await from_address(world, "198.51.100.8").get(path)).status_code == 200


async def test_unknown_tokens_are_counted_across_processes(world: World) -> None:
    """Two throttles over one database (two server processes) count the same attempts."""
    settings = world.app.state.settings
    one, two = (PortalThrottle(world.db, 0, 3, 600) for _ in range(2))
    for throttle in (one, two, one):
        assert await throttle.admit("192.0.2.1") == 0
        await throttle.unknown_link("192.0.2.1")
    assert await two.admit("192.0.2.1") > 0
    assert await one.admit("192.0.2.2") == 0
    assert settings.portal_unknown_links_per_address > 0


async def test_each_address_has_a_budget_of_portal_requests(world: World,
                                                            as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    world.app.state.settings = world.app.state.settings.with_(portal_requests_per_address=4)
    busy = from_address(world, "203.0.113.9")
    statuses = [(await busy.get(path)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert (await from_address(world, "203.0.113.10").get(path)).status_code == 200


async def test_the_window_passes_and_the_address_may_try_again(world: World) -> None:
    now = [1000.0]
    throttle = PortalThrottle(world.db, 100, 2, 600, clock=lambda: now[0])
    for _ in range(2):
        assert await throttle.admit("192.0.2.9") == 0
        await throttle.unknown_link("192.0.2.9")
    assert await throttle.admit("192.0.2.9") == 601
    now[0] += 601
    assert await throttle.admit("192.0.2.9") == 0


async def test_portal_counts_never_touch_sign_in_budgets(world: World) -> None:
    throttle = PortalThrottle(world.db, 100, 5, 600)
    for _ in range(5):
        await throttle.unknown_link("127.0.0.1")
    signin = SharedThrottle(world.db, 100, 100, 3, 600)  # 3 failures per address would stop it
    assert await signin.retry_after("nobody", "127.0.0.1") == 0


# -- uploads under the link's rate: several floor plans in one post ----------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def _send_floors(person: httpx.AsyncClient, path: str, rows: list[tuple[str, bytes]]
                       ) -> httpx.Response:
    shown = await person.get(f"{path}/plans/floor")
    assert shown.status_code == 200, shown.text
    data = {"csrf": csrf_of(shown.text), "submitted_by": "Priya Shah"}
    files = []
    for n, (floor, content) in enumerate(rows):
        sfx = f"_{n}" if n else ""
        data["floor" + sfx] = floor
        files.append(("file" + sfx, (f"plan-{n}.pdf", content, "application/pdf")))
    return await person.post(f"{path}/plans/floor", data=data, files=files)


async def _plans(world: World) -> list[tuple[str, int, str]]:
    return [tuple(r) for r in await world.db.execute(
        "SELECT floor, version, status FROM building_submissions ORDER BY floor")]


async def test_the_floor_plan_form_offers_a_row_for_each_missing_floor(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))  # 11 storeys: Ground floor, Floors 1-10
    form = (await browser(world).get(f"{path}/plans/floor")).text
    for n, floor in enumerate(["Ground floor", "Floor 1", "Floor 2"]):
        sfx = f"_{n}" if n else ""
        assert re.search(rf'name="floor{sfx}">.*?<option value="{floor}" selected>', form,
                         re.S), floor
    assert 'name="file_9"' in form and 'name="file_10"' not in form


async def test_a_forty_storey_building_uploads_well_within_the_links_rate(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    page = "/console/premises/p1/high-rise"
    marked = await _post_form(super_, page, page, {**HIGH_RISE, "storeys": "40"})
    assert marked.status_code == 303
    shown = await _post_form(super_, page, "/console/premises/p1/links", {"days": "90"})
    path = re.search(r'id="link-open" href="http://test(/portal/[^"]+)"', shown.text)[1]
    person = browser(world)
    floors = ["Ground floor", *(f"Floor {n}" for n in range(1, 40))]
    for start in range(0, 40, 10):
        batch = [(f, PDF + f.encode()) for f in floors[start:start + 10]]
        sent = await _send_floors(person, path, batch)
        assert sent.status_code == 303, sent.text
        assert (await person.get(sent.headers["location"])).status_code == 200
    held = await _plans(world)
    assert len(held) == 40 and {v for _, v, _ in held} == {1}
    requests = (await world.db.execute("SELECT window_count FROM submission_links")).first()[0]
    assert requests == 12  # 4 × (form, post, status page): 40 floors, far under 60
    status = (await person.get(f"{path}/plans")).text
    assert "Missing floor plans" not in status


async def test_one_bad_plan_in_a_post_keeps_none_and_names_its_row(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    person = browser(world)
    bad = await _send_floors(person, path, [("Floor 1", PDF), ("Floor 2", b"PK\x03\x04 zip"),
                                            ("", PDF)])
    assert bad.status_code == 415
    assert "Plan 2&#39;s file: plan-1.pdf is not a PDF" in bad.text
    assert "Plan 3: Choose the floor this plan shows" in bad.text
    assert 'href="#f-file_1"' in bad.text and 'href="#f-floor_2"' in bad.text
    twice = await _send_floors(person, path, [("Floor 1", PDF), ("Floor 1", PDF + b"2")])
    assert twice.status_code == 422 and "Floor 1 is chosen for two plans" in twice.text
    assert await _plans(world) == []
    assert not list(await world.db.execute("SELECT * FROM blobs"))


async def test_plans_sent_together_are_each_their_floors_next_version_and_audited(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    person = browser(world)
    assert (await _send_floors(person, path, [("Floor 1", PDF)])).status_code == 303
    both = await _send_floors(person, path, [("Floor 1", PDF + b"v2"), ("Roof", PDF)])
    assert both.status_code == 303
    assert await _plans(world) == [("Floor 1", 1, "pending"), ("Floor 1", 2, "pending"),
                                   ("Roof", 1, "pending")]
    received = (await world.db.execute("SELECT count(*) FROM events WHERE kind = "
                                       "'building_submission_received'")).first()[0]
    assert received == 3


async def test_plans_sent_together_fit_the_links_quota_or_none_is_kept(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    world.app.state.settings = world.app.state.settings.with_(
        portal_link_quota_bytes=len(PDF) * 2 + 1)
    person = browser(world)
    over = await _send_floors(person, path, [("Floor 1", PDF), ("Floor 2", PDF + b"2"),
                                             ("Floor 3", PDF + b"3")])
    assert over.status_code == 429 and "Ask the fire service for a new link" in over.text
    assert await _plans(world) == []


async def test_a_short_sign_in_window_does_not_forget_the_portals_counts(world: World) -> None:
    now = [5000.0]
    portal = PortalThrottle(world.db, 100, 2, 600, clock=lambda: now[0])
    for _ in range(2):
        await portal.unknown_link("192.0.2.20")
    now[0] += 120
    signin = SharedThrottle(world.db, 5, 100, 100, 60, clock=lambda: now[0])
    await signin.fail("someone", "192.0.2.21")  # prunes sign-in failures over 60 s old
    assert await portal.admit("192.0.2.20") > 0
