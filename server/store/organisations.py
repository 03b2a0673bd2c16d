"""Organisations (migrations 13, 20): the owning services whose records these are, and the
partner organisations given shares of them (each belongs to the owning service that added
it), with the partner users of each. Every SQL
statement on `organisations`, and the partner users' rows in `users`.
Must not decide who may make or see a share (server/partners.py does).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from server.store.database import Database

OWNER = "owner"


class NameTaken(Exception):
    """The organisation's name is in use already."""


async def add(db: Database, name: str, kind: str, now: str, owner_id: int | None = None
              ) -> int:
    """An organisation; a partner's `owner_id` is the owning service that added it
    (migration 20). Names are unique on the deployment."""
    try:
        return await db.execute_write(
            "INSERT INTO organisations (name, kind, created_at, owner_id) VALUES (?, ?, ?, ?)",
            (name, kind, now, owner_id))
    except sqlite3.IntegrityError:
        raise NameTaken(name) from None


async def get(db: Database, org_id: int) -> dict[str, Any] | None:
    row = (await db.execute("SELECT * FROM organisations WHERE id = ?", (org_id,))).first()
    return dict(row) if row else None


def kind_of(conn: sqlite3.Connection, org_id: int) -> str | None:
    row = conn.execute("SELECT kind FROM organisations WHERE id = ?", (org_id,)).fetchone()
    return str(row[0]) if row else None


async def named(db: Database, name: str) -> dict[str, Any] | None:
    row = (await db.execute("SELECT * FROM organisations WHERE lower(name) = lower(?)",
                            (name,))).first()
    return dict(row) if row else None


async def listing(db: Database, service: int) -> list[dict[str, Any]]:
    """An owning service and its partner organisations, each with its count of partner
    users, the service first, then by name."""
    return (await db.execute(
        "SELECT o.id, o.name, o.kind, o.created_at, "
        "(SELECT count(*) FROM users u WHERE u.organisation_id = o.id "
        " AND o.kind != 'owner') AS partner_users "
        "FROM organisations o WHERE o.id = ? OR o.owner_id = ? "
        "ORDER BY o.kind != 'owner', o.name", (service, service))).dicts()


async def partners(db: Database, service: int) -> list[dict[str, Any]]:
    """The partner organisations an owning service added."""
    return (await db.execute("SELECT id, name, kind FROM organisations WHERE kind != 'owner' "
                             "AND owner_id = ? ORDER BY name", (service,))).dicts()


def owner_of(conn: sqlite3.Connection, org_id: int) -> int | None:
    """The owning service a partner organisation belongs to (None for an owning service)."""
    row = conn.execute("SELECT owner_id FROM organisations WHERE id = ?", (org_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


async def add_partner_user(db: Database, username: str, name: str, org_id: int,
                           password_hash: str, now: str, role: str = "partner") -> int:
    """A partner organisation's user: role 'partner' (or a neighbouring service's 'crew'),
    no station, no extra grounds. Raises NameTaken for a username in use."""
    try:
        return await db.execute_write(
            "INSERT INTO users (username, name, role, station, password_hash, created_at, "
            "organisation_id) VALUES (?, ?, ?, NULL, ?, ?, ?)",
            (username, name, role, password_hash, now, org_id))
    except sqlite3.IntegrityError:
        raise NameTaken(username) from None


async def partner_users(db: Database, service: int) -> list[dict[str, Any]]:
    """The users of an owning service's partner organisations (partner view or, in a
    neighbouring fire service, crew)."""
    return (await db.execute(
        "SELECT u.id, u.username, u.name, u.role, u.disabled, u.organisation_id, "
        "o.name AS organisation FROM users u JOIN organisations o ON o.id = u.organisation_id "
        "WHERE o.owner_id = ? ORDER BY o.name, u.username",
        (service,))).dicts()


def station_codes(conn: sqlite3.Connection, org_id: int) -> list[str]:
    """The stations (in service) an owning service's records are kept under."""
    return [r[0] for r in conn.execute(
        "SELECT code FROM stations WHERE organisation_id = ? AND retired_at IS NULL "
        "ORDER BY code", (org_id,))]


async def set_station_owner(db: Database, code: str, org_id: int) -> None:
    """Put a station (and so its premises) under another owning service (a regional
    deployment's set-up)."""
    await db.execute_write("UPDATE stations SET organisation_id = ? WHERE code = ?",
                           (org_id, code))


# -- owning services (server/services.py) -----------------------------------------------------

async def owners(db: Database) -> list[dict[str, Any]]:
    """Every owning service with its counts of stations (in service) and staff, by id."""
    return (await db.execute(
        "SELECT o.id, o.name, o.created_at, "
        "(SELECT count(*) FROM stations s WHERE s.organisation_id = o.id "
        " AND s.retired_at IS NULL) AS stations, "
        "(SELECT count(*) FROM users u WHERE u.organisation_id = o.id) AS users "
        "FROM organisations o WHERE o.kind = 'owner' ORDER BY o.id")).dicts()


async def add_owner(db: Database, name: str, now: str, username: str, full_name: str,
                    password_hash: str) -> int:
    """A new owning service and its first admin, in one transaction; raises NameTaken with
    the name or the username that is in use (nothing is written then)."""
    def run(conn: sqlite3.Connection) -> int:
        if conn.execute("SELECT 1 FROM organisations WHERE lower(name) = lower(?)",
                        (name,)).fetchone():
            raise NameTaken(name)
        if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
            raise NameTaken(username)
        cur = conn.execute("INSERT INTO organisations (name, kind, created_at) "
                           "VALUES (?, 'owner', ?)", (name, now))
        service = int(cur.lastrowid or 0)
        conn.execute("INSERT INTO users (username, name, role, station, password_hash, "
                     "created_at, organisation_id) VALUES (?, ?, 'admin', NULL, ?, ?, ?)",
                     (username, full_name, password_hash, now, service))
        return service
    return int(await db.write(run))


def name_first_service(conn: sqlite3.Connection, name: str) -> None:
    """Inside a write: give the first owning service `name` while it has its default one."""
    conn.execute("UPDATE organisations SET name = ? WHERE id = 1 AND name = 'This service'",
                 (name,))


async def rename(db: Database, org_id: int, name: str) -> None:
    """Rename an organisation; raises NameTaken if another has the name."""
    def run(conn: sqlite3.Connection) -> None:
        if conn.execute("SELECT 1 FROM organisations WHERE lower(name) = lower(?) "
                        "AND id != ?", (name, org_id)).fetchone():
            raise NameTaken(name)
        conn.execute("UPDATE organisations SET name = ? WHERE id = ?", (name, org_id))
    await db.write(run)
