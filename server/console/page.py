"""The console's page toolkit: templates, the signed-in user, CSRF and HTML error pages.

Every console handler is wrapped by `page(...)`: it loads the user fresh on each request (a
disabled user is signed out at once), sends a user whose password an admin reset to choose a
new one, refuses the wrong role with a 403 page, checks the CSRF token of every POST and turns
an ApiError into an HTML page. Must not hold any page's logic.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from server import clock
from server.auth import Principal, check_csrf, new_csrf_token
from server.errors import ApiError
from server.store import organisations
from sync.record import EVACUATION_STRATEGIES, HAZARD_TYPES
from sync.roles import EDITORS, PARTNER

HERE = Path(__file__).parent
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

Handler = Callable[[Request, Principal], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


@jinja2.pass_context
def _link(context: dict[str, Any], name: str, /, **params: Any) -> str:
    """The path of a named route (no scheme or host, so it survives a proxy)."""
    request: Request = context["request"]
    return str(request.app.url_path_for(name, **params))


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["link"] = _link
templates.env.filters["hazard_label"] = lambda t: HAZARD_TYPES.get(t, t)
templates.env.filters["evacuation_label"] = lambda e: EVACUATION_STRATEGIES.get(e, e or "")
templates.env.filters["when"] = clock.readable  # stored UTC times as people read them


def today() -> str:
    """The UTC date, from the server's clock (as the API's `overdue` filter reads it)."""
    return clock.today()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (before sign-in too)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


def flash(request: Request, kind: str, text: str, href: str | None = None) -> None:
    """A one-shot message shown on the next page (after a POST redirect)."""
    request.session["flash"] = {"kind": kind, "text": text, "href": href}


def render(request: Request, name: str, who: Principal | None, status: int = 200,
           **context: Any) -> Response:
    ctx = {"who": who, "csrf": csrf_token(request), "today": today(),
           "service_name": getattr(request.state, "service_name", "") if who else "",
           "flash": request.session.pop("flash", None), **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def error_page(request: Request, status: int, title: str, message: str,
               who: Principal | None = None, **extra: Any) -> Response:
    return render(request, "error.html", who, status, title=title, message=message, **extra)


def to_signin(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{request.app.url_path_for('signin')}?next={quote(target)}", 303)


def see_other(request: Request, name: str, **params: Any) -> Response:
    return RedirectResponse(str(request.app.url_path_for(name, **params)), 303)


def text(form: FormData, name: str, limit: int = 20_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def whole_number(form: FormData, name: str, default: int = 0) -> int:
    """A whole-number hidden field (a `base_version`); anything else means a damaged form."""
    raw = text(form, name, 40)
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise ApiError(400, "invalid", "The form is damaged; reload it.", name)
    return int(raw)


def page(*roles: str, password_change: bool = False) -> Callable[[Handler], Endpoint]:
    """Wrap a handler `fn(request, who)` with sign-in, role, CSRF and error handling; only
    a `password_change` page is open to a user who must choose a new password, and to a
    partner user (whose pages are server/console/partner.py's)."""
    allowed = roles or EDITORS

    def decorate(fn: Handler) -> Endpoint:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            user_id = request.session.get("user_id")
            if user_id is None:
                return to_signin(request)
            try:
                who = await request.app.state.auth.principal_for_user(int(user_id))
            except ApiError:
                request.session.clear()
                flash(request, "error", "Your account is no longer active; you were signed out.")
                return to_signin(request)
            org = await organisations.get(request.app.state.db, who.organisation_id)
            request.state.service_name = org["name"] if org else ""  # the header says whose
            if who.role == PARTNER and not password_change:
                return error_page(
                    request, 403, "This page is not part of the partner view",
                    "Partner accounts read what is shared with them in the partner view.",
                    who, partner_link=True)
            if who.role not in EDITORS and who.role != PARTNER:
                return error_page(
                    request, 403, "The console is for supervisors and admins",
                    "Crews use the Watchbook app instead.", who, app_link=True)
            if who.must_change_password and not password_change:
                return see_other(request, "change_password")
            if who.role not in allowed:
                return error_page(request, 403, "Admins only",
                                  f"This page needs the {' or '.join(allowed)} role.", who)
            try:
                if request.method == "POST":
                    check_csrf(request, text(await request.form(), "csrf", 200))
                return await fn(request, who)
            except ApiError as exc:
                title = "Not allowed" if exc.status == 403 else "Something is not right"
                return error_page(request, exc.status, title, exc.message, who)
        return endpoint
    return decorate
