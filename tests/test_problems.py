"""Plain English for what is wrong with a record, from one place (sync/problems.py): what the
server says in a rejected receipt, what the console shows, and what the app is served to check
with before saving."""

from __future__ import annotations

import msgspec
import pytest
from world import World

from sync import problems
from sync.record import Premises


def explained(**fields: object) -> tuple[str, str]:
    doc = {"id": "p1", "station": "A01", "name": "Mill", **fields}
    with pytest.raises(msgspec.ValidationError) as exc:
        msgspec.convert(doc, Premises)
    return problems.explain(str(exc.value), doc)


@pytest.mark.parametrize(("fields", "path", "text"), [
    ({"tactical_plan": "x" * 67_000}, "tactical_plan",
     "Tactical plan is too long: 67,000 characters, at most 20,000"),
    ({"name": ""}, "name", "Name is required"),
    ({"postcode": "ZZ9"}, "postcode",
     "Postcode is not in the right form: use a UK postcode in capitals, such as AB1 2CD"),
    ({"lat": 70.0}, "lat", "Latitude is too high: 70, at most 61"),
    ({"risk_score": "high"}, "risk_score", "Risk score must be a whole number"),
    ({"evacuation_strategy": "run"}, "evacuation_strategy",
     "Evacuation strategy: “run” is not one of the choices"),
    ({"contacts": [{"role": "Manager"}]}, "contacts[0].name", "Contact 1 (name) is required"),
    ({"hazards": [{"id": "h1", "type": "lpg", "location": "x" * 300}]}, "hazards[0].location",
     "Hazard 1 (location on site) is too long: 300 characters, at most 200"),
])
def test_validation_errors_read_as_plain_english_naming_the_field(
        fields: dict[str, object], path: str, text: str) -> None:
    assert explained(**fields) == (path, text)


def test_a_rejection_reason_is_said_in_words_and_an_invalid_change_by_its_sentence() -> None:
    assert problems.reason("forbidden", "station X is outside your grounds") == (
        "You may not make this change: station X is outside your grounds")
    assert problems.reason("invalid", "Name is required") == "Name is required"
    assert problems.reason(None) == "The server did not accept this change"


def test_the_app_is_served_the_servers_own_limits_labels_and_templates() -> None:
    checks = problems.for_app()
    record = checks["schema"]["$defs"]["Premises"]["properties"]
    assert record["tactical_plan"]["maxLength"] == 20_000
    assert record["risk_level"]["maximum"] == 4
    assert "lpg" in checks["schema"]["$defs"]["Hazard"]["properties"]["type"]["enum"]
    assert checks["templates"]["too_long"] == problems.TEMPLATES["too_long"]
    assert set(problems.LABELS) >= set(record)  # every field has a label


async def test_a_too_long_plan_is_rejected_with_a_plain_english_receipt(world: World) -> None:
    device_id = (await world.db.execute(
        "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id "
        "WHERE u.username = 'super'")).single_value()
    r = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [{"kind": "update", "device_id": device_id, "seq": 1, "premises_id": "p1",
                       "base_version": 1, "changes": [
                           {"field": "tactical_plan", "old": "", "new": "x" * 67_000}]}]})
    receipt = r.json()["receipts"][0]
    assert (receipt["status"], receipt["reason"]) == ("rejected", "invalid")
    assert receipt["message"] == "Tactical plan is too long: 67,000 characters, at most 20,000"


async def test_the_shell_serves_the_checks_the_app_runs_before_saving(world: World) -> None:
    r = await world.client.get("/pwa/checks.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["templates"]["required"] == "{label} is required"
