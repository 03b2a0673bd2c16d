"""Building owners, steps 2-4: a supervisor issues a submission link for a high-rise
building's responsible person, who reports a lift or firefighting-equipment fault through the
portal, gets a reference number, and reports the repair; crews see the open fault on the
premises record they pull, and it leaves the record when repaired (the history keeps it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest
from engines import engine  # noqa: F401  (each test on SQLite and on PostgreSQL)
from test_console import Browser, as_user, browser, csrf_of

from server import submissions
from server.store import records

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user", "engine"]

HIGH_RISE = {"height_m": "31.5", "storeys": "11", "responsible_person": "Priya Shah",
             "organisation": "Carrow Estates Ltd", "phone": "01603 555 010",
             "email": "priya@carrow.example"}
FAULT = {"kind": "dry_riser", "description": "Inlet valve seized on the ground floor.",
         "since": "2026-11-28", "reported_by": "Priya Shah"}


async def _post_form(client: httpx.AsyncClient, page: str, action: str,
                     data: dict[str, str]) -> httpx.Response:
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf": csrf_of(shown.text), **data})


async def _issue(super_: httpx.AsyncClient, pid: str = "p1", days: str = "90") -> str:
    """Mark the premises high-rise, issue a link and return its path (from the shown URL)."""
    page = f"/console/premises/{pid}/high-rise"
    assert (await _post_form(super_, page, page, HIGH_RISE)).status_code == 303
    shown = await _post_form(super_, page, f"/console/premises/{pid}/links", {"days": days})
    assert shown.status_code == 200, shown.text
    match = re.search(r'id="link-open" href="http://test(/portal/[^"]+)"', shown.text)
    assert match, shown.text
    return match.group(1)


async def _report(world: World, path: str, fault: dict[str, str] = FAULT
                  ) -> tuple[httpx.Response, httpx.AsyncClient]:
    person = browser(world)
    response = await _post_form(person, path, path + "/faults", fault)
    return response, person


async def _pulled(world: World, pid: str = "p1") -> dict[str, Any]:
    pulled = (await world.client.get("/api/sync/pull", headers=world.as_("crew"))).json()
    return next(c["record"] for c in pulled["changes"]
                if c["type"] == "premises" and c["record"]["id"] == pid)


async def test_a_reported_fault_reaches_the_crews_record_and_leaves_it_when_repaired(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    landing = await browser(world).get(path)
    assert landing.status_code == 200 and "Report a fault" in landing.text
    assert landing.headers["referrer-policy"] == "no-referrer"
    response, person = await _report(world, path)
    assert response.status_code == 303
    confirmation = await person.get(response.headers["location"])
    reference = re.search(r'<strong id="reference">(F-[A-Z0-9]{8})</strong>', confirmation.text)
    assert reference, confirmation.text
    ref = reference.group(1)

    record = await _pulled(world)
    assert record["equipment_faults"] == [{
        "id": ref, "kind": "dry_riser", "description": FAULT["description"],
        "since": "2026-11-28", "reported_by": "Priya Shah",
        "reported_at": record["equipment_faults"][0]["reported_at"]}]
    console = await super_.get("/console/premises/p1")
    assert "Dry riser out of order since 28 Nov 2026" in console.text
    assert f"reported by Priya Shah, reference {ref}" in console.text

    fault_page = f"{path}/faults/{ref}"
    repaired = await _post_form(person, fault_page, fault_page + "/repaired",
                                {"note": "Valve replaced"})
    assert repaired.status_code == 303
    assert "Repaired" in (await person.get(fault_page)).text
    assert "equipment_faults" not in await _pulled(world)
    assert "out of order since" not in (await super_.get("/console/premises/p1")).text
    history = await super_.get("/console/premises/p1/high-rise")
    assert ref in history.text and "repaired" in history.text and "Valve replaced" in history.text
    again = await _post_form(person, path, fault_page + "/repaired", {})
    assert again.status_code == 409


async def test_the_link_token_is_stored_only_as_its_digest_and_issuing_is_audited(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43
    rows = await world.db.execute("SELECT token_hash FROM submission_links")
    stored = [r[0] for r in rows]
    assert stored and token not in stored[0] and stored[0].startswith("sha256:")
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "submission_link_issued" in kinds


async def test_a_wrong_token_is_a_plain_404_page(world: World) -> None:
    response = await browser(world).get("/portal/not-a-real-token")
    assert response.status_code == 404
    assert "This link is not known" in response.text
    assert (await browser(world).post("/portal/x/faults", data=FAULT)).status_code == 404


async def test_a_revoked_link_is_410_and_so_is_an_expired_one(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    page = "/console/premises/p1/high-rise"
    link_id = (await world.db.execute("SELECT id FROM submission_links")).first()[0]
    revoked = await _post_form(super_, page, f"/console/premises/p1/links/{link_id}/revoke", {})
    assert revoked.status_code == 303
    gone = await browser(world).get(path)
    assert gone.status_code == 410 and "revoked" in gone.text
    later = await _issue(super_)
    await world.db.execute_write("UPDATE submission_links SET expires_at = "
                                 "'2020-01-01T00:00:00Z' WHERE revoked_at IS NULL")
    expired = await browser(world).get(later)
    assert expired.status_code == 410 and "expired" in expired.text
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "submission_link_revoked" in kinds


async def test_bad_fault_reports_are_refused_beside_the_field_and_nothing_is_stored(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    before = await world.db.read(lambda c: records.get(c, "p1"))
    response, _ = await _report(world, path, {"kind": "jacuzzi", "description": "",
                                              "since": "2999-01-01", "reported_by": ""})
    assert response.status_code == 422
    for field, words in (("kind", "Choose what is out of order"),
                         ("description", "Say what is wrong"),
                         ("since", "cannot be in the future"), ("reported_by", "Give your name")):
        assert f'id="f-{field}-error"' in response.text and words in response.text
    assert not list(await world.db.execute("SELECT * FROM equipment_faults"))
    after = await world.db.read(lambda c: records.get(c, "p1"))
    assert after["version"] == before["version"]


async def test_a_report_without_the_forms_csrf_token_is_refused(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    response = await browser(world).post(path + "/faults", data=FAULT)
    assert response.status_code == 403
    assert not list(await world.db.execute("SELECT * FROM equipment_faults"))


async def test_each_link_is_rate_limited(world: World, as_user: Browser,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = await _issue(await as_user("super"))
    monkeypatch.setattr(submissions, "RATE_PER_WINDOW", 3)
    person = browser(world)
    statuses = [(await person.get(path)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other = await _issue(await as_user("admin"))
    assert (await person.get(other)).status_code == 200  # another link has its own count


async def test_a_link_needs_a_high_rise_building_and_a_known_duration(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    page = "/console/premises/p1/high-rise"
    refused = await _post_form(super_, page, "/console/premises/p1/links", {"days": "90"})
    assert refused.status_code == 409 and "Mark the premises" in refused.text
    await _post_form(super_, page, page, HIGH_RISE)
    bad = await _post_form(super_, page, "/console/premises/p1/links", {"days": "5000"})
    assert bad.status_code == 422 and "Choose how long the link lasts" in bad.text


async def test_a_fault_of_another_building_is_not_reachable_through_a_link(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    first = await _issue(super_, "p1")
    response, person = await _report(world, first)
    ref = response.headers["location"].split("/faults/")[1].split("?")[0]
    second = await _issue(super_, "p2")
    assert (await person.get(f"{second}/faults/{ref}")).status_code == 404


@pytest.mark.parametrize("value", ["\x00", "x" * 50_000, "2026-02-30", "١٢٣", "' OR 1=1 --",
                                   "[]", "-1"])
async def test_hostile_portal_input_is_a_4xx_never_a_server_error(
        world: World, as_user: Browser, value: str) -> None:
    path = await _issue(await as_user("super"))
    person = browser(world)
    page = await person.get(path)
    csrf = csrf_of(page.text)
    ref = quote(value[:40], safe="")
    for action in (path + "/faults", f"{path}/faults/{ref}/repaired"):
        response = await person.post(action, data={
            "csrf": csrf, "kind": value, "description": value, "since": value,
            "reported_by": value, "note": value})
        assert response.status_code in (404, 409, 422), (action, response.status_code)
    assert (await person.get(f"{path}/faults/{ref}")).status_code == 404
