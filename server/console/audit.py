"""Who saw sensitive access fields (key box, entry codes) in the console, and when.

Owns the rule: one record per page view that displayed a sensitive field, naming the viewer and
the fields. Stored through server/store/sensitive_views.py: no SQL here. Must not record the
values themselves.
"""

from __future__ import annotations

from typing import Any

from server import clock
from server.auth import Principal
from server.store import sensitive_views
from server.store.database import Database


async def record_view(db: Database, who: Principal, premises_id: str,
                      fields: list[str]) -> None:
    await sensitive_views.add(db, clock.now("seconds"), who.user_id, premises_id, fields)


async def views_of(db: Database, premises_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest views of one premises' sensitive fields, newest first, with who viewed."""
    return await sensitive_views.of_premises(db, premises_id, limit)
