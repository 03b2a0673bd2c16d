"""Premises rows: how a record dict maps onto the `premises` table, and the read queries.

Owns the column mapping (one place), the `attachment_refs` index kept with every row written,
bulk insert for demo data and test seeds, and the SQL of get, nearest, names, export, the
review dashboard and the deleted records kept (search: server/store/search.py). Runs on a
sqlite3 connection handed in by the Database; no HTTP here. Must not decide what a record
becomes: changes are made by sync/writer.py.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from server.store.search import folded

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
    """The `search` column: the searched words, folded as SQLite's FTS5 index folds them, the
    name's, then `|`, then the address's, the postcode's (with and without its space) and the
    UPRN. PostgreSQL's word vectors are made from it (server/store/postgres/search.py);
    SQLite reads its FTS5 index instead."""
    postcode = str(doc.get("postcode") or "")
    rest = " ".join([str(doc.get("address") or ""), postcode, postcode.replace(" ", ""),
                     str(doc.get("uprn") or "")])
    return " ".join(folded(str(doc.get("name") or ""))) + "|" + " ".join(folded(rest))


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


def last_change_seq(conn: sqlite3.Connection) -> int:
    """The last number the server-wide change sequence gave (0 before any)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'change_seq'").fetchone()
    return int(row[0]) if row else 0


def attachment_shas(doc: dict[str, Any]) -> frozenset[str]:
    """The blobs a record's attachments reference."""
    return frozenset(a["sha256"] for a in doc.get("attachments") or [] if a.get("sha256"))


def put_rows(conn: sqlite3.Connection, docs: Sequence[dict[str, Any]], first_seq: int) -> None:
    """Write premises rows, the i-th with change number `first_seq + i`. Only the store's
    flush (server/store/sync.py) and `insert_many` call this; each then calls `put_refs`."""
    conn.executemany(UPSERT_SQL, [row_values(d, first_seq + i) for i, d in enumerate(docs)])


def put_refs(conn: sqlite3.Connection, refs: dict[str, frozenset[str]]) -> None:
    """Replace the attachment references of each record in `refs` (premises id -> blobs)."""
    if not refs:
        return
    conn.executemany("DELETE FROM attachment_refs WHERE premises_id = ?",
                     [(pid,) for pid in refs])
    conn.executemany("INSERT INTO attachment_refs (sha256, premises_id) VALUES (?, ?)",
                     [(sha, pid) for pid, shas in refs.items() for sha in sorted(shas)])


def referencing(conn: sqlite3.Connection, sha256: str) -> list[str]:
    """The records whose attachments reference blob `sha256` (deleted ones included)."""
    return [r[0] for r in conn.execute(
        "SELECT premises_id FROM attachment_refs WHERE sha256 = ? ORDER BY premises_id",
        (sha256,))]


def insert_many(conn: sqlite3.Connection, docs: Iterable[dict[str, Any]]) -> int:
    """Insert or replace records in bulk, as they are (demo data, test seeds); each gets a
    change number. Everything else writes records through sync/writer.py."""
    from server.store.postgres import compat  # noqa: PLC0415 (a cycle)
    from server.store.postgres import records as pg_records
    if compat.is_pg(conn):
        return pg_records.insert_many(conn.raw, docs)  # type: ignore[attr-defined]
    docs = list(docs)
    if not docs:
        return 0
    put_rows(conn, docs, next_change_seq(conn, len(docs)))
    put_refs(conn, {d["id"]: attachment_shas(d) for d in docs})
    return len(docs)


def get(conn: sqlite3.Connection, premises_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT doc FROM premises WHERE id = ?", (premises_id,)).fetchone()
    return _decode(row[0]) if row else None


def count(conn: sqlite3.Connection, service: int | None = None) -> int:
    """Records stored, tombstones included: on the deployment, or of one owning service."""
    if service is None:
        return int(conn.execute("SELECT count(*) FROM premises").fetchone()[0])
    return int(conn.execute(
        "SELECT count(*) FROM premises p JOIN stations s ON s.code = p.station "
        "WHERE s.organisation_id = ?", (service,)).fetchone()[0])


def names(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    """The name of each of `ids` that exists (id -> name)."""
    out: dict[str, str] = {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out.update((r[0], r[1]) for r in conn.execute(
            f"SELECT id, name FROM premises WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk))
    return out


def live_docs(conn: sqlite3.Connection, service: int) -> list[dict[str, Any]]:
    """Every live record of one owning service, by id (exports)."""
    rows = conn.execute(
        "SELECT p.doc FROM premises p JOIN stations s ON s.code = p.station "
        "WHERE p.deleted = 0 AND s.organisation_id = ? ORDER BY p.id", (service,)).fetchall()
    return [_decode(r[0]) for r in rows]


def deleted_in(conn: sqlite3.Connection, stations: list[str], limit: int
               ) -> list[dict[str, Any]]:
    """Tombstones of `stations` still kept (not purged), most recently deleted first."""
    if not stations:
        return []
    marks = ", ".join("?" * len(stations))
    rows = conn.execute(
        f"SELECT doc FROM premises WHERE deleted = 1 AND station IN ({marks}) "
        "ORDER BY change_seq DESC LIMIT ?", [*stations, limit]).fetchall()
    return [_decode(r[0]) for r in rows]


def review_counts(conn: sqlite3.Connection, stations: list[str], now: str, soon: str,
                  ) -> list[dict[str, Any]]:
    """Per station: its name, live premises, overdue and due-soon counts."""
    if not stations:
        return []
    marks = ", ".join("?" * len(stations))
    rows = conn.execute(
        "SELECT s.code, s.name, count(p.id) AS total, "
        "coalesce(sum(p.next_review_due < ?), 0) AS overdue, "
        "coalesce(sum(p.next_review_due >= ? AND p.next_review_due < ?), 0) AS due_soon "
        "FROM stations s LEFT JOIN premises p ON p.station = s.code AND p.deleted = 0 "
        f"WHERE s.code IN ({marks}) GROUP BY s.code ORDER BY s.code",
        [now, now, soon, *stations]).fetchall()
    return [dict(r) for r in rows]


def due_for_review(conn: sqlite3.Connection, stations: list[str], before: str, limit: int,
                   ) -> list[dict[str, Any]]:
    """Live premises whose review falls due before `before`, earliest first."""
    if not stations:
        return []
    marks = ", ".join("?" * len(stations))
    rows = conn.execute(
        f"SELECT doc FROM premises WHERE deleted = 0 AND station IN ({marks}) "
        "AND next_review_due < ? ORDER BY next_review_due, name LIMIT ?",
        [*stations, before, limit]).fetchall()
    return [_decode(r[0]) for r in rows]


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
