"""GET /api/compliance: the compliance view of the caller's grounds as JSON (docs/api.md),
the same figures as /console/compliance. Supervisors and admins only (a device token);
narrowed by ?station= to one ground in scope. The view is server/compliance.py's; no SQL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock, compliance
from server.api.openapi import operation
from server.errors import ApiError
from sync.protocol import encoder

_QUERY = [{"name": "station", "schema": {"type": "string", "maxLength": 16},
           "description": "Narrow to one station ground (it must be in your grounds)"}]


@operation("High-rise buildings' plans, wall information, faults and information-box checks, "
           "with reminders (supervisors and admins)", response=dict,
           roles=("supervisor", "admin"), query=_QUERY)
async def compliance_endpoint(request: Request) -> Response:
    who = await request.app.state.auth.authenticate_device(request)
    if who.role not in ("supervisor", "admin"):
        raise ApiError(403, "forbidden", "the compliance view is for supervisors and admins")
    station = request.query_params.get("station", "")[:16]
    if station and station not in who.grounds:
        raise ApiError(403, "forbidden", f"station {station} is not in your grounds", "station")
    wanted = {station} if station else set(who.grounds)
    view = await compliance.of_stations(request.app.state.db, who.organisation_id, wanted,
                                        request.app.state.submissions, clock.now("seconds"),
                                        request.app.state.settings.fault_review_days)
    return Response(encoder.encode(view), media_type="application/json")


routes = [Route("/compliance", compliance_endpoint, name="api_compliance")]
