"""The console's front door and route table: sign in, sign out, static files, every page.

Server-rendered HTML for supervisors and admins at a station desk; needs no JavaScript.
Pages live in premises, lifecycle, admin, stations, edit and attachments beside it; the
toolkit in page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server.auth import Principal, check_csrf, new_csrf_token
from server.console import (
    admin,
    attachments,
    auditlog,
    compliance,
    edit,
    history,
    lifecycle,
    observations,
    owner_reviews,
    owners,
    partner,
    password,
    premises,
    service,
    shares,
    stations,
    transfer,
)
from server.console.page import HERE, csrf_token, error_page, page, render, see_other, text
from server.errors import ApiError
from server.web import addresses
from sync.roles import PARTNER


def _safe_next(target: str) -> str:
    """Only follow a `next` that stays inside the console."""
    if target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


async def signin(request: Request) -> Response:
    next_ = _safe_next(request.query_params.get("next", ""))
    if request.method == "GET":
        return render(request, "signin.html", None, next=next_, username="", error=None)
    form = await request.form()
    username, next_ = text(form, "username", 64), _safe_next(text(form, "next", 500))
    try:
        check_csrf(request, text(form, "csrf", 200))
    except ApiError as exc:
        return render(request, "signin.html", None, 403, next=next_, username=username,
                      error=exc.message)
    try:
        who: Principal = await request.app.state.auth.sign_in(
            username, text(form, "password", 256), addresses.of(request))
    except ApiError as exc:
        message = {
            401: "Wrong username or password.",
            403: "This account is disabled. Ask an admin to enable it.",
            429: f"Too many failed sign-ins. Wait {exc.headers.get('Retry-After', 'a few')} "
                 "seconds, then try again.",
        }.get(exc.status, exc.message)
        response = render(request, "signin.html", None, exc.status, next=next_,
                          username=username, error=message)
        response.headers.update(exc.headers)
        return response
    request.session.clear()  # a fresh session: no fixation of a pre-sign-in cookie
    request.session.update({"user_id": who.user_id, "csrf": new_csrf_token()})
    if next_:
        return RedirectResponse(next_, 303)
    return see_other(request, "partner_home" if who.role == PARTNER else "dashboard")


async def signout(request: Request) -> Response:
    form = await request.form()
    try:
        check_csrf(request, text(form, "csrf", 200))
    except ApiError as exc:
        return error_page(request, 403, "Not signed out", exc.message)
    request.session.clear()
    csrf_token(request)
    return see_other(request, "signin")


@page()
async def home(request: Request, who: Principal) -> Response:
    return see_other(request, "dashboard")


routes: list[BaseRoute] = [
    Route("/", home, name="console_home"),
    Route("/signin", signin, methods=["GET", "POST"], name="signin"),
    Route("/signout", signout, methods=["POST"], name="signout"),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="console_static"),
    *lifecycle.routes,  # before premises: /premises/new is not a premises id
    *premises.routes,
    *admin.routes,
    *stations.routes,
    *edit.routes,
    *history.routes,
    *attachments.routes,
    *password.routes,
    *observations.routes,
    *auditlog.routes,
    *transfer.routes,
    *shares.routes,
    *partner.routes,
    *owners.routes,
    *service.routes,
    *owner_reviews.routes,
    *compliance.routes,
]
