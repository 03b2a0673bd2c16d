"""Housekeeping's SQL on SQLite: forget receipts and last-writer rows no device can still need,
history and sensitive-view rows past their retention, and find the records that hold reviewed
observations. server/store/postgres/housekeeping.py is its twin. Must not decide what a record
becomes (the observations leave through sync/writer.py) nor choose the ages (server/housekeeping.py).
"""

from __future__ import annotations

import sqlite3

import msgspec

from server.store.database import Database

_decode = msgspec.json.decode

# A receipt is needed until its device holds it (seq <= acked_seq, engine Rule 4a); a device
# revoked, or not seen since `quiet_before`, gets "receipt expired" for any it resends.
RECEIPTS = """
DELETE FROM sync_receipts WHERE seq <= (SELECT acked_seq FROM sync_devices d
                                        WHERE d.device_id = sync_receipts.device_id)
   OR device_id IN (SELECT id FROM devices WHERE revoked_at IS NOT NULL
                    OR coalesce(last_seen, created_at) < ?)
"""
# A last-writer row names who wrote a field when a later clash opens a conflict on it; one
# older than `before` gives way to the record's last editor. Rows of records with an open
# conflict, and of observations (their review time), are kept; rows of purged records go.
WRITERS = """
DELETE FROM field_writers WHERE premises_id NOT IN (SELECT id FROM premises)
   OR (json_extract(author, '$.at') < ? AND path NOT LIKE 'observations/%'
       AND premises_id NOT IN (SELECT premises_id FROM conflicts WHERE status = 'open'))
"""


def _prune(conn: sqlite3.Connection, quiet_before: str, writers_before: str,
           audit_before: str | None, views_before: str | None) -> dict[str, int]:
    out = {"receipts": conn.execute(RECEIPTS, (quiet_before,)).rowcount,
           "field writers": conn.execute(WRITERS, (writers_before,)).rowcount
           + _orphan_observation_writers(conn)}
    out["history entries"] = conn.execute("DELETE FROM audit WHERE server_time < ?",
                                          (audit_before,)).rowcount if audit_before else 0
    out["sensitive views"] = conn.execute("DELETE FROM sensitive_views WHERE at < ?",
                                          (views_before,)).rowcount if views_before else 0
    return out


def orphaned_observation_writers(rows: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """Of (premises id, path, record JSON) rows of observation writers, the (premises id, path)
    pairs whose observation is no longer on its record (either engine)."""
    held: dict[str, set[str]] = {}
    gone = []
    for pid, path, doc in rows:
        if pid not in held:
            held[pid] = {o.get("id") for o in _decode(doc).get("observations") or []}
        if path.split("/")[1] not in held[pid]:
            gone.append((pid, path))
    return gone


def _orphan_observation_writers(conn: sqlite3.Connection) -> int:
    """Rows of observations no longer on their record."""
    gone = orphaned_observation_writers(conn.execute(
        "SELECT w.premises_id, w.path, p.doc FROM field_writers w "
        "JOIN premises p ON p.id = w.premises_id WHERE w.path LIKE 'observations/%'").fetchall())
    conn.executemany("DELETE FROM field_writers WHERE premises_id = ? AND path = ?", gone)
    return len(gone)


async def prune(db: Database, quiet_before: str, writers_before: str,
                audit_before: str | None, views_before: str | None) -> dict[str, int]:
    """Forget what no one needs (see RECEIPTS, WRITERS); history entries older than
    `audit_before` and sensitive views older than `views_before` when given. Rows removed."""
    return await db.write(lambda conn: _prune(conn, quiet_before, writers_before,
                                              audit_before, views_before))


async def prune_followed_gone(db: Database, before: str) -> int:
    """Forget the followed records a followed feed named gone before `before` (devices
    dropped them at their next pull since); rows removed."""
    return await db.write(lambda conn: conn.execute(
        "DELETE FROM followed WHERE gone = 1 AND fetched_at < ?", (before,)).rowcount)


async def with_reviewed_observations(db: Database) -> list[str]:
    """Ids of live records holding an accepted or dismissed observation."""
    rows = await db.execute(
        "SELECT id FROM premises WHERE deleted = 0 AND (doc LIKE '%\"status\":\"accepted\"%' "
        "OR doc LIKE '%\"status\":\"dismissed\"%') ORDER BY id")
    return [r[0] for r in rows]


async def vacuum(db: Database) -> None:
    """Give the freed pages back to the file system (holds the writer while it runs)."""
    await db.executescript("VACUUM")
