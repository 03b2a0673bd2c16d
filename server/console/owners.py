"""Console pages for building owners: mark a premises as a high-rise residential building and
name its responsible person (admins and supervisors, within their grounds).

The write is server/owners.py's, through the one premises writer. Must not hold SQL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import owners
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.console.premises import load_in_scope

FIELDS = list(owners.LABELS)


@page("admin", "supervisor")
async def high_rise_edit(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    current = doc.get("high_rise") or {}
    values = {f: "" if current.get(f) is None else str(current.get(f)) for f in FIELDS}
    if request.method == "GET":
        return render(request, "high_rise_edit.html", who, doc=doc, values=values, errors={},
                      labels=owners.LABELS)
    form = await request.form()
    if text(form, "action", 20) == "unmark":
        await owners.set_high_rise(request.app.state.sync, who, premises_id, None)
        flash(request, "ok", "No longer marked as a high-rise residential building.")
        return see_other(request, "premises", premises_id=premises_id)
    values = {f: text(form, f, 300) for f in FIELDS}
    high_rise, errors = owners.parse(values)
    if high_rise is None:
        return render(request, "high_rise_edit.html", who, 422, doc=doc, values=values,
                      errors=errors, labels=owners.LABELS)
    await owners.set_high_rise(request.app.state.sync, who, premises_id, high_rise)
    flash(request, "ok", "Marked as a high-rise residential building.")
    return see_other(request, "premises", premises_id=premises_id)


routes = [
    Route("/premises/{premises_id}/high-rise", high_rise_edit, methods=["GET", "POST"],
          name="high_rise_edit"),
]
