"""Users and devices: every SQL statement on the `users` and `devices` tables (migrations 1, 10).
Every listing is of one owning service (`users.organisation_id`, migration 13).

Look-ups for sign-in and token checks, the listings the console and the command line show, and
the writes of sign-in (rehash), enrolment, last-seen, revocation, profiles (role, home station,
extra grounds), passwords and disabling (which revokes the user's devices with the wipe order).
A new password and a disable end the user's console sessions in the same transaction. Stores
hashes as given: must not hash or check secrets, nor decide who may do what (server/auth.py does).
"""

from __future__ import annotations

import json
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
                   password_hash: str, now: str, service: int) -> int:
    """The new user of an owning service; raises AccountConflict for a username taken
    anywhere on the deployment, or a station that is not one of the service's."""
    def run(conn: sqlite3.Connection) -> int:
        if station is not None and conn.execute(
                "SELECT 1 FROM stations WHERE code = ? AND organisation_id = ?",
                (station, service)).fetchone() is None:
            raise AccountConflict("station")
        try:
            cur = conn.execute(
                "INSERT INTO users (username, name, role, station, password_hash, created_at, "
                "organisation_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (username, name, role, station, password_hash, now, service))
        except sqlite3.IntegrityError as exc:
            raise AccountConflict("username" if "UNIQUE" in str(exc) else "station") from None
        return int(cur.lastrowid or 0)
    return int(await db.write(run))


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


def extra_grounds_of(user: Row) -> list[str]:
    """The stations a user covers beyond their home station's grounds (migration 11)."""
    return list(json.loads(user["extra_grounds"] or "[]"))


async def set_disabled(db: Database, user_id: int, disabled: bool, now: str) -> int:
    """Disable or enable a user. Disabling also ends their console sessions and revokes every
    live device of theirs with the wipe order, in the same transaction; returns how many devices
    were revoked."""
    def run(conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE users SET disabled = ? WHERE id = ?",
                     (1 if disabled else 0, user_id))
        if not disabled:
            return 0
        sessions.end_for_user(conn, user_id)
        return int(conn.execute(
            "UPDATE devices SET revoked_at = ?, wipe = 1 WHERE user_id = ? "
            "AND revoked_at IS NULL", (now, user_id)).rowcount)
    return await db.write(run)


def set_profile(conn: sqlite3.Connection, user_id: int, name: str, role: str,
                station: str | None, extra: list[str]) -> None:
    """A user's name, role, home station and extra grounds (the caller checks them), inside
    the caller's write."""
    conn.execute(
        "UPDATE users SET name = ?, role = ?, station = ?, extra_grounds = ? WHERE id = ?",
        (name, role, station, json.dumps(extra), user_id))


def based_at(conn: sqlite3.Connection, station: str) -> list[str]:
    """Usernames of the users whose home station is `station`."""
    return [r[0] for r in conn.execute(
        "SELECT username FROM users WHERE station = ? ORDER BY username", (station,))]


def drop_ground(conn: sqlite3.Connection, station: str) -> None:
    """Take `station` out of every user's extra grounds (it is being retired)."""
    for user_id, extra in conn.execute(
            "SELECT id, extra_grounds FROM users WHERE extra_grounds LIKE ?",
            (f'%"{station}"%',)).fetchall():
        kept = [s for s in json.loads(extra) if s != station]
        conn.execute("UPDATE users SET extra_grounds = ? WHERE id = ?",
                     (json.dumps(kept), user_id))


def user_count(conn: sqlite3.Connection, service: int | None = None) -> int:
    """Users on the whole deployment, or of one owning service."""
    if service is None:
        return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])
    return int(conn.execute("SELECT count(*) FROM users WHERE organisation_id = ?",
                            (service,)).fetchone()[0])


async def list_users(db: Database, service: int, user_id: int | None = None
                     ) -> list[dict[str, Any]]:
    """The staff of one owning service and the users of its partner organisations, or only
    `user_id` if it is one of them, with their count of live devices and when one was last seen; active
    users first, then by username. Another owning service's staff are never listed."""
    sql = ("SELECT u.id, u.username, u.name, u.role, u.station, u.extra_grounds, u.disabled, "
           "u.organisation_id, "
           "u.created_at, "
           "(SELECT count(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL) "
           "AS active_devices, (SELECT max(d.last_seen) FROM devices d WHERE d.user_id = u.id) "
           "AS last_seen FROM users u WHERE (u.organisation_id = ? OR u.organisation_id IN "
           "(SELECT id FROM organisations WHERE owner_id = ?))")
    params: tuple[object, ...] = (service, service)
    if user_id is not None:
        sql, params = sql + " AND u.id = ?", (service, service, user_id)
    rows = (await db.execute(sql + " ORDER BY u.disabled, u.username", params)).dicts()
    return [{**r, "extra_grounds": json.loads(r["extra_grounds"])} for r in rows]


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


async def report_pending(db: Database, device_id: str, count: int, oldest: str | None,
                         now: str) -> None:
    """The unsent edits a device reported on a sync: how many, the oldest's time, and when."""
    await db.execute_write(
        "UPDATE devices SET pending_count = ?, oldest_pending = ?, pending_reported_at = ? "
        "WHERE id = ?", (count, oldest if count else None, now, device_id))


async def revoke(db: Database, device_id: str, wipe: bool, now: str) -> None:
    """Revoke a live device (a revoked one keeps its first revocation)."""
    await db.execute_write(
        "UPDATE devices SET revoked_at = ?, wipe = ? WHERE id = ? AND revoked_at IS NULL",
        (now, 1 if wipe else 0, device_id))


# devices.wipe on a live device (revoked_at NULL): 2 = an admin ordered it to retire (send what
# it holds, then sign out and clear itself). On a revoked device: 1 = wipe ordered, 0 = not.
RETIRE_ORDERED = 2


async def retire(db: Database, device_id: str) -> bool:
    """Order a live device to retire; False if it is revoked (or unknown)."""
    return bool(await db.write(lambda conn: conn.execute(
        "UPDATE devices SET wipe = ? WHERE id = ? AND revoked_at IS NULL",
        (RETIRE_ORDERED, device_id)).rowcount))


async def end_retirement(db: Database, device_id: str, now: str) -> None:
    """A retiring device acknowledged: revoke it with the wipe order."""
    await db.execute_write(
        "UPDATE devices SET revoked_at = ?, wipe = 1 WHERE id = ? AND revoked_at IS NULL "
        "AND wipe = ?", (now, device_id, RETIRE_ORDERED))


async def list_devices(db: Database, service: int, user_id: int | None = None,
                       username: str | None = None, device_id: str | None = None
                       ) -> list[dict[str, Any]]:
    """The devices of one owning service's users, with their user; of one user if asked (by
    id or name), or one device: by username, live devices first, most recently seen first."""
    sql = ("SELECT d.id, d.name, d.created_at, d.last_seen, d.revoked_at, d.wipe, "
           "d.pending_count, d.pending_reported_at, "
           "u.id AS user_id, u.username, u.name AS user_name, u.role, u.station, u.disabled "
           "FROM devices d JOIN users u ON u.id = d.user_id WHERE u.organisation_id = ?")
    params: list[object] = [service]
    for column, value in (("u.id", user_id), ("u.username", username), ("d.id", device_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    sql += " ORDER BY u.username, d.revoked_at IS NOT NULL, d.last_seen DESC"
    return (await db.execute(sql, params)).dicts()
