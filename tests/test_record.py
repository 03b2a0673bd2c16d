"""sync/record.py's derived values: when a temporary hazard has expired (one rule, shared
with the PWA through tests/cases/hazard_expiry.json) and the hazards still in force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.record import current_hazard_types, hazard_expired

CASES = json.loads((Path(__file__).parent / "cases" / "hazard_expiry.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['hazard'].get('expires')}@{c['today']}")
def test_a_temporary_hazard_expires_after_its_date(case: dict[str, object]) -> None:
    assert hazard_expired(case["hazard"], case["today"]) is case["expired"]  # type: ignore[arg-type]


def test_current_hazard_types_leave_out_expired_ones() -> None:
    hazards: list[dict[str, object]] = [
        {"id": "a", "type": "scaffolding", "expires": "2026-11-16"},
        {"id": "b", "type": "lpg"},
        {"id": "c", "type": "lpg", "expires": "2026-11-16"},
        {"id": "d", "type": "asbestos", "expires": "2026-12-01"}]
    assert current_hazard_types(hazards, "2026-12-01") == ["asbestos", "lpg"]
    assert current_hazard_types(hazards, "2026-12-02") == ["lpg"]
