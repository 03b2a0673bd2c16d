"""Console pages for building owners: mark a premises as a high-rise residential building and
name its responsible person, issue, replace (rotate) and revoke submission links, and review its equipment
faults: confirm one still out of order or mark it repaired (admins and supervisors, within
their grounds).

The writes are server/owners.py's, submissions.py's and fault_review.py's, through the one
premises writer. Must not hold SQL.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock, fault_review, information_box, owners, submissions
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.console.premises import load_in_scope
from server.errors import ApiError
from server.store import information_box as box_store
from server.store import owner_links

FIELDS = list(owners.LABELS)


@page("admin", "supervisor")
async def high_rise_edit(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    current = doc.get("high_rise") or {}
    values = {f: "" if current.get(f) is None else str(current.get(f)) for f in FIELDS}
    if request.method == "GET":
        return render(request, "high_rise_edit.html", who, doc=doc, values=values, errors={},
                      labels=owners.LABELS, **await _links(request, premises_id))
    form = await request.form()
    if text(form, "action", 20) == "unmark":
        await owners.set_high_rise(request.app.state.sync, who, premises_id, None)
        flash(request, "ok", "No longer marked as a high-rise residential building.")
        return see_other(request, "premises", premises_id=premises_id)
    values = {f: text(form, f, 300) for f in FIELDS}
    high_rise, errors = owners.parse(values)
    if high_rise is None:
        return render(request, "high_rise_edit.html", who, 422, doc=doc, values=values,
                      errors=errors, labels=owners.LABELS, **await _links(request, premises_id))
    await owners.set_high_rise(request.app.state.sync, who, premises_id, high_rise)
    flash(request, "ok", "Marked as a high-rise residential building.")
    return see_other(request, "premises", premises_id=premises_id)


async def _links(request: Request, premises_id: str) -> dict[str, Any]:
    db = request.app.state.db
    now = clock.now("seconds")
    links = [{**row, "state": submissions.link_state(row, now),
              "replaced_by": submissions.replaced_by(row)}
             for row in await owner_links.links_for(db, premises_id)]
    days = request.app.state.settings.fault_review_days
    faults = [{**f, "for_review": submissions.for_review(f, now, days)}
              for f in await owner_links.faults_for(db, premises_id)]
    checks = await box_store.checks_for(db, premises_id)
    return {"links": links, "faults": faults, "review_days": days, "box_checks": checks,
            "box_overdue": information_box.overdue(
                checks[0]["checked_on"] if checks else None, clock.today()),
            "link_days": submissions.LINK_DAYS, "default_days": submissions.DEFAULT_LINK_DAYS}


@page("admin", "supervisor")
async def issue_link(request: Request, who: Principal) -> Response:
    """Issue a submission link; its URL is shown this once (only its digest is kept)."""
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    raw = text(await request.form(), "days", 4)
    days = int(raw) if raw.isdigit() else 0
    token = await submissions.issue(request.app.state.db, who, doc, days)
    url = str(request.base_url).rstrip("/") + str(request.app.url_path_for("portal",
                                                                           token=token))
    return render(request, "submission_link.html", who, doc=doc, url=url, days=days)


@page("admin", "supervisor")
async def replace_link(request: Request, who: Principal) -> Response:
    """Replace a live link that may have leaked: the old one stops at once, the new one's URL
    is shown this once."""
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    token, expires = await submissions.replace(request.app.state.db, who, doc,
                                               _link_id(request))
    url = str(request.base_url).rstrip("/") + str(request.app.url_path_for("portal",
                                                                           token=token))
    return render(request, "submission_link.html", who, doc=doc, url=url, expires=expires,
                  replaced=request.path_params["link_id"])


def _link_id(request: Request) -> int:
    raw = request.path_params["link_id"]
    if not raw.isdigit() or len(raw) > 15:
        raise ApiError(404, "not_found", "There is no such link.")
    return int(raw)


@page("admin", "supervisor")
async def revoke_link(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    await submissions.revoke(request.app.state.db, who, doc, _link_id(request))
    flash(request, "ok", "The submission link is revoked: it no longer opens the portal.")
    return see_other(request, "high_rise_edit", premises_id=premises_id)


async def _review(request: Request, who: Principal, confirm: bool) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    ref = request.path_params["reference"]
    note = text(await request.form(), "note", 2000)
    days = request.app.state.settings.fault_review_days
    if confirm:
        await fault_review.confirm(request.app.state.db, days, who, doc, ref, note)
        flash(request, "ok", f"Fault {ref} confirmed still out of order.")
    else:
        await fault_review.correct(request.app.state.db, days, who, doc, ref, note)
        flash(request, "ok", f"Fault {ref} marked repaired: it leaves the crews' record.")
    return see_other(request, "high_rise_edit", premises_id=premises_id)


@page("admin", "supervisor")
async def confirm_fault(request: Request, who: Principal) -> Response:
    """The fault is still out of order: no longer for review until the set time passes."""
    return await _review(request, who, confirm=True)


@page("admin", "supervisor")
async def repaired_fault(request: Request, who: Principal) -> Response:
    """Correct the report: the fault is repaired (a note says how the supervisor knows)."""
    return await _review(request, who, confirm=False)


routes = [
    Route("/premises/{premises_id}/high-rise", high_rise_edit, methods=["GET", "POST"],
          name="high_rise_edit"),
    Route("/premises/{premises_id}/links", issue_link, methods=["POST"],
          name="submission_link_issue"),
    Route("/premises/{premises_id}/links/{link_id}/replace", replace_link, methods=["POST"],
          name="submission_link_replace"),
    Route("/premises/{premises_id}/links/{link_id}/revoke", revoke_link, methods=["POST"],
          name="submission_link_revoke"),
    Route("/premises/{premises_id}/faults/{reference}/confirm", confirm_fault,
          methods=["POST"], name="fault_confirm"),
    Route("/premises/{premises_id}/faults/{reference}/repaired", repaired_fault,
          methods=["POST"], name="fault_repaired"),
]
