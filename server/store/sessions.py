"""Console sessions: every SQL statement on the `console_sessions` table (migration 10).

Rows are keyed by the SHA-256 of the cookie's id and carry the user (NULL before sign-in), a
small JSON payload (csrf, flash) and Unix times of creation and last use. Must not decide when
a session expires nor make ids (server/web/sessions.py does); `end_for_user` is called inside
the account writes that must end sessions (password change, reset, disable).
"""

from __future__ import annotations

import sqlite3

from server.store.database import Database


async def load(db: Database, id_hash: str) -> sqlite3.Row | None:
    return (await db.execute("SELECT * FROM console_sessions WHERE id_hash = ?",
                             (id_hash,))).first()


async def create(db: Database, id_hash: str, user_id: int | None, data: str, now: float,
                 replaces: str | None = None) -> None:
    """A new session row, in one transaction with ending the one it `replaces` (sign-in)."""
    def go(conn: sqlite3.Connection) -> None:
        if replaces:
            conn.execute("DELETE FROM console_sessions WHERE id_hash = ?", (replaces,))
        conn.execute("INSERT INTO console_sessions (id_hash, user_id, data, created_at, seen_at)"
                     " VALUES (?, ?, ?, ?, ?)", (id_hash, user_id, data, now, now))
    await db.write(go)


async def save(db: Database, id_hash: str, data: str, now: float) -> None:
    await db.execute_write("UPDATE console_sessions SET data = ?, seen_at = ? WHERE id_hash = ?",
                           (data, now, id_hash))


async def delete(db: Database, id_hash: str) -> None:
    await db.execute_write("DELETE FROM console_sessions WHERE id_hash = ?", (id_hash,))


async def purge(db: Database, created_before: float, seen_before: float) -> int:
    """Forget sessions past their absolute or idle limit; returns how many."""
    return int(await db.write(lambda c: c.execute(
        "DELETE FROM console_sessions WHERE created_at < ? OR seen_at < ?",
        (created_before, seen_before)).rowcount))


def end_for_user(conn: sqlite3.Connection, user_id: int) -> None:
    """End every console session of a user (inside the caller's write)."""
    conn.execute("DELETE FROM console_sessions WHERE user_id = ?", (user_id,))


async def count_for_user(db: Database, user_id: int) -> int:
    return int((await db.execute("SELECT count(*) FROM console_sessions WHERE user_id = ?",
                                 (user_id,))).single_value())
