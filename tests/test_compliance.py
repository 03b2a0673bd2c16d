"""The compliance view (/console/compliance, its reminders CSV and GET /api/compliance): the
high-rise buildings of a station or of the caller's grounds with their plans and wall
information (from a submissions source: a fake here), open faults and their age,
information-box checks overdue and the reminders to send, counted against the data; for
supervisors and admins, within their grounds."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING, Any

from engines import engine  # noqa: F401  (each World test on SQLite and on PostgreSQL)
from test_console import Browser, as_user, browser
from test_portal import FAULT, HIGH_RISE, _issue, _post_form

from server import clock, compliance
from server.compliance import Received
from server.store import building_submissions

if TYPE_CHECKING:
    import httpx
    from world import World

__all__ = ["as_user", "engine"]


def _ago(days: int) -> str:
    return (dt.date.fromisoformat(clock.today()) - dt.timedelta(days=days)).isoformat()


class FakeSubmissions:
    """The shape the versioned submissions store answers in: per premises and item, the
    latest accepted version, its date and whether one is pending."""

    def __init__(self, held: dict[str, dict[str, Received]]):
        self.held = held
        self.asked: list[list[str]] = []

    async def __call__(self, db: Any, premises_ids: list[str]
                       ) -> dict[str, dict[str, Received]]:
        self.asked.append(list(premises_ids))
        return {p: self.held[p] for p in premises_ids if p in self.held}


async def _buildings(world: World, super_: httpx.AsyncClient,
                     admin: httpx.AsyncClient) -> None:
    """p1 and p2 (A01) and p3 (B02) high-rise; a fault on p1; box checks on p2 (this year)
    and p3 (two years ago); p1 never checked. Plans: see HELD."""
    p1 = await _issue(super_, "p1")
    person = browser(world)
    assert (await _post_form(person, p1, p1 + "/faults", FAULT)).status_code == 303
    p2 = await _issue(super_, "p2")
    ok = {"checked_on": _ago(30), "outcome": "ok", "problems": "", "reported_by": "Priya"}
    assert (await _post_form(person, p2, p2 + "/information-box", ok)).status_code == 303
    page = "/console/premises/p3/high-rise"
    assert (await _post_form(admin, page, page, {**HIGH_RISE, "responsible_person": "Tom Ling",
                                                 "email": "tom@barton.example"})
            ).status_code == 303
    p3 = await _issue(admin, "p3")
    old = {**ok, "checked_on": _ago(800), "reported_by": "Tom Ling"}
    assert (await _post_form(person, p3, p3 + "/information-box", old)).status_code == 303


HELD = {"p1": {"floor_plan": Received(2, _ago(20)), "building_plan": Received(1, _ago(400)),
               "external_wall": Received(None, None, pending=True)},
        "p3": {"floor_plan": Received(1, _ago(5), pending=True),
               "building_plan": Received(3, _ago(100))}}


async def test_the_compliance_counts_match_the_data(world: World, as_user: Browser) -> None:
    super_, admin = await as_user("super"), await as_user("admin")
    await _buildings(world, super_, admin)
    fake = FakeSubmissions(HELD)
    world.app.state.submissions = fake
    view = (await world.client.get("/api/compliance", headers=world.as_("super"))).json()
    assert sorted(fake.asked[0]) == ["p1", "p2", "p3"]
    by_code = {s["code"]: s for s in view["stations"]}
    assert set(by_code) == {"A01", "B02"}  # the supervisor's grounds
    a01, b02, total = by_code["A01"], by_code["B02"], view["total"]
    assert a01["buildings"] == 2 and b02["buildings"] == 1 and total["buildings"] == 3
    assert a01["items"]["floor_plan"] == {"received": 1, "pending": 0, "older": 0, "missing": 1}
    assert a01["items"]["building_plan"] == {"received": 0, "pending": 0, "older": 1,
                                             "missing": 1}
    assert a01["items"]["external_wall"] == {"received": 0, "pending": 1, "older": 0,
                                             "missing": 1}
    assert b02["items"]["floor_plan"]["pending"] == 1
    assert b02["items"]["building_plan"]["received"] == 1
    assert b02["items"]["external_wall"]["missing"] == 1
    assert total["items"]["external_wall"] == {"received": 0, "pending": 1, "older": 0,
                                               "missing": 2}
    assert (a01["open_faults"], b02["open_faults"], total["open_faults"]) == (1, 0, 1)
    assert total["faults_for_review"] == 0
    # p1 never checked, p3 checked 800 days ago; p2 current
    assert (a01["information_box_overdue"], b02["information_box_overdue"]) == (1, 1)
    assert (a01["reminders"], b02["reminders"], total["reminders"]) == (2, 1, 3)
    p1 = next(b for b in view["buildings"] if b["id"] == "p1")
    fault = p1["open_faults"][0]
    assert fault["kind"] == "dry_riser" and fault["since"] == FAULT["since"]
    assert fault["age_days"] == (dt.date.fromisoformat(clock.today())
                                 - dt.date.fromisoformat(FAULT["since"])).days
    assert p1["responsible_person"] == "Priya Shah" and p1["email"] == "priya@carrow.example"
    assert p1["reminders"] == ["Building plan: last accepted " + _ago(400) + ", over a year ago",
                               "Information-box check: none recorded"]

    one = (await world.client.get("/api/compliance?station=B02",
                                  headers=world.as_("super"))).json()
    assert [s["code"] for s in one["stations"]] == ["B02"]
    assert [b["id"] for b in one["buildings"]] == ["p3"]
    whole = (await world.client.get("/api/compliance", headers=world.as_("admin"))).json()
    assert [s["code"] for s in whole["stations"]] == ["A01", "B02", "C03"]
    assert whole["total"]["buildings"] == 3 and whole["stations"][2]["buildings"] == 0


async def test_the_view_counts_what_the_versioned_submissions_store_holds(
        world: World, as_user: Browser) -> None:
    assert world.app.state.submissions is compliance.held
    await _buildings(world, await as_user("super"), await as_user("admin"))
    view = (await world.client.get("/api/compliance", headers=world.as_("admin"))).json()
    for item in compliance.ITEMS:
        assert view["total"]["items"][item]["missing"] == 3
    [link] = await world.db.execute("SELECT id FROM submission_links WHERE premises_id = 'p1'")
    at = f"{_ago(10)}T09:00:00Z"

    def send(conn: Any) -> None:
        sub = {"premises_id": "p1", "link_id": link[0], "submitted_at": at,
               "submitted_by": "Priya"}
        plan, _ = building_submissions.add(conn, {**sub, "kind": "building_plan",
                                                  "detail": {"files": []}})
        building_submissions.review(conn, [plan], "accepted", "super", at)
        building_submissions.add(conn, {**sub, "kind": "external_wall", "detail": {
            "files": [], "design_materials": "Brick", "risk": "low", "mitigation": "",
            "material_change": False}})
    await world.db.write(send)
    view = (await world.client.get("/api/compliance", headers=world.as_("admin"))).json()
    items = view["total"]["items"]
    assert items["building_plan"]["received"] == 1 and items["building_plan"]["missing"] == 2
    assert items["external_wall"]["pending"] == 1 and items["external_wall"]["missing"] == 2
    assert items["floor_plan"]["missing"] == 3


async def test_the_reminders_csv_says_whom_to_remind_and_of_what(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    await _buildings(world, super_, await as_user("admin"))
    world.app.state.submissions = FakeSubmissions(HELD)
    response = await super_.get("/console/compliance/reminders.csv?station=A01")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["building"] for r in rows] == ["Ashby Engineering Works", "Maple Court Care Home"]
    p2 = rows[0]
    assert p2["responsible_person"] == "Priya Shah" and p2["phone"] == "01603 555 010"
    assert p2["remind_about"] == ("Floor plans: none received; Building plan: none received; "
                                  "External wall information: none received")
    assert "Information-box check: none recorded" in rows[1]["remind_about"]


async def test_the_page_shows_the_view_without_javascript(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    await _buildings(world, super_, await as_user("admin"))
    page = await super_.get("/console/compliance")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert 'form method="get" action="/console/compliance"' in page.text
    for words in ("Maple Court Care Home", "Barton Grain Store", "Dry riser: Inlet valve seized",
                  "Information-box checks overdue or with problems <span class=\"count\">2</span>",
                  "Reminders to send <span class=\"count\">3</span>",
                  'href="/console/compliance/reminders.csv"'):
        assert words in page.text, words
    one = await super_.get("/console/compliance?station=B02")
    assert "Barton Grain Store" in one.text and "Maple Court Care Home" not in one.text


async def test_crews_and_supervisors_of_other_stations_are_refused(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    await _buildings(world, super_, await as_user("admin"))
    assert (await world.client.get("/api/compliance", headers=world.as_("crew"))).status_code \
        == 403
    refused = await world.client.get("/api/compliance?station=A01", headers=world.as_("csuper"))
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "station"
    assert (await world.client.get("/api/compliance")).status_code == 401
    crew = await as_user("crew")
    assert (await crew.get("/console/compliance")).status_code == 403
    csuper = await as_user("csuper")
    for path in ("/console/compliance?station=A01",
                 "/console/compliance/reminders.csv?station=A01"):
        assert (await csuper.get(path)).status_code == 403, path
    own = (await world.client.get("/api/compliance", headers=world.as_("csuper"))).json()
    assert [s["code"] for s in own["stations"]] == ["C03"] and own["buildings"] == []
    page = await csuper.get("/console/compliance")
    assert page.status_code == 200 and "Maple Court" not in page.text


async def test_the_compliance_route_is_in_the_openapi_document(world: World) -> None:
    doc = (await world.client.get("/api/openapi.json")).json()
    op = doc["paths"]["/api/compliance"]["get"]
    assert "supervisors and admins" in op["summary"]
    assert [p["name"] for p in op["parameters"]] == ["station"]
