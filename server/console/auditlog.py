"""The console's audit log (/console/audit, admins): every change, sign-in, device enrolment
and revocation, view of sensitive fields and export, newest first, filterable by user,
device, premises, station and date, paged, and downloadable as CSV (cells guarded as
server/transfer.py guards them). Reads through server/store/events.py: no SQL here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock
from server.auth import Principal
from server.console.page import page, render
from server.errors import ApiError
from server.store import events
from server.transfer import csv_cell

PAGE_SIZE = 100
CSV_MAX = 100_000
COLUMNS = ("at", "kind", "username", "device", "premises_id", "station", "detail")
HEADINGS = ("Time", "What", "User", "Device", "Premises", "Station", "Detail")


def _filter(request: Request) -> events.LogFilter:
    q = request.query_params
    values = {k: q.get(k, "").strip()[:100] for k in ("user", "device", "premises", "station",
                                                     "since", "until")}
    for name in ("since", "until"):
        if values[name]:
            try:
                dt.date.fromisoformat(values[name])
            except ValueError:
                raise ApiError(400, "invalid", f"{name} must be a date such as 2026-12-01",
                               name) from None
    return events.LogFilter(**values)


@page("admin")
async def audit_log(request: Request, who: Principal) -> Response:
    f = _filter(request)
    db = request.app.state.db
    if request.query_params.get("format") == "csv":
        rows = await db.read(lambda c: events.log(c, f, CSV_MAX, 0, who.organisation_id))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(HEADINGS)
        for r in rows:
            writer.writerow([csv_cell(r[c]) for c in COLUMNS])
        await events.add(db, clock.now("seconds"), "export", who.user_id,
                         detail=f"audit log CSV, {len(rows)} rows")
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="watchbook-audit.csv"'})
    try:
        number = max(1, min(100_000, int(request.query_params.get("page", "1"))))
    except ValueError:
        raise ApiError(400, "invalid", "page must be a whole number", "page") from None
    rows = await db.read(lambda c: events.log(c, f, PAGE_SIZE + 1, (number - 1) * PAGE_SIZE,
                                              who.organisation_id))
    filters = {k: getattr(f, k) for k in ("user", "device", "premises", "station", "since",
                                          "until")}
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "audit_log.html", who, nav="audit", rows=rows[:PAGE_SIZE],
                  more=len(rows) > PAGE_SIZE, number=number, filters=filters, query=query)


routes = [Route("/audit", audit_log, name="audit_log")]
