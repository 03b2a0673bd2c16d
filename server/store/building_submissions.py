"""Building owners' submissions (migration 18): every SQL statement on `building_submissions`,
the floor plans, building plan and external wall information a responsible person sends
through a submission link. Each is a new row, a version per premises, kind and floor; rows
are never deleted and only their review columns change. `summary` is the one read other pages
(the compliance view) take. Must not decide who may submit or review (server/owner_submissions.py).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from server.store.database import Database

Row = dict[str, Any]
KINDS = ("floor_plan", "building_plan", "external_wall")
STATUSES = ("pending", "accepted", "rejected", "superseded")
_SAME = "premises_id = ? AND kind = ? AND lower(coalesce(floor, '')) = lower(?)"


def _row(r: Any) -> Row:
    out = dict(zip(r.keys(), r, strict=True)) if not isinstance(r, dict) else dict(r)
    out["detail"] = msgspec.json.decode(out["detail"]) if out.get("detail") else {}
    return out


def link_bytes(conn: sqlite3.Connection, link_id: int) -> int:
    """The bytes of every file sent through one link (its upload quota counts these)."""
    row = conn.execute("SELECT coalesce(sum(bytes), 0) FROM building_submissions "
                       "WHERE link_id = ?", (link_id,)).fetchone()
    return int(row[0]) if row else 0


def add(conn: sqlite3.Connection, sub: Row) -> tuple[int, int]:
    """Inside a write: store a submission as the next version of its premises, kind and floor
    (the floor compared without regard to case); returns (id, version). Two at once on
    PostgreSQL: the unique index refuses the second, which takes the version after it."""
    floor = sub.get("floor") or None
    for _ in range(5):
        row = conn.execute(f"SELECT coalesce(max(version), 0) FROM building_submissions "
                           f"WHERE {_SAME}", (sub["premises_id"], sub["kind"],
                                              floor or "")).fetchone()
        version = int(row[0]) + 1
        try:
            cur = conn.execute(
                "INSERT INTO building_submissions (premises_id, uprn, link_id, kind, floor, "
                "version, status, submitted_at, submitted_by, detail, bytes) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (sub["premises_id"], sub.get("uprn") or "", sub["link_id"], sub["kind"], floor,
                 version, sub["submitted_at"], sub["submitted_by"],
                 msgspec.json.encode(sub.get("detail") or {}).decode(), int(sub.get("bytes", 0))))
        except sqlite3.IntegrityError:
            continue
        return int(cur.lastrowid or 0), version
    raise RuntimeError("could not take a version for the submission")


def get(conn: sqlite3.Connection, submission_id: int) -> Row | None:
    row = conn.execute("SELECT * FROM building_submissions WHERE id = ?",
                       (submission_id,)).fetchone()
    return _row(row) if row else None


def for_premises(conn: sqlite3.Connection, premises_id: str) -> list[Row]:
    """Every submission of a premises, newest first: the whole history."""
    rows = conn.execute("SELECT * FROM building_submissions WHERE premises_id = ? "
                        "ORDER BY submitted_at DESC, id DESC", (premises_id,)).fetchall()
    return [_row(r) for r in rows]


def same_key(conn: sqlite3.Connection, sub: Row) -> list[Row]:
    """Every version of the submission's premises, kind and floor, newest first."""
    rows = conn.execute(f"SELECT * FROM building_submissions WHERE {_SAME} "
                        "ORDER BY version DESC", (sub["premises_id"], sub["kind"],
                                                  sub.get("floor") or "")).fetchall()
    return [_row(r) for r in rows]


def review(conn: sqlite3.Connection, ids: list[int], status: str, by: str, at: str,
           reason: str = "", *, only_pending: bool = False) -> int:
    """Set the review of these submissions (never their content); returns the rows changed.
    `only_pending`: leave any that are no longer pending (a review already made)."""
    if status not in STATUSES or not ids:
        return 0
    sql = (f"UPDATE building_submissions SET status = ?, reviewed_by = ?, reviewed_at = ?, "
           f"reason = ? WHERE id IN ({', '.join('?' * len(ids))})")
    if only_pending:
        sql += " AND status = 'pending'"
    return int(conn.execute(sql, (status, by, at, reason, *ids)).rowcount)


def pending(conn: sqlite3.Connection, stations: list[str], limit: int,
            premises_id: str | None = None) -> list[Row]:
    """Submissions waiting for review on live premises of `stations` (oldest first), each
    with its premises' name and station; with `premises_id`, that premises' whole history
    (any status, newest first) when it is in `stations`."""
    if not stations:
        return []
    marks = ", ".join("?" * len(stations))
    sql = ("SELECT s.*, p.name AS premises_name, p.station AS station FROM "
           "building_submissions s JOIN premises p ON p.id = s.premises_id "
           f"WHERE p.deleted = 0 AND p.station IN ({marks})")
    params: list[Any] = list(stations)
    if premises_id is None:
        sql += " AND s.status = 'pending' ORDER BY s.submitted_at, s.id LIMIT ?"
    else:
        sql += " AND s.premises_id = ? ORDER BY s.submitted_at DESC, s.id DESC LIMIT ?"
        params.append(premises_id)
    return [_row(r) for r in conn.execute(sql, (*params, limit)).fetchall()]


def held_blobs(conn: sqlite3.Connection) -> set[str]:
    """Every blob a submission names, whatever its status: `watchbook gc` keeps them (the
    history keeps what was sent, accepted or not)."""
    return {str(r[0]) for r in conn.execute(
        "SELECT json_extract(f.value, '$.sha256') FROM building_submissions s, "
        "json_each(s.detail, '$.files') f") if r[0]}


def _summary(conn: sqlite3.Connection, premises_ids: list[str] | None) -> dict[str, Row]:
    sql = ("SELECT premises_id, kind, floor, version, status, submitted_at, reviewed_at "
           "FROM building_submissions WHERE status IN ('accepted', 'pending')")
    order = " ORDER BY version, id"
    rows: list[Any] = []
    if premises_ids is None:
        rows = conn.execute(sql + order).fetchall()
    else:
        for at in range(0, len(premises_ids), 500):
            chunk = premises_ids[at:at + 500]
            rows += conn.execute(sql + f" AND premises_id IN ({', '.join('?' * len(chunk))})"
                                 + order, chunk).fetchall()
    empty = {"version": None, "accepted_at": None, "submitted_at": None, "pending": False}
    out: dict[str, Row] = {pid: {k: dict(empty) for k in KINDS} for pid in premises_ids or []}
    for pid, kind, floor, version, status, submitted_at, reviewed_at in rows:
        kinds = out.setdefault(pid, {k: dict(empty) for k in KINDS})
        entry = kinds[kind]
        if kind == "floor_plan":
            floors = entry.setdefault("floors", {})
            names = entry.setdefault("_names", {})  # "floor 3" is "Floor 3", as first written
            name = names.setdefault((floor or "").lower(), floor or "")
            entry = floors.setdefault(name, dict(empty))
        if status == "pending":
            entry["pending"] = True
        elif entry["accepted_at"] is None or (reviewed_at or "") > entry["accepted_at"]:
            entry.update(version=int(version), accepted_at=reviewed_at,
                         submitted_at=submitted_at)
    for kinds in out.values():
        plans = kinds["floor_plan"]
        plans.pop("_names", None)
        floors = plans.setdefault("floors", {})
        accepted = [f for f in floors.values() if f["accepted_at"]]
        plans["pending"] = any(f["pending"] for f in floors.values())
        plans["oldest_accepted_at"] = min((f["accepted_at"] for f in accepted), default=None)
        if accepted:
            newest = max(accepted, key=lambda f: f["accepted_at"])
            plans.update(version=newest["version"], accepted_at=newest["accepted_at"],
                         submitted_at=newest["submitted_at"])
    return out


async def summary(db: Database, premises_ids: list[str] | None = None) -> dict[str, Row]:
    """What the service holds for each building, by premises id and kind.

    Returns `{premises_id: {kind: entry}}` with every kind of KINDS present for each premises
    (`floor_plan`, `building_plan`, `external_wall`). Every id in `premises_ids` appears, even
    one with no submission at all (its entries all empty); with `premises_ids=None`, every
    premises with at least one accepted or pending submission. An entry is::

        {"version": int | None,        # the accepted version held now (None: none accepted)
         "accepted_at": str | None,    # when it was accepted (UTC ISO 8601, the review time)
         "submitted_at": str | None,   # when that accepted version was sent
         "pending": bool}              # a submission is waiting for review

    The `floor_plan` entry adds `"floors": {floor name: entry}` (one per floor a plan was
    sent for, accepted or pending; floors compared without regard to case, each named as its
    earliest such version wrote it) and `"oldest_accepted_at"` (the
    oldest acceptance among the floors' current plans: the one to renew first). Its own
    version/accepted_at/submitted_at are those of the most recently accepted floor, and its
    `pending` is true when any floor's is. Superseded and rejected versions do not count.
    """
    ids = None if premises_ids is None else list(dict.fromkeys(premises_ids))
    return await db.read(lambda conn: _summary(conn, ids))
