"""The Database: transactions, reads beside writes, close."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from server.store.database import Database


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = await Database(tmp_path / "t.db").open()
    await database.executescript("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
    yield database
    await database.close()


async def test_write_commits_every_statement_of_the_function(db: Database) -> None:
    await db.write(lambda c: c.executemany("INSERT INTO t (y) VALUES (?)", [("a",), ("b",)]))
    assert (await db.execute("SELECT count(*) FROM t")).single_value() == 2


async def test_failed_write_rolls_back_the_whole_transaction(db: Database) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (y) VALUES ('kept?')")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await db.write(half_then_fail)
    assert (await db.execute("SELECT count(*) FROM t")).single_value() == 0


async def test_database_uses_wal_and_foreign_keys(db: Database) -> None:
    assert (await db.execute("PRAGMA journal_mode")).single_value() == "wal"
    assert (await db.execute("PRAGMA foreign_keys")).single_value() == 1


async def test_reads_do_not_wait_for_a_slow_write(db: Database) -> None:
    await db.execute_write("INSERT INTO t (y) VALUES ('before')")
    started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (y) VALUES ('during')")
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)

    writing = asyncio.create_task(db.write(slow_write))
    await started.wait()
    # The write transaction is open and holds its thread; a read still answers (WAL snapshot).
    seen = (await asyncio.wait_for(db.execute("SELECT y FROM t"), timeout=5)).dicts()
    release.set()
    await writing
    assert seen == [{"y": "before"}]


async def test_executemany_inserts_a_batch(db: Database) -> None:
    await db.executemany("INSERT INTO t (y) VALUES (?)", [(str(i),) for i in range(100)])
    assert (await db.execute("SELECT count(*) FROM t")).single_value() == 100


async def test_database_close_is_idempotent(tmp_path: Path) -> None:
    database = await Database(tmp_path / "c.db").open()
    await database.close()
    await database.close()
    with pytest.raises(RuntimeError):
        await database.execute("SELECT 1")


async def test_writes_that_queue_up_commit_together_yet_fail_alone(db: Database) -> None:
    def insert(value: str) -> Callable[[sqlite3.Connection], str]:
        def fn(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO t (y) VALUES (?)", (value,))
            if value == "bad":
                raise ValueError("this write alone fails")
            return value
        return fn

    results = await asyncio.gather(*(db.write(insert(v)) for v in ("a", "bad", "b", "c")),
                                   return_exceptions=True)
    assert results[0] == "a" and results[2:] == ["b", "c"]
    assert isinstance(results[1], ValueError)
    rows = (await db.execute("SELECT y FROM t ORDER BY x")).dicts()
    assert [r["y"] for r in rows] == ["a", "b", "c"]  # the failed write left nothing behind


async def test_a_write_returns_only_after_its_commit_is_visible_to_readers(db: Database) -> None:
    for i in range(20):
        await db.write(lambda c, i=i: c.execute("INSERT INTO t (y) VALUES (?)", (str(i),)))
        assert (await db.execute("SELECT count(*) FROM t")).single_value() == i + 1


async def test_each_connection_runs_its_functions_whole_on_one_thread_of_its_own(
        db: Database) -> None:
    def where(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t (y) VALUES ('x')")
        conn.execute("SELECT count(*) FROM t").fetchone()
        return threading.get_ident()

    writer = {await db.write(where) for _ in range(5)}
    readers = {await db.read(lambda c: threading.get_ident()) for _ in range(5)}
    assert len(writer) == 1 and threading.get_ident() not in writer | readers
    assert not writer & readers  # reads never queue on the writer's thread
