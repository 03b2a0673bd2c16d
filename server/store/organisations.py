"""Organisations (migration 13): the owning services whose records these are, and the
partner organisations given shares of them, with the partner users of each. Every SQL
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


async def add(db: Database, name: str, kind: str, now: str) -> int:
    try:
        return await db.execute_write(
            "INSERT INTO organisations (name, kind, created_at) VALUES (?, ?, ?)",
            (name, kind, now))
    except sqlite3.IntegrityError:
        raise NameTaken(name) from None


async def get(db: Database, org_id: int) -> dict[str, Any] | None:
    row = (await db.execute("SELECT * FROM organisations WHERE id = ?", (org_id,))).first()
    return dict(row) if row else None


async def named(db: Database, name: str) -> dict[str, Any] | None:
    row = (await db.execute("SELECT * FROM organisations WHERE lower(name) = lower(?)",
                            (name,))).first()
    return dict(row) if row else None


async def listing(db: Database) -> list[dict[str, Any]]:
    """Every organisation with its count of partner users, owners first, then by name."""
    return (await db.execute(
        "SELECT o.id, o.name, o.kind, o.created_at, "
        "(SELECT count(*) FROM users u WHERE u.organisation_id = o.id "
        " AND u.role = 'partner') AS partner_users "
        "FROM organisations o ORDER BY o.kind != 'owner', o.name")).dicts()


async def partners(db: Database) -> list[dict[str, Any]]:
    return (await db.execute("SELECT id, name, kind FROM organisations WHERE kind != 'owner' "
                             "ORDER BY name")).dicts()


async def add_partner_user(db: Database, username: str, name: str, org_id: int,
                           password_hash: str, now: str) -> int:
    """A partner user: role 'partner', no station, no extra grounds. Raises NameTaken for a
    username in use."""
    try:
        return await db.execute_write(
            "INSERT INTO users (username, name, role, station, password_hash, created_at, "
            "organisation_id) VALUES (?, ?, 'partner', NULL, ?, ?, ?)",
            (username, name, password_hash, now, org_id))
    except sqlite3.IntegrityError:
        raise NameTaken(username) from None


async def partner_users(db: Database) -> list[dict[str, Any]]:
    return (await db.execute(
        "SELECT u.id, u.username, u.name, u.disabled, u.organisation_id, o.name AS organisation "
        "FROM users u JOIN organisations o ON o.id = u.organisation_id "
        "WHERE u.role = 'partner' ORDER BY o.name, u.username")).dicts()


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
