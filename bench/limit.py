"""The limit: the same rows read from SQLite and encoded as pull pages in this one process,
with no HTTP, no event loop and no thread hops; and the sync engine's own pull, in process,
to show what the engine adds on top of SQLite before any HTTP.

CPU is this process's CPU time (time.process_time) around the loop.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
from isal import igzip

from sync import engine
from sync.protocol import Cursor, PullTail, encode_cursor, encode_pull

PAGE = 1000


@dataclass
class Run:
    rows: int
    wall: float
    cpu: float
    body: int


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA query_only=1")
    return conn


def sqlite_pages(db: Path, gzip: bool = False) -> Run:
    """Read every premises in change order, PAGE rows a query, splice each page's stored JSON
    into the pull response shape (and gzip it as the server does, ISA-L level 1, if asked)."""
    conn = _connect(db)
    rows = body = after = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        items = [(seq, "p", doc) for seq, doc in conn.execute(
            "SELECT change_seq, CAST(doc AS BLOB) FROM premises WHERE change_seq > ? "
            "ORDER BY change_seq LIMIT ?", (after, PAGE))]
        if not items:
            break
        after = items[-1][0]
        out = encode_pull(items, PullTail(cursor=encode_cursor(Cursor("e", after, [])),
                                          more=len(items) == PAGE))
        if gzip:  # the same compressor and level as the server (server/web/compression.py)
            out = igzip.compress(out, compresslevel=1, mtime=0)
        rows, body = rows + len(items), body + len(out)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    conn.close()
    return Run(rows, wall, cpu, body)


def engine_pages(db: Path) -> Run:
    """The sync engine's pull over SqliteReader, page after page, for an admin's scope."""
    from server.store.sync import SqliteReader  # the server's store, not its HTTP

    conn = _connect(db)
    grounds = tuple(r[0] for r in conn.execute("SELECT code FROM stations ORDER BY code"))
    actor = engine.Actor(user_id=1, username="admin", name="Admin", role="admin",
                         grounds=grounds, device_id="dbench")
    cfg = engine.Config()
    rows = body = 0
    cursor = ""
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        conn.execute("BEGIN")
        out = engine.pull(SqliteReader(conn), actor, cursor, None, cfg)
        conn.execute("COMMIT")
        page = msgspec.json.decode(b"{" + out[out.rindex(b'],"cursor"') + 2:])
        rows += out.count(b'{"type":"premises"')
        body += len(out)
        cursor = page["cursor"]
        if not page["more"]:
            break
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    conn.close()
    return Run(rows, wall, cpu, body)
