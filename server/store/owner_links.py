"""Submission links and equipment faults (migration 17): every SQL statement on
`submission_links` and `equipment_faults`. A link's token is only ever held as its digest.
Must not decide whether a link is live or who may issue one (server/submissions.py does).
"""

from __future__ import annotations

from typing import Any

from server.store.database import Database

Row = dict[str, Any]


async def add_link(db: Database, premises_id: str, token_hash: str, by: str, now: str,
                   expires_at: str) -> int:
    return await db.write(lambda conn: insert_link(conn, premises_id, token_hash, by, now,
                                                   expires_at))


def insert_link(conn: Any, premises_id: str, token_hash: str, by: str, now: str,
                expires_at: str) -> int:
    """Inside a write: a new link (its token only as its digest); returns its id."""
    cur = conn.execute(
        "INSERT INTO submission_links (premises_id, token_hash, created_by, created_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?)", (premises_id, token_hash, by, now, expires_at))
    return int(cur.lastrowid or 0)


async def links_for(db: Database, premises_id: str) -> list[Row]:
    """A premises' links, newest first (never their tokens: only digests are stored)."""
    rows = await db.execute("SELECT * FROM submission_links WHERE premises_id = ? "
                            "ORDER BY id DESC", (premises_id,))
    return [dict(r) for r in rows]


async def link_by_hash(db: Database, token_hash: str) -> Row | None:
    row = (await db.execute("SELECT * FROM submission_links WHERE token_hash = ?",
                            (token_hash,))).first()
    return dict(row) if row else None


async def revoke(db: Database, link_id: int, premises_id: str, by: str, now: str) -> bool:
    """Revoke a live link of that premises; False when there is none to revoke."""
    def run(conn: Any) -> bool:
        cur = conn.execute("UPDATE submission_links SET revoked_at = ?, revoked_by = ? "
                           "WHERE id = ? AND premises_id = ? AND revoked_at IS NULL",
                           (now, by, link_id, premises_id))
        return bool(cur.rowcount)
    return bool(await db.write(run))


REPLACED = "replaced-by:"   # a replaced link's token_hash: its old digest is forgotten


def replace_in(conn: Any, link_id: int, premises_id: str, token_hash: str, by: str,
               now: str) -> tuple[int, str] | None:
    """Inside the caller's transaction: revoke a live link of that premises, forget its token's
    digest (the old URL then finds nothing, like any unknown token) and add a link with
    `token_hash` expiring when the old one would have. Returns (new id, expiry); None when
    the link is not live."""
    old = conn.execute("SELECT expires_at FROM submission_links WHERE id = ? AND "
                       "premises_id = ? AND revoked_at IS NULL AND expires_at > ?",
                       (link_id, premises_id, now)).fetchone()
    if old is None:
        return None
    expires = str(old[0])
    new_id = int(conn.execute(
        "INSERT INTO submission_links (premises_id, token_hash, created_by, created_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?)",
        (premises_id, token_hash, by, now, expires)).lastrowid or 0)
    conn.execute("UPDATE submission_links SET revoked_at = ?, revoked_by = ?, "
                 "token_hash = ? WHERE id = ?", (now, by, f"{REPLACED}{new_id}", link_id))
    return new_id, expires


async def spend(db: Database, link_id: int, now: float, window: int) -> tuple[int, float]:
    """Count one request against the link's current window (a new one starts after `window`
    seconds); returns the count in the window and when the window began."""
    def run(conn: Any) -> tuple[int, float]:
        conn.execute(
            "UPDATE submission_links SET "
            "window_count = CASE WHEN ? - window_start >= ? THEN 1 ELSE window_count + 1 END, "
            "window_start = CASE WHEN ? - window_start >= ? THEN ? ELSE window_start END "
            "WHERE id = ?", (now, window, now, window, now, link_id))
        row = conn.execute("SELECT window_count, window_start FROM submission_links "
                           "WHERE id = ?", (link_id,)).fetchone()
        return int(row[0]), float(row[1])
    return await db.write(run)


async def fault(db: Database, reference: str) -> Row | None:
    row = (await db.execute("SELECT * FROM equipment_faults WHERE reference = ?",
                            (reference,))).first()
    return dict(row) if row else None


async def faults_for(db: Database, premises_id: str, *, open_only: bool = False) -> list[Row]:
    """A premises' faults, oldest report first; with `open_only`, those not yet repaired."""
    sql = "SELECT * FROM equipment_faults WHERE premises_id = ?"
    if open_only:
        sql += " AND repaired_at IS NULL"
    rows = await db.execute(sql + " ORDER BY reported_at, reference", (premises_id,))
    return [dict(r) for r in rows]


# -- inside a caller's transaction (server/submissions.py: the fault row and the record's
# rewrite commit together) ---------------------------------------------------------------------

def insert_fault(conn: Any, fault: Row) -> None:
    conn.execute(
        "INSERT INTO equipment_faults (reference, premises_id, link_id, kind, description, "
        "since, reported_by, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (fault["reference"], fault["premises_id"], fault["link_id"], fault["kind"],
         fault["description"], fault["since"], fault["reported_by"], fault["reported_at"]))


def open_faults_in(conn: Any, premises_id: str) -> list[Row]:
    """A premises' faults not yet repaired, oldest report first."""
    rows = conn.execute("SELECT * FROM equipment_faults WHERE premises_id = ? AND "
                        "repaired_at IS NULL ORDER BY reported_at, reference",
                        (premises_id,)).fetchall()
    return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]


def mark_repaired(conn: Any, reference: str, now: str, note: str, by: str = "") -> bool:
    """Mark an open fault repaired (`by`: a supervisor; empty: the responsible person);
    False when it was already repaired."""
    cur = conn.execute("UPDATE equipment_faults SET repaired_at = ?, repair_note = ?, "
                       "repaired_by = ? WHERE reference = ? AND repaired_at IS NULL",
                       (now, note, by, reference))
    return bool(cur.rowcount)


def mark_confirmed(conn: Any, reference: str, now: str, by: str, note: str) -> bool:
    """A supervisor confirms an open fault still out of order; False when it is repaired."""
    cur = conn.execute("UPDATE equipment_faults SET confirmed_at = ?, confirmed_by = ?, "
                       "confirm_note = ? WHERE reference = ? AND repaired_at IS NULL",
                       (now, by, note, reference))
    return bool(cur.rowcount)


async def open_faults(db: Database, premises_ids: list[str] | None = None) -> list[Row]:
    """Every open fault (of `premises_ids`, when given), oldest report first."""
    if premises_ids is not None and not premises_ids:
        return []
    sql, params = "SELECT * FROM equipment_faults WHERE repaired_at IS NULL", []
    if premises_ids is not None:
        sql += f" AND premises_id IN ({', '.join('?' * len(premises_ids))})"
        params = list(premises_ids)
    rows = await db.execute(sql + " ORDER BY reported_at, reference", params)
    return [dict(r) for r in rows]


async def premises_with_open_faults(db: Database) -> list[str]:
    rows = await db.execute("SELECT DISTINCT premises_id FROM equipment_faults "
                            "WHERE repaired_at IS NULL ORDER BY premises_id")
    return [str(r[0]) for r in rows]
