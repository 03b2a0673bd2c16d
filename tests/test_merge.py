"""The merge rules of sync/merge.py, one table row per rule."""

from __future__ import annotations

from typing import Any

import pytest

from sync import merge

CURRENT: dict[str, Any] = {
    "id": "p1", "station": "A01", "name": "Mill", "risk_level": 2, "risk_notes": "server notes",
    "harms": ["life_public", "environment"], "version": 5,
    "hazards": [{"id": "h1", "type": "lpg", "location": "Yard", "severity": "high"}],
    "observations": [{"id": "o1", "category": "access", "note": "gate", "status": "open"}],
}

CASES = [
    # (rule, changes, locked, expected apply, expected clash paths)
    ("rule1_field_changed_only_by_client_applies",
     [("name", "Mill", "Mill House")], set(), {"name": "Mill House"}, []),
    ("rule2_same_change_on_both_sides_is_a_no_op",
     [("name", "Old", "Mill")], set(), {}, []),
    ("rule3_different_changes_clash",
     [("name", "Old", "New")], set(), {}, ["name"]),
    ("rule3_free_text_clash_is_never_merged",
     [("risk_notes", "base notes", "client notes")], set(), {}, ["risk_notes"]),
    ("rule4_choice_lists_merge_as_sets",
     [("harms", ["life_public"], ["life_public", "heritage"])], set(),
     {"harms": ["life_public", "environment", "heritage"]}, []),
    ("rule4_set_merge_applies_removals",
     [("harms", ["life_public", "economic"], ["economic"])], set(),
     {"harms": ["environment"]}, []),
    ("rule5_locked_field_clashes_even_when_old_matches",
     [("name", "Mill", "Other")], {"name"}, {}, ["name"]),
    ("rule5_locked_field_accepts_the_server_value",
     [("name", "Old", "Mill")], {"name"}, {}, []),
    ("rule6_non_clashing_fields_apply_beside_a_clash",
     [("name", "Mill", "Mill House"), ("risk_notes", "base", "client")], set(),
     {"name": "Mill House"}, ["risk_notes"]),
    ("missing_field_reads_as_its_default",
     [("rvp", "", "Car park")], set(), {"rvp": "Car park"}, []),
    ("hazard_added_when_absent",
     [("hazards/h9", None, {"id": "h9", "type": "asbestos"})], set(),
     {"hazards/h9": {"id": "h9", "type": "asbestos"}}, []),
    ("hazard_removed_when_client_saw_it_unchanged",
     [("hazards/h1", CURRENT["hazards"][0], None)], set(), {"hazards/h1": None}, []),
    ("hazard_removal_clashes_with_a_server_edit_of_it",
     [("hazards/h1", {**CURRENT["hazards"][0], "location": "Gate"}, None)], set(), {},
     ["hazards/h1"]),
    ("hazard_field_edit_applies",
     [("hazards/h1/location", "Yard", "Rear yard")], set(),
     {"hazards/h1/location": "Rear yard"}, []),
    ("hazard_field_clash",
     [("hazards/h1/severity", "low", "medium")], set(), {}, ["hazards/h1/severity"]),
]


@pytest.mark.parametrize("rule, changes, locked, apply, clashes", CASES,
                         ids=[c[0] for c in CASES])
def test_merge_rule(rule: str, changes: list[tuple[str, Any, Any]], locked: set[str],
                    apply: dict[str, Any], clashes: list[str]) -> None:
    out = merge.merge(CURRENT, changes, locked)
    assert out.apply == apply
    assert [c.path for c in out.clashes] == clashes


def test_a_clash_holds_base_server_and_client_values() -> None:
    [clash] = merge.merge(CURRENT, [("risk_notes", "base", "client")]).clashes
    assert (clash.base, clash.server, clash.client) == ("base", "server notes", "client")


@pytest.mark.parametrize("current, base, clashes", [(5, 5, False), (6, 5, True), (5, 6, False)])
def test_rule7_delete_clashes_only_with_a_newer_record(current: int, base: int,
                                                        clashes: bool) -> None:
    assert merge.delete_clashes(current, base) is clashes


def test_apply_recomputes_next_review_due_when_assessment_changes() -> None:
    out = merge.apply(CURRENT, {"assessed_at": "2024-01-01", "risk_level": 1}, {1: 365})
    assert out["next_review_due"] == "2024-12-31"
    assert CURRENT.get("next_review_due") is None  # the input is untouched


def test_apply_sets_list_items_by_id() -> None:
    out = merge.apply(CURRENT, {"hazards/h1/location": "Gate", "observations/o1/status":
                                "accepted", "hazards/h2": {"id": "h2", "type": "lpg"}}, {})
    assert [h["id"] for h in out["hazards"]] == ["h1", "h2"]
    assert out["hazards"][0]["location"] == "Gate"
    assert out["observations"][0]["status"] == "accepted"


@pytest.mark.parametrize("base, current, outcome, expected", [
    (5, 5, merge.Outcome(), "applied"),
    (4, 5, merge.Outcome(), "merged"),
    (5, 5, merge.Outcome(clashes=[merge.Clash("x", 1, 2, 3)]), "conflict"),
])
def test_status_names_how_the_mutation_landed(base: int, current: int, outcome: merge.Outcome,
                                              expected: str) -> None:
    assert merge.status(base, current, outcome) == expected


def test_merge_is_deterministic() -> None:
    changes = [("harms", ["economic"], ["heritage", "community"]), ("name", "x", "y")]
    assert merge.merge(CURRENT, changes) == merge.merge(CURRENT, changes)
