"""Stations: the SQL of the `stations` table (migration 1) that the server reads.

Codes, the extra grounds a station covers, and the listing devices and the console show.
Demo data writes stations (server/demo.py). Must not decide whose grounds are whose
(server/auth.py does).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from server.store.database import Database


def codes(conn: sqlite3.Connection) -> list[str]:
    """Every station code, in order."""
    return [r[0] for r in conn.execute("SELECT code FROM stations ORDER BY code")]


def extra_grounds(conn: sqlite3.Connection, code: str) -> list[str] | None:
    """The other stations `code` covers; None if there is no such station."""
    row = conn.execute("SELECT extra_grounds FROM stations WHERE code = ?", (code,)).fetchone()
    return list(json.loads(row[0])) if row else None


async def listing(db: Database) -> list[dict[str, Any]]:
    """Every station as code, name, lat, lon and extra_grounds (a list), in code order."""
    rows = (await db.execute("SELECT code, name, lat, lon, extra_grounds FROM stations "
                             "ORDER BY code")).dicts()
    return [{**r, "extra_grounds": json.loads(r["extra_grounds"])} for r in rows]
