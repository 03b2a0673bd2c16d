"""History entries record list fields item by item (sync/audit.py through sync/writer.py): an
entry's size follows the change, never the size of the record's lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from pg import Cluster

from server.store import records
from server.store.database import Database
from server.store.migrations import migrate
from server.store.postgres import migrations as pg_migrations
from server.store.postgres.database import PgDatabase
from server.store.sync import SqliteStore
from sync import audit, engine
from sync.protocol import AddObservation, FieldChange, ReviewObservation, Update
from sync.record import Observation
from sync.store import MemoryStore

CFG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095})
CAT = engine.Actor(3, "cat", "Cat", "crew", ("A01",), "d3")
SAM = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), "d1")
NOW = "2026-01-01T10:00:00Z"


def observations(n: int) -> list[dict[str, Any]]:
    return [{"id": f"o{i}", "category": "access", "note": f"note {i}", "by": "Cat", "at": NOW,
             "status": "open"} for i in range(n)]


async def audit_bytes_of_one_observation(tmp_path: Path, already: int) -> int:
    db = await Database(tmp_path / f"{already}.db", read_connections=1).open()
    try:
        await migrate(db)
        await db.execute_write("INSERT INTO stations (code, name) VALUES ('A01', 'Alpha')")
        store = SqliteStore(db)
        # reviewed ones (at most 200 may wait open, engine Rule 6d; reviewed ones stay for
        # the retention period, so a busy record's list is mostly those)
        doc = {"id": "p1", "station": "A01", "name": "Mill", "version": 7,
               "observations": [{**o, "status": "accepted"} for o in observations(already)]}
        await db.write(lambda conn: records.put_rows(conn, [doc], 1))
        m = AddObservation(device_id="d3", seq=1, client_time=NOW, premises_id="p1",
                           base_version=7, observation=Observation(
                               id="new", category="hazard", note="Cylinders by the gate"))
        receipt = (await store.write(lambda tx: engine.push(tx, CAT, [m], NOW, CFG))).receipts
        assert receipt[0].status == "applied"
        return int((await db.execute("SELECT sum(length(entry)) FROM audit")).single_value())
    finally:
        await db.close()


async def test_one_add_observation_writes_the_same_audit_bytes_whatever_the_record_holds(
        tmp_path: Path) -> None:
    sizes = {n: await audit_bytes_of_one_observation(tmp_path, n) for n in (0, 1, 50, 600)}
    assert len(set(sizes.values())) == 1, sizes
    assert sizes[600] < 600  # one item, not the list


def test_an_added_observation_is_recorded_whole_and_alone() -> None:
    old, new = observations(3), observations(4)
    assert audit.item_changes("observations", old, new) == [
        {"field": "observations", "change": "added", "id": "o3", "after": new[3]}]


def test_a_review_records_only_the_status_that_changed() -> None:
    old = observations(3)
    new = [dict(o) for o in old]
    new[1]["status"] = "dismissed"
    assert audit.item_changes("observations", old, new) == [
        {"field": "observations", "change": "changed", "id": "o1",
         "before": {"status": "open"}, "after": {"status": "dismissed"},
         "item": {"category": "access"}}]


def test_a_removed_hazard_is_recorded_whole() -> None:
    h = {"id": "h1", "type": "acetylene", "location": "Cylinders store"}
    assert audit.item_changes("hazards", [h], []) == [
        {"field": "hazards", "change": "removed", "id": "h1", "before": h}]


def test_contacts_are_matched_by_place_between_the_equal_ends() -> None:
    a, b, c = ({"name": n, "role": "", "phone": "01"} for n in "ABC")
    assert audit.item_changes("contacts", [a, b, c], [a, c]) == [
        {"field": "contacts", "change": "removed", "index": 1, "before": b}]
    b2 = {**b, "phone": "07"}
    assert audit.item_changes("contacts", [a, b, c], [a, b2, c]) == [
        {"field": "contacts", "change": "changed", "index": 1, "before": {"phone": "01"},
         "after": {"phone": "07"}, "item": {"name": "B"}}]
    assert audit.item_changes("contacts", [a], [a, b]) == [
        {"field": "contacts", "change": "added", "index": 1, "after": b}]


def test_an_item_stored_without_a_later_field_is_not_changed_by_its_default() -> None:
    old = [{"id": "h1", "type": "lpg"}]
    new = [{"id": "h1", "type": "lpg", "location": "", "description": "", "severity": "medium",
            "hazchem": "", "expires": None}]
    assert audit.item_changes("hazards", old, new) == []


def test_a_review_through_the_engine_audits_one_item_not_the_list() -> None:
    store = MemoryStore(["A01"])
    store.insert([{"id": "p1", "station": "A01", "name": "Mill", "version": 1,
                   "observations": observations(30)}])
    store.write(lambda tx: engine.push(tx, SAM, [
        ReviewObservation(device_id="d1", seq=1, client_time=NOW, premises_id="p1",
                          base_version=1, observation_id="o4", status="accepted"),
        Update(device_id="d1", seq=2, client_time=NOW, premises_id="p1", base_version=2,
               changes=[FieldChange("rvp", "", "Gate")])], NOW, CFG))
    review, update = store.history("p1")
    assert (review["before"], review["after"]) == ({}, {})
    assert [(i["id"], i["after"]) for i in review["items"]] == [("o4", {"status": "accepted"})]
    assert (update["after"], "items" in update) == ({"rvp": "Gate"}, False)


OLD_ENTRY = {  # as written before items: the whole list before and after
    "premises_id": "p1", "kind": "add_observation", "user": "cat", "device_id": "d3", "seq": 9,
    "replayed": False, "client_time": NOW, "server_time": NOW, "version": 5,
    "before": {"observations": observations(2)}, "after": {"observations": observations(3)},
    "conflict_ids": [], "resolved_conflict": None}
CREATED = {**OLD_ENTRY, "kind": "create", "before": {}, "seq": 1}
MIGRATED = {**OLD_ENTRY, "before": {}, "after": {}, "items": [
    {"field": "observations", "change": "added", "id": "o2", "after": observations(3)[2]}]}


async def test_migration_15_rewrites_stored_entries_item_by_item(tmp_path: Path) -> None:
    db = await Database(tmp_path / "w.db", read_connections=1).open()
    try:
        await migrate(db, upto=12)
        for entry in (CREATED, OLD_ENTRY):
            await db.execute_write("INSERT INTO audit (premises_id, server_time, entry) "
                                   "VALUES ('p1', ?, ?)", (NOW, msgspec.json.encode(entry).decode()))
        await migrate(db)
        rows = await db.execute("SELECT entry FROM audit ORDER BY id")
        assert [msgspec.json.decode(r[0]) for r in rows] == [CREATED, MIGRATED]
    finally:
        await db.close()


async def test_migration_15_rewrites_stored_entries_on_postgresql(postgres: Cluster) -> None:
    db = await PgDatabase(postgres.fresh_url(), size=1).open()
    try:
        await pg_migrations.migrate(db, upto=12)

        def put(conn: Any) -> None:
            for entry in (CREATED, OLD_ENTRY):
                conn.execute("INSERT INTO audit (premises_id, server_time, entry) "
                             "VALUES ('p1', %s, %s)", (NOW, msgspec.json.encode(entry).decode()))
        await db.write(put)
        await pg_migrations.migrate(db)
        rows = await db.read(lambda c: c.execute("SELECT entry FROM audit ORDER BY id")
                             .fetchall())
        assert [msgspec.json.decode(r[0]) for r in rows] == [CREATED, MIGRATED]
    finally:
        await db.close()
