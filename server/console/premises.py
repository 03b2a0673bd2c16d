"""Console read pages for premises: the review-due dashboard (with the day-one checklist for an
admin of a service still being set up, and coverage per station from server/coverage.py), the
searchable list, one premises.

Reads only, within the user's station grounds, through server/store/records.py (no SQL here).
A view that shows sensitive access fields (key box, entry codes) is recorded by audit. Must not
write premises records.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock
from server.auth import Principal
from server.console import audit
from server.console.page import SEVERITY_ORDER, page, render, today
from server.coverage import coverage
from server.errors import ApiError
from server.store import accounts, records, search
from server.store import stations as stations_store
from sync.record import SENSITIVE_FIELDS, hazard_expired

PAGE_SIZE = 50
DASHBOARD_LIMIT = 200
REVIEW_FILTERS = {"": "Any", "overdue": "Overdue", "due_soon": "Due soon or overdue",
                  "never": "Never assessed"}


def _soon(request: Request) -> str:
    days = request.app.state.settings.review_due_soon_days
    return clock.today(plus_days=days)


@page()
async def dashboard(request: Request, who: Principal) -> Response:
    now, soon, stations = today(), _soon(request), list(who.grounds)

    def load(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                dict[str, bool] | None]:
        setup = None
        if who.role == "admin":  # the day-one checklist, until each step is done
            service = who.organisation_id
            setup = {"stations": stations_store.count(conn, service) > 0,
                     "users": accounts.user_count(conn, service) > 1,
                     "premises": records.count(conn, service) > 0}
        return (records.review_counts(conn, stations, now, soon),
                records.due_for_review(conn, stations, soon, DASHBOARD_LIMIT), setup)
    counts, due, setup = await request.app.state.db.read(load)
    await request.app.state.auth.flush_seen()  # devices' last contact as of this page
    cover = await coverage(request.app.state.db,
                           [{"code": c["code"], "name": c["name"]} for c in counts],
                           request.app.state.settings.review_due_soon_days)
    return render(request, "dashboard.html", who, nav="dashboard", counts=counts, cover=cover,
                  setup=setup if setup and not all(setup.values()) else None,
                  overdue=[d for d in due if d["next_review_due"] < now],
                  due_soon=[d for d in due if d["next_review_due"] >= now],
                  soon=soon, soon_days=request.app.state.settings.review_due_soon_days,
                  limit=DASHBOARD_LIMIT)


def _int(raw: str | None, lo: int, hi: int) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if lo <= value <= hi else None


@page()
async def premises_list(request: Request, who: Principal) -> Response:
    params = request.query_params
    q = params.get("q", "").strip()[:200]
    station = params.get("station", "")
    if station and station not in who.grounds:
        if not who.in_service(station):
            raise ApiError(404, "not_found", f"There is no station {station}.")
        raise ApiError(403, "forbidden", f"Station {station} is not in your grounds.")
    level = _int(params.get("risk_level"), 1, 4)
    review = params.get("review", "")
    review = review if review in REVIEW_FILTERS else ""
    number = _int(params.get("page"), 1, 100_000) or 1
    stations = [station] if station else list(who.grounds)
    now = today()
    found = search.Found(0, False)
    if stations:
        found = await request.app.state.db.read(lambda c: search.search(c, q, search.Filters(
            stations, level, overdue_on=now if review == "overdue" else None,
            due_before=_soon(request) if review == "due_soon" else None,
            never_assessed=review == "never"),
            PAGE_SIZE, (number - 1) * PAGE_SIZE))
    docs, total = found.docs, found.total
    filters = {"q": q, "station": station, "risk_level": level or "", "review": review}
    kept = {k: v for k, v in filters.items() if v}
    pages = max(1, -(-total // PAGE_SIZE))
    if found.capped and len(docs) == PAGE_SIZE:  # more than counted: a page past the count
        pages = max(pages, number + 1)
    return render(request, "premises_list.html", who, nav="premises", docs=docs, total=total,
                  capped=found.capped,
                  filters=filters, review_filters=REVIEW_FILTERS, number=number, pages=pages,
                  soon=_soon(request),
                  first=(number - 1) * PAGE_SIZE + 1 if docs else 0,
                  last=(number - 1) * PAGE_SIZE + len(docs),
                  prev_query=urlencode({**kept, "page": number - 1}) if number > 1 else None,
                  next_query=urlencode({**kept, "page": number + 1}) if number < pages else None)


def hazards_for_view(doc: dict[str, Any], now: str) -> list[dict[str, Any]]:
    """Hazards, live ones first by severity, with an `expired` flag for lapsed temporary ones."""
    out = [{**h, "expired": hazard_expired(h, now)}
           for h in doc.get("hazards", [])]
    return sorted(out, key=lambda h: (h["expired"], SEVERITY_ORDER.get(str(h.get("severity")), 1),
                                      h.get("type", "")))


async def load_in_scope(request: Request, who: Principal, premises_id: str) -> dict[str, Any]:
    doc: dict[str, Any] | None = await request.app.state.db.read(
        lambda c: records.get(c, premises_id))
    if doc is None or doc.get("deleted") or not who.in_service(doc["station"]):
        raise ApiError(404, "not_found", f"There is no premises {premises_id}.")
    if not who.in_scope(doc["station"]):
        raise ApiError(403, "forbidden", "This premises is outside your station grounds.")
    return doc


@page()
async def premises_page(request: Request, who: Principal) -> Response:
    doc = await load_in_scope(request, who, request.path_params["premises_id"])
    now = today()
    shown = sorted(f for f in SENSITIVE_FIELDS if doc.get(f))
    if shown:
        await audit.record_view(request.app.state.db, who, doc["id"], shown)
    due = doc.get("next_review_due")
    return render(request, "premises.html", who, nav="premises", doc=doc,
                  hazards=hazards_for_view(doc, now),
                  overdue=bool(due and due < now),
                  due_soon=bool(due and now <= due < _soon(request)),
                  open_observations=[o for o in doc.get("observations", [])
                                     if o.get("status") == "open"])


routes = [
    Route("/dashboard", dashboard, name="dashboard"),
    Route("/premises", premises_list, name="premises_list"),
    Route("/premises/{premises_id}", premises_page, name="premises"),
]
