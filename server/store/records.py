"""Premises rows: how a record dict maps onto the `premises` table, and the read queries.

Owns the column mapping (one place), bulk insert for imports and demo data, and the SQL of
get and nearest (search: server/store/search.py). Runs on a sqlite3 connection handed in by
the Database; no HTTP here.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode

COLUMNS = ("id", "station", "name", "address", "postcode", "uprn", "lat", "lon", "use",
           "risk_level", "next_review_due", "search", "version", "deleted", "change_seq", "doc")
UPSERT_SQL = (
    f"INSERT INTO premises ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in COLUMNS if c != "id")
)


def search_text(doc: dict[str, Any]) -> str:
    """The old `search` column's text (no longer read: search uses the FTS5 index)."""
    postcode = str(doc.get("postcode") or "")
    return " ".join([
        str(doc.get("name") or ""), str(doc.get("address") or ""), postcode,
        postcode.replace(" ", ""), str(doc.get("uprn") or ""),
    ]).lower()


def row_values(doc: dict[str, Any], change_seq: int) -> tuple[Any, ...]:
    """The premises row for a record dict; `doc` is stored whole as JSON text."""
    return (
        doc["id"], doc["station"], doc["name"], doc.get("address", ""),
        doc.get("postcode", ""), doc.get("uprn", ""), doc.get("lat"), doc.get("lon"),
        doc.get("use", ""), doc.get("risk_level", 4), doc.get("next_review_due"),
        search_text(doc), doc.get("version", 1), 1 if doc.get("deleted") else 0, change_seq,
        _encode(doc).decode(),
    )


def next_change_seq(conn: sqlite3.Connection, count: int = 1) -> int:
    """Reserve `count` numbers of the server-wide change sequence; returns the first."""
    row = conn.execute(
        "INSERT INTO meta(key, value) VALUES ('change_seq', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ? RETURNING value",
        (count, count)).fetchone()
    return int(row[0]) - count + 1


def insert_many(conn: sqlite3.Connection, docs: Iterable[dict[str, Any]]) -> int:
    """Insert or replace records in bulk (imports, demo data); each gets a change number."""
    docs = list(docs)
    if not docs:
        return 0
    first = next_change_seq(conn, len(docs))
    conn.executemany(UPSERT_SQL, [row_values(d, first + i) for i, d in enumerate(docs)])
    return len(docs)


def get(conn: sqlite3.Connection, premises_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT doc FROM premises WHERE id = ?", (premises_id,)).fetchone()
    return _decode(row[0]) if row else None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def nearest(conn: sqlite3.Connection, lat: float, lon: float, *, limit: int = 20,
            radius_m: float = 50_000, stations: list[str] | None = None,
            ) -> list[tuple[float, dict[str, Any]]]:
    """Live records within `radius_m`, nearest first, as (distance in metres, record)."""
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.1, math.cos(math.radians(lat))))
    where = "deleted = 0 AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
    params: list[Any] = [lat - dlat, lat + dlat, lon - dlon, lon + dlon]
    if stations:
        where += f" AND station IN ({', '.join('?' * len(stations))})"
        params.extend(stations)
    rows = conn.execute(f"SELECT lat, lon, doc FROM premises WHERE {where}", params).fetchall()
    scored = sorted(((distance_m(lat, lon, r[0], r[1]), r[2]) for r in rows), key=lambda x: x[0])
    return [(round(d, 1), _decode(doc)) for d, doc in scored[:limit] if d <= radius_m]
