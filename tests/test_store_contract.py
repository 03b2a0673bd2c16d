"""One contract for every sync store: the in-memory store, SQLite (on a temp file) and
PostgreSQL (a fresh schema on the session's cluster, tests/pg.py) must behave the same, so the
fast model test over memory speaks for the others too."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from server.store import records
from server.store import sync as sqlite_sync
from server.store.database import Database
from server.store.migrations import migrate
from server.store.postgres import records as pg_records
from server.store.postgres import sync as pg_sync
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate as pg_migrate
from server.store.sync import SqliteStore, ensure_epoch, purge_tombstones
from sync import engine
from sync.protocol import DeletePremises, FieldChange, Receipt, Update, pull_response_decoder
from sync.store import MemoryStore, Reader, Tx

T = TypeVar("T")
CFG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095})
SUPER = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), "d1")


def doc(pid: str, station: str = "A01", **fields: Any) -> dict[str, Any]:
    return {"id": pid, "station": station, "name": f"Premises {pid}", "version": 1, **fields}


class Harness:
    """The same async verbs over any store."""

    def __init__(self, kind: str, store: Any, seed: Callable[[list[dict[str, Any]]], Any],
                 purge: Callable[[int], Any], retire: Callable[[str], Any]):
        self.kind, self.store, self._seed, self._purge = kind, store, seed, purge
        self.retire = retire  # take a station out of service (stations are never deleted)

    async def write(self, fn: Callable[[Tx], T]) -> T:
        result = self.store.write(fn)
        return await result if self.kind != "memory" else result  # type: ignore[no-any-return]

    async def read(self, fn: Callable[[Reader], T]) -> T:
        result = self.store.read(fn)
        return await result if self.kind != "memory" else result  # type: ignore[no-any-return]

    async def seed(self, docs: list[dict[str, Any]]) -> None:
        await self._seed(docs)

    async def purge(self, upto: int) -> int:
        return int(await self._purge(upto))


STATIONS = ["A01", "B02", "C03"]


async def memory_harness() -> Harness:
    memory = MemoryStore(STATIONS)

    async def seed(docs: list[dict[str, Any]]) -> None:
        memory.insert(docs)

    async def purge(upto: int) -> int:
        return memory.purge_tombstones(upto)

    async def retire(code: str) -> None:
        memory.stations.discard(code)
    return Harness("memory", memory, seed, purge, retire)


async def sqlite_harness(path: Path) -> tuple[Harness, Callable[[], Any]]:
    db = await Database(path, read_connections=1).open()
    await migrate(db)

    def setup(conn: sqlite3.Connection) -> None:
        ensure_epoch(conn)
        conn.executemany("INSERT INTO stations (code, name, lat, lon) VALUES (?, ?, 52, 0)",
                         [(s, s) for s in STATIONS])
    await db.write(setup)

    async def seed(docs: list[dict[str, Any]]) -> None:
        await db.write(lambda c: records.insert_many(c, docs))
    async def retire(code: str) -> None:
        await db.write(lambda c: c.execute(
            "UPDATE stations SET retired_at = '2026-01-01' WHERE code = ?", (code,)))
    return Harness("sqlite", SqliteStore(db), seed,
                   lambda upto: purge_tombstones(db, upto), retire), db.close


async def postgres_harness(url: str) -> tuple[Harness, Callable[[], Any]]:
    db = await PgDatabase(url, size=2).open()
    await pg_migrate(db)

    def setup(conn: Any) -> None:
        pg_sync.ensure_epoch(conn)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO stations (code, name, lat, lon) VALUES (%s, %s, 52, 0)",
                            [(s, s) for s in STATIONS])
    await db.write(setup)

    async def seed(docs: list[dict[str, Any]]) -> None:
        await db.write(lambda c: pg_records.insert_many(c, docs))
    async def retire(code: str) -> None:
        await db.write(lambda c: c.execute(
            "UPDATE stations SET retired_at = '2026-01-01' WHERE code = %s", (code,)))
    return Harness("postgres", pg_sync.PgStore(db), seed,
                   lambda upto: pg_sync.purge_tombstones(db, upto), retire), db.close


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    if request.param == "memory":
        yield await memory_harness()
        return
    if request.param == "sqlite":
        harness, close = await sqlite_harness(tmp_path / "contract.db")
    else:
        harness, close = await postgres_harness(request.getfixturevalue("postgres").fresh_url())
    try:
        yield harness
    finally:
        await close()


async def test_a_written_record_reads_back_in_the_next_transaction(store: Harness) -> None:
    await store.write(lambda tx: tx.put_premises(doc("p1", name="Mill")))
    got = await store.write(lambda tx: tx.premises("p1"))
    assert got is not None and got["name"] == "Mill"


async def test_a_transaction_sees_its_own_buffered_writes(store: Harness) -> None:
    def run(tx: Tx) -> Any:
        tx.put_premises(doc("p1", name="Mill"))
        tx.set_last_seq("d1", 4)
        return tx.premises("p1"), tx.last_seq("d1")
    got, seq = await store.write(run)
    assert got["name"] == "Mill" and seq == 4


async def test_an_exception_before_the_end_writes_nothing(store: Harness) -> None:
    def run(tx: Tx) -> None:
        tx.put_premises(doc("p1"))
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        await store.write(run)
    assert await store.write(lambda tx: tx.premises("p1")) is None


async def test_a_retired_station_takes_no_records(store: Harness) -> None:
    assert await store.write(lambda tx: tx.station_exists("B02"))
    await store.retire("B02")
    assert not await store.write(lambda tx: tx.station_exists("B02"))
    assert await store.write(lambda tx: tx.station_exists("A01"))


async def test_device_sequence_and_receipts_round_trip(store: Harness) -> None:
    receipt = Receipt(seq=1, status="conflict", premises_id="p1", version=3, conflict_ids=["c"])

    def put(tx: Tx) -> None:
        tx.set_last_seq("d1", 1)
        tx.put_receipt("d1", receipt)
    await store.write(put)
    got = await store.write(lambda tx: (tx.last_seq("d1"), tx.receipt("d1", 1),
                                        tx.receipt("d1", 2), tx.last_seq("d2")))
    assert got == (1, receipt, None, 0)


async def test_field_writers_round_trip(store: Harness) -> None:
    author = {"user": "sam", "device": "d1", "at": "T"}
    await store.write(lambda tx: tx.set_writer("p1", "risk_notes", author))
    assert await store.write(lambda tx: (tx.writer("p1", "risk_notes"),
                                         tx.writer("p1", "name"))) == (author, None)


def conflict(cid: str, pid: str, status: str = "open", station: str = "A01") -> dict[str, Any]:
    return {"id": cid, "premises_id": pid, "station": station, "path": "name", "base": "a",
            "server": "b", "client": "c", "server_author": None,
            "client_author": {"user": "u"}, "mutation": None, "status": status,
            "resolution": None, "resolved_value": None, "resolved_by": None, "created_at": "T"}


async def test_open_conflicts_are_found_by_premises(store: Harness) -> None:
    def put(tx: Tx) -> None:
        tx.put_conflict(conflict("c1", "p1"))
        tx.put_conflict(conflict("c2", "p1", status="resolved"))
        tx.put_conflict(conflict("c3", "p2"))
    await store.write(put)
    got = await store.write(lambda tx: ([c["id"] for c in tx.open_conflicts("p1")],
                                        tx.conflict("c2")))
    assert got[0] == ["c1"] and got[1]["status"] == "resolved"


async def test_changes_come_in_seq_order_within_scope(store: Harness) -> None:
    await store.seed([doc("p1"), doc("p2", "B02"), doc("p3")])
    await store.write(lambda tx: tx.put_premises(doc("p1", name="again")))
    await store.write(lambda tx: tx.put_conflict(conflict("c1", "p3")))
    items, more = await store.read(lambda r: r.changes(0, ["A01"], 10, 10**6))
    assert [(k, msgspec.json.decode(b)["id"]) for _, k, b in items] == [
        ("p", "p3"), ("p", "p1"), ("c", "c1")]
    assert [s for s, _, _ in items] == sorted(s for s, _, _ in items) and not more
    later, _ = await store.read(lambda r: r.changes(items[0][0], ["A01"], 10, 10**6))
    assert len(later) == 2


async def test_changes_page_by_rows_and_bytes(store: Harness) -> None:
    await store.seed([doc(f"p{i}", risk_notes="x" * 500) for i in range(5)])
    rows, more = await store.read(lambda r: r.changes(0, ["A01"], 2, 10**6))
    assert len(rows) == 2 and more
    small, more = await store.read(lambda r: r.changes(0, ["A01"], 10, 1200))
    assert len(small) == 2 and more
    one, _ = await store.read(lambda r: r.changes(0, ["A01"], 10, 10))
    assert len(one) == 1  # a page always holds at least one item
    everything, more = await store.read(lambda r: r.changes(0, ["A01"], 10, 10**6))
    assert len(everything) == 5 and not more


async def test_scope_counts_and_ids(store: Harness) -> None:
    await store.seed([doc("p1"), doc("p2", "B02"), doc("p3", "C03")])
    await store.write(lambda tx: tx.put_conflict(conflict("c1", "p2", station="B02")))
    assert await store.read(lambda r: (r.count_scope(["A01", "B02"]),
                                       r.ids_in_stations(["B02", "C03"]))) == (3, ["p2", "p3"])


async def test_max_seq_follows_every_write(store: Harness) -> None:
    await store.seed([doc("p1")])
    before = await store.read(lambda r: r.max_seq())
    await store.write(lambda tx: tx.put_premises(doc("p1", name="n")))
    assert await store.read(lambda r: r.max_seq()) == before + 1


async def test_purging_tombstones_raises_the_horizon(store: Harness) -> None:
    await store.seed([doc("p1", deleted=True), doc("p2")])
    top = await store.read(lambda r: r.max_seq())
    assert await store.purge(top) == 1
    assert await store.read(lambda r: (r.horizon(), r.ids_in_stations(["A01"]))) == (top,
                                                                                     ["p2"])


async def test_engine_gives_the_same_answers_over_every_store(store: Harness) -> None:
    await store.seed([doc("p1", risk_notes="a"), doc("p2")])
    m1 = Update(device_id="d1", seq=1, premises_id="p1", base_version=1,
                changes=[FieldChange("risk_notes", "a", "b")])
    m2 = Update(device_id="d1", seq=2, premises_id="p1", base_version=1,
                changes=[FieldChange("risk_notes", "a", "c")])
    m3 = DeletePremises(device_id="d1", seq=3, premises_id="p2", base_version=1)
    res = await store.write(lambda tx: engine.push(tx, SUPER, [m1, m2, m3], "T", CFG))
    assert [r.status for r in res.receipts] == ["applied", "conflict", "applied"]
    again = await store.write(lambda tx: engine.push(tx, SUPER, [m2], "T2", CFG))
    assert again.receipts == res.receipts[1:2] and again.next_seq == 4
    page = pull_response_decoder.decode(
        await store.read(lambda r: engine.pull(r, SUPER, "", None, CFG)))
    kinds = sorted(type(c).__name__ for c in page.changes)
    assert kinds == ["ConflictChange", "PremisesChange", "PremisesChange"]
    assert page.total == 3 and not page.more


async def test_a_record_moved_to_another_station_is_reported_as_left(store: Harness) -> None:
    await store.seed([doc("p1"), doc("p2")])
    before = await store.read(lambda r: r.max_seq())

    def move(tx: Tx) -> None:
        tx.premises("p1")
        tx.put_premises(doc("p1", "B02"))
        tx.premises("p2")
        tx.put_premises(doc("p2", "A01", name="renamed"))
    await store.write(move)
    top = await store.read(lambda r: r.max_seq())
    assert await store.read(lambda r: (r.left(before, top, ["A01"]), r.left(top, top, ["A01"]),
                                       r.left(before, top, ["A01", "B02"]))) == (["p1"], [], [])


async def test_console_reads_and_tombstone_ages_agree_on_sqlite_and_postgresql(
        postgres: Any, tmp_path: Path) -> None:
    """History, conflict lists and tombstone ages (server/store/sync.py and its PostgreSQL
    twin) give the same answers after the same pushes."""
    lite, close_lite = await sqlite_harness(tmp_path / "same.db")
    pg, close_pg = await postgres_harness(postgres.fresh_url())
    lite_db, pg_db = lite.store.db, pg.store.db
    try:
        answers = []
        for h, mod, db in ((lite, sqlite_sync, lite_db), (pg, pg_sync, pg_db)):
            await h.seed([doc("p1", risk_notes="a"), doc("p2")])
            pushes = [
                [Update(device_id="d1", seq=1, premises_id="p1", base_version=1,
                        changes=[FieldChange("risk_notes", "a", "b")]),
                 Update(device_id="d1", seq=2, premises_id="p1", base_version=1,
                        changes=[FieldChange("risk_notes", "a", "c")])],
                [DeletePremises(device_id="d1", seq=3, premises_id="p2", base_version=1)]]
            for i, batch in enumerate(pushes):
                await h.write(lambda tx, b=batch, t=f"2026-01-0{i + 1}T00:00:00.000Z":
                              engine.push(tx, SUPER, b, t, CFG))
            [open_] = await mod.list_conflicts(db, ["A01"])
            answers.append((
                await mod.history(db, "p1"), await mod.history(db, "p2"), open_,
                await mod.list_conflicts(db, ["B02"]), await mod.list_conflicts(db, []),
                await mod.get_conflict(db, open_["id"]), await mod.get_conflict(db, "nope"),
                await mod.tombstone_seq_before(db, "2026-01-02T00:00:00.000Z"),
                await mod.tombstone_seq_before(db, "2026-01-03T00:00:00.000Z")))
        assert answers[0] == answers[1]
        history_p1, _, conflict, *_, early, late = answers[1]
        assert [e["version"] for e in history_p1 if e["after"]] == [2]
        assert conflict["path"] == "risk_notes" and early == 0 and late > 0
    finally:
        await close_lite()
        await close_pg()
