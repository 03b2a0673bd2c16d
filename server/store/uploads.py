"""Upload quotas: the bytes each user has uploaded per UTC day (the `upload_days` table).

Owns its SQL and the charge rule; the limit comes from the caller. Must not know HTTP.
"""

from __future__ import annotations

import sqlite3


def used(conn: sqlite3.Connection, user_id: int, day: str) -> int:
    row = conn.execute("SELECT bytes FROM upload_days WHERE user_id = ? AND day = ?",
                       (user_id, day)).fetchone()
    return int(row[0]) if row else 0


def charge(conn: sqlite3.Connection, user_id: int, day: str, size: int, quota: int
           ) -> int | None:
    """Add `size` bytes to the user's day if that stays within `quota` (0: no quota); the
    bytes used after it, or None (nothing charged) if it would go over."""
    now = used(conn, user_id, day)
    if quota and now + size > quota:
        return None
    conn.execute("INSERT INTO upload_days (user_id, day, bytes) VALUES (?, ?, ?) "
                 "ON CONFLICT(user_id, day) DO UPDATE SET bytes = upload_days.bytes + excluded.bytes",
                 (user_id, day, size))
    return now + size

