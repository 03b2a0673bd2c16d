"""The partner view: what a partner organisation's users read of the shares given to them.
Server-rendered and read-only, it needs no JavaScript: their shares, search within one, a
premises page and a print sheet with the share's fields only and each record's age, and
their own access log. Partner users only; every share is read fresh on every request (an
ended or expired one gives nothing) and every read is recorded (server/partners.py).
Must not hold SQL or the field rule.
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock, partners
from server.auth import Principal
from server.console.observations import CATEGORIES
from server.console.page import Handler, flash, page, render, see_other, text
from server.errors import ApiError
from server.sharing import PROFILE_LABELS, SENSITIVE_LABELS, status
from server.store import shares
from sync.record import EVACUATION_STRATEGIES
from sync.roles import PARTNER

LABELS = {
    "name": "Name", "address": "Address", "postcode": "Postcode", "uprn": "UPRN",
    "lat": "Latitude", "lon": "Longitude", "use": "Use", "risk_level": "Risk level",
    "risk_score": "Risk score", "assessed_at": "Assessed", "next_review_due": "Review due",
    "rvp": "Rendezvous point", "access_points": "Access points", "key_holder": "Key holder",
    "key_box": "Key box", "entry_codes": "Entry codes", "alarm_panel": "Alarm panel",
    "suppression": "Sprinklers / suppression", "risers": "Risers",
    "isolation_gas": "Gas isolation", "isolation_electric": "Electricity isolation",
    "isolation_water": "Water isolation", "tactical_plan": "Tactical plan",
    "evacuation_strategy": "Evacuation strategy", "environmental_plan": "Environmental plan",
    "risk_notes": "Risk notes",
}
TEXT_FIELDS = ("use", "risk_score", "assessed_at", "next_review_due", "rvp", "access_points",
               "key_holder", "key_box", "entry_codes", "alarm_panel", "suppression", "risers",
               "isolation_gas", "isolation_electric", "isolation_water", "tactical_plan",
               "evacuation_strategy", "environmental_plan", "risk_notes")


def partner_page(fn: Handler) -> Handler:
    """`page` for partner users only; a reset password is changed first, as everywhere."""
    @functools.wraps(fn)
    async def inner(request: Request, who: Principal) -> Response:
        if who.must_change_password:
            return see_other(request, "change_password")
        return await fn(request, who)
    return inner


def _number(request: Request, name: str) -> int:
    raw = str(request.path_params[name])
    if not raw.isdigit() or len(raw) > 15:
        raise ApiError(404, "not_found", f"There is no share {raw}.")
    return int(raw)


@page(PARTNER, password_change=True)
@partner_page
async def home(request: Request, who: Principal) -> Response:
    today = clock.today()
    found = await shares.listing(request.app.state.db, partner_id=who.organisation_id)
    return render(request, "partner_home.html", who, nav="partner",
                  rows=[{"share": s, "status": status(s, today)} for s in found],
                  profile_labels=PROFILE_LABELS)


@page(PARTNER, password_change=True)
@partner_page
async def share_search(request: Request, who: Principal) -> Response:
    db = request.app.state.db
    share = await partners.live_share(db, who, _number(request, "share_id"))
    q = request.query_params.get("q", "").strip()[:200]
    results = await partners.search(db, who, share, q)
    return render(request, "partner_share.html", who, nav="partner", share=share, q=q,
                  results=results, profile_labels=PROFILE_LABELS)


async def _record(request: Request, who: Principal, kind: str, template: str,
                  status_code: int = 200, errors: dict[str, str] | None = None,
                  entered: dict[str, str] | None = None) -> Response:
    db = request.app.state.db
    share = await partners.live_share(db, who, _number(request, "share_id"))
    view, age = await partners.open_record(db, who, share, request.path_params["premises_id"],
                                           kind)
    return render(request, template, who, status_code, nav="partner", share=share, view=view,
                  age=age,
                  categories=CATEGORIES, errors=errors or {}, entered=entered or {},
                  labels=LABELS, text_fields=TEXT_FIELDS, sensitive_labels=SENSITIVE_LABELS,
                  evacuation=EVACUATION_STRATEGIES, profile_labels=PROFILE_LABELS,
                  printed=clock.now("seconds"))


@page(PARTNER, password_change=True)
@partner_page
async def premises(request: Request, who: Principal) -> Response:
    return await _record(request, who, "view", "partner_premises.html")


@page(PARTNER, password_change=True)
@partner_page
async def print_sheet(request: Request, who: Principal) -> Response:
    return await _record(request, who, "print", "partner_print.html")


@page(PARTNER, password_change=True)
@partner_page
async def contribute(request: Request, who: Principal) -> Response:
    db = request.app.state.db
    share = await partners.live_share(db, who, _number(request, "share_id"))
    form = await request.form()
    entered = {"category": text(form, "category", 40), "note": text(form, "note", 4000)}
    premises_id = request.path_params["premises_id"]
    try:
        await partners.contribute(db, request.app.state.sync, who, share, premises_id,
                                  entered["category"], entered["note"])
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await _record(request, who, "view", "partner_premises.html", 422,
                             {exc.field or "note": exc.message}, entered)
    flash(request, "ok", f"Observation sent to {share.owner_name}: a supervisor will accept "
                         "it into the record or dismiss it.")
    return see_other(request, "partner_premises", share_id=share.id, premises_id=premises_id)


@page(PARTNER, password_change=True)
@partner_page
async def access_log(request: Request, who: Principal) -> Response:
    db = request.app.state.db
    own = await shares.listing(db, partner_id=who.organisation_id)
    return render(request, "partner_log.html", who, nav="partner_log",
                  reads=await shares.reads(db, [s.id for s in own], user_id=who.user_id))


routes = [
    Route("/partner/", home, name="partner_home"),
    Route("/partner/log", access_log, name="partner_log"),
    Route("/partner/shares/{share_id}", share_search, name="partner_share"),
    Route("/partner/shares/{share_id}/premises/{premises_id}", premises,
          name="partner_premises"),
    Route("/partner/shares/{share_id}/premises/{premises_id}/print", print_sheet,
          name="partner_print"),
    Route("/partner/shares/{share_id}/premises/{premises_id}/observations", contribute,
          methods=["POST"], name="partner_contribute"),
]
