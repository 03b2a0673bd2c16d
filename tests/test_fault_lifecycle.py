"""Building owners: a fault's lifecycle beyond report and repair. The fault's row and the
record's rewrite commit together; a fault with no repair reported within
WATCHBOOK_FAULT_REVIEW_DAYS is flagged "for review" on the crews' record and in the
compliance view; a supervisor of the building's grounds confirms it (the clock restarts) or
marks it repaired with a note."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from engines import engine  # noqa: F401  (each World test on SQLite and on PostgreSQL)
from test_console import Browser, as_user
from test_portal import FAULT, _issue, _post_form, _pulled, _report
from world import make_premises

from server import clock, fault_review, submissions
from server.cli import main
from server.housekeeping import ago
from server.store import owner_links, records
from server.store.database import Database
from server.store.migrations import migrate

if TYPE_CHECKING:
    import httpx
    from world import World

__all__ = ["as_user", "engine"]
PAGE = "/console/premises/p1/high-rise"


def later(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """The server's clock, `days` from now."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    monkeypatch.setattr(clock, "now", lambda timespec="milliseconds": at.isoformat(
        timespec=timespec).replace("+00:00", "Z"))
    monkeypatch.setattr(clock, "today", lambda plus_days=0: (
        at.date() + dt.timedelta(days=plus_days)).isoformat())


async def _reported(world: World, super_: httpx.AsyncClient) -> str:
    path = await _issue(super_)
    response, _ = await _report(world, path)
    assert response.status_code == 303
    found = re.search(r"/faults/(F-[A-Z0-9]{8})", response.headers["location"])
    assert found
    return found.group(1)


def crash(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the server died between the fault and the record")


async def test_a_fault_and_its_record_rewrite_are_one_transaction(
        world: World, as_user: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    await _issue(await as_user("super"))
    link = submissions.Link(id=1, premises_id="p1")
    before = await world.db.read(lambda c: records.get(c, "p1"))
    with monkeypatch.context() as m:
        m.setattr(submissions.writer, "write", crash)
        with pytest.raises(RuntimeError):
            await submissions.report(world.db, world.app.state.sync, link, dict(FAULT))
    assert not list(await world.db.execute("SELECT reference FROM equipment_faults"))
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "equipment_fault_reported" not in kinds
    assert await world.db.read(lambda c: records.get(c, "p1")) == before

    ref = await submissions.report(world.db, world.app.state.sync, link, dict(FAULT))
    with_fault = await world.db.read(lambda c: records.get(c, "p1"))
    with monkeypatch.context() as m:
        m.setattr(submissions.writer, "write", crash)
        with pytest.raises(RuntimeError):
            await submissions.repaired(world.db, world.app.state.sync, link, ref, "Fixed")
    row = (await world.db.execute("SELECT repaired_at FROM equipment_faults")).first()
    assert row[0] is None  # still open, as the record still says
    assert await world.db.read(lambda c: records.get(c, "p1")) == with_fault


async def test_an_unrepaired_fault_is_flagged_for_review_after_the_set_time(
        world: World, as_user: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    super_ = await as_user("super")
    ref = await _reported(world, super_)
    days = world.app.state.settings.fault_review_days
    assert days == 14
    assert "for_review" not in (await _pulled(world))["equipment_faults"][0]
    later(monkeypatch, days - 1)
    assert await fault_review.flag_due(world.db, days) == 0
    later(monkeypatch, days + 0.01)
    assert await fault_review.flag_due(world.db, days) == 1
    assert await fault_review.flag_due(world.db, days) == 0  # already flagged
    fault = (await _pulled(world))["equipment_faults"][0]
    assert fault["id"] == ref and fault["for_review"] is True
    assert "For review: no repair reported in time." in (
        await super_.get("/console/premises/p1")).text
    view = (await world.client.get("/api/compliance", headers=world.as_("super"))).json()
    assert view["total"]["faults_for_review"] == 1
    assert view["buildings"][0]["open_faults"][0]["for_review"] is True


async def test_a_supervisor_confirms_a_fault_and_its_review_clock_restarts(
        world: World, as_user: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    super_ = await as_user("super")
    ref = await _reported(world, super_)
    later(monkeypatch, 15)
    await fault_review.flag_due(world.db, 14)
    confirmed = await _post_form(super_, PAGE, f"/console/premises/p1/faults/{ref}/confirm",
                                 {"note": "Engineer booked for Friday"})
    assert confirmed.status_code == 303
    fault = (await _pulled(world))["equipment_faults"][0]
    assert "for_review" not in fault
    assert fault["confirmed_by"] == "super" and fault["confirmed_on"] == clock.today()
    page = (await super_.get(PAGE)).text
    assert "confirmed still out of order by super" in page and "Engineer booked" in page
    later(monkeypatch, 30)
    assert await fault_review.flag_due(world.db, 14) == 1
    assert (await _pulled(world))["equipment_faults"][0]["for_review"] is True
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "equipment_fault_confirmed" in kinds


async def test_a_supervisor_marks_a_fault_repaired_with_a_note(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    ref = await _reported(world, super_)
    action = f"/console/premises/p1/faults/{ref}/repaired"
    refused = await _post_form(super_, PAGE, action, {"note": ""})
    assert refused.status_code == 422 and "Say how you know it is repaired" in refused.text
    assert "equipment_faults" in await _pulled(world)
    done = await _post_form(super_, PAGE, action, {"note": "Seen working on a visit"})
    assert done.status_code == 303
    assert "equipment_faults" not in await _pulled(world)
    row = (await world.db.execute("SELECT repaired_by, repair_note FROM equipment_faults")
           ).first()
    assert (row[0], row[1]) == ("super", "Seen working on a visit")
    assert "(marked by super)" in (await super_.get(PAGE)).text
    again = await _post_form(super_, PAGE, action, {"note": "twice"})
    assert again.status_code == 409


async def test_a_crew_user_or_a_supervisor_of_another_station_cannot_review_a_fault(
        world: World, as_user: Browser) -> None:
    ref = await _reported(world, await as_user("super"))
    for username in ("csuper", "crew"):
        client = await as_user(username)
        shown = await client.get("/console/signin")  # a CSRF token of their own session
        token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert token
        for action in ("confirm", "repaired"):
            response = await client.post(f"/console/premises/p1/faults/{ref}/{action}",
                                         data={"csrf": token.group(1), "note": "x"})
            assert response.status_code == 403, (username, action)
            assert ("outside your station grounds" if username == "csuper"
                    else "The console is for supervisors and admins") in response.text
    assert "equipment_faults" in await _pulled(world)


def test_the_housekeeping_command_flags_faults_past_review(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.db"

    async def a_fault_twenty_days_old() -> None:
        db = await Database(path).open()
        await migrate(db)

        def rows(conn: Any) -> None:
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES "
                         "('A01', 'Ashby', 52.2, 0.12)")
            records.insert_many(conn, [make_premises("p1", "A01", "Tall Flats")])
            conn.execute("INSERT INTO submission_links (premises_id, token_hash, created_by, "
                         "created_at, expires_at) VALUES ('p1', 'sha256:x', 'super', "
                         "'2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z')")
            owner_links.insert_fault(conn, {
                **FAULT, "reference": "F-AAAAAAAA", "premises_id": "p1", "link_id": 1,
                "reported_at": ago(clock.now(), 20)})
        await db.write(rows)
        await db.close()
    asyncio.run(a_fault_twenty_days_old())
    monkeypatch.delenv("WATCHBOOK_DATABASE_URL", raising=False)
    assert main(["housekeeping", "--db", str(path)]) == 0
    assert "1 records with faults now for review" in capsys.readouterr().out

    async def on_record() -> Any:
        db = await Database(path).open()
        doc = await db.read(lambda c: records.get(c, "p1"))
        await db.close()
        return doc["equipment_faults"]
    assert asyncio.run(on_record())[0]["for_review"] is True
