"""The console page of the admin's own owning service (/console/admin/service): its name
("This service" until renamed), its stations and staff in numbers, and renaming it. Admins
only, and only their own service (there is no route to another). Renaming goes through
server/services.py, shared with `watchbook service rename`. Must not hold SQL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import services
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError


async def _render(request: Request, who: Principal, status: int = 200,
                  error: str = "", entered: str | None = None) -> Response:
    mine = [s for s in await services.listing(request.app.state.db)
            if s["id"] == who.organisation_id]
    if not mine:
        raise ApiError(404, "not_found", "Your account belongs to no owning service.")
    return render(request, "service.html", who, status, nav="service", service=mine[0],
                  error=error, entered=mine[0]["name"] if entered is None else entered)


@page("admin")
async def service_page(request: Request, who: Principal) -> Response:
    return await _render(request, who)


@page("admin")
async def rename_service(request: Request, who: Principal) -> Response:
    name = text(await request.form(), "name", 400)
    try:
        done = await services.rename(request.app.state.db, who.organisation_id, name)
    except ApiError as exc:
        return await _render(request, who, exc.status, exc.message + ".", name)
    flash(request, "ok", f"Renamed your service: it is now {done}.")
    return see_other(request, "service")


routes = [
    Route("/admin/service", service_page, name="service"),
    Route("/admin/service", rename_service, methods=["POST"], name="rename_service"),
]
