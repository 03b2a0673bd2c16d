"""The responsible person's portal (issue 16): pages reached only through a submission link
(/portal/{token}), without an account: report a fault of a lift for firefighters or of key
firefighting equipment, get a reference number, and report it repaired later; record the
annual information-box check (server/information_box.py).

Server-rendered, no JavaScript. CSRF: the session cookie's token (SameSite, set on the first
GET) in every form. A wrong token is a plain 404 page, a revoked or expired one 410, too many
requests (per link, per address, or unknown tokens per address: server/portal_throttle.py)
429 with Retry-After; never a 500. Rules are server/submissions.py's. Must not hold SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server import clock, information_box, submissions
from server.auth import check_csrf
from server.console.page import render, templates, text
from server.errors import ApiError
from server.portal_throttle import PortalThrottle
from server.store import records
from server.web import addresses
from sync.record import BOX_OUTCOMES, FAULT_KINDS


def long_date(value: object) -> str:
    """`2026-12-03` as people read it: `3 Dec 2026` (anything else as it is)."""
    try:
        return dt.date.fromisoformat(str(value)).strftime("%-d %b %Y")
    except ValueError:
        return str(value or "")


templates.env.filters["long_date"] = long_date
templates.env.filters["fault_label"] = lambda kind: FAULT_KINDS.get(kind, kind)

TITLES = {404: "This link is not known", 410: "This link no longer works",
          429: "Too many requests", 409: "Already done", 403: "The form has expired",
          422: "Something is missing"}
Portal = Callable[[Request, submissions.Link], Awaitable[Response]]


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


def _throttle(request: Request) -> PortalThrottle:
    settings = request.app.state.settings
    return PortalThrottle(request.app.state.db, settings.portal_requests_per_address,
                          settings.portal_unknown_links_per_address,
                          submissions.RATE_WINDOW_SECONDS)


def portal_page(fn: Portal) -> Callable[[Request], Awaitable[Response]]:
    """Admit the address (its budgets counted), resolve the link (its rate counted; an unknown
    token counted against the address), check CSRF on a POST, and turn an ApiError into a
    plain page with its status."""
    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            throttle, address = _throttle(request), addresses.of(request)
            wait = await throttle.admit(address)
            if wait:
                raise ApiError(429, "throttled", "Too many requests from your network; try "
                               f"again in {wait // 60 + 1} minutes.",
                               headers={"Retry-After": str(wait)})
            try:
                link = await submissions.resolve(request.app.state.db,
                                                 request.path_params["token"])
            except ApiError as exc:
                if exc.status == 404:  # no such link: counted against the address
                    await throttle.unknown_link(address)
                raise
            if request.method == "POST":
                check_csrf(request, text(await request.form(), "csrf", 200))
            response = await fn(request, link)
        except ApiError as exc:
            response = render(request, "portal_error.html", None, exc.status,
                              title=TITLES.get(exc.status, "That did not work"),
                              message=exc.message)
            for name, value in (exc.headers or {}).items():
                response.headers[name] = value
        return _private(response)
    return endpoint


async def building(request: Request, link: submissions.Link) -> dict[str, Any]:
    """The link's building as the service holds it; 410 once it is gone from the records."""
    doc = await request.app.state.db.read(lambda c: records.get(c, link.premises_id))
    if doc is None or doc.get("deleted"):
        raise ApiError(410, "gone", "This building is no longer on the fire service's records.")
    return dict(doc)


def here(request: Request) -> str:
    """The portal's first page for this request's link."""
    return str(request.app.url_path_for("portal", token=request.path_params["token"]))


def _show(request: Request, doc: dict[str, Any], status: int = 200, **over: Any) -> Response:
    """The portal's page: open faults, the fault form, the information-box check and its form
    (`over`: a form's values and errors when it comes back)."""
    name = (doc.get("high_rise") or {}).get("responsible_person", "")
    context: dict[str, Any] = {
        "values": {"reported_by": name, "kind": "", "description": "", "since": ""},
        "errors": {},
        "box_values": {"reported_by": name, "checked_on": clock.today(), "outcome": "",
                       "problems": ""},
        "box_errors": {}, **over}
    box = doc.get("information_box")
    return render(request, "portal.html", None, status, doc=doc, kinds=FAULT_KINDS,
                  outcomes=BOX_OUTCOMES, open_faults=doc.get("equipment_faults") or [],
                  box=box, box_overdue=information_box.overdue(
                      (box or {}).get("checked_on"), clock.today()),
                  box_saved=request.query_params.get("box") == "1",
                  here=here(request), **context)


@portal_page
async def portal(request: Request, link: submissions.Link) -> Response:
    return _show(request, await building(request, link))


@portal_page
async def report_fault(request: Request, link: submissions.Link) -> Response:
    doc = await building(request, link)
    form = await request.form()
    values = {f: text(form, f, 2100) for f in ("kind", "description", "since", "reported_by")}
    fault, errors = submissions.parse_fault(values)
    if errors:
        return _show(request, doc, 422, values=values, errors=errors)
    ref = await submissions.report(request.app.state.db, request.app.state.sync, link, fault)
    return RedirectResponse(here(request) + f"/faults/{ref}?new=1", 303)


@portal_page
async def record_box_check(request: Request, link: submissions.Link) -> Response:
    """The annual information-box check: every problem beside its field, or stored."""
    doc = await building(request, link)
    form = await request.form()
    values = {f: text(form, f, 2100) for f in ("checked_on", "outcome", "problems",
                                               "reported_by")}
    check, errors = information_box.parse(values, clock.today())
    if errors:
        return _show(request, doc, 422, box_values=values, box_errors=errors)
    await information_box.record(request.app.state.db, link.premises_id, link.id, check)
    return RedirectResponse(here(request) + "?box=1#box", 303)


@portal_page
async def fault_page(request: Request, link: submissions.Link) -> Response:
    doc = await building(request, link)
    fault = await submissions.fault_of(request.app.state.db, link,
                                       request.path_params["reference"])
    return render(request, "portal_fault.html", None, doc=doc, fault=fault, kinds=FAULT_KINDS,
                  new=request.query_params.get("new") == "1", here=here(request))


@portal_page
async def report_repaired(request: Request, link: submissions.Link) -> Response:
    ref = request.path_params["reference"]
    form = await request.form()
    await submissions.repaired(request.app.state.db, request.app.state.sync, link, ref,
                               text(form, "note", 2000))
    return RedirectResponse(here(request) + f"/faults/{ref}", 303)


routes = [
    Route("/{token}", portal, name="portal"),
    Route("/{token}/faults", report_fault, methods=["POST"], name="portal_report_fault"),
    Route("/{token}/information-box", record_box_check, methods=["POST"],
          name="portal_information_box"),
    Route("/{token}/faults/{reference}", fault_page, name="portal_fault"),
    Route("/{token}/faults/{reference}/repaired", report_repaired, methods=["POST"],
          name="portal_repaired"),
]
