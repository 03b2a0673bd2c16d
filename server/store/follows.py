"""Followed feeds (migration 21): every SQL statement on `follows` (another Watchbook server's
partner feed this server follows, with its cursor) and `followed` (the records it served, the
fields as served, each with a number of the server's one change sequence, and `gone` once the
feed said it was deleted or left the share). Must not decide what a device may see of them
(server/crossborder.py) nor talk to the network (server/follow.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from server.store import records
from server.store.database import Database


async def get_or_add(db: Database, url: str, organisation_id: int, now: str
                     ) -> dict[str, Any]:
    def go(conn: sqlite3.Connection) -> dict[str, Any]:
        conn.execute("INSERT OR IGNORE INTO follows (url, organisation_id, created_at) "
                     "VALUES (?, ?, ?)", (url, organisation_id, now))
        row = conn.execute("SELECT * FROM follows WHERE url = ?", (url,)).fetchone()
        return dict(row)
    return await db.write(go)


async def listing(db: Database) -> list[dict[str, Any]]:
    return (await db.execute(
        "SELECT f.*, (SELECT count(*) FROM followed r WHERE r.follow_id = f.id AND r.gone = 0)"
        " AS records, (SELECT o.name FROM organisations o WHERE o.id = f.organisation_id) "
        "AS receiver FROM follows f ORDER BY f.id")).dicts()


def of_organisation(conn: sqlite3.Connection, organisation_id: int) -> list[dict[str, Any]]:
    """The feeds followed for this organisation's devices."""
    rows = conn.execute("SELECT id, service, url FROM follows WHERE organisation_id = ? "
                        "ORDER BY id", (organisation_id,)).fetchall()
    return [{"id": r[0], "service": r[1], "url": r[2]} for r in rows]


def apply_page(conn: sqlite3.Connection, follow_id: int, served: Sequence[Mapping[str, Any]],
               ages: Mapping[str, Any], gone: Sequence[str], now: str) -> tuple[int, int]:
    """Store a feed page: each record served (new or changed), and `gone` for every held
    record the feed named deleted or leaving. Each write takes a new change number, so
    devices pull it; a record gone already is left alone. Returns (stored, dropped)."""
    held = {r[0] for r in conn.execute(
        "SELECT premises_id FROM followed WHERE follow_id = ? AND gone = 0", (follow_id,))}
    drop = [pid for pid in dict.fromkeys(gone) if pid in held]
    count = len(served) + len(drop)
    if not count:
        return 0, 0
    first = records.next_change_seq(conn, count)
    conn.executemany(
        "INSERT INTO followed (follow_id, premises_id, change_seq, gone, doc, age, fetched_at) "
        "VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT(follow_id, premises_id) DO UPDATE SET "
        "change_seq = excluded.change_seq, gone = 0, doc = excluded.doc, age = excluded.age, "
        "fetched_at = excluded.fetched_at",
        [(follow_id, str(doc["id"]), first + i, json.dumps(doc),
          json.dumps(ages.get(str(doc["id"])) or {}), now) for i, doc in enumerate(served)])
    first += len(served)
    conn.executemany(
        "UPDATE followed SET gone = 1, change_seq = ?, doc = '{}', age = '{}', fetched_at = ? "
        "WHERE follow_id = ? AND premises_id = ?",
        [(first + i, now, follow_id, pid) for i, pid in enumerate(drop)])
    return len(served), len(drop)


def drop_all(conn: sqlite3.Connection, follow_id: int, now: str) -> int:
    """Every record of the feed gone (the share ended or the key was revoked)."""
    held = [r[0] for r in conn.execute(
        "SELECT premises_id FROM followed WHERE follow_id = ? AND gone = 0 ORDER BY 1",
        (follow_id,))]
    return apply_page(conn, follow_id, [], {}, held, now)[1]


def set_state(conn: sqlite3.Connection, follow_id: int, *, cursor: str | None, service: str
              | None, now: str, error: str = "") -> None:
    """After a run: the cursor reached (None: kept), the service's name (None: kept), and
    the error of a failed run ("" when it went through)."""
    conn.execute(
        "UPDATE follows SET cursor = coalesce(?, cursor), service = coalesce(?, service), "
        "last_run_at = ?, last_error = ?, "
        "last_ok_at = CASE WHEN ? = '' THEN ? ELSE last_ok_at END WHERE id = ?",
        (cursor, service, now, error, error, now, follow_id))


def changes(conn: sqlite3.Connection, follow_id: int, after: int, limit: int
            ) -> list[tuple[int, str, dict[str, Any] | None, dict[str, Any]]]:
    """(change_seq, leader's id, doc or None when gone, age) after `after`, in order."""
    return [(r[0], r[1], None if r[2] else json.loads(r[3]), json.loads(r[4]))
            for r in conn.execute(
                "SELECT change_seq, premises_id, gone, doc, age FROM followed "
                "WHERE follow_id = ? AND change_seq > ? ORDER BY change_seq LIMIT ?",
                (follow_id, after, limit))]


def held(conn: sqlite3.Connection, follow_id: int, premises_ids: Sequence[str]) -> set[str]:
    """Which of these leader ids the feed has given (now or before)."""
    if not premises_ids:
        return set()
    return {r[0] for r in conn.execute(
        "SELECT premises_id FROM followed WHERE follow_id = ? AND premises_id IN "
        f"({', '.join('?' * len(premises_ids))})", (follow_id, *premises_ids))}
