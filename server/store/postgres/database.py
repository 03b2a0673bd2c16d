"""PgDatabase: the PostgreSQL connection pool (psycopg 3, psycopg_pool), the counterpart of
server/store/database.py for a store on PostgreSQL.

Each `write` runs whole in one READ COMMITTED transaction on a worker thread and is run again
from the start when PostgreSQL aborts it for a deadlock or a serialization failure (so `fn`
must do nothing but SQL); each `read` is one REPEATABLE READ, READ ONLY snapshot. Must not know
about HTTP, sync rules or the shape of records beyond SQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel, errors
from psycopg_pool import ConnectionPool

T = TypeVar("T")
RETRIES = 8  # runs of a write aborted by a deadlock or serialization failure, at most
RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
log = logging.getLogger("watchbook.postgres")


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class PgDatabase:
    """A pool of `size` connections, each used by one worker thread at a time."""

    def __init__(self, url: str, size: int = 8):
        if not is_postgres_url(url):
            raise ValueError("a PostgreSQL URL starts with postgresql://")
        self.url, self.size = url, max(1, size)
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._threads: ThreadPoolExecutor | None = None

    async def open(self) -> PgDatabase:
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self.url, min_size=1, max_size=self.size, open=False,
            kwargs={"autocommit": True}, name="watchbook",
            check=ConnectionPool.check_connection)  # a restarted server costs no failed request
        self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="watchbook-pg")
        await self._run(lambda: pool.open(wait=True, timeout=30))
        self._pool = pool
        return self

    async def close(self) -> None:
        """Close the pool and its threads; calling it twice is harmless."""
        pool, threads, self._pool = self._pool, self._threads, None
        if pool is not None and threads is not None:
            await asyncio.get_running_loop().run_in_executor(threads, pool.close)
        if threads is not None:
            threads.shutdown(wait=True)
        self._threads = None

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._threads is None:
            raise RuntimeError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn)

    def _require_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    # -- on the worker thread ----------------------------------------------------------
    def write_now(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `fn(conn)` in one transaction on this thread; returns once it is committed."""
        for attempt in range(1, RETRIES + 1):
            try:
                with self._require_pool().connection() as conn, conn.transaction():
                    return fn(conn)
            except RETRYABLE as exc:
                if attempt == RETRIES:
                    raise
                log.info("write retried after %s (attempt %d)", type(exc).__name__, attempt)
        raise AssertionError("unreachable")

    def read_now(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `fn(conn)` in one REPEATABLE READ, READ ONLY transaction, said in its BEGIN (no
        round trip of its own: a search is one statement)."""
        with self._require_pool().connection() as conn:
            conn.isolation_level, conn.read_only = IsolationLevel.REPEATABLE_READ, True
            try:
                with conn.transaction():
                    return fn(conn)
            finally:
                conn.isolation_level, conn.read_only = None, None

    # -- async faces -------------------------------------------------------------------
    async def write(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        return await self._run(lambda: self.write_now(fn))

    async def read(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        return await self._run(lambda: self.read_now(fn))
