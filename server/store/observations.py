"""Open crew observations across premises: the SQL behind the console's observations inbox.

Reads the observations inside the stored record documents (JSON1 `json_each`); runs on a
sqlite3 connection handed in by the Database. Writes nothing: reviews go through the sync engine.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

SQL = (
    "SELECT p.id AS premises_id, p.name, p.station, p.version, o.value AS observation "
    "FROM premises p, json_each(p.doc, '$.observations') o "
    "WHERE p.deleted = 0 AND p.station IN ({marks}) "
    "AND coalesce(json_extract(o.value, '$.status'), 'open') = 'open' "
    "ORDER BY json_extract(o.value, '$.at') DESC, p.name LIMIT ?"
)


def open_observations(conn: sqlite3.Connection, stations: list[str], limit: int
                      ) -> list[dict[str, Any]]:
    """Open observations on live premises of `stations`, newest first: each with its premises'
    id, name, station and version, and the observation itself (a dict)."""
    if not stations:
        return []
    rows = conn.execute(SQL.format(marks=", ".join("?" * len(stations))),
                        [*stations, limit]).fetchall()
    return [{"premises_id": r["premises_id"], "name": r["name"], "station": r["station"],
             "version": r["version"], "observation": msgspec.json.decode(r["observation"])}
            for r in rows]
