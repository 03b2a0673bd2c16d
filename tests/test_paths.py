"""The table of mutation paths (sync/paths.py) gives each case in tests/cases/mutation_paths.json
its stated changes and record after; tests/browser/test_mutation_paths.py holds
pwa/page/edits.js to the same cases, so the Python and the browser clients cannot drift apart."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from sync import paths
from sync.protocol import Mutation, kind_of

CASES = json.loads((Path(__file__).parent / "cases" / "mutation_paths.json").read_text())["cases"]


def test_the_cases_cover_every_mutation_kind() -> None:
    kinds = {str(t.__struct_config__.tag) for t in typing.get_args(Mutation)}
    assert {c["mutation"]["kind"] for c in CASES} == kinds


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_mutation_changes_the_paths_its_case_states(case: dict[str, Any]) -> None:
    m = msgspec.convert(case["mutation"], Mutation)  # type: ignore[arg-type]
    assert kind_of(m) == case["mutation"]["kind"]
    changed = paths.changes(m, case["before"], case.get("conflict"))
    assert [list(c) for c in changed] == case["paths"]
    assert paths.applied(case["before"], changed) == case["after"]


def test_applying_changes_leaves_the_record_before_as_it_was() -> None:
    case = next(c for c in CASES if c["mutation"]["kind"] == "update_hazard")
    before = json.loads(json.dumps(case["before"]))
    m = msgspec.convert(case["mutation"], Mutation)  # type: ignore[arg-type]
    paths.applied(before, paths.changes(m, before))
    assert before == case["before"]
