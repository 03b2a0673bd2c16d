"""Building owners, step 1: an admin or supervisor marks a premises as a high-rise residential
building and names its responsible person; the change is a new record version, through the
one writer, that devices receive on their next pull."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import pytest
from engines import on_both
from test_console import Browser, as_user, csrf_of

from server import owners
from server.store import records

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user"]  # the signed-in browser fixture, shared with tests/test_console.py

FORM = {"height_m": "31.5", "storeys": "11", "responsible_person": "Priya Shah",
        "organisation": "Carrow Estates Ltd", "phone": "01603 555 010",
        "email": "priya@carrow.example"}


async def _post(client: object, pid: str, data: dict[str, str]) -> object:
    page = await client.get(f"/console/premises/{pid}/high-rise")  # type: ignore[attr-defined]
    assert page.status_code == 200, page.text
    return await client.post(f"/console/premises/{pid}/high-rise",  # type: ignore[attr-defined]
                             data={"csrf": csrf_of(page.text), **data})


async def test_a_supervisor_marks_a_high_rise_building_as_a_new_version(
        world: World, as_user: Browser) -> None:
    client = await as_user("super")
    before = await world.db.read(lambda c: records.get(c, "p1"))
    response = await _post(client, "p1", FORM)
    assert response.status_code == 303  # type: ignore[attr-defined]
    after = await world.db.read(lambda c: records.get(c, "p1"))
    assert after["version"] == before["version"] + 1
    assert after["updated_by"] == "super"
    assert after["high_rise"] == {"height_m": 31.5, "storeys": 11,
                                  "responsible_person": "Priya Shah",
                                  "organisation": "Carrow Estates Ltd",
                                  "phone": "01603 555 010", "email": "priya@carrow.example"}
    page = await client.get("/console/premises/p1")
    assert "High-rise residential · 31.5 m · 11 storeys" in page.text
    assert "responsible person Priya Shah, 01603 555 010" in page.text


@on_both
async def test_a_device_receives_the_high_rise_marking_on_its_next_pull(
        world: World, as_user: Browser) -> None:
    first = await world.client.get("/api/sync/pull", headers=world.as_("crew"))
    cursor = first.json()["cursor"]
    await _post(await as_user("super"), "p1", FORM)
    pulled = await world.client.get("/api/sync/pull", params={"cursor": cursor},
                                    headers=world.as_("crew"))
    changed = [c["record"] for c in pulled.json()["changes"]
               if c["type"] == "premises" and c["record"]["id"] == "p1"]
    assert changed and changed[0]["high_rise"]["responsible_person"] == "Priya Shah"


@pytest.mark.parametrize(("field", "value", "words"), [
    ("height_m", "tall", "Height (metres) must be a number"),
    ("storeys", "7.5", "Storeys must be a whole number"),
    ("storeys", "999", "Storeys is out of range"),
    ("email", "nobody", "Email must be an address"),
])
async def test_bad_values_are_refused_beside_the_field_and_nothing_is_written(
        world: World, as_user: Browser, field: str, value: str, words: str) -> None:
    before = await world.db.read(lambda c: records.get(c, "p1"))
    response = await _post(await as_user("super"), "p1", {**FORM, field: value})
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert f'id="hr-{field}-error"' in response.text  # type: ignore[attr-defined]
    assert words in response.text  # type: ignore[attr-defined]
    after = await world.db.read(lambda c: records.get(c, "p1"))
    assert after["version"] == before["version"] and "high_rise" not in after


async def test_a_low_building_is_not_high_rise(world: World, as_user: Browser) -> None:
    response = await _post(await as_user("super"), "p1", {**FORM, "height_m": "9",
                                                           "storeys": "3"})
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "at least 18 m" in response.text  # type: ignore[attr-defined]


async def test_crews_and_other_grounds_cannot_mark_a_building(
        world: World, as_user: Browser) -> None:
    crew = await as_user("crew")
    assert (await crew.get("/console/premises/p1/high-rise")).status_code == 403
    other = await as_user("csuper")
    assert (await other.get("/console/premises/p1/high-rise")).status_code == 403


async def test_unmarking_removes_the_marking(world: World, as_user: Browser) -> None:
    client = await as_user("admin")
    await _post(client, "p1", FORM)
    response = await _post(client, "p1", {"action": "unmark"})
    assert response.status_code == 303  # type: ignore[attr-defined]
    after = await world.db.read(lambda c: records.get(c, "p1"))
    assert "high_rise" not in after


def test_older_records_without_the_fields_still_validate() -> None:
    from sync.record import validate
    record = validate({"id": "x", "station": "A01", "name": "Old record"})
    assert record.high_rise is None
    assert owners.qualifies({"storeys": 7}) and not owners.qualifies({"height_m": 17.9})
    with pytest.raises(msgspec.ValidationError, match="high_rise.storeys"):
        validate({"id": "x", "station": "A01", "name": "n", "high_rise": {"storeys": 0}})
