"""The compliance view's one query of records: the live premises of some stations marked as
high-rise residential buildings (the record's `high_rise`). Writes nothing; decides nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from server.store.database import Database


async def high_rise(db: Database, stations: list[str]) -> list[dict[str, Any]]:
    """Live high-rise premises of `stations`, whole records, by station then name."""
    if not stations:
        return []
    rows = await db.execute(
        "SELECT doc FROM premises WHERE deleted = 0 AND station IN "
        f"({', '.join('?' * len(stations))}) AND json_extract(doc, '$.high_rise') IS NOT NULL "
        "ORDER BY station, name, id", list(stations))
    return [msgspec.json.decode(r[0]) for r in rows]
