"""The database gauges /metrics reports, on PostgreSQL: the same as server/store/gauges.py.
Must not know HTTP or Prometheus.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

Gauges = dict[str, list[tuple[dict[str, str], float]]]


def read(conn: psycopg.Connection[Any]) -> Gauges:
    """Each gauge's (labels, value) rows."""
    def count(sql: str, params: tuple[Any, ...] = ()) -> float:
        row = conn.execute(sql, params or None).fetchone()
        return float(row[0]) if row else 0.0
    now = dt.datetime.now(dt.UTC)
    return {
        "watchbook_conflicts_open": [
            ({}, count("SELECT count(*) FROM conflicts WHERE status = 'open'"))],
        "watchbook_devices_seen_within_seconds": [
            ({"within": str(w)}, count(
                "SELECT count(*) FROM devices WHERE revoked_at IS NULL AND last_seen >= %s",
                ((now - dt.timedelta(seconds=w)).strftime("%Y-%m-%dT%H:%M:%SZ"),)))
            for w in (3600, 86400, 7 * 86400)],
        "watchbook_premises": [({}, count("SELECT count(*) FROM premises WHERE deleted = 0"))],
    }
