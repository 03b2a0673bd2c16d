"""The compliance page (/console/compliance) and its reminders as CSV: high-rise residential
buildings of one station or of all the caller's grounds (an admin's: the whole service) with
plans and wall information held, open faults and their age, information-box checks overdue,
and whom to remind of what. Supervisors and admins; a station outside the caller's grounds is
refused. Works without JavaScript. The view is server/compliance.py's; no SQL here.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock, compliance
from server.auth import Principal
from server.console.page import page, render
from server.errors import ApiError
from server.store import stations as stations_store
from server.transfer import csv_cell

STATE_LABELS = {"received": "Received", "pending": "Pending review", "older": "Over a year old",
                "missing": "Missing"}
BOX_LABELS = {"never": "None recorded", "overdue": "Overdue", "problems": "Problems reported",
              "current": "Current"}


async def view_for(request: Request, who: Principal) -> tuple[dict[str, Any], str]:
    """The compliance view of `?station=` (in the caller's grounds, else 403) or of all of
    them; and the station chosen ("" for all)."""
    station = request.query_params.get("station", "")[:16]
    if station and station not in who.grounds:
        raise ApiError(403, "forbidden", f"Station {station} is not in your grounds.",
                       "station")
    wanted = {station} if station else set(who.grounds)
    view = await compliance.of_stations(request.app.state.db, who.organisation_id, wanted,
                                        request.app.state.submissions, clock.now("seconds"),
                                        request.app.state.settings.fault_review_days)
    return view, station


@page("admin", "supervisor")
async def compliance_page(request: Request, who: Principal) -> Response:
    view, station = await view_for(request, who)
    choices = [s for s in await stations_store.listing(request.app.state.db, who.organisation_id)
               if s["code"] in who.grounds]
    return render(request, "compliance.html", who, nav="compliance", view=view,
                  station=station, choices=choices, items=compliance.ITEMS,
                  state_labels=STATE_LABELS, box_labels=BOX_LABELS,
                  whole=who.role == "admin")


@page("admin", "supervisor")
async def reminders_csv(request: Request, who: Principal) -> Response:
    """The reminders to send, one row per building: no mail server; the service sends them
    through its own system."""
    view, station = await view_for(request, who)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(compliance.CSV_COLUMNS)
    for row in compliance.reminder_rows(view):
        writer.writerow([csv_cell(v) for v in row])
    name = f"reminders-{station or 'all'}-{clock.today()}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


routes = [
    Route("/compliance", compliance_page, name="compliance"),
    Route("/compliance/reminders.csv", reminders_csv, name="compliance_reminders"),
]
