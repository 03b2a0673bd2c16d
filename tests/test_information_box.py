"""Building owners: the responsible person records the annual information-box check on the
portal (reg. 4); it is kept with its history, audited, and put on the crews' record, where
the app and the console show it when problems were found or it is more than 12 months old."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from engines import engine  # noqa: F401  (each World test on SQLite and on PostgreSQL)
from test_console import Browser, as_user, browser
from test_portal import _issue, _post_form, _pulled

from server import clock, information_box
from server.store import records

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user", "engine"]

CHECK = {"checked_on": "2026-11-20", "outcome": "problems",
         "problems": "Floor plans in the box are the 2019 ones.", "reported_by": "Priya Shah"}


def test_the_check_is_overdue_only_more_than_twelve_months_after_it() -> None:
    assert information_box.due("2025-12-01") == "2026-12-01"
    assert not information_box.overdue("2025-12-01", "2026-12-01")
    assert information_box.overdue("2025-12-01", "2026-12-02")
    assert information_box.due("2024-02-29") == "2025-02-28"
    assert information_box.overdue(None, "2026-12-01")  # never checked


def test_a_check_form_gives_every_problem_at_once_in_plain_words() -> None:
    _, errors = information_box.parse({"checked_on": "2999-01-01", "outcome": "maybe",
                                       "problems": "", "reported_by": ""}, "2026-12-02")
    assert errors == {
        "checked_on": "The date of the check cannot be in the future.",
        "outcome": "Say whether the box and its contents are as they should be.",
        "reported_by": "Give your name."}
    _, errors = information_box.parse({"checked_on": "2026-02-30", "outcome": "problems",
                                       "problems": " ", "reported_by": "x" * 201}, "2026-12-02")
    assert set(errors) == {"checked_on", "problems", "reported_by"}
    assert errors["problems"] == "Say what problems you found."


async def test_a_check_with_problems_is_stored_audited_and_shown_to_crews(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    saved = await _post_form(person, path, path + "/information-box", CHECK)
    assert saved.status_code == 303
    page = await person.get(saved.headers["location"])
    assert "the information-box check is recorded" in page.text
    assert "Last checked on 20 Nov 2026 by Priya Shah: Problems found" in page.text
    assert page.text.count('id="box-last"') == 1
    assert "<title>Maple Court Care Home · Fire service building information</title>" in page.text

    record = await _pulled(world)
    assert record["information_box"] == {
        "checked_on": "2026-11-20", "due": "2027-11-20", "outcome": "problems",
        "problems": CHECK["problems"], "reported_by": "Priya Shah"}
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "information_box_checked" in kinds
    console = await super_.get("/console/premises/p1")
    assert "Information box: problems found at the check on 20 Nov 2026" in console.text
    history = await super_.get("/console/premises/p1/high-rise")
    assert "problems found</strong>: Floor plans in the box are the 2019 ones." in history.text


async def test_an_old_check_is_overdue_and_a_newer_one_replaces_it_on_the_record(
        world: World, as_user: Browser) -> None:
    super_ = await as_user("super")
    path = await _issue(super_)
    person = browser(world)
    old = {**CHECK, "checked_on": "2025-06-01", "outcome": "ok", "problems": "ignored"}
    assert (await _post_form(person, path, path + "/information-box", old)).status_code == 303
    record = await _pulled(world)
    assert record["information_box"]["problems"] == ""   # only with problems found
    assert record["information_box"]["due"] < clock.today()
    assert "Information box: check overdue, last checked 1 Jun 2025" in (
        await super_.get("/console/premises/p1")).text
    new = {**CHECK, "checked_on": clock.today(), "outcome": "ok", "problems": ""}
    assert (await _post_form(person, path, path + "/information-box", new)).status_code == 303
    assert (await _pulled(world))["information_box"]["checked_on"] == clock.today()
    assert "Information box:" not in (await super_.get("/console/premises/p1")).text
    late = {**old, "checked_on": "2024-01-01"}  # recorded late: the newest check still counts
    assert (await _post_form(person, path, path + "/information-box", late)).status_code == 303
    assert (await _pulled(world))["information_box"]["checked_on"] == clock.today()
    assert len(list(await world.db.execute("SELECT id FROM information_box_checks"))) == 3


async def test_a_bad_check_is_refused_beside_each_field_and_nothing_is_stored(
        world: World, as_user: Browser) -> None:
    path = await _issue(await as_user("super"))
    before = await world.db.read(lambda c: records.get(c, "p1"))
    response = await _post_form(browser(world), path, path + "/information-box", {
        "checked_on": "", "outcome": "problems", "problems": "", "reported_by": ""})
    assert response.status_code == 422
    assert "Please correct the 3 problems below." in response.text
    for field, words in (("checked_on", "Give the date you checked the box."),
                         ("problems", "Say what problems you found."),
                         ("reported_by", "Give your name.")):
        assert f'id="b-{field}-error">{words}</span>' in response.text
    assert not list(await world.db.execute("SELECT id FROM information_box_checks"))
    after = await world.db.read(lambda c: records.get(c, "p1"))
    assert after["version"] == before["version"]


async def test_a_check_and_its_record_are_one_transaction(
        world: World, as_user: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    await _issue(await as_user("super"))
    before = await world.db.read(lambda c: records.get(c, "p1"))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the server died half way")
    monkeypatch.setattr(information_box.writer, "write", crash)
    with pytest.raises(RuntimeError):
        await information_box.record(world.db, "p1", None, {**CHECK})
    assert not list(await world.db.execute("SELECT id FROM information_box_checks"))
    kinds = [r[0] for r in await world.db.execute("SELECT kind FROM events")]
    assert "information_box_checked" not in kinds
    after = await world.db.read(lambda c: records.get(c, "p1"))
    assert after == before
