"""Shares and partner reads (migration 13): every SQL statement on `shares` and
`partner_reads` (which also notes the records a share first gave its partner's devices), and
the premises a share may cover (the owning service's live records, narrowed in SQL by
station, level and box; server/sharing.py's pure rules decide the rest).
Must not decide what a partner may see of a record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from server.sharing import Scope, Share, ShareRequest
from server.store.database import Database
from server.store.search import folded

SELECT = ("SELECT s.*, p.name AS partner_name, o.name AS owner_name FROM shares s "
          "JOIN organisations p ON p.id = s.partner_id "
          "JOIN organisations o ON o.id = s.owner_id")


def _share(row: sqlite3.Row) -> Share:
    return Share(id=row["id"], owner_id=row["owner_id"], partner_id=row["partner_id"],
                 purpose=row["purpose"], scope=Scope.from_json(row["scope"]),
                 profile=row["profile"], expires_on=row["expires_on"],
                 sensitive=tuple(json.loads(row["sensitive"])),
                 sensitive_reason=row["sensitive_reason"],
                 contribute=bool(row["contribute"]), created_at=row["created_at"],
                 created_by=row["created_by"], ended_at=row["ended_at"],
                 ended_by=row["ended_by"], partner_name=row["partner_name"],
                 owner_name=row["owner_name"])


async def add(db: Database, owner_id: int, req: ShareRequest, by: str, now: str) -> int:
    return await db.execute_write(
        "INSERT INTO shares (owner_id, partner_id, purpose, scope, profile, sensitive, "
        "sensitive_reason, contribute, expires_on, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (owner_id, req.partner_id, req.purpose, req.scope.to_json(), req.profile,
         json.dumps(list(req.sensitive)), req.sensitive_reason, int(req.contribute),
         req.expires_on, now, by))


async def get(db: Database, share_id: int) -> Share | None:
    row = (await db.execute(SELECT + " WHERE s.id = ?", (share_id,))).first()
    return _share(row) if row else None


async def listing(db: Database, owner_id: int | None = None,
                  partner_id: int | None = None) -> list[Share]:
    """Shares of one owning service, or given to one partner, newest first."""
    where, params = [], []
    if owner_id is not None:
        where.append("s.owner_id = ?")
        params.append(owner_id)
    if partner_id is not None:
        where.append("s.partner_id = ?")
        params.append(partner_id)
    sql = SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.id DESC"
    return [_share(r) for r in await db.execute(sql, tuple(params))]


def given_to(conn: sqlite3.Connection, partner_id: int) -> list[Share]:
    """The shares (live or not) given to one organisation, with its kind checked by the
    caller: inside another read (a pull's)."""
    return [_share(r) for r in conn.execute(SELECT + " WHERE s.partner_id = ? ORDER BY s.id",
                                            (partner_id,))]


async def end(db: Database, share_id: int, by: str, now: str) -> bool:
    """End a live share; False if it was ended already."""
    def go(conn: sqlite3.Connection) -> bool:
        cur = conn.execute("UPDATE shares SET ended_at = ?, ended_by = ? "
                           "WHERE id = ? AND ended_at IS NULL", (now, by, share_id))
        return cur.rowcount == 1
    return await db.write(go)


def candidates(conn: sqlite3.Connection, owner_id: int, scope: Scope, words: Sequence[str] = (),
               premises_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Live records of the owning service that may lie in `scope` (station, level and box
    narrowed here; polygon and use are the pure rule's), matching every word, by name."""
    sql = ["SELECT p.doc FROM premises p JOIN stations st ON st.code = p.station "
           "WHERE p.deleted = 0 AND st.organisation_id = ?"]
    params: list[Any] = [owner_id]
    if premises_id is not None:
        sql.append("AND p.id = ?")
        params.append(premises_id)
    if scope.stations:
        sql.append(f"AND p.station IN ({', '.join('?' * len(scope.stations))})")
        params.extend(scope.stations)
    if scope.levels:
        sql.append(f"AND p.risk_level IN ({', '.join('?' * len(scope.levels))})")
        params.extend(scope.levels)
    if scope.bbox is not None:
        sql.append("AND p.lon BETWEEN ? AND ? AND p.lat BETWEEN ? AND ?")
        w, s, e, n = scope.bbox
        params.extend((w, e, s, n))
    elif scope.polygon:
        sql.append("AND p.lat IS NOT NULL AND p.lon IS NOT NULL")
    for word in folded(" ".join(words)):  # as the search column's words are folded
        sql.append("AND p.search LIKE ? ESCAPE '\\'")
        params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%")
                      .replace("_", "\\_") + "%")
    sql.append("ORDER BY p.name, p.id LIMIT ?")
    params.append(limit)
    return [json.loads(r[0]) for r in conn.execute(" ".join(sql), params)]


async def record_read(db: Database, at: str, share_id: int, user_id: int | None, kind: str,
                      premises_id: str | None, detail: str, key_id: int | None = None) -> None:
    await db.execute_write(
        "INSERT INTO partner_reads (at, share_id, user_id, key_id, kind, premises_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, share_id, user_id, key_id, kind, premises_id, detail))


def changes(conn: sqlite3.Connection, owner_id: int, after: int, limit: int,
            scope: Scope | None = None) -> list[tuple[int, str, dict[str, Any]]]:
    """(change_seq, id, doc) of the owning service's records changed after `after`, live or
    deleted, in change order: what a feed page is cut from. With `scope` (a pass from the
    start, which names nothing as leaving), live records narrowed as `candidates` does."""
    sql = ["SELECT p.change_seq, p.id, p.doc FROM premises p "
           "JOIN stations st ON st.code = p.station "
           "WHERE st.organisation_id = ? AND p.change_seq > ?"]
    params: list[Any] = [owner_id, after]
    if scope is not None:
        sql.append("AND p.deleted = 0")
        if scope.stations:
            sql.append(f"AND p.station IN ({', '.join('?' * len(scope.stations))})")
            params.extend(scope.stations)
        if scope.levels:
            sql.append(f"AND p.risk_level IN ({', '.join('?' * len(scope.levels))})")
            params.extend(scope.levels)
        if scope.bbox is not None:
            w, s, e, n = scope.bbox
            sql.append("AND p.lon BETWEEN ? AND ? AND p.lat BETWEEN ? AND ?")
            params.extend((w, e, s, n))
    sql.append("ORDER BY p.change_seq LIMIT ?")
    params.append(limit)
    return [(r[0], r[1], json.loads(r[2])) for r in conn.execute(" ".join(sql), params)]


def docs(conn: sqlite3.Connection, premises_ids: Sequence[str]
         ) -> list[tuple[int, dict[str, Any]]]:
    """(owning service, record as stored) of these records, live or deleted."""
    if not premises_ids:
        return []
    return [(int(r[0]), json.loads(r[1])) for r in conn.execute(
        "SELECT st.organisation_id, p.doc FROM premises p JOIN stations st "
        f"ON st.code = p.station WHERE p.id IN ({', '.join('?' * len(premises_ids))})",
        tuple(premises_ids))]


FEED_RECORD = "feed_record"  # one row per record a feed page served (the `left` rule's memory)
DEVICE_RECORD = "device_record"  # one row per record a share first gave a partner's devices


async def record_delivered(db: Database, at: str, share_id: int, key_id: int,
                           premises_ids: Sequence[str]) -> None:
    """Note each record a feed page served, so only those are ever named as leaving."""
    def go(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO partner_reads (at, share_id, key_id, kind, premises_id) "
            "VALUES (?, ?, ?, ?, ?)", [(at, share_id, key_id, FEED_RECORD, p)
                                       for p in premises_ids])
    if premises_ids:
        await db.write(go)


def delivered(conn: sqlite3.Connection, share_id: int, premises_ids: Sequence[str],
              kind: str = FEED_RECORD) -> set[str]:
    """Which of these records the share's feed (or, with DEVICE_RECORD, its partner's
    devices) has ever been served."""
    if not premises_ids:
        return set()
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT premises_id FROM partner_reads WHERE share_id = ? AND kind = ? "
        f"AND premises_id IN ({', '.join('?' * len(premises_ids))})",
        (share_id, kind, *premises_ids))}


def delivered_all(conn: sqlite3.Connection, share_id: int, kind: str = DEVICE_RECORD
                  ) -> list[str]:
    """Every record the share has ever given (its partner's devices, by default)."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT premises_id FROM partner_reads WHERE share_id = ? AND kind = ? "
        "ORDER BY 1", (share_id, kind))]


def record_device_page(conn: sqlite3.Connection, at: str, share_id: int, user_id: int,
                       premises_ids: Sequence[str], detail: str) -> None:
    """A pull page that gave a partner's device records of the share: one `device` row in
    the access log, and a note of each record given for the first time (so only those are
    ever named as leaving; a record noted once is not noted again)."""
    conn.execute("INSERT INTO partner_reads (at, share_id, user_id, kind, premises_id, "
                 "detail) VALUES (?, ?, ?, 'device', NULL, ?)", (at, share_id, user_id, detail))
    new = sorted(set(premises_ids) - delivered(conn, share_id, premises_ids, DEVICE_RECORD))
    conn.executemany(
        "INSERT INTO partner_reads (at, share_id, user_id, kind, premises_id) "
        "VALUES (?, ?, ?, ?, ?)", [(at, share_id, user_id, DEVICE_RECORD, p) for p in new])


def history(conn: sqlite3.Connection, premises_ids: Sequence[str]) -> dict[str, list[Any]]:
    """The history entries kept for these records, newest first."""
    out: dict[str, list[Any]] = {p: [] for p in premises_ids}
    if not premises_ids:
        return out
    for pid, entry in conn.execute(
            "SELECT premises_id, entry FROM audit "
            f"WHERE premises_id IN ({', '.join('?' * len(premises_ids))}) ORDER BY id DESC",
            tuple(premises_ids)):
        out[pid].append(json.loads(entry))
    return out


async def add_key(db: Database, share_id: int, key_hash: str, by: str, now: str) -> int:
    return await db.execute_write(
        "INSERT INTO share_keys (share_id, key_hash, created_at, created_by) "
        "VALUES (?, ?, ?, ?)", (share_id, key_hash, now, by))


async def key(db: Database, key_id: int) -> dict[str, Any] | None:
    row = (await db.execute("SELECT * FROM share_keys WHERE id = ?", (key_id,))).first()
    return dict(row) if row else None


async def key_by_hash(db: Database, key_hash: str) -> dict[str, Any] | None:
    row = (await db.execute("SELECT * FROM share_keys WHERE key_hash = ?", (key_hash,))).first()
    return dict(row) if row else None


async def keys_of(db: Database, share_id: int) -> list[dict[str, Any]]:
    return (await db.execute("SELECT id, created_at, created_by, revoked_at FROM share_keys "
                             "WHERE share_id = ? ORDER BY id", (share_id,))).dicts()


async def revoke_key(db: Database, share_id: int, key_id: int, now: str) -> bool:
    def go(conn: sqlite3.Connection) -> bool:
        return conn.execute("UPDATE share_keys SET revoked_at = ? WHERE id = ? AND share_id = ? "
                            "AND revoked_at IS NULL", (now, key_id, share_id)).rowcount == 1
    return await db.write(go)


async def reads(db: Database, share_ids: Sequence[int], limit: int = 200,
                user_id: int | None = None) -> list[dict[str, Any]]:
    """Partner reads of these shares (only one user's, if given), newest first."""
    if not share_ids:
        return []
    sql = ("SELECT r.at, r.share_id, r.kind, r.premises_id, r.detail, r.key_id, "
           "coalesce(u.username, 'feed key ' || r.key_id) AS username, "
           "coalesce(u.name, 'partner system') AS user_name, p.name AS premises_name "
           "FROM partner_reads r "
           "LEFT JOIN users u ON u.id = r.user_id LEFT JOIN premises p ON p.id = r.premises_id "
           f"WHERE r.share_id IN ({', '.join('?' * len(share_ids))}) AND r.kind NOT IN (?, ?)")
    params: list[Any] = [*share_ids, FEED_RECORD, DEVICE_RECORD]
    if user_id is not None:
        sql += " AND r.user_id = ?"
        params.append(user_id)
    sql += " ORDER BY r.at DESC, r.id DESC LIMIT ?"
    params.append(limit)
    return (await db.execute(sql, tuple(params))).dicts()
