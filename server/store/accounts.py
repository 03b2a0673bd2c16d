"""Users and devices: every SQL statement on the `users` and `devices` tables (migrations 1, 10).

Look-ups for sign-in and token checks, the listings the console and the command line show, and
the writes of sign-in (rehash), enrolment, last-seen, revocation and admins. A new password and
a disable end the user's console sessions in the same transaction. Stores hashes as given: must
not hash or check secrets, nor decide who may do what (server/auth.py does).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from server.store import sessions
from server.store.database import Database

Row = sqlite3.Row


class AccountConflict(Exception):
    """A user that cannot be added: `field` is "username" (taken) or "station" (unknown)."""

    def __init__(self, field: str):
        super().__init__(f"{field} is {'taken' if field == 'username' else 'unknown'}")
        self.field = field


# -- inside a read (one hop for a principal) -------------------------------------------------

def user(conn: sqlite3.Connection, user_id: int) -> Row | None:
    row: Row | None = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return row


def device(conn: sqlite3.Connection, device_id: str) -> Row | None:
    row: Row | None = conn.execute("SELECT * FROM devices WHERE id = ?",
                                   (device_id,)).fetchone()
    return row


# -- users ------------------------------------------------------------------------------------

async def user_named(db: Database, username: str) -> Row | None:
    return (await db.execute("SELECT * FROM users WHERE username = ?", (username,))).first()


async def username_of(db: Database, user_id: int) -> str | None:
    value = (await db.execute("SELECT username FROM users WHERE id = ?",
                              (user_id,))).single_value()
    return None if value is None else str(value)


async def add_user(db: Database, username: str, name: str, role: str, station: str | None,
                   password_hash: str, now: str) -> int:
    """The new user's id; raises AccountConflict for a taken username or an unknown station."""
    try:
        return await db.execute_write(
            "INSERT INTO users (username, name, role, station, password_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (username, name, role, station, password_hash, now))
    except sqlite3.IntegrityError as exc:
        raise AccountConflict("username" if "UNIQUE" in str(exc) else "station") from None


async def set_password_hash(db: Database, user_id: int, password_hash: str) -> None:
    await db.execute_write("UPDATE users SET password_hash = ? WHERE id = ?",
                           (password_hash, user_id))


async def change_password(db: Database, user_id: int, password_hash: str,
                          must_change: bool) -> None:
    """A new password (its owner's choice, or an admin's reset when `must_change`): every
    console session of the user ends with the old one."""
    def go(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE users SET password_hash = ?, must_change_password = ? "
                     "WHERE id = ?", (password_hash, 1 if must_change else 0, user_id))
        sessions.end_for_user(conn, user_id)
    await db.write(go)


async def set_disabled(db: Database, user_id: int, disabled: bool) -> None:
    """Disable (ending the user's console sessions) or enable a user."""
    def go(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE users SET disabled = ? WHERE id = ?",
                     (1 if disabled else 0, user_id))
        if disabled:
            sessions.end_for_user(conn, user_id)
    await db.write(go)


async def disable_named(db: Database, username: str) -> bool:
    """Disable a user by name, ending their console sessions; False if there is none."""
    def go(conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (row[0],))
        sessions.end_for_user(conn, row[0])
        return True
    return await db.write(go)


async def list_users(db: Database) -> list[dict[str, Any]]:
    """Every user with their count of live devices and when one was last seen; active users
    first, then by username."""
    return (await db.execute(
        "SELECT u.id, u.username, u.name, u.role, u.station, u.disabled, u.created_at, "
        "(SELECT count(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL) "
        "AS active_devices, (SELECT max(d.last_seen) FROM devices d WHERE d.user_id = u.id) "
        "AS last_seen FROM users u ORDER BY u.disabled, u.username")).dicts()


# -- devices ----------------------------------------------------------------------------------

async def device_row(db: Database, device_id: str) -> Row | None:
    return await db.read(lambda c: device(c, device_id))


async def add_device(db: Database, device_id: str, user_id: int, name: str, token_hash: str,
                     now: str) -> None:
    await db.execute_write(
        "INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen) "
        "VALUES (?, ?, ?, ?, ?, ?)", (device_id, user_id, name, token_hash, now, now))


async def set_token_hash(db: Database, device_id: str, token_hash: str, now: str) -> None:
    """A device's new token (re-enrolment); it counts as seen now."""
    await db.execute_write("UPDATE devices SET token_hash = ?, last_seen = ? WHERE id = ?",
                           (token_hash, now, device_id))


async def upgrade_token_hash(db: Database, device_id: str, old_hash: str, new_hash: str
                             ) -> None:
    """The same token stored under a new hash, unless the token changed meanwhile."""
    await db.execute_write("UPDATE devices SET token_hash = ? WHERE id = ? AND token_hash = ?",
                           (new_hash, device_id, old_hash))


async def mark_seen(db: Database, seen: dict[str, str]) -> None:
    """Last-seen times (device id -> time) in one transaction."""
    await db.executemany("UPDATE devices SET last_seen = ? WHERE id = ?",
                         [(at, device_id) for device_id, at in seen.items()])


async def revoke(db: Database, device_id: str, wipe: bool, now: str) -> None:
    """Revoke a live device (a revoked one keeps its first revocation)."""
    await db.execute_write(
        "UPDATE devices SET revoked_at = ?, wipe = ? WHERE id = ? AND revoked_at IS NULL",
        (now, 1 if wipe else 0, device_id))


async def list_devices(db: Database, user_id: int | None = None,
                       username: str | None = None) -> list[dict[str, Any]]:
    """Devices with their user, of one user if asked (by id or name): by username, live
    devices first, most recently seen first."""
    sql = ("SELECT d.id, d.name, d.created_at, d.last_seen, d.revoked_at, d.wipe, "
           "u.id AS user_id, u.username, u.name AS user_name, u.role, u.station, u.disabled "
           "FROM devices d JOIN users u ON u.id = d.user_id")
    params: tuple[object, ...] = ()
    if user_id is not None:
        sql, params = sql + " WHERE u.id = ?", (user_id,)
    elif username is not None:
        sql, params = sql + " WHERE u.username = ?", (username,)
    sql += " ORDER BY u.username, d.revoked_at IS NOT NULL, d.last_seen DESC"
    return (await db.execute(sql, params)).dicts()
