"""Who saw sensitive access fields (key box, entry codes) in the console, and when.

Owns the `sensitive_views` table (migration 2 in server/store/migrations.py creates it): one row
per page view that displayed a sensitive field. Must not record the values themselves.
"""

from __future__ import annotations

from typing import Any

from server import clock
from server.auth import Principal
from server.store.database import Database


async def record_view(db: Database, who: Principal, premises_id: str,
                      fields: list[str]) -> None:
    await db.execute_write(
        "INSERT INTO sensitive_views (at, user_id, premises_id, fields) VALUES (?, ?, ?, ?)",
        (clock.now("seconds"), who.user_id, premises_id, ",".join(fields)))


async def views_of(db: Database, premises_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest views of one premises' sensitive fields, newest first, with who viewed."""
    result = await db.execute(
        "SELECT v.at, v.fields, v.channel, u.username, u.name FROM sensitive_views v "
        "JOIN users u ON u.id = v.user_id WHERE v.premises_id = ? ORDER BY v.id DESC LIMIT ?",
        (premises_id, limit))
    return result.dicts()
