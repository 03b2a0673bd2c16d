"""The merge rules of sync/merge.py at their edges: several changes in one mutation, list
fields, paths into list items, and what `apply` copies and derives."""

from __future__ import annotations

from typing import Any

from sync import merge

PUMP = {"kind": "hydrant", "location": "Gate", "notes": ""}
TANK = {"kind": "static_tank", "location": "Yard", "notes": ""}
CURRENT: dict[str, Any] = {
    "id": "p1", "station": "A01", "name": "Mill", "rvp": "Gate", "risk_level": 2,
    "harms": ["life_public", "environment"], "water_supplies": [PUMP],
    "contacts": [{"name": "Al", "role": "", "phone": ""}],
    "hazards": [{"id": "h1", "type": "lpg", "location": "Yard"},
                {"id": "h2", "type": "asbestos", "location": "Roof"}],
}


def test_a_no_op_change_does_not_stop_the_changes_after_it() -> None:
    out = merge.merge(CURRENT, [("name", "Old", "Mill"), ("rvp", "Gate", "Yard"),
                                ("risk_level", 1, 2), ("use", "", "Shop")])
    assert out.apply == {"rvp": "Yard", "use": "Shop"} and out.clashes == []


def test_a_no_op_change_on_a_locked_path_does_not_stop_a_clash_after_it() -> None:
    out = merge.merge(CURRENT, [("name", "x", "Mill"), ("rvp", "Gate", "Yard")],
                      locked={"name", "rvp"})
    assert out.apply == {} and [c.path for c in out.clashes] == ["rvp"]


def test_a_locked_clash_holds_base_server_and_client() -> None:
    [clash] = merge.merge(CURRENT, [("rvp", "Gate", "Yard")], locked={"rvp"}).clashes
    assert (clash.path, clash.base, clash.server, clash.client) == ("rvp", "Gate", "Gate",
                                                                   "Yard")


def test_water_supplies_and_contacts_clash_instead_of_merging_as_sets() -> None:
    out = merge.merge(CURRENT, [("water_supplies", [], [TANK]),
                                ("contacts", [], [{"name": "Bo", "role": "", "phone": ""}])])
    assert out.apply == {}
    assert [(c.path, c.base, c.server) for c in out.clashes] == [
        ("water_supplies", [], [PUMP]), ("contacts", [], CURRENT["contacts"])]


def test_harms_merge_only_when_every_side_is_a_list() -> None:
    for old, new in [(None, ["heritage"]), (["heritage"], None), ("x", ["heritage"])]:
        out = merge.merge(CURRENT, [("harms", old, new)])
        assert out.apply == {} and [c.path for c in out.clashes] == ["harms"]
    out = merge.merge({**CURRENT, "harms": "odd"}, [("harms", [], ["heritage"])])
    assert [c.path for c in out.clashes] == ["harms"]


def test_a_set_merge_that_changes_nothing_applies_nothing() -> None:
    out = merge.merge(CURRENT, [("harms", ["economic"], ["environment"])])
    assert out.apply == {} and out.clashes == []


def test_a_set_merge_keeps_the_server_order_then_the_additions() -> None:
    assert merge.merge_set(["a", "b"], ["c", "a", "d", "b"], ["b", "e", "a", "f"]) == [
        "c", "a", "d", "b", "e", "f"]
    assert merge.merge_set(["a"], ["b", "c"], ["c", "b"]) == ["b", "c"]
    assert merge.merge_set(["a", "b"], ["b", "a"], []) == []


def test_a_hazard_field_path_keeps_everything_after_the_hazard_id() -> None:
    assert merge._split("hazards/h1/notes/extra") == ("hazards", "h1", "notes/extra")
    assert merge._split("hazards/h1") == ("hazards", "h1", None)
    assert merge._split("name") == ("name", None, None)


def test_paths_read_fields_items_and_item_fields() -> None:
    assert merge.get_path(CURRENT, "hazards/h2") == CURRENT["hazards"][1]
    assert merge.get_path(CURRENT, "hazards/h2/location") == "Roof"
    assert merge.get_path(CURRENT, "hazards/h9") is None
    assert merge.get_path(CURRENT, "hazards/h9/location") is None
    assert merge.get_path(CURRENT, "observations/o1") is None  # no list at all
    assert merge.get_path(CURRENT, "harms") == ["life_public", "environment"]
    assert merge.get_path({}, "risk_level") == 4 and merge.get_path({}, "harms") == []
    assert merge.get_path({}, "lat") is None


def test_setting_a_whole_item_replaces_it_in_place() -> None:
    doc = {"hazards": [dict(h) for h in CURRENT["hazards"]]}
    merge.set_path(doc, "hazards/h1", {"id": "h1", "type": "silo"})
    assert doc["hazards"] == [{"id": "h1", "type": "silo"}, CURRENT["hazards"][1]]


def test_setting_an_item_to_none_removes_only_it() -> None:
    doc = {"hazards": list(CURRENT["hazards"])}
    merge.set_path(doc, "hazards/h1", None)
    assert doc["hazards"] == [CURRENT["hazards"][1]]


def test_setting_a_field_of_a_missing_item_or_removing_one_changes_nothing() -> None:
    doc = {"hazards": list(CURRENT["hazards"])}
    merge.set_path(doc, "hazards/h9/location", "x")
    merge.set_path(doc, "hazards/h9", None)
    assert doc["hazards"] == CURRENT["hazards"]
    empty: dict[str, Any] = {}
    merge.set_path(empty, "observations/o1", {"id": "o1"})
    assert empty == {"observations": [{"id": "o1"}]}


def test_apply_leaves_the_input_untouched_even_when_the_result_is_changed() -> None:
    before = {**CURRENT, "hazards": [dict(h) for h in CURRENT["hazards"]]}
    out = merge.apply(before, {"hazards/h2/location": "Yard", "harms": ["heritage"]}, {})
    out["hazards"][0]["location"] = "changed later"
    assert before["hazards"] == CURRENT["hazards"]
    assert out["hazards"][1]["location"] == "Yard" and out["harms"] == ["heritage"]
    assert out["rvp"] == "Gate" and "next_review_due" not in out


def test_apply_recomputes_next_review_due_when_only_the_level_changes() -> None:
    doc = {**CURRENT, "assessed_at": "2024-01-01"}
    assert merge.apply(doc, {"risk_level": 1}, {1: 10})["next_review_due"] == "2024-01-11"
    assert merge.apply(doc, {"risk_level": 2}, {2: 730})["next_review_due"] == "2025-12-31"
    assert merge.apply(doc, {"assessed_at": "2024-02-01"}, {2: 5})["next_review_due"] == \
        "2024-02-06"
    assert merge.apply(doc, {"assessed_at": None}, {2: 5})["next_review_due"] is None
