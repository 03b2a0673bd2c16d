"""The compliance view (issue 16): per station and for the service, the high-rise residential
buildings with their plans and external wall information (received, missing, pending review
or older than a year), open equipment faults and their age (for review after
`fault_review_days`), information-box checks overdue, and the reminders to send (who, how to
reach them, for what).

Plans and wall information come from a `Submissions` source passed in (the versioned
submissions store: `held`; tests pass a fake). Pure assembly over rows handed in
(`assemble`); `gather` reads them. Must not know HTTP or SQL, nor decide who sees which station.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server import information_box, submissions
from server.store import building_submissions, owner_links
from server.store import compliance as store
from server.store import information_box as box_store
from server.store import stations as stations_store
from sync.record import FAULT_KINDS

# What a responsible person gives the service electronically (reg. 5 and 6).
ITEMS: dict[str, str] = {"floor_plan": "Floor plans", "building_plan": "Building plan",
                         "external_wall": "External wall information"}
STATES = ("received", "pending", "older", "missing")
STALE_DAYS = 365  # an accepted plan or wall record older than this: "older than a year"


@dataclass(frozen=True)
class Received:
    """What the service holds of one item of one building: the latest accepted version (None:
    none accepted), the date it was accepted, and whether a newer one waits for review."""

    version: int | None = None
    accepted_on: str | None = None
    pending: bool = False


# (db, premises ids) -> {premises id: {item: Received}}; a building or item left out: none.
Submissions = Callable[[Any, list[str]], Awaitable[Mapping[str, Mapping[str, Received]]]]


async def held(db: Any, premises_ids: list[str]) -> dict[str, dict[str, Received]]:
    """The versioned submissions store (server/store/building_submissions.py) as `Received`:
    per building and item, the accepted version held, the day it was accepted (for floor
    plans, the oldest floor's: the one to renew first) and whether one waits for review."""
    out: dict[str, dict[str, Received]] = {}
    for pid, kinds in (await building_submissions.summary(db, premises_ids)).items():
        row: dict[str, Received] = {}
        for kind, entry in kinds.items():
            if kind not in ITEMS:
                continue
            when = entry.get("oldest_accepted_at") or entry.get("accepted_at")
            row[kind] = Received(version=entry.get("version"),
                                 accepted_on=when[:10] if when else None,
                                 pending=bool(entry.get("pending")))
        out[pid] = row
    return out


def item_state(held: Received | None, today: str) -> str:
    """`pending` (waiting for the service's review), `missing` (nothing accepted), `older`
    (accepted more than a year ago) or `received`."""
    if held is not None and held.pending:
        return "pending"
    if held is None or held.version is None or not held.accepted_on:
        return "missing"
    stale = (dt.date.fromisoformat(today) - dt.timedelta(days=STALE_DAYS)).isoformat()
    return "older" if held.accepted_on[:10] < stale else "received"


def _days_between(start: str, today: str) -> int:
    return max(0, (dt.date.fromisoformat(today) - dt.date.fromisoformat(start[:10])).days)


def box_state(check: dict[str, Any] | None, today: str) -> dict[str, Any]:
    """The building's information-box check: `never`, `overdue`, `problems` or `current`."""
    if check is None:
        return {"state": "never", "checked_on": None, "due": None, "outcome": None,
                "problems": ""}
    checked = str(check["checked_on"])
    state = ("overdue" if information_box.overdue(checked, today)
             else "problems" if check["outcome"] == "problems" else "current")
    return {"state": state, "checked_on": checked, "due": information_box.due(checked),
            "outcome": check["outcome"], "problems": check.get("problems") or "",
            "reported_by": check.get("reported_by") or ""}


def _fault(row: dict[str, Any], now: str, days: int) -> dict[str, Any]:
    today = now[:10]
    return {"reference": row["reference"], "kind": row["kind"],
            "label": FAULT_KINDS.get(row["kind"], row["kind"]),
            "description": row["description"], "since": row["since"],
            "reported_at": row["reported_at"], "reported_by": row["reported_by"],
            "age_days": _days_between(row["since"] or row["reported_at"], today),
            "for_review": submissions.for_review(row, now, days),
            "review_from": submissions.review_from(row, days) if days > 0 else None,
            "confirmed_by": row.get("confirmed_by") or "", "confirmed_at": row.get("confirmed_at")}


def _reminder_items(b: dict[str, Any]) -> list[str]:
    out = []
    for kind, label in ITEMS.items():
        held = b["items"][kind]
        if held["state"] == "missing":
            out.append(f"{label}: none received")
        elif held["state"] == "older":
            out.append(f"{label}: last accepted {held['accepted_on']}, over a year ago")
    box = b["information_box"]
    if box["state"] == "never":
        out.append("Information-box check: none recorded")
    elif box["state"] == "overdue":
        out.append(f"Information-box check: overdue (last {box['checked_on']}, due "
                   f"{box['due']})")
    elif box["state"] == "problems":
        out.append(f"Information-box check: problems reported on {box['checked_on']}")
    for f in b["open_faults"]:
        if f["for_review"]:
            out.append(f"{f['label']} fault {f['reference']}: out of order "
                       f"{f['age_days']} days, no repair reported")
    return out


def _counts(buildings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    items = {k: dict.fromkeys(STATES, 0) for k in ITEMS}
    for b in buildings:
        for k in ITEMS:
            items[k][b["items"][k]["state"]] += 1
    boxes = [b["information_box"]["state"] for b in buildings]
    faults = [f for b in buildings for f in b["open_faults"]]
    return {"buildings": len(buildings), "items": items,
            "open_faults": len(faults), "faults_for_review": sum(f["for_review"] for f in faults),
            "information_box_overdue": sum(s in ("never", "overdue") for s in boxes),
            "information_box_problems": boxes.count("problems"),
            "reminders": sum(bool(b["reminders"]) for b in buildings)}


def assemble(stations: Sequence[dict[str, Any]], docs: Sequence[dict[str, Any]],
             faults: Sequence[dict[str, Any]], checks: Mapping[str, dict[str, Any]],
             held: Mapping[str, Mapping[str, Received]], now: str, days: int
             ) -> dict[str, Any]:
    """The view over these rows at `now`: `buildings` (each with its items, box, faults and
    reminders), `stations` (counts per station, in the order given) and `total`."""
    today = now[:10]
    by_premises: dict[str, list[dict[str, Any]]] = {}
    for row in faults:
        by_premises.setdefault(row["premises_id"], []).append(_fault(row, now, days))
    buildings = []
    for doc in docs:
        hr = doc.get("high_rise") or {}
        mine = held.get(doc["id"], {})
        b: dict[str, Any] = {
            "id": doc["id"], "station": doc["station"], "name": doc["name"],
            "address": doc.get("address", ""), "postcode": doc.get("postcode", ""),
            "uprn": doc.get("uprn", ""), "height_m": hr.get("height_m"),
            "storeys": hr.get("storeys"),
            "responsible_person": hr.get("responsible_person", ""),
            "organisation": hr.get("organisation", ""), "phone": hr.get("phone", ""),
            "email": hr.get("email", ""),
            "items": {k: {"state": item_state(mine.get(k), today),
                          "version": getattr(mine.get(k), "version", None),
                          "accepted_on": getattr(mine.get(k), "accepted_on", None),
                          "pending": bool(getattr(mine.get(k), "pending", False))}
                      for k in ITEMS},
            "information_box": box_state(checks.get(doc["id"]), today),
            "open_faults": by_premises.get(doc["id"], []),
        }
        b["reminders"] = _reminder_items(b)
        buildings.append(b)
    per_station = [{"code": s["code"], "name": s["name"],
                    **_counts([b for b in buildings if b["station"] == s["code"]])}
                   for s in stations]
    return {"as_of": now[:19] + "Z", "fault_review_days": days, "stale_days": STALE_DAYS,
            "stations": per_station, "total": _counts(buildings), "buildings": buildings}


async def of_stations(db: Any, service: int, codes: set[str], source: Submissions, now: str,
                      days: int) -> dict[str, Any]:
    """The view of the service's stations whose codes are given (the caller decided which
    it may see), in the service's station order."""
    rows = [{"code": s["code"], "name": s["name"]}
            for s in await stations_store.listing(db, service) if s["code"] in codes]
    return await gather(db, rows, source, now, days)


async def gather(db: Any, stations: Sequence[dict[str, Any]], source: Submissions, now: str,
                 days: int) -> dict[str, Any]:
    """Read the rows of `stations` (station dicts with `code` and `name`) and assemble."""
    docs = await store.high_rise(db, [s["code"] for s in stations])
    ids = [d["id"] for d in docs]
    return assemble(stations, docs, await owner_links.open_faults(db, ids),
                    await box_store.latest(db, ids), await source(db, ids), now, days)


CSV_COLUMNS = ("station", "building", "address", "postcode", "uprn", "responsible_person",
               "organisation", "phone", "email", "remind_about")


def reminder_rows(view: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per building with something to remind its responsible person of."""
    return [(b["station"], b["name"], b["address"], b["postcode"], b["uprn"],
             b["responsible_person"], b["organisation"], b["phone"], b["email"],
             "; ".join(b["reminders"])) for b in view["buildings"] if b["reminders"]]
