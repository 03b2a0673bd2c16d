"""Stations: every SQL statement on the `stations` table (migrations 1, 11 and 13).

Each station belongs to one owning service (`organisation_id`); every listing is of one
service. Codes are unique across the deployment. Codes, the extra grounds a station covers, the listing devices and the console show, and the
writes of adding, editing and retiring one. Demo data writes its own stations (server/demo.py).
Must not decide whose grounds are whose (server/auth.py does) nor move premises (server/grounds.py
does, through the one writer).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.store.database import Database


@dataclass(frozen=True)
class Owned:
    """A station of one owning service, as the grounds computation needs it."""

    retired: bool
    extra_grounds: tuple[str, ...]


def of_service(conn: sqlite3.Connection, service: int) -> dict[str, Owned]:
    """Every station of one owning service (retired too), by code, in code order."""
    return {r[0]: Owned(r[1] is not None, tuple(json.loads(r[2]))) for r in conn.execute(
        "SELECT code, retired_at, extra_grounds FROM stations WHERE organisation_id = ? "
        "ORDER BY code", (service,))}


def codes(conn: sqlite3.Connection, service: int) -> list[str]:
    """Every station of an owning service in service (not retired), in code order."""
    return [r[0] for r in conn.execute(
        "SELECT code FROM stations WHERE retired_at IS NULL AND organisation_id = ? "
        "ORDER BY code", (service,))]


def service_of(conn: sqlite3.Connection, code: str) -> int | None:
    """The owning service a station belongs to; None if there is no such station."""
    row = conn.execute("SELECT organisation_id FROM stations WHERE code = ?",
                       (code,)).fetchone()
    return None if row is None else int(row[0])


def extra_grounds(conn: sqlite3.Connection, code: str) -> list[str] | None:
    """The other stations `code` covers; None if there is no such station."""
    row = conn.execute("SELECT extra_grounds FROM stations WHERE code = ?", (code,)).fetchone()
    return list(json.loads(row[0])) if row else None


def _dict(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "extra_grounds": json.loads(row["extra_grounds"])}


def get(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    """One station as code, name, lat, lon, extra_grounds (a list) and retired_at."""
    row = conn.execute("SELECT code, name, lat, lon, extra_grounds, retired_at FROM stations "
                       "WHERE code = ?", (code,)).fetchone()
    return _dict(row) if row else None


async def listing(db: Database, service: int, include_retired: bool = False
                  ) -> list[dict[str, Any]]:
    """One owning service's stations as code, name, lat, lon, extra_grounds (a list) and
    retired_at, in code order: those in service only, unless `include_retired`."""
    where = "" if include_retired else " AND retired_at IS NULL"
    rows = (await db.execute("SELECT code, name, lat, lon, extra_grounds, retired_at "
                             f"FROM stations WHERE organisation_id = ?{where} "
                             "ORDER BY retired_at IS NOT NULL, code", (service,)))
    return [_dict(r) for r in rows.rows]


async def overview(db: Database, service: int) -> list[dict[str, Any]]:
    """Every station of one owning service (retired last) with its live premises and the
    users based there."""
    rows = (await db.execute(
        "SELECT s.code, s.name, s.lat, s.lon, s.extra_grounds, s.retired_at, "
        "(SELECT count(*) FROM premises p WHERE p.station = s.code AND p.deleted = 0) "
        "AS premises, (SELECT count(*) FROM users u WHERE u.station = s.code) AS users "
        "FROM stations s WHERE s.organisation_id = ? "
        "ORDER BY s.retired_at IS NOT NULL, s.code", (service,)))
    return [_dict(r) for r in rows.rows]


def add(conn: sqlite3.Connection, code: str, name: str, lat: float | None, lon: float | None,
        extra: Sequence[str], service: int) -> bool:
    """Insert a station of an owning service; False if the code is taken anywhere on the
    deployment (codes are unique across services; retired stations keep theirs)."""
    return conn.execute(
        "INSERT INTO stations (code, name, lat, lon, extra_grounds, organisation_id) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO NOTHING",
        (code, name, lat, lon, json.dumps(list(extra)), service)).rowcount == 1


def update(conn: sqlite3.Connection, code: str, name: str, lat: float | None,
           lon: float | None, extra: Sequence[str]) -> None:
    conn.execute("UPDATE stations SET name = ?, lat = ?, lon = ?, extra_grounds = ? "
                 "WHERE code = ?", (name, lat, lon, json.dumps(list(extra)), code))


def retire(conn: sqlite3.Connection, code: str, now: str) -> None:
    """Mark a station retired and take it out of every other station's extra grounds."""
    conn.execute("UPDATE stations SET retired_at = ?, extra_grounds = '[]' WHERE code = ?",
                 (now, code))
    for other, extra in conn.execute(
            "SELECT code, extra_grounds FROM stations WHERE code != ?", (code,)).fetchall():
        kept = [s for s in json.loads(extra) if s != code]
        if len(kept) != len(json.loads(extra)):
            conn.execute("UPDATE stations SET extra_grounds = ? WHERE code = ?",
                         (json.dumps(kept), other))


def premises_ids(conn: sqlite3.Connection, code: str) -> list[str]:
    """Every record held by a station, tombstones included."""
    return [r[0] for r in conn.execute("SELECT id FROM premises WHERE station = ? ORDER BY id",
                                       (code,))]


def count(conn: sqlite3.Connection, service: int) -> int:
    """Stations of an owning service in service."""
    return int(conn.execute(
        "SELECT count(*) FROM stations WHERE retired_at IS NULL AND organisation_id = ?",
        (service,)).fetchone()[0])
