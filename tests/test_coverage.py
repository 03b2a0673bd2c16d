"""Coverage per station (GET /api/coverage and the console dashboard): the counts a watch manager
chases, checked against the data: never-assessed premises, expired hazards still on the record,
devices not synced since last week, and devices that reported unsent edits."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
from engines import engine  # noqa: F401 (every test here runs on both engines)
from world import World, make_premises

from server import clock
from server.store import records


def _ago(**delta: float) -> str:
    at = dt.datetime.fromisoformat(clock.now("seconds")) - dt.timedelta(**delta)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


async def _more_data(world: World) -> None:
    today = clock.today()
    extra = [
        make_premises("p5", "A01", "Never Assessed Barn", risk_level=4, hazards=[
            {"id": "h5", "type": "asbestos", "location": "Roof", "expires": "2020-01-01"},
            {"id": "h6", "type": "scaffold", "location": "Front", "expires": "2099-01-01"},
            {"id": "h7", "type": "skip", "location": "Yard", "expires": today}]),
        make_premises("p6", "A01", "Soon Mill", risk_level=3,
                      next_review_due=clock.today(plus_days=5), observations=[
                          {"id": "o1", "text": "New gas tank", "status": "open"},
                          {"id": "o2", "text": "Old", "status": "accepted"}]),
        make_premises("p7", "B02", "Never Either", risk_level=1),
    ]

    def rows(conn: Any) -> None:
        records.insert_many(conn, extra)
        conn.execute("INSERT INTO conflicts (id, premises_id, station, status, change_seq, "
                     "created_at, doc) VALUES ('c1', 'p1', 'A01', 'open', 1, '2026-01-01', '{}')")
    await world.db.write(rows)


async def test_coverage_counts_match_the_data(world: World) -> None:
    await _more_data(world)
    oldest = _ago(days=2)
    pulled = await world.client.get("/api/sync/pull", headers={
        **world.as_("crew"), "X-Watchbook-Pending": "3", "X-Watchbook-Oldest-Pending": oldest})
    assert pulled.status_code == 200
    await world.auth.flush_seen()
    crew_id = world.user_ids["crew"]

    def devices(conn: Any) -> None:  # crew's device last synced 3 days ago; a second, 10 days
        conn.execute("UPDATE devices SET last_seen = ? WHERE user_id = ?", (_ago(days=3), crew_id))
        conn.execute("INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen) "
                     "VALUES ('old', ?, 'Pump 2 tablet', 'x', '2026-01-01', ?)",
                     (crew_id, _ago(days=10)))
    await world.db.write(devices)

    got = await world.client.get("/api/coverage", headers=world.as_("super"))
    assert got.status_code == 200, got.text
    by = {s["station"]: s for s in got.json()["stations"]}
    assert set(by) == {"A01", "B02"}  # the supervisor's grounds, not C03
    a01 = by["A01"]
    assert a01["premises"] == 4
    assert a01["by_risk_level"] == {"1": 0, "2": 2, "3": 1, "4": 1}
    assert a01["reviews"] == {"overdue": 1, "due_soon": 1, "never_assessed": 1}
    assert by["B02"]["reviews"]["never_assessed"] == 1
    assert a01["open_conflicts"] == 1
    assert a01["open_observations"] == 1
    assert a01["expired_hazards"] == 1  # expires today still counts; 2099 is in force
    assert a01["devices"]["synced"] == {"day": 1, "week": 1, "older": 1}
    assert a01["devices"]["total"] == 3
    [unsent] = a01["devices"]["unsent"]
    assert unsent["user"] == "crew" and unsent["pending"] == 3
    assert unsent["oldest_pending"] == oldest and 47 <= unsent["oldest_pending_hours"] <= 49


async def test_a_device_reporting_no_pending_edits_leaves_the_list(world: World) -> None:
    crew = world.as_("crew")
    await world.client.get("/api/sync/pull", headers={**crew, "X-Watchbook-Pending": "2"})
    await world.client.get("/api/sync/pull", headers={**crew, "X-Watchbook-Pending": "0"})
    got = (await world.client.get("/api/coverage?station=A01", headers=world.as_("admin"))).json()
    assert [s["station"] for s in got["stations"]] == ["A01"]
    assert got["stations"][0]["devices"]["unsent"] == []


async def test_a_malformed_pending_report_is_refused_naming_the_header(world: World) -> None:
    crew = world.as_("crew")
    bad = await world.client.get("/api/sync/pull", headers={**crew, "X-Watchbook-Pending": "many"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "X-Watchbook-Pending"
    bad = await world.client.get("/api/sync/pull", headers={
        **crew, "X-Watchbook-Pending": "1", "X-Watchbook-Oldest-Pending": "last week"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "X-Watchbook-Oldest-Pending"


async def test_coverage_is_refused_to_crews_and_outside_grounds(world: World) -> None:
    assert (await world.client.get("/api/coverage", headers=world.as_("crew"))).status_code == 403
    outside = await world.client.get("/api/coverage?station=C03", headers=world.as_("super"))
    assert outside.status_code == 403


async def test_the_dashboard_shows_never_assessed_and_stale_devices(world: World) -> None:
    await _more_data(world)
    await world.client.get("/api/sync/pull", headers={**world.as_("crew"),
                                                      "X-Watchbook-Pending": "4"})
    await world.auth.flush_seen()
    crew_id = world.user_ids["crew"]
    await world.db.write(lambda conn: conn.execute(
        "UPDATE devices SET last_seen = ? WHERE user_id = ?", (_ago(days=9), crew_id)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as client:
        form = await client.get("/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        await client.post("/console/signin", data={"csrf": csrf.group(1), "username": "super",
                                                   "password": "pw-super"})
        page = (await client.get("/console/dashboard")).text
    row = re.search(r"<th scope=\"row\">A01 Ashby</th>(.*?)</tr>", page, re.S)
    assert row, page
    assert re.search(r'never-assessed">1<', row.group(1))
    assert re.search(r'stale-devices">1<', row.group(1))  # crew's device, 9 days ago
    assert "A01: Overdue 1, Due soon 1, Never assessed 1, Devices not synced since last week 1" \
        in page  # the chart's text for screen readers
    assert "Devices holding unsent edits" in page and ">4<" in page


async def test_never_assessed_premises_can_be_listed(world: World) -> None:
    await _more_data(world)
    got = await world.client.get("/api/premises?never_assessed=true", headers=world.as_("super"))
    assert got.status_code == 200
    assert sorted(p["id"] for p in got.json()["items"]) == ["p5", "p7"]
    bad = await world.client.get("/api/premises?never_assessed=maybe", headers=world.as_("super"))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "never_assessed"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as client:
        form = await client.get("/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        await client.post("/console/signin", data={"csrf": csrf.group(1), "username": "super",
                                                   "password": "pw-super"})
        page = (await client.get("/console/premises?review=never")).text
    assert "Never Assessed Barn" in page and "Never Either" in page
    assert "Maple Court" not in page
