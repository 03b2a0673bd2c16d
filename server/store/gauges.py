"""The database gauges /metrics reports: open conflicts, devices seen lately, live premises.
Runs on a sqlite3 connection handed in by the Database; must not know HTTP or Prometheus.
"""

from __future__ import annotations

from typing import Any

from server.store.postgres import gauges as pg_gauges
from server.store.postgres.compat import is_pg

Gauges = pg_gauges.Gauges


def read(conn: Any) -> Gauges:
    """Each gauge's (labels, value) rows."""
    if is_pg(conn):  # PostgreSQL's form (server/store/postgres/gauges.py)
        return pg_gauges.read(conn.raw)
    out: Gauges = {}
    has_conflicts = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'conflicts'").fetchone()
    if has_conflicts:
        n = conn.execute("SELECT count(*) FROM conflicts WHERE status = 'open'").fetchone()
        out["watchbook_conflicts_open"] = [({}, float(n[0]))]
    out["watchbook_devices_seen_within_seconds"] = [
        ({"within": str(w)}, float(conn.execute(
            "SELECT count(*) FROM devices WHERE revoked_at IS NULL AND "
            "last_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)",
            (f"-{w} seconds",)).fetchone()[0]))
        for w in (3600, 86400, 7 * 86400)]
    out["watchbook_premises"] = [({}, float(conn.execute(
        "SELECT count(*) FROM premises WHERE deleted = 0").fetchone()[0]))]
    return out
