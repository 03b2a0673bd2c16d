"""Housekeeping (server/housekeeping.py) on SQLite and PostgreSQL: receipts a device holds are
forgotten and a resend of one is answered "receipt expired" changing nothing, receipts still
awaited are kept; reviewed observations leave the record after their retention and stay in the
history; history and sensitive-view rows go after theirs; `watchbook housekeeping` runs it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server import housekeeping
from server.cli import main
from server.store import housekeeping as lite_sql
from server.store import records
from server.store import sync as lite_sync
from server.store.database import Database
from server.store.migrations import migrate
from server.store.postgres import housekeeping as pg_sql
from server.store.postgres import records as pg_records
from server.store.postgres import sync as pg_sync
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate as pg_migrate
from sync import engine
from sync.protocol import AddObservation, FieldChange, Receipt, ReviewObservation, Update
from sync.record import Observation

CFG = engine.Config()
SAM = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), "d1")
DAY1, DAY2, DAY200 = "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-07-20T10:00:00Z"
EXPIRED = Receipt(seq=1, status="rejected", premises_id="p1", reason="invalid",
                  message="this seq was applied; receipt expired")


@dataclass
class Engine:
    name: str
    db: Any
    store: Any
    sql: Any
    sync: Any
    run: Callable[..., Any]  # (sql, params) -> rows, on the right dialect


async def open_sqlite(path: Path) -> Engine:
    db = await Database(path, read_connections=1).open()
    await migrate(db)

    def setup(conn: Any) -> None:
        lite_sync.ensure_epoch(conn)
        conn.execute("INSERT INTO stations (code, name) VALUES ('A01', 'Alpha')")
        records.insert_many(conn, [{"id": "p1", "station": "A01", "name": "Mill",
                                    "version": 1}])
    await db.write(setup)

    async def run(sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(await db.write(lambda c: c.execute(sql, params).fetchall()))
    return Engine("sqlite", db, lite_sync.SqliteStore(db), lite_sql, lite_sync, run)


async def open_postgres(url: str) -> Engine:
    db = await PgDatabase(url, size=2).open()
    await pg_migrate(db)

    def setup(conn: Any) -> None:
        pg_sync.ensure_epoch(conn)
        conn.execute("INSERT INTO stations (code, name) VALUES ('A01', 'Alpha')")
        pg_records.insert_many(conn, [{"id": "p1", "station": "A01", "name": "Mill",
                                       "version": 1}])
    await db.write(setup)

    async def run(sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        def go(c: Any) -> list[Any]:
            cur = c.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []
        return list(await db.write(go))
    return Engine("postgres", db, pg_sync.PgStore(db), pg_sql, pg_sync, run)


@pytest.fixture(params=["sqlite", "postgres"])
async def eng(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    if request.param == "sqlite":
        e = await open_sqlite(tmp_path / "h.db")
    else:
        e = await open_postgres(request.getfixturevalue("postgres").fresh_url())
    try:
        yield e
    finally:
        await e.db.close()


def rename(seq: int, name: str, base: int) -> Update:
    """Risk notes "" -> A -> B -> C."""
    old = {"A": "", "B": "A", "C": "B"}[name]
    return Update(device_id="d1", seq=seq, client_time=DAY1, premises_id="p1",
                  base_version=base, changes=[FieldChange("risk_notes", old, name)])


async def push(e: Engine, *ms: Any, now: str = DAY1) -> list[Receipt]:
    return list((await e.store.write(
        lambda tx: engine.push(tx, SAM, list(ms), now, CFG))).receipts)


async def keep(e: Engine, now: str = DAY2, **days: int) -> dict[str, int]:
    return dict(await housekeeping.run(e.db, e.store, e.sql,
                                       housekeeping.Retention(**days), now))


async def receipts(e: Engine) -> list[int]:
    return [r[0] for r in await e.run("SELECT seq FROM sync_receipts ORDER BY seq")]


async def test_receipts_a_device_holds_are_forgotten_and_a_resend_is_answered_expired(
        eng: Engine) -> None:
    first = await push(eng, rename(1, "A", 1), rename(2, "B", 2))
    await keep(eng)
    assert await receipts(eng) == [1, 2], "the device has not shown it holds them"
    await push(eng, rename(3, "C", 3))  # its next push starts after 2: it holds 1 and 2
    assert (await keep(eng))["receipts"] == 2
    assert await receipts(eng) == [3]
    again = await push(eng, rename(1, "A", 1), rename(2, "B", 2), rename(3, "C", 3))
    assert again[0] == EXPIRED and again[1].message == EXPIRED.message
    assert again[2] == (await push(eng, rename(3, "C", 3)))[0] != first[0]
    doc = await eng.store.write(lambda tx: tx.premises("p1"))
    assert (doc["risk_notes"], doc["version"]) == ("C", 4), "a resend changed nothing"


async def test_a_late_stale_request_keeps_the_receipts_of_a_batch_still_awaited(
        eng: Engine) -> None:
    await push(eng, rename(1, "A", 1))
    await push(eng, rename(2, "B", 2))          # holds 1
    await push(eng, rename(1, "A", 1), rename(2, "B", 2))  # a stale request arriving late
    await keep(eng)
    assert await receipts(eng) == [1, 2]


async def test_receipts_of_a_device_unseen_past_the_retention_are_forgotten(eng: Engine) -> None:
    await eng.run("INSERT INTO users (id, username, name, role, password_hash, created_at) "
                  "VALUES (1, 'sam', 'Sam', 'supervisor', 'x', ?)", (DAY1,))
    await eng.run("INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen) "
                  "VALUES ('d1', 1, 'Pump', 'h', ?, ?)", (DAY1, DAY1))
    await push(eng, rename(1, "A", 1))
    await keep(eng, now=DAY2, receipts=30)
    assert await receipts(eng) == [1]
    await keep(eng, now=DAY200, receipts=30)
    assert await receipts(eng) == []
    assert await push(eng, rename(1, "A", 1)) == [EXPIRED]


async def test_reviewed_observations_leave_the_record_after_retention_and_stay_in_history(
        eng: Engine) -> None:
    def obs(oid: str) -> AddObservation:
        return AddObservation(device_id="d1", seq=int(oid[1:]), client_time=DAY1,
                              premises_id="p1", base_version=1,
                              observation=Observation(id=oid, category="access", note="Gate"))
    await push(eng, obs("o1"), obs("o2"), obs("o3"))
    await push(eng, ReviewObservation(device_id="d1", seq=4, client_time=DAY1,
                                      premises_id="p1", base_version=4, observation_id="o1",
                                      status="accepted"))
    await push(eng, ReviewObservation(device_id="d1", seq=5, client_time=DAY1,
                                      premises_id="p1", base_version=5, observation_id="o2",
                                      status="dismissed"), now=DAY200)
    assert (await keep(eng, now=DAY200, observations=90))["observations"] == 1
    doc = await eng.store.write(lambda tx: tx.premises("p1"))
    assert [o["id"] for o in doc["observations"]] == ["o2", "o3"]
    last = (await eng.sync.history(eng.db, "p1"))[-1]
    assert (last["kind"], last["version"]) == ("housekeeping", doc["version"])
    [item] = last["items"]
    assert (item["change"], item["id"], item["before"]["status"]) == ("removed", "o1",
                                                                      "accepted")
    assert (await keep(eng, now=DAY200, observations=90))["observations"] == 0


async def test_history_and_sensitive_views_go_after_their_retention(eng: Engine) -> None:
    await push(eng, rename(1, "A", 1))
    await push(eng, rename(2, "B", 2), now=DAY200)
    await eng.run("INSERT INTO users (id, username, name, role, password_hash, created_at) "
                  "VALUES (1, 'sam', 'Sam', 'supervisor', 'x', ?)", (DAY1,))
    await eng.run("INSERT INTO sensitive_views (at, user_id, premises_id, fields) "
                  "VALUES (?, 1, 'p1', 'key_box')", (DAY1,))
    kept = await keep(eng, now=DAY200)
    assert (kept["history entries"], kept["sensitive views"]) == (0, 0), "0 keeps for ever"
    gone = await keep(eng, now=DAY200, audit=30, sensitive_views=30)
    assert (gone["history entries"], gone["sensitive views"]) == (1, 1)
    assert [e["after"] for e in await eng.sync.history(eng.db, "p1")] == [{"risk_notes": "B"}]


def test_the_housekeeping_command_reports_what_it_removed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def two_pushes() -> None:
        e = await open_sqlite(tmp_path / "w.db")
        await push(e, rename(1, "A", 1))
        await push(e, rename(2, "B", 2))
        await e.db.close()
    asyncio.run(two_pushes())
    monkeypatch.delenv("WATCHBOOK_DATABASE_URL", raising=False)
    assert main(["housekeeping", "--db", str(tmp_path / "w.db"), "--vacuum"]) == 0
    out = capsys.readouterr().out
    assert "1 receipts" in out and "0 observations" in out and "gave the space back" in out


async def test_followed_records_gone_from_a_followed_feed_go_after_their_retention(
        eng: Engine) -> None:
    await eng.run("INSERT INTO follows (id, url, organisation_id, created_at) "
                  "VALUES (1, 'https://leader.example/api/partner/feed', 1, ?)", (DAY1,))
    for pid, gone, at in (("p1", 1, DAY1), ("p2", 1, DAY200), ("p3", 0, DAY1)):
        await eng.run("INSERT INTO followed (follow_id, premises_id, change_seq, gone, doc, "
                      "fetched_at) VALUES (1, ?, ?, ?, ?, ?)",
                      (pid, int(pid[1]), gone, "{}" if gone else json.dumps({"id": pid}), at))
    assert "followed records gone" not in await keep(eng, now=DAY200), "0 keeps for ever"
    assert (await keep(eng, now=DAY200, followed_gone=90))["followed records gone"] == 1
    left = await eng.run("SELECT premises_id FROM followed ORDER BY premises_id")
    assert [r[0] for r in left] == ["p2", "p3"]  # gone lately, and still held: kept


def test_the_housekeeping_command_forgets_followed_records_gone_long_ago(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def gone_long_ago() -> None:
        e = await open_sqlite(tmp_path / "w.db")
        await e.run("INSERT INTO follows (id, url, organisation_id, created_at) "
                    "VALUES (1, 'https://leader.example/api/partner/feed', 1, ?)", (DAY1,))
        await e.run("INSERT INTO followed (follow_id, premises_id, change_seq, gone, doc, "
                    "fetched_at) VALUES (1, 'p9', 9, 1, '{}', ?)", (DAY1,))
        await e.db.close()
    asyncio.run(gone_long_ago())
    monkeypatch.delenv("WATCHBOOK_DATABASE_URL", raising=False)
    assert main(["housekeeping", "--db", str(tmp_path / "w.db")]) == 0
    assert "1 followed records gone" in capsys.readouterr().out
