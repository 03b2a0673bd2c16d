"""Coverage per station for the dashboard and GET /api/coverage: premises by risk level, reviews
overdue, due soon and never assessed, open conflicts and observations, expired hazards still on
records, devices by last sync and devices holding unsent edits.

Owns the buckets (synced in the last 24 hours, 7 days, older or never) and the assembly; the
counts come from server/store/coverage.py (no SQL here). Must not decide who may see which
station: callers pass the stations in the viewer's grounds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server import clock
from server.store import coverage as store
from server.store.database import Database

BUCKETS = ("day", "week", "older")  # last contact: < 24 h, < 7 days, older or never


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def bucket(last_seen: str | None, day_ago: str, week_ago: str) -> str:
    """Which last-sync bucket a device falls in (ISO UTC times compare as text)."""
    if last_seen and last_seen >= day_ago:
        return "day"
    if last_seen and last_seen >= week_ago:
        return "week"
    return "older"


def pending_age_hours(oldest: str | None, now: dt.datetime) -> float | None:
    """Hours since the oldest unsent edit a device reported, or None if it gave no time."""
    if not oldest:
        return None
    try:
        at = dt.datetime.fromisoformat(oldest)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return round(max(0.0, (now - at).total_seconds()) / 3600, 1)


def assemble(stations: list[dict[str, Any]], premises: dict[str, dict[str, Any]],
             conflicts: dict[str, int], observations: dict[str, int], hazards: dict[str, int],
             devices: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """One dict per station (in the order given), ready for JSON or the template."""
    day_ago, week_ago = _iso(now - dt.timedelta(hours=24)), _iso(now - dt.timedelta(days=7))
    out = []
    for s in stations:
        code = s["code"]
        p = premises.get(code, {"by_risk_level": {}, "overdue": 0, "due_soon": 0,
                                "never_assessed": 0})
        by_level = {str(level): p["by_risk_level"].get(str(level), 0) for level in (1, 2, 3, 4)}
        mine = [d for d in devices if d["station"] == code]
        synced = dict.fromkeys(BUCKETS, 0)
        for d in mine:
            synced[bucket(d["last_seen"], day_ago, week_ago)] += 1
        unsent = [{"id": d["id"], "name": d["name"], "user": d["username"],
                   "pending": d["pending_count"], "oldest_pending": d["oldest_pending"],
                   "oldest_pending_hours": pending_age_hours(d["oldest_pending"], now),
                   "reported_at": d["pending_reported_at"], "last_seen": d["last_seen"]}
                  for d in mine if d["pending_count"]]
        unsent.sort(key=lambda u: u["oldest_pending"] or "")
        out.append({
            "station": code, "name": s["name"], "premises": sum(by_level.values()),
            "by_risk_level": by_level, "reviews": {
                "overdue": p["overdue"], "due_soon": p["due_soon"],
                "never_assessed": p["never_assessed"]},
            "open_conflicts": conflicts.get(code, 0),
            "open_observations": observations.get(code, 0),
            "expired_hazards": hazards.get(code, 0),
            "devices": {"total": len(mine), "synced": synced, "unsent": unsent},
        })
    return out


async def coverage(db: Database, stations: list[dict[str, Any]], soon_days: int
                   ) -> list[dict[str, Any]]:
    """Coverage of `stations` (rows with code and name) as of now."""
    codes = [s["code"] for s in stations]
    today, soon = clock.today(), clock.today(plus_days=soon_days)
    now = dt.datetime.fromisoformat(clock.now("seconds"))

    def load(conn: Any) -> tuple[Any, ...]:
        return (store.premises_counts(conn, codes, today, soon),
                store.open_conflicts(conn, codes), store.open_observations(conn, codes),
                store.expired_hazards(conn, codes, today), store.devices(conn, codes))
    premises, conflicts, observations, hazards, devices = await db.read(load)
    return assemble(stations, premises, conflicts, observations, hazards, devices, now)
