"""Information-box checks (migration 19): every SQL statement on `information_box_checks`,
the annual checks of a high-rise building's secure information box its responsible person
records (reg. 4), kept as the history. Must not decide what is overdue (server/information_box.py).
"""

from __future__ import annotations

from typing import Any

from server.store.database import Database

Row = dict[str, Any]


def insert(conn: Any, check: Row) -> int:
    """Store one check inside the caller's transaction; returns its id."""
    cur = conn.execute(
        "INSERT INTO information_box_checks (premises_id, link_id, checked_on, outcome, "
        "problems, reported_by, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (check["premises_id"], check.get("link_id"), check["checked_on"], check["outcome"],
         check["problems"], check["reported_by"], check["reported_at"]))
    return int(cur.lastrowid or 0)


def latest_in(conn: Any, premises_id: str) -> Row | None:
    """The premises' latest check: the newest check date, the later report on a tie."""
    row = conn.execute("SELECT * FROM information_box_checks WHERE premises_id = ? "
                       "ORDER BY checked_on DESC, reported_at DESC, id DESC LIMIT 1",
                       (premises_id,)).fetchone()
    return {k: row[k] for k in row.keys()} if row else None


async def checks_for(db: Database, premises_id: str) -> list[Row]:
    """A premises' checks, newest first."""
    rows = await db.execute("SELECT * FROM information_box_checks WHERE premises_id = ? "
                            "ORDER BY checked_on DESC, reported_at DESC, id DESC",
                            (premises_id,))
    return [dict(r) for r in rows]


async def latest(db: Database, premises_ids: list[str]) -> dict[str, Row]:
    """The latest check of each of `premises_ids` that has one."""
    if not premises_ids:
        return {}
    rows = await db.execute(
        "SELECT * FROM information_box_checks WHERE premises_id IN "
        f"({', '.join('?' * len(premises_ids))}) ORDER BY premises_id, checked_on, "
        "reported_at, id", list(premises_ids))
    return {str(r["premises_id"]): dict(r) for r in rows}  # the last of each wins
