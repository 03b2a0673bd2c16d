"""Building owners, uploads and review: a high-rise building's responsible person sends floor
plans, the building plan and external wall information through the portal, each a new version
(nothing overwritten); a supervisor within the grounds accepts (plans become the premises'
attachments, the version before superseded and kept; wall information goes on the record) or
rejects with a reason the submitter reads on the portal. Each test on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import httpx
from engines import engine  # noqa: F401  (each test on SQLite and on PostgreSQL)
from PIL import Image
from test_console import Browser, as_user, browser, csrf_of
from test_portal import _issue

from server import blobs
from server.store import building_submissions, records

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user", "engine"]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
WALL = {"design_materials": "ACM cladding panels on floors 3-11, mineral wool insulation.",
        "risk": "high", "mitigation": "Waking watch; simultaneous evacuation alarm fitted.",
        "material_change": "no", "submitted_by": "Priya Shah"}


def png(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


async def send(person: httpx.AsyncClient, path: str, form: str, data: dict[str, str],
               files: list[tuple[str, tuple[str, bytes, str]]]) -> httpx.Response:
    shown = await person.get(f"{path}/{form}")
    assert shown.status_code == 200, shown.text
    return await person.post(f"{path}/{form}", data={"csrf": csrf_of(shown.text), **data},
                             files=files)


async def floor_plan(person: httpx.AsyncClient, path: str, floor: str = "Floor 3",
                     data: bytes = PDF, name: str = "floor-3.pdf") -> httpx.Response:
    return await send(person, path, "plans/floor", {"floor": floor, "submitted_by": "Priya Shah"},
                      [("file", (name, data, "application/pdf"))])


async def rows(world: World) -> list[dict[str, Any]]:
    return await world.db.read(lambda c: building_submissions.for_premises(c, "p1"))


async def review(client: httpx.AsyncClient, sub_id: int, action: str,
                 data: dict[str, str] | None = None) -> httpx.Response:
    page = await client.get(f"/console/submissions/{sub_id}")
    assert page.status_code == 200, page.text
    return await client.post(f"/console/submissions/{sub_id}/{action}",
                             data={"csrf": csrf_of(page.text), **(data or {})})


async def pulled(world: World, pid: str = "p1") -> dict[str, Any]:
    got = (await world.client.get("/api/sync/pull", headers=world.as_("crew"))).json()
    return next(c["record"] for c in got["changes"]
                if c["type"] == "premises" and c["record"]["id"] == pid)


async def test_each_plan_sent_is_a_new_version_of_its_floor_and_waits_for_review(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    first = await floor_plan(person, path)
    assert first.status_code == 303
    landing = await person.get(first.headers["location"])
    assert "your floor plan has been received" in landing.text
    assert (await floor_plan(person, path, floor="floor 3")).status_code == 303
    assert (await floor_plan(person, path, floor="Ground floor")).status_code == 303
    history = sorted(await rows(world), key=lambda r: r["id"])
    assert [(r["floor"], r["version"], r["status"]) for r in history] == [
        ("Floor 3", 1, "pending"), ("floor 3", 2, "pending"), ("Ground floor", 1, "pending")]
    assert history[0]["uprn"] == "100010001001" and history[0]["submitted_by"] == "Priya Shah"
    assert history[0]["detail"]["files"][0]["name"] == "floor-3.pdf"
    page = (await person.get(f"{path}/plans")).text
    assert "Waiting for review" in page and "Missing floor plans" in page
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert kinds.count("building_submission_received") == 3
    before = await world.db.read(lambda c: records.get(c, "p1"))
    assert not before.get("attachments")  # nothing reaches crews before a review


async def test_accepting_a_plan_puts_it_on_the_record_and_supersedes_the_one_before(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    await floor_plan(person, path, data=PDF)
    (one,) = await rows(world)
    assert (await review(super_, one["id"], "accept")).status_code == 303
    record = await pulled(world)
    (plan,) = [a for a in record["attachments"] if a["kind"] == "floor_plan"]
    assert plan["id"] == f"bs{one['id']}" and plan["available"] is True
    assert plan["caption"] == "Floor 3 (version 1, from the responsible person)"
    crew_file = await world.client.get(f"/api/blobs/{plan['sha256']}", headers=world.as_("crew"))
    assert crew_file.status_code == 200 and crew_file.content == PDF

    await floor_plan(person, path, data=png(), name="floor-3-new.png")
    two = next(r for r in await rows(world) if r["version"] == 2)
    assert (await review(super_, two["id"], "accept")).status_code == 303
    record = await pulled(world)
    plans = [a for a in record["attachments"] if a["kind"] == "floor_plan"]
    assert [a["id"] for a in plans] == [f"bs{two['id']}"]
    assert plans[0]["content_type"] == "image/png"
    states = {r["version"]: r for r in await rows(world)}
    assert states[1]["status"] == "superseded" and states[2]["status"] == "accepted"
    assert states[1]["detail"]["files"] == one["detail"]["files"]  # kept as it was sent
    kept = await world.db.read(lambda c: blobs.referenced(c, "9999"))
    assert one["detail"]["files"][0]["sha256"] in kept  # gc keeps the superseded file
    twice = await super_.post(f"/console/submissions/{two['id']}/accept", data={
        "csrf": csrf_of((await super_.get(f"/console/submissions/{two['id']}")).text)})
    assert twice.status_code == 409
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert kinds.count("building_submission_accepted") == 2
    history = await super_.get("/console/premises/p1/history")
    assert history.status_code == 200


async def test_an_older_version_cannot_replace_a_newer_accepted_one(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    await floor_plan(person, path)
    await floor_plan(person, path)
    by_version = {r["version"]: r for r in await rows(world)}
    assert (await review(super_, by_version[2]["id"], "accept")).status_code == 303
    states = {r["version"]: r["status"] for r in await rows(world)}
    assert states == {1: "superseded", 2: "accepted"}  # the older pending one too


async def test_a_rejected_plan_shows_its_reason_on_the_portal(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    await send(person, path, "plans/building", {"submitted_by": "Priya Shah"},
               [("file", ("site.pdf", PDF, "application/pdf"))])
    (sub,) = await rows(world)
    empty = await review(super_, sub["id"], "reject", {"reason": "  "})
    assert empty.status_code == 422 and "Give the reason" in empty.text
    assert (await rows(world))[0]["status"] == "pending"
    done = await review(super_, sub["id"], "reject",
                        {"reason": "The plan does not show the dry riser inlets."})
    assert done.status_code == 303
    portal = (await person.get(f"{path}/plans")).text
    assert "Not accepted" in portal
    assert "The plan does not show the dry riser inlets." in portal
    record = await world.db.read(lambda c: records.get(c, "p1"))
    assert not record.get("attachments")
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "building_submission_rejected" in kinds


async def test_bad_files_are_refused_naming_the_field_and_nothing_is_stored(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    person = browser(world)
    zipped = await floor_plan(person, path, data=b"PK\x03\x04 not a plan", name="plan.pdf")
    assert zipped.status_code == 415
    assert "The plan&#39;s file: plan.pdf is not a PDF, PNG or JPEG file" in zipped.text
    assert 'id="error-summary"' in zipped.text and 'href="#f-file"' in zipped.text
    nothing = await send(person, path, "plans/floor", {"floor": "", "submitted_by": ""}, [])
    assert nothing.status_code == 422
    for words in ("Choose the floor this plan shows", "Give your name", "choose a file to send"):
        assert words in nothing.text  # every problem at once
    bad_wall = await send(person, path, "walls", {"risk": "volcanic", "submitted_by": "P"},
                          [("documents", ("notes.txt", b"hello", "text/plain"))])
    assert bad_wall.status_code == 415
    for words in ("Describe the design and materials", "Choose the level of risk",
                  "Say whether this is a material change", "Documents: notes.txt is not a PDF"):
        assert words in bad_wall.text
    world.app.state.settings = world.app.state.settings.with_(portal_file_max_bytes=1000)
    big = await floor_plan(person, path, data=PDF + b"%" * 2000)
    assert big.status_code == 413 and "files may be at most" in big.text
    assert await rows(world) == []
    assert not list(await world.db.execute("SELECT * FROM blobs"))


async def test_the_link_upload_quota_refuses_what_would_go_over(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    person = browser(world)
    world.app.state.settings = world.app.state.settings.with_(
        portal_link_quota_bytes=len(PDF) * 2)
    assert (await floor_plan(person, path)).status_code == 303
    assert (await floor_plan(person, path, floor="Floor 4")).status_code == 303
    over = await floor_plan(person, path, floor="Floor 5")
    assert over.status_code == 429 and "Ask the fire service for a new link" in over.text
    assert 'href="#f-file"' in over.text
    assert len(await rows(world)) == 2


async def test_another_buildings_link_sees_nothing_of_this_one_and_guesses_get_404(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    other = await _issue(super_, "p2")
    person = browser(world)
    await send(person, path, "plans/floor", {"floor_other": "Mezzanine", "submitted_by": "P"},
               [("file", ("m.pdf", PDF, "application/pdf"))])
    stranger = browser(world)
    theirs = (await stranger.get(f"{other}/plans")).text
    assert "Mezzanine" not in theirs and "m.pdf" not in theirs and "Maple Court" not in theirs
    for url in ("/portal/guess/plans", "/portal/guess/plans/floor", "/portal/guess/walls"):
        assert (await stranger.get(url)).status_code == 404
    posted = await stranger.post("/portal/guess/plans/floor", data={"floor": "Floor 1"},
                                 files=[("file", ("x.pdf", PDF, "application/pdf"))])
    assert posted.status_code == 404 and "This link is not known" in posted.text
    assert len(await rows(world)) == 1


async def test_reviewers_outside_the_grounds_and_crews_are_refused(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    await floor_plan(browser(world), path)
    (sub,) = await rows(world)
    carrow = await as_user("csuper")
    assert sub["id"] and "Maple Court" not in (await carrow.get("/console/submissions")).text
    for url in (f"/console/submissions/{sub['id']}", f"/console/submissions/{sub['id']}/files/0",
                "/console/submissions?premises=p1"):
        assert (await carrow.get(url)).status_code == 403
    token = csrf_of((await carrow.get("/console/submissions")).text)
    for action in ("accept", "reject"):
        refused = await carrow.post(f"/console/submissions/{sub['id']}/{action}",
                                    data={"csrf": token, "reason": "no"})
        assert refused.status_code == 403
    crew = await as_user("crew")
    assert (await crew.get("/console/submissions")).status_code == 403
    assert (await rows(world))[0]["status"] == "pending"
    assert (await super_.get("/console/submissions/99999")).status_code == 404
    listed = await super_.get("/console/submissions")
    assert "Maple Court Care Home" in listed.text and "Floor 3" in listed.text


async def test_a_submitted_file_downloads_as_an_attachment_with_its_checked_type(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    await floor_plan(browser(world), path, name="plan <3>.pdf")
    (sub,) = await rows(world)
    got = await super_.get(f"/console/submissions/{sub['id']}/files/0")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert (await super_.get(f"/console/submissions/{sub['id']}/files/1")).status_code == 404


async def test_accepted_wall_information_goes_on_the_high_rise_record(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    sent = await send(person, path, "walls", WALL,
                      [("documents", ("fraew.pdf", PDF, "application/pdf")),
                       ("documents", ("photo.png", png(), "image/png"))])
    assert sent.status_code == 303
    (sub,) = await rows(world)
    assert sub["kind"] == "external_wall" and len(sub["detail"]["files"]) == 2
    assert sub["detail"]["risk"] == "high" and sub["detail"]["material_change"] is False
    assert (await review(super_, sub["id"], "accept")).status_code == 303
    wall = (await pulled(world))["high_rise"]["external_wall"]
    assert wall["risk"] == "high" and wall["version"] == 1
    assert wall["design_materials"] == WALL["design_materials"]
    assert "External walls: high risk" in (await super_.get("/console/premises/p1")).text
    page = "/console/premises/p1/high-rise"
    shown = await super_.get(page)
    resaved = await super_.post(page, data={"csrf": csrf_of(shown.text), "height_m": "40",
                                            "storeys": "12", "responsible_person": "Priya Shah"})
    assert resaved.status_code == 303
    kept = (await pulled(world))["high_rise"]
    assert kept["storeys"] == 12 and kept["external_wall"]["risk"] == "high"
    portal = (await person.get(f"{path}/plans")).text
    assert "Level of risk held: High" in portal


async def test_summary_gives_each_building_its_latest_accepted_version_and_pending(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    await floor_plan(person, path, floor="Ground floor")
    await floor_plan(person, path, floor="Floor 1")
    await floor_plan(person, path, floor="FLOOR 1")
    await send(person, path, "plans/building", {"submitted_by": "P"},
               [("file", ("site.pdf", PDF, "application/pdf"))])
    ground = next(r for r in await rows(world) if r["floor"] == "Ground floor")
    await review(super_, ground["id"], "accept")
    found = await building_submissions.summary(world.db, ["p1", "p2"])
    assert set(found) == {"p1", "p2"}
    p1 = found["p1"]
    assert p1["floor_plan"]["version"] == 1 and p1["floor_plan"]["pending"] is True
    assert p1["floor_plan"]["accepted_at"] == p1["floor_plan"]["oldest_accepted_at"]
    assert p1["floor_plan"]["floors"]["Ground floor"]["pending"] is False
    assert set(p1["floor_plan"]["floors"]) == {"Ground floor", "Floor 1"}
    assert p1["floor_plan"]["floors"]["Floor 1"] == {
        "version": None, "accepted_at": None, "submitted_at": None, "pending": True}
    assert p1["building_plan"] == {"version": None, "accepted_at": None, "submitted_at": None,
                                   "pending": True}
    assert p1["external_wall"]["pending"] is False and p1["external_wall"]["version"] is None
    assert found["p2"]["building_plan"]["version"] is None
    assert set(await building_submissions.summary(world.db)) == {"p1"}


def test_floor_names_are_offered_from_the_storeys() -> None:
    from server import owner_submissions as rules
    assert rules.expected_floors(3) == ["Ground floor", "Floor 1", "Floor 2"]
    assert rules.floor_choices(None) == ["Basement 2", "Basement 1", "Ground floor", "Roof"]
    assert rules.safe_name("C:\\plans\\../x\x00y<>.pdf") == "xy__.pdf"
    assert re.fullmatch(r"[\w .()+,-]+", rules.safe_name("é plan (v2).pdf"))


async def test_submissions_sent_at_once_each_take_their_own_version(world: World) -> None:
    import asyncio

    from server.store import owner_links
    link = await owner_links.add_link(world.db, "p1", "sha256:at-once", "super",
                                      "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z")

    def add(conn: Any) -> tuple[int, int]:
        return building_submissions.add(conn, {
            "premises_id": "p1", "link_id": link, "kind": "building_plan", "floor": None,
            "submitted_at": "2026-01-02T00:00:00Z", "submitted_by": "P", "detail": {}})
    made = await asyncio.gather(*(world.db.write(add) for _ in range(6)))
    assert sorted(v for _, v in made) == [1, 2, 3, 4, 5, 6]
    assert len({i for i, _ in made}) == 6
