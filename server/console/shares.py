"""Console pages for an owning service's admins: partner organisations and their users,
and shares (make, list, open with its access log, end). Admins only; a share of another
owning service is a 404 here. Must not hold SQL or the field rule (server/partners.py and
server/sharing.py own them).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock, partners, sharing
from server.auth import Principal
from server.console.formcheck import every_error
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError
from server.passwords import MIN_LENGTH
from server.sharing import (
    KINDS,
    LEVELS,
    PROFILE_LABELS,
    PROFILES,
    SENSITIVE,
    SENSITIVE_LABELS,
    fields_of,
    status,
)
from server.store import organisations, shares
from server.store import stations as stations_store
from sync.roles import PARTNER


def _share_id(request: Request) -> int:
    raw = str(request.path_params["share_id"])
    if not raw.isdigit() or len(raw) > 15:
        raise ApiError(404, "not_found", f"There is no share {raw}.")
    return int(raw)


async def _organisations_page(request: Request, who: Principal, status_code: int = 200,
                              errors: dict[str, str] | None = None,
                              entered: dict[str, str] | None = None) -> Response:
    db = request.app.state.db
    return render(request, "partners.html", who, status_code, nav="partners",
                  organisations=await organisations.listing(db, who.organisation_id),
                  partner_users=await organisations.partner_users(db, who.organisation_id),
                  partner_orgs=await organisations.partners(db, who.organisation_id),
                  kinds=KINDS, crew_role=partners.NEIGHBOUR_CREW,
                  errors=errors or {}, entered=entered or {}, min_length=MIN_LENGTH)


@page("admin")
async def organisations_list(request: Request, who: Principal) -> Response:
    return await _organisations_page(request, who)


@page("admin")
async def organisation_add(request: Request, who: Principal) -> Response:
    form = await request.form()
    entered = {"org_name": text(form, "name", 300), "kind": text(form, "kind", 40)}
    try:
        if entered["kind"] == organisations.OWNER:  # a service is added by the operator
            raise ApiError(422, "invalid", "Choose the partner's kind", "kind")
        await partners.add_organisation(request.app.state.db, entered["org_name"],
                                        entered["kind"], who.organisation_id)
    except ApiError as exc:
        field = {"name": "org_name"}.get(exc.field or "", exc.field or "org_name")
        return await _organisations_page(request, who, exc.status, {field: exc.message},
                                         entered)
    flash(request, "ok", f"Partner organisation {entered['org_name']} added.")
    return see_other(request, "partners")


@page("admin")
async def partner_user_add(request: Request, who: Principal) -> Response:
    form = await request.form()
    entered = {"username": text(form, "username", 100), "user_name": text(form, "name", 300),
               "organisation": text(form, "organisation", 20),
               "role": text(form, "role", 20) or PARTNER}
    raw_org = entered["organisation"]
    db = request.app.state.db
    org = await organisations.get(db, int(raw_org)) if raw_org.isdigit() and len(
        raw_org) < 16 else None
    problems = partners.partner_user_problems(  # every problem at once
        entered["username"].strip(), entered["user_name"].strip(), org, entered["role"],
        text(form, "password", 256), who.organisation_id)
    errors = {{"name": "user_name"}.get(f, f): m.rstrip(".") + "." for f, m in problems.items()}
    status_code = 422
    if not errors:
        try:
            await partners.add_partner_user(request.app.state.auth, entered["username"],
                                            entered["user_name"], int(raw_org),
                                            text(form, "password", 256), entered["role"],
                                            service=who.organisation_id)
        except ApiError as exc:
            field = {"name": "user_name"}.get(exc.field or "", exc.field or "username")
            errors, status_code = {field: exc.message}, exc.status
    if errors:
        return await _organisations_page(request, who, status_code, errors, entered)
    flash(request, "ok", f"Crew user {entered['username']} added: they sign in to the app "
                         "(/) and enrol a device, which holds the premises shared with their "
                         "service, read only." if entered["role"] == partners.NEIGHBOUR_CREW
          else f"Partner user {entered['username']} added. They sign in at "
                "/console/ and see only what is shared with their organisation.")
    return see_other(request, "partners")


def _row(share: Any, today: str) -> dict[str, Any]:
    return {"share": share, "status": status(share, today), "fields": fields_of(share)}


@page("admin")
async def shares_list(request: Request, who: Principal) -> Response:
    today = clock.today()
    found = await shares.listing(request.app.state.db, owner_id=who.organisation_id)
    return render(request, "shares.html", who, nav="shares", rows=[_row(s, today) for s in found],
                  profile_labels=PROFILE_LABELS)


def _form_values(form: FormData) -> dict[str, Any]:
    return {"partner": text(form, "partner", 20), "purpose": text(form, "purpose", 2000),
            "profile": text(form, "profile", 60), "expires_on": text(form, "expires_on", 40),
            "bbox": text(form, "bbox", 400), "polygon": text(form, "polygon", 200_000),
            "uses": text(form, "uses", 2000),
            "sensitive_reason": text(form, "sensitive_reason", 2000),
            "contribute": text(form, "contribute", 10),
            "stations": [v for v in form.getlist("stations") if isinstance(v, str)][:200],
            "levels": [v for v in form.getlist("levels") if isinstance(v, str)][:10],
            "sensitive": [v for v in form.getlist("sensitive") if isinstance(v, str)][:10]}


async def _new_form(request: Request, who: Principal, status_code: int = 200,
                    errors: dict[str, str] | None = None,
                    entered: dict[str, Any] | None = None) -> Response:
    db = request.app.state.db
    codes = await db.read(lambda c: organisations.station_codes(c, who.organisation_id))
    station_rows = [s for s in await stations_store.listing(db, who.organisation_id)
                    if s["code"] in codes]
    return render(request, "share_new.html", who, status_code, nav="shares",
                  partner_orgs=await organisations.partners(db, who.organisation_id),
                  stations=station_rows,
                  profiles=PROFILES, profile_labels=PROFILE_LABELS, levels=LEVELS,
                  sensitive=SENSITIVE, sensitive_labels=SENSITIVE_LABELS,
                  errors=errors or {},
                  entered=entered or {"stations": [], "levels": [], "sensitive": [],
                                      "profile": "operational_summary",
                                      "expires_on": clock.today(90)},
                  today=clock.today())


@page("admin")
async def share_new(request: Request, who: Principal) -> Response:
    if request.method == "GET":
        return await _new_form(request, who)
    entered = _form_values(await request.form())
    db = request.app.state.db
    partner_ids = [o["id"] for o in await organisations.partners(db, who.organisation_id)]
    codes = await db.read(lambda c: organisations.station_codes(c, who.organisation_id))
    _, errors = every_error(lambda form: sharing.parse_request(
        form, clock.today(), partner_ids, codes), entered, {
            "partner": str(partner_ids[0]) if partner_ids else "", "purpose": "a purpose",
            "profile": next(iter(PROFILES)), "stations": [], "levels": [], "uses": "",
            "bbox": "", "polygon": "", "sensitive": [], "sensitive_reason": "a reason",
            "expires_on": clock.today(90)})
    if errors:  # every problem at once; make_share checks again and stops at the first
        return await _new_form(request, who, 422, errors, entered)
    try:
        share_id = await partners.make_share(request.app.state.db, who.organisation_id,
                                             entered, who.username)
    except ApiError as exc:
        return await _new_form(request, who, exc.status,
                               {exc.field or "partner": exc.message}, entered)
    flash(request, "ok", f"Share {share_id} made; the partner's users can open it now.")
    return see_other(request, "share", share_id=share_id)


async def _share_page(request: Request, who: Principal, share_id: int,
                      new_key: str | None = None) -> Response:
    db = request.app.state.db
    share = await partners.owned_share(db, who.organisation_id, share_id)
    return render(request, "share.html", who, nav="shares", row=_row(share, clock.today()),
                  profile_labels=PROFILE_LABELS, sensitive_labels=SENSITIVE_LABELS,
                  reads=await shares.reads(db, [share.id]),
                  keys=await shares.keys_of(db, share.id), new_key=new_key)


@page("admin")
async def share_page(request: Request, who: Principal) -> Response:
    return await _share_page(request, who, _share_id(request))


@page("admin")
async def key_add(request: Request, who: Principal) -> Response:
    """A new feed key, shown once on this page (never stored in the clear, nor flashed)."""
    share_id = _share_id(request)
    _, token = await partners.make_key(request.app.state.db, who.organisation_id, share_id,
                                       who.username)
    response = await _share_page(request, who, share_id, new_key=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@page("admin")
async def key_revoke(request: Request, who: Principal) -> Response:
    share_id, raw = _share_id(request), str(request.path_params["key_id"])
    if not raw.isdigit() or len(raw) > 15:
        raise ApiError(404, "not_found", f"There is no key {raw}.")
    revoked = await partners.revoke_key(request.app.state.db, who.organisation_id, share_id,
                                        int(raw))
    flash(request, "ok", f"Key {raw} revoked: it stops working at once." if revoked
          else f"Key {raw} was revoked already, or is not this share's.")
    return see_other(request, "share", share_id=share_id)


@page("admin")
async def share_end(request: Request, who: Principal) -> Response:
    share_id = _share_id(request)
    ended = await partners.end_share(request.app.state.db, who.organisation_id, share_id,
                                     who.username)
    flash(request, "ok", f"Share {share_id} ended: its partner can no longer open it."
          if ended else f"Share {share_id} had ended already.")
    return see_other(request, "share", share_id=share_id)


routes = [
    Route("/partners", organisations_list, name="partners"),
    Route("/partners/organisations", organisation_add, methods=["POST"],
          name="organisation_add"),
    Route("/partners/users", partner_user_add, methods=["POST"], name="partner_user_add"),
    Route("/shares", shares_list, name="shares"),
    Route("/shares/new", share_new, methods=["GET", "POST"], name="share_new"),
    Route("/shares/{share_id}", share_page, name="share"),
    Route("/shares/{share_id}/end", share_end, methods=["POST"], name="share_end"),
    Route("/shares/{share_id}/keys", key_add, methods=["POST"], name="share_key_add"),
    Route("/shares/{share_id}/keys/{key_id}/revoke", key_revoke, methods=["POST"],
          name="share_key_revoke"),
]
