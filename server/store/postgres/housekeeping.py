"""Housekeeping's SQL on PostgreSQL, with the answers of server/store/housekeeping.py on
SQLite: receipts and last-writer rows no device can still need, history and sensitive-view rows
past their retention, and the records that hold reviewed observations. Must not decide what a
record becomes nor choose the ages.
"""

from __future__ import annotations

from server.store.housekeeping import orphaned_observation_writers
from server.store.postgres.database import PgDatabase
from server.store.postgres.records import Conn

RECEIPTS = """
DELETE FROM sync_receipts r USING sync_devices d
 WHERE d.device_id = r.device_id AND r.seq <= d.acked_seq
"""
QUIET = """
DELETE FROM sync_receipts WHERE device_id IN (
    SELECT id FROM devices WHERE revoked_at IS NOT NULL OR coalesce(last_seen, created_at) < %s)
"""
WRITERS = """
DELETE FROM field_writers WHERE premises_id NOT IN (SELECT id FROM premises)
   OR (author::jsonb ->> 'at' < %s AND path NOT LIKE 'observations/%%'
       AND premises_id NOT IN (SELECT premises_id FROM conflicts WHERE status = 'open'))
"""


def _orphan_observation_writers(conn: Conn) -> int:
    gone = orphaned_observation_writers(conn.execute(
        "SELECT w.premises_id, w.path, p.doc FROM field_writers w "
        "JOIN premises p ON p.id = w.premises_id WHERE w.path LIKE 'observations/%%'").fetchall())
    with conn.cursor() as cur:
        cur.executemany("DELETE FROM field_writers WHERE premises_id = %s AND path = %s", gone)
    return len(gone)


def _prune(conn: Conn, quiet_before: str, writers_before: str, audit_before: str | None,
           views_before: str | None) -> dict[str, int]:
    out = {"receipts": conn.execute(RECEIPTS).rowcount
           + conn.execute(QUIET, (quiet_before,)).rowcount,
           "field writers": conn.execute(WRITERS, (writers_before,)).rowcount
           + _orphan_observation_writers(conn)}
    out["history entries"] = conn.execute("DELETE FROM audit WHERE server_time < %s",
                                          (audit_before,)).rowcount if audit_before else 0
    out["sensitive views"] = conn.execute("DELETE FROM sensitive_views WHERE at < %s",
                                          (views_before,)).rowcount if views_before else 0
    return out


async def prune(db: PgDatabase, quiet_before: str, writers_before: str,
                audit_before: str | None, views_before: str | None) -> dict[str, int]:
    """As server/store/housekeeping.py's `prune`."""
    return await db.write(lambda conn: _prune(conn, quiet_before, writers_before,
                                              audit_before, views_before))


async def prune_followed_gone(db: PgDatabase, before: str) -> int:
    """As server/store/housekeeping.py's `prune_followed_gone`."""
    return await db.write(lambda conn: int(conn.execute(
        "DELETE FROM followed WHERE gone = 1 AND fetched_at < %s", (before,)).rowcount))


async def with_reviewed_observations(db: PgDatabase) -> list[str]:
    """Ids of live records holding an accepted or dismissed observation."""
    rows = await db.read(lambda c: c.execute(
        "SELECT id FROM premises WHERE deleted = 0 AND (doc LIKE '%%\"status\":\"accepted\"%%' "
        "OR doc LIKE '%%\"status\":\"dismissed\"%%') ORDER BY id").fetchall())
    return [r[0] for r in rows]
