"""GET /api/coverage: coverage per station of the caller's grounds, for a service's reporting.

Supervisors and admins only (a device token); narrowed by ?station= to one ground in scope.
The figures come from server/coverage.py. Must not hold SQL or the coverage rules.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock
from server.api.openapi import operation
from server.coverage import coverage
from server.errors import ApiError
from server.store import stations as stations_store
from sync.protocol import encoder

_QUERY = [{"name": "station", "schema": {"type": "string", "maxLength": 16},
           "description": "Narrow to one station ground (it must be in your grounds)"}]


@operation("Coverage per station of your grounds (supervisors and admins)", response=dict,
           roles=("supervisor", "admin"), query=_QUERY)
async def coverage_endpoint(request: Request) -> Response:
    who = await request.app.state.auth.authenticate_device(request)
    if who.role not in ("supervisor", "admin"):
        raise ApiError(403, "forbidden", "coverage is for supervisors and admins")
    station = request.query_params.get("station")
    if station and station not in who.grounds:
        raise ApiError(403, "forbidden", f"station {station} is not in your grounds", "station")
    wanted = {station} if station else set(who.grounds)
    await request.app.state.auth.flush_seen()  # last contact as of this request
    rows = [s for s in await stations_store.listing(request.app.state.db, who.organisation_id)
            if s["code"] in wanted]
    stations = await coverage(request.app.state.db, rows,
                              request.app.state.settings.review_due_soon_days)
    body = {"as_of": clock.now("seconds"),
            "due_soon_days": request.app.state.settings.review_due_soon_days,
            "stations": stations}
    return Response(encoder.encode(body), media_type="application/json")


routes = [Route("/coverage", coverage_endpoint, name="api_coverage")]
