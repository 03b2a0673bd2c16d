"""Who may fetch a blob: every SQL statement on `blob_uploaders` (migration 10), and the
question asked of `attachment_refs` (migration 7) before a blob is served.

A blob that records reference is visible to callers whose grounds hold one of those records;
a blob no record references yet is visible to those who uploaded it (upload, then attach,
offline first). Must not decide what a refusal looks like (the routes answer 404).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence


def note_uploader(conn: sqlite3.Connection, sha256: str, user_id: int) -> None:
    """Inside the upload's write: `user_id` uploaded these bytes (the first or again)."""
    conn.execute("INSERT OR IGNORE INTO blob_uploaders (sha256, user_id) VALUES (?, ?)",
                 (sha256, user_id))


def visible(conn: sqlite3.Connection, sha256: str, grounds: Sequence[str], user_id: int
            ) -> bool:
    """May the user with these station grounds fetch blob `sha256`?"""
    in_scope = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM attachment_refs r JOIN premises p ON p.id = r.premises_id"
        " WHERE r.sha256 = ? AND p.station IN (SELECT value FROM json_each(?)))",
        (sha256, json.dumps(list(grounds)))).fetchone()[0]
    if in_scope:
        return True
    return bool(conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM attachment_refs WHERE sha256 = ?) AND EXISTS "
        "(SELECT 1 FROM blob_uploaders WHERE sha256 = ? AND user_id = ?)",
        (sha256, sha256, user_id)).fetchone()[0])
