"""Demo data: deterministic, valid, realistic enough to exercise reviews and hazards."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from server import demo
from server.auth import Auth
from server.settings import Settings
from server.store.database import Database
from server.store.migrations import migrate
from sync import record

TODAY = dt.date(2025, 6, 1)


def _premises(n: int = 500, seed: int = 1) -> list[dict[str, object]]:
    return demo.generate_premises(n, demo.generate_stations(12), seed, TODAY)


def test_same_seed_gives_identical_records() -> None:
    assert _premises(seed=7) == _premises(seed=7)


def test_different_seed_gives_different_records() -> None:
    assert _premises(seed=7) != _premises(seed=8)


def test_every_generated_record_is_valid_and_canonical() -> None:
    for doc in _premises(2000):
        assert record.to_dict(record.validate(doc)) == doc


def test_some_records_are_overdue_for_review_and_some_are_not() -> None:
    due = [d["next_review_due"] for d in _premises(1000)]
    overdue = sum(1 for d in due if str(d) < TODAY.isoformat())
    assert 0.05 * len(due) < overdue < 0.5 * len(due)


def test_review_due_follows_the_settings_intervals() -> None:
    intervals = {1: 100, 2: 200, 3: 300, 4: 400}
    stations = demo.generate_stations(3)
    for doc in demo.generate_premises(200, stations, 1, TODAY, intervals):
        assert doc["next_review_due"] == record.next_review_due(
            doc["assessed_at"], doc["risk_level"], intervals)  # type: ignore[arg-type]


def test_hazards_match_the_premises_use() -> None:
    docs = _premises(3000)
    for doc in docs:
        allowed = demo.hazard_types_for(str(doc["use"])) | demo.TEMPORARY_HAZARDS
        assert {h["type"] for h in doc["hazards"]} <= allowed  # type: ignore[attr-defined]
    kinds = {(d["use"], h["type"]) for d in docs for h in d["hazards"]}  # type: ignore[attr-defined]
    assert ("Battery energy storage site", "bess") in kinds
    assert ("Vehicle workshop", "acetylene") in kinds
    assert ("Farm", "silo") in kinds
    assert ("High-rise flats", "combustible_cladding") in kinds


def test_temporary_hazards_carry_an_expiry() -> None:
    temporary = [h for d in _premises(2000) for h in d["hazards"]  # type: ignore[attr-defined]
                 if h["type"] in demo.TEMPORARY_HAZARDS]
    assert temporary and all(h["expires"] for h in temporary)


def test_premises_sit_near_their_station() -> None:
    stations = {s["code"]: s for s in demo.generate_stations(12)}
    for doc in _premises(1000):
        s = stations[doc["station"]]  # type: ignore[index]
        assert demo.records.distance_m(s["lat"], s["lon"], doc["lat"], doc["lon"]) < 40_000  # type: ignore[arg-type]


def test_first_station_also_covers_its_nearest_neighbour() -> None:
    stations = demo.generate_stations(12)
    assert stations[0]["extra_grounds"] == ["MAR"]
    assert all(s["extra_grounds"] == [] for s in stations[1:])


def test_twenty_thousand_premises_have_unique_ids_and_uprns() -> None:
    docs = demo.generate_premises(20_000, demo.generate_stations(12), 3, TODAY)
    assert len(docs) == 20_000
    assert len({d["id"] for d in docs}) == 20_000
    assert len({d["uprn"] for d in docs}) == 20_000
    assert all(len(str(d["uprn"])) == 12 for d in docs)


async def test_load_demo_inserts_stations_premises_and_scoped_users(tmp_path: Path) -> None:
    settings = Settings(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1,
                        db_path=tmp_path / "demo.db")
    db = await Database(settings.db_path).open()
    try:
        await migrate(db)
        made = await demo.load_demo(db, settings, premises=300, stations=5, today=TODAY)
        assert [m[0] for m in made] == ["crew", "supervisor", "admin"]
        assert (await db.execute("SELECT count(*) FROM premises")).single_value() == 300
        row = (await db.execute("SELECT extra_grounds FROM stations WHERE code = 'WIS'")).first()
        assert row is not None and json.loads(row[0]) == ["MAR"]
        crew = await Auth(db, settings).sign_in("crew", "crew", "test")
        assert crew.grounds == ("WIS", "MAR")
        assert await demo.load_demo(db, settings, premises=10, stations=5, today=TODAY) == []
    finally:
        await db.close()


async def test_the_demo_has_high_rise_buildings_with_a_lift_fault_and_an_overdue_box_check(
        tmp_path: Path) -> None:
    settings = Settings(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1,
                        db_path=tmp_path / "demo.db")
    db = await Database(settings.db_path).open()
    try:
        await migrate(db)
        await demo.load_demo(db, settings, premises=2000, stations=12, today=TODAY)
        rows = await db.execute("SELECT doc FROM premises WHERE json_extract(doc, "
                                "'$.high_rise') IS NOT NULL ORDER BY id")
        docs = [json.loads(r[0]) for r in rows]
        assert len(docs) == demo.HIGH_RISE_DEMO
        for doc in docs:
            hr = doc["high_rise"]
            assert hr["storeys"] >= 7 and hr["height_m"] >= 18 and hr["responsible_person"]
            assert doc["station"] in ("WIS", "MAR")  # the demo supervisor's grounds
        faults = [f for d in docs for f in d.get("equipment_faults") or []]
        assert [f["kind"] for f in faults] == ["firefighting_lift", "dry_riser"]
        assert faults[1]["for_review"] is True and "for_review" not in faults[0]
        boxes = [d.get("information_box") for d in docs]
        assert sum(1 for b in boxes if b and b["due"] < TODAY.isoformat()) == 1
        assert sum(1 for b in boxes if b and b["outcome"] == "problems") == 1
        assert boxes.count(None) == 1
        open_rows = await db.execute("SELECT premises_id FROM equipment_faults "
                                     "WHERE repaired_at IS NULL")
        assert len(list(open_rows)) == 2
        tall = demo.high_rise_demo(
            demo.generate_premises(2000, demo.generate_stations(12), 1, TODAY),
            demo.generate_stations(12), 1, TODAY)
        held = {p["premises_id"] for p in tall.plans}
        assert 0 < len(held) < demo.HIGH_RISE_DEMO  # some plans received, some missing
        assert tall.docs == docs  # deterministic
    finally:
        await db.close()
