"""Who saw sensitive access fields: the SQL of the `sensitive_views` table (migration 2).

One row per page view that displayed a sensitive field (server/console/audit.py decides when).
Must not store the values themselves.
"""

from __future__ import annotations

from typing import Any

from server.store.database import Database


async def add(db: Database, at: str, user_id: int, premises_id: str, fields: list[str]) -> None:
    await db.execute_write(
        "INSERT INTO sensitive_views (at, user_id, premises_id, fields) VALUES (?, ?, ?, ?)",
        (at, user_id, premises_id, ",".join(fields)))


async def of_premises(db: Database, premises_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest views of one premises' sensitive fields, newest first, with who viewed."""
    return (await db.execute(
        "SELECT v.at, v.fields, v.channel, u.username, u.name FROM sensitive_views v "
        "JOIN users u ON u.id = v.user_id WHERE v.premises_id = ? ORDER BY v.id DESC LIMIT ?",
        (premises_id, limit))).dicts()
