"""Coverage per station: the SQL behind the dashboard's coverage table and GET /api/coverage.

Counts live premises by risk level and review state (never assessed included), open conflicts,
open observations, temporary hazards past their expiry still on the record, and live devices by
last contact and by unsent edits they last reported. Runs on a sqlite3 connection handed in by
the Database; writes nothing. The buckets' cut-off times are passed in.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def _marks(stations: list[str]) -> str:
    return ", ".join("?" * len(stations))


def premises_counts(conn: sqlite3.Connection, stations: list[str], today: str, soon: str
                    ) -> dict[str, dict[str, Any]]:
    """Per station: live premises by risk level, overdue, due before `soon`, never assessed."""
    out: dict[str, dict[str, Any]] = {s: {"by_risk_level": {}, "overdue": 0, "due_soon": 0,
                                          "never_assessed": 0} for s in stations}
    if not stations:
        return out
    for r in conn.execute(
            "SELECT station, risk_level, count(*) AS n, "
            "coalesce(sum(next_review_due < ?), 0) AS overdue, "
            "coalesce(sum(next_review_due >= ? AND next_review_due < ?), 0) AS due_soon, "
            "coalesce(sum(next_review_due IS NULL), 0) AS never "
            f"FROM premises WHERE deleted = 0 AND station IN ({_marks(stations)}) "
            "GROUP BY station, risk_level", [today, today, soon, *stations]):
        row = out[r["station"]]
        row["by_risk_level"][str(r["risk_level"])] = r["n"]
        row["overdue"] += r["overdue"]
        row["due_soon"] += r["due_soon"]
        row["never_assessed"] += r["never"]
    return out


def _per_station(conn: sqlite3.Connection, sql: str, params: list[Any]) -> dict[str, int]:
    return {r[0]: r[1] for r in conn.execute(sql, params)}


def open_conflicts(conn: sqlite3.Connection, stations: list[str]) -> dict[str, int]:
    if not stations:
        return {}
    return _per_station(conn, "SELECT station, count(*) FROM conflicts WHERE status = 'open' "
                        f"AND station IN ({_marks(stations)}) GROUP BY station", stations)


def open_observations(conn: sqlite3.Connection, stations: list[str]) -> dict[str, int]:
    if not stations:
        return {}
    return _per_station(
        conn, "SELECT p.station, count(*) FROM premises p, json_each(p.doc, '$.observations') o "
        f"WHERE p.deleted = 0 AND p.station IN ({_marks(stations)}) "
        "AND coalesce(json_extract(o.value, '$.status'), 'open') = 'open' GROUP BY p.station",
        stations)


def expired_hazards(conn: sqlite3.Connection, stations: list[str], today: str
                    ) -> dict[str, int]:
    """Temporary hazards whose `expires` date is before `today` (sync.record.hazard_expired:
    a non-empty ISO date text) and which are still on a live record."""
    if not stations:
        return {}
    return _per_station(
        conn, "SELECT p.station, count(*) FROM premises p, json_each(p.doc, '$.hazards') h "
        f"WHERE p.deleted = 0 AND p.station IN ({_marks(stations)}) "
        "AND json_type(h.value, '$.expires') = 'text' "
        "AND json_extract(h.value, '$.expires') <> '' "
        "AND json_extract(h.value, '$.expires') < ? GROUP BY p.station", [*stations, today])


def devices(conn: sqlite3.Connection, stations: list[str]) -> list[dict[str, Any]]:
    """Live devices (not revoked, user enabled) of users whose home station is in `stations`,
    with their last contact and the unsent edits they last reported."""
    if not stations:
        return []
    rows = conn.execute(
        "SELECT d.id, d.name, u.username, u.station, d.last_seen, d.pending_count, "
        "d.oldest_pending, d.pending_reported_at FROM devices d JOIN users u ON u.id = d.user_id "
        f"WHERE d.revoked_at IS NULL AND u.disabled = 0 AND u.station IN ({_marks(stations)}) "
        "ORDER BY u.station, d.last_seen", stations).fetchall()
    return [dict(r) for r in rows]
