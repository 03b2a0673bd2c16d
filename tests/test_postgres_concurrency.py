"""The PostgreSQL store under concurrency across connections (each thread its own connection,
as separate server processes would be): a puller running between concurrent pushers receives
every change; concurrent edits of one record all land (no lost update); the same device's retry
arriving on two connections at once is applied once; a deadlock between two pushes is undone
by running the aborted one again. Every push waits a random few
milliseconds between its last write and its commit, so the interleavings that would break a
numbering taken before commit (a cursor passing a number still in flight) do occur."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from pg import Cluster

from server.store.postgres import records as pg_records
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate
from server.store.postgres.sync import PgReader, ensure_epoch, run_tx
from sync import engine
from sync.protocol import FieldChange, PushResponse, Update, pull_response_decoder
from sync.store import Tx

CFG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095})
PUSHERS = 4
ROUNDS = 25
HOT_FIELDS = ["name", "risk_notes", "rvp", "address"]  # one per pusher: never a conflict


def actor(device: str, user: int = 1) -> engine.Actor:
    return engine.Actor(user, f"user{user}", f"User {user}", "supervisor", ("A01",), device)


def doc(pid: str) -> dict[str, Any]:
    return {"id": pid, "station": "A01", "name": f"Premises {pid}", "version": 1,
            "risk_notes": "", "rvp": "", "address": ""}


@pytest.fixture
def db(postgres: Cluster) -> Iterator[PgDatabase]:
    pg = PgDatabase(postgres.fresh_url(), size=PUSHERS + 4)
    asyncio.run(pg.open())
    asyncio.run(migrate(pg))

    def setup(conn: Any) -> None:
        ensure_epoch(conn)
        conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
        pg_records.insert_many(conn, [doc("hot")] + [
            doc(f"p{k}-{r}") for k in range(PUSHERS) for r in range(ROUNDS)] + [
            doc(f"dup-{r}-{i}") for r in range(ROUNDS) for i in range(3)])
    pg.write_now(setup)
    try:
        yield pg
    finally:
        asyncio.run(pg.close())


def push_slowly(db: PgDatabase, a: engine.Actor, mutations: list[Any], rng: random.Random
                ) -> PushResponse:
    """One push in one transaction that lingers 0-4 ms after its last write, before commit."""
    def run(conn: Any) -> PushResponse:
        def fn(tx: Tx) -> PushResponse:
            return engine.push(tx, a, mutations, "2026-01-01T00:00:00.000Z", CFG)
        result = run_tx(conn, fn)
        time.sleep(rng.random() * 0.004)
        return result
    return db.write_now(run)


def test_a_puller_between_concurrent_pushers_receives_every_change(db: PgDatabase) -> None:
    stop = threading.Event()
    seen: dict[str, int] = {}   # premises id -> newest version the puller received
    errors: list[BaseException] = []
    puller = actor("puller", 9)

    def pull_all(cursor: str) -> str:
        while True:
            body = db.read_now(lambda c, at=cursor: engine.pull(PgReader(c), puller, at, 3, CFG))
            page = pull_response_decoder.decode(body)
            for change in page.changes:
                record = msgspec.to_builtins(change)["record"]
                seen[record["id"]] = max(seen.get(record["id"], 0), record["version"])
            cursor = page.cursor
            if not page.more:
                return cursor

    def pulling() -> None:
        cursor = ""
        try:
            while not stop.is_set():
                cursor = pull_all(cursor)
            pull_all(cursor)  # once more after the last push committed
        except BaseException as exc:
            errors.append(exc)

    def pushing(k: int) -> None:
        rng, a, hot_value = random.Random(k), actor(f"dev{k}", k + 1), ""
        try:
            for r in range(ROUNDS):
                mutations: list[Any] = [Update(device_id=a.device_id, seq=2 * r + 1,
                                               premises_id=f"p{k}-{r}", base_version=1,
                                               changes=[FieldChange("risk_notes", "", f"r{r}")])]
                push_slowly(db, a, mutations, rng)
                new = f"{HOT_FIELDS[k]} {r}" if HOT_FIELDS[k] != "name" else f"Hot {r}"
                old = hot_value if HOT_FIELDS[k] != "name" or r else "Premises hot"
                res = push_slowly(db, a, [Update(
                    device_id=a.device_id, seq=2 * r + 2, premises_id="hot", base_version=1,
                    changes=[FieldChange(HOT_FIELDS[k], old, new)])], rng)
                assert res.receipts[0].status in ("applied", "merged"), res.receipts
                hot_value = new
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pushing, args=(k,)) for k in range(PUSHERS)]
    pull_thread = threading.Thread(target=pulling)
    pull_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    pull_thread.join()
    assert errors == []
    missed = sorted(f"p{k}-{r}" for k in range(PUSHERS) for r in range(ROUNDS)
                    if seen.get(f"p{k}-{r}") != 2)
    assert missed == [], "a cursor passed a change that committed after a higher one"
    assert seen["hot"] == 1 + PUSHERS * ROUNDS, "every edit of the shared record landed"
    hot = db.read_now(lambda c: pg_records.get(c, "hot"))
    assert hot is not None and hot["name"] == f"Hot {ROUNDS - 1}"
    assert [hot[f] for f in HOT_FIELDS[1:]] == [f"{f} {ROUNDS - 1}" for f in HOT_FIELDS[1:]]
    versions = db.read_now(lambda c: [r[0] for r in c.execute(
        "SELECT (entry::jsonb ->> 'version')::int FROM audit WHERE premises_id = 'hot' "
        "ORDER BY id").fetchall()])
    assert versions == list(range(2, 2 + PUSHERS * ROUNDS)), "one version per applied edit"


def test_the_same_devices_retry_on_two_connections_at_once_is_applied_once(
        db: PgDatabase) -> None:
    a = actor("tablet")
    answers: list[list[PushResponse]] = [[], []]
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def send(side: int) -> None:
        rng = random.Random(side)
        try:
            for r in range(ROUNDS):
                batch = [Update(device_id="tablet", seq=3 * r + i + 1, premises_id=f"dup-{r}-{i}",
                                base_version=1, changes=[FieldChange("risk_notes", "", "once")])
                         for i in range(3)]
                gate.wait(timeout=30)
                answers[side].append(push_slowly(db, a, batch, rng))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r.receipts for r in answers[0]] == [r.receipts for r in answers[1]]
    assert all(x.status == "applied" for r in answers[0] for x in r.receipts)
    applied = db.read_now(lambda c: c.execute(
        "SELECT count(*), count(DISTINCT entry::jsonb ->> 'seq') FROM audit "
        "WHERE entry::jsonb ->> 'device_id' = 'tablet'").fetchone())
    assert applied == (3 * ROUNDS, 3 * ROUNDS), "each mutation applied exactly once"
    versions = db.read_now(lambda c: {r[0] for r in c.execute(
        "SELECT version FROM premises WHERE id LIKE 'dup-%'").fetchall()})
    assert versions == {2}
    last = db.read_now(lambda c: c.execute(
        "SELECT last_seq FROM sync_devices WHERE device_id = 'tablet'").fetchone())
    assert last == (3 * ROUNDS,)


def test_pushes_locking_two_records_in_opposite_orders_both_land(db: PgDatabase) -> None:
    """A deadlock PostgreSQL breaks by aborting one push: that push is run again, whole."""
    gate = threading.Barrier(2)
    runs = [0, 0]
    answers: list[PushResponse | None] = [None, None]
    errors: list[BaseException] = []

    def send(side: int) -> None:
        a = actor(f"crossed{side}", side + 1)
        order = ["p0-0", "p1-0"] if side == 0 else ["p1-0", "p0-0"]

        def run(conn: Any) -> PushResponse:
            def fn(tx: Tx) -> PushResponse:
                runs[side] += 1
                tx.premises(order[0])
                if runs[side] == 1:
                    gate.wait(timeout=30)  # both hold their first record
                tx.premises(order[1])
                field = "rvp" if side else "address"
                return engine.push(tx, a, [
                    Update(device_id=a.device_id, seq=i + 1, premises_id=pid, base_version=1,
                           changes=[FieldChange(field, "", f"side {side}")])
                    for i, pid in enumerate(order)], "2026-01-01T00:00:00.000Z", CFG)
            return run_tx(conn, fn)
        try:
            answers[side] = db.write_now(run)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert max(runs) >= 2, "PostgreSQL aborted one of them at least once; it was run again"
    for side in (0, 1):
        answer = answers[side]
        assert answer is not None
        assert all(r.status in ("applied", "merged") for r in answer.receipts), answer
    for pid in ("p0-0", "p1-0"):
        record = db.read_now(lambda c, p=pid: pg_records.get(c, p))
        assert record is not None and record["version"] == 3
        assert (record["address"], record["rvp"]) == ("side 0", "side 1")


def test_pushes_over_the_same_records_in_opposite_orders_queue_instead_of_deadlocking(
        db: PgDatabase) -> None:
    """The push endpoint locks a push's records first, in id order (PgTx.lock_first): two
    pushes naming the same records in opposite orders wait for each other, and neither is
    aborted for a deadlock and run again."""
    gate = threading.Barrier(2)
    runs = [0, 0]
    errors: list[BaseException] = []

    def send(side: int) -> None:
        a = actor(f"queued{side}", side + 1)
        order = ["p2-0", "p3-0"] if side == 0 else ["p3-0", "p2-0"]

        def run(conn: Any) -> PushResponse:
            def fn(tx: Tx) -> PushResponse:
                runs[side] += 1
                if runs[side] == 1:
                    gate.wait(timeout=30)  # both start at once
                tx.lock_first(order)
                tx.premises(order[0])
                time.sleep(0.05)  # without lock_first each would now hold one and want the other
                tx.premises(order[1])
                field = "rvp" if side else "address"
                return engine.push(tx, a, [
                    Update(device_id=a.device_id, seq=i + 1, premises_id=pid, base_version=1,
                           changes=[FieldChange(field, "", f"side {side}")])
                    for i, pid in enumerate(order)], "2026-01-01T00:00:00.000Z", CFG)
            return run_tx(conn, fn)
        try:
            db.write_now(run)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and runs == [1, 1]
    for pid in ("p2-0", "p3-0"):
        record = db.read_now(lambda c, p=pid: pg_records.get(c, p))
        assert record is not None and record["version"] == 3
        assert (record["address"], record["rvp"]) == ("side 0", "side 1")
