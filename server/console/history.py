"""A premises' history as people read it (/console/premises/{id}/history and its .json): each
entry's time as a date and "3 hours ago", and each change as a sentence ("Hazard added: Acetylene
cylinders (Yard)", "Observation dismissed", "Contact changed (Al): phone 01… → 07…"), from the
stored entries (fields before and after, list items by sync/audit.py). Reads only; no SQL.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import clock
from server.auth import Principal
from server.console import audit
from server.console.edit import path_label, shown
from server.console.page import page, render
from server.console.premises import load_in_scope
from server.store import sync as sync_store
from sync.record import HAZARD_TYPES

NOUNS = {"hazards": "Hazard", "observations": "Observation", "attachments": "Attachment",
         "water_supplies": "Water supply", "contacts": "Contact"}
KINDS = {"photo": "Photo", "floor_plan": "Floor plan", "site_plan": "Site plan",
         "hydrant": "Hydrant", "static_tank": "Static tank", "open_water": "Open water",
         "dry_main": "Dry main", "other": "Other"}
CLIP = 120


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CLIP else text[:CLIP - 1] + "…"


def item_name(field: str, item: dict[str, Any]) -> str:
    """What an item is, in a few words: "Acetylene cylinders (Yard)", "Al", "Photo: Gate"."""
    if field == "hazards":
        name = HAZARD_TYPES.get(str(item.get("type")), str(item.get("type") or "hazard"))
        return name + (f" ({item['location']})" if item.get("location") else "")
    if field == "observations":
        return ": ".join(str(x).replace("_", " ") for x in (item.get("category"),
                                                           item.get("note")) if x)
    if field == "contacts":
        return str(item.get("name") or "")
    kind = KINDS.get(str(item.get("kind")), str(item.get("kind") or ""))
    other = item.get("caption") or item.get("location") or ""
    return f"{kind}: {other}" if kind and other else kind or str(other)


def item_sentence(change: dict[str, Any]) -> str:
    field, how = change["field"], change["change"]
    noun = NOUNS.get(field, field)
    if how in ("added", "removed"):
        name = item_name(field, change.get("after") or change.get("before") or {})
        verb = "attached" if field == "attachments" and how == "added" else how
        return _clip(f"{noun} {verb}" + (f": {name}" if name else ""))
    before, after = change.get("before") or {}, change.get("after") or {}
    if field == "observations" and list(after) == ["status"]:
        return f"Observation {after['status']}" + (
            f" ({item_name(field, change.get('item') or {})})" if change.get("item") else "")
    if field == "attachments" and after == {"available": True}:
        return f"Attachment arrived: {item_name(field, change.get('item') or {})}".rstrip(": ")
    which = item_name(field, change.get("item") or {})
    parts = [f"{k.replace('_', ' ')} {_clip(shown(before.get(k)))} → {_clip(shown(after[k]))}"
             for k in after]
    return f"{noun} changed" + (f" ({which})" if which else "") + ": " + "; ".join(parts)


def field_sentence(field: str, before: Any, after: Any, created: bool) -> str:
    if field == "deleted":
        return "Record deleted" if after else "Record restored"
    if created:
        if isinstance(after, list):
            return f"{path_label(field)}: {len(after)}"
        return f"{path_label(field)}: {_clip(shown(after))}"
    return f"{path_label(field)} changed: {_clip(shown(before))} → {_clip(shown(after))}"


def describe(entry: dict[str, Any], now: str) -> dict[str, Any]:
    """One entry for people: when (readable), who, what kind, and its changes as sentences."""
    created = entry.get("kind") == "create"
    after = entry.get("after") or {}
    lines = (["Record created"] if created else []) + [
        field_sentence(k, (entry.get("before") or {}).get(k), after[k], created)
        for k in after if not (created and after[k] in (None, "", [], False))]
    lines += [item_sentence(c) for c in entry.get("items") or []
              if c.get("change") != "unchanged"]
    return {"id": entry.get("id"), "server_time": entry.get("server_time"),
            "when": clock.readable(entry.get("server_time"), now),
            "device_time": clock.readable(entry.get("client_time"), now)
            if entry.get("client_time") else "",
            "version": entry.get("version"), "user": entry.get("user"),
            "device_id": entry.get("device_id"),
            "kind": str(entry.get("kind") or "").replace("_", " "),
            "changes": lines, "conflict_ids": entry.get("conflict_ids") or [],
            "resolved_conflict": entry.get("resolved_conflict")}


async def _entries(request: Request, who: Principal) -> tuple[dict[str, Any], list[Any]]:
    doc = await load_in_scope(request, who, request.path_params["premises_id"])
    now = clock.now()
    entries = [describe(e, now) for e in await sync_store.history(request.app.state.db,
                                                                  doc["id"])]
    entries.reverse()
    return doc, entries


@page()
async def history(request: Request, who: Principal) -> Response:
    doc, entries = await _entries(request, who)
    views = await audit.views_of(request.app.state.db, doc["id"])
    return render(request, "history.html", who, nav="premises", doc=doc, entries=entries,
                  views=views)


@page()
async def history_json(request: Request, who: Principal) -> Response:
    doc, entries = await _entries(request, who)
    return JSONResponse({"premises_id": doc["id"], "version": doc.get("version"),
                         "entries": entries})


routes = [
    Route("/premises/{premises_id}/history.json", history_json, name="history_json"),
    Route("/premises/{premises_id}/history", history, name="history"),
]
