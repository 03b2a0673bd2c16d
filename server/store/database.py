"""Database: the server's connections to its SQLite file, each on a thread of its own.

One writer connection (each write runs whole on the writer's thread, atomically; writes that
queue up while it is busy commit together in one `BEGIN IMMEDIATE`, a savepoint each) and a
small pool of read connections that never queue behind writes (WAL).
Must not know about HTTP, sync rules or the shape of records beyond SQL.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=NORMAL")
    # a REPLACE then fires delete triggers too, so the search index triggers see it
    conn.execute("PRAGMA recursive_triggers=ON")
    conn.row_factory = sqlite3.Row
    return conn


class Connection:
    """One sqlite3 connection and the one thread that ever touches it: `run(fn)` is one hop.

    (aiosqlite keeps a thread per connection the same way, but its public API is a hop per
    statement; a push or a pull page runs here as one function, one hop.)
    """

    def __init__(self, path: str):
        self.path = path
        self._jobs: SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None] = (
            SimpleQueue())
        # A daemon: a Database left open never keeps the process from exiting (SQLite's
        # journal makes an interrupted transaction roll back).
        self._thread = threading.Thread(target=self._work, name="sqlite", daemon=True)
        self._conn: sqlite3.Connection | None = None

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, done = job
            try:
                result = fn()
            except BaseException as exc:
                done.get_loop().call_soon_threadsafe(_settle, done, None, exc)
            else:
                done.get_loop().call_soon_threadsafe(_settle, done, result, None)

    async def _call(self, fn: Callable[[], T]) -> T:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, done))
        return await done

    async def open(self) -> Connection:
        self._thread.start()
        self._conn = await self._call(functools.partial(_connect, self.path))
        return self

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on this connection's thread; returns what it returns."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("database is not open")
        return await self._call(functools.partial(fn, conn))

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._call(conn.close)
            self._jobs.put(None)  # the thread ends after the close


def _settle(done: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if done.cancelled():
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)


GROUP_MAX = 64  # writes committed together at most


def _run_group(conn: sqlite3.Connection, fns: list[Callable[[sqlite3.Connection], Any]],
               ) -> list[tuple[bool, Any]]:
    """One transaction, a savepoint per function: (True, result) or (False, its exception)."""
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in fns:
            conn.execute("SAVEPOINT write")
            try:
                result = fn(conn)
            except Exception as exc:
                conn.execute("ROLLBACK TO write")
                conn.execute("RELEASE write")
                outcomes.append((False, exc))
                continue
            conn.execute("RELEASE write")
            outcomes.append((True, result))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return outcomes


class Result:
    """Rows of one query with a few small verbs."""

    def __init__(self, rows: list[sqlite3.Row]):
        self.rows = rows

    def first(self) -> sqlite3.Row | None:
        return self.rows[0] if self.rows else None

    def single_value(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def __iter__(self) -> Iterator[sqlite3.Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class Database:
    def __init__(self, path: str | Path, read_connections: int = 4):
        self.path = str(path)
        self._read_count = max(1, read_connections)
        self._writer: Connection | None = None
        self._readers: asyncio.Queue[Connection] | None = None
        self._all_readers: list[Connection] = []
        self._closed = False
        self._queue: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._draining = False

    async def open(self) -> Database:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = await Connection(self.path).open()
        self._readers = asyncio.Queue()
        for _ in range(self._read_count):
            conn = await Connection(self.path).open()
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)
        return self

    async def close(self) -> None:
        """Close every connection; calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._readers = None
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    # -- writes -------------------------------------------------------------------------
    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` atomically on the writer thread; returns once it is committed.

        Writes that arrive while the writer is busy are committed together (group commit):
        up to GROUP_MAX functions run in one BEGIN IMMEDIATE transaction, each inside its own
        savepoint, so an exception rolls back that function's changes alone and reaches its
        own caller. An idle writer commits a lone write at once. Each group is one hop to the
        database thread (each connection has its own thread; a hop costs ~40 µs) and
        one COMMIT instead of one per push in a shift-change burst.
        """
        self._require_writer()
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((fn, done))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await done  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._queue[:GROUP_MAX]
                del self._queue[:GROUP_MAX]
                try:
                    writer = self._require_writer()
                    outcomes = await writer.run(
                        functools.partial(_run_group, fns=[fn for fn, _ in group]))
                except BaseException as exc:  # the transaction itself failed: all of it
                    outcomes = [(False, exc)] * len(group)
                for (_, done), (ok, value) in zip(group, outcomes, strict=True):
                    if done.cancelled():
                        continue
                    if ok:
                        done.set_result(value)
                    else:
                        done.set_exception(value)
        finally:
            self._draining = False

    async def execute_write(self, sql: str, params: Params = ()) -> int:
        """One statement in its own transaction; returns lastrowid."""
        return await self.write(lambda c: c.execute(sql, params).lastrowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        await self.write(lambda c: c.executemany(sql, rows))

    async def executescript(self, script: str) -> None:
        await self._require_writer().run(lambda c: c.executescript(script))

    # -- reads --------------------------------------------------------------------------
    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on a read connection (a consistent snapshot for its duration)."""
        if self._readers is None:
            raise RuntimeError("database is not open")
        conn = await self._readers.get()
        try:
            def run(c: sqlite3.Connection) -> T:
                c.execute("BEGIN")
                try:
                    return fn(c)
                finally:
                    c.execute("COMMIT")
            return await conn.run(run)
        finally:
            self._readers.put_nowait(conn)

    async def execute(self, sql: str, params: Params = ()) -> Result:
        return await self.read(lambda c: Result(c.execute(sql, params).fetchall()))

    def _require_writer(self) -> Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer
