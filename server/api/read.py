"""The JSON read API under /api: enrolment, who am I (and changing my password), premises
list/search, one premises, nearest premises, stations.

Every handler checks the caller (a device bearer token). Reads go through server/store/; no
SQL here. Writes to premises belong to the sync engine, never here.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock
from server.api.openapi import operation
from server.auth import Principal
from server.errors import ApiError, decode_body
from server.settings import Settings
from server.store import records, search
from server.store import stations as stations_store
from server.web import addresses
from sync.record import current_hazard_types

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class EnrolRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    device_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Browser"
    # Signing in again on a device enrolled before (its token was refused): keep its identity,
    # so edits already numbered for it keep their sequence and are never applied twice.
    device_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    new_password: Annotated[str, msgspec.Meta(max_length=256)]


class Me(msgspec.Struct):
    user_id: int
    username: str
    name: str
    role: str
    station: str | None
    grounds: list[str]
    device_id: str | None
    attachment_cache_bytes: int = 0  # how much a device may keep of attachments offline
    data_stale_hours: int = 24       # the app's data age turns amber after this ...
    data_old_days: int = 7           # ... and red (out of date) after this
    must_change_password: bool = False  # an admin reset it: POST /api/me/password first


class EnrolResponse(msgspec.Struct):
    device_id: str
    token: str
    user: Me


class PremisesSummary(msgspec.Struct):
    id: str
    station: str
    name: str
    address: str
    postcode: str
    uprn: str
    use: str
    risk_level: int
    next_review_due: str | None
    lat: float | None
    lon: float | None
    hazard_types: list[str]
    version: int


class PremisesPage(msgspec.Struct):
    total: int           # matches, counted up to 1,000 (see total_capped)
    limit: int
    offset: int
    items: list[PremisesSummary]
    total_capped: bool = False   # more than `total` match: total is the count cap, a floor


class NearestItem(msgspec.Struct):
    distance_m: float
    premises: PremisesSummary


class NearestResponse(msgspec.Struct):
    items: list[NearestItem]


class Station(msgspec.Struct):
    code: str
    name: str
    lat: float | None  # None: added before its position was known
    lon: float | None
    extra_grounds: list[str]


class StationList(msgspec.Struct):
    items: list[Station]


_encoder = msgspec.json.Encoder()


def json_response(value: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status_code=status, media_type="application/json")


def me_of(p: Principal, settings: Settings) -> Me:
    """The caller, with the settings the app follows (its attachment cache, data-age colours)."""
    return Me(p.user_id, p.username, p.name, p.role, p.station, list(p.grounds), p.device_id,
              settings.attachment_cache_bytes, settings.data_stale_hours, settings.data_old_days,
              p.must_change_password)


def summary(doc: dict[str, Any], today: str) -> PremisesSummary:
    """A list row; `hazard_types` are the hazards in force on `today` (expired ones are not)."""
    return PremisesSummary(
        id=doc["id"], station=doc["station"], name=doc["name"], address=doc.get("address", ""),
        postcode=doc.get("postcode", ""), uprn=doc.get("uprn", ""), use=doc.get("use", ""),
        risk_level=doc.get("risk_level", 4), next_review_due=doc.get("next_review_due"),
        lat=doc.get("lat"), lon=doc.get("lon"),
        hazard_types=current_hazard_types(doc.get("hazards", []), today),
        version=doc.get("version", 1))


async def principal(request: Request) -> Principal:
    return await request.app.state.auth.authenticate_device(request)  # type: ignore[no-any-return]


def _int_param(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid", f"{name} must be a whole number", name) from None
    if not lo <= value <= hi:
        raise ApiError(400, "invalid", f"{name} must be between {lo} and {hi}", name)
    return value


def _float_param(request: Request, name: str, lo: float, hi: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        raise ApiError(400, "missing", f"{name} is required", name)
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "invalid", f"{name} must be a number", name) from None
    if not lo <= value <= hi:
        raise ApiError(400, "invalid", f"{name} must be between {lo} and {hi}", name)
    return value


def _stations_filter(request: Request, who: Principal) -> list[str]:
    """The station grounds to search: the caller's grounds, narrowed by ?station=."""
    station = request.query_params.get("station")
    if station:
        if station not in who.grounds:
            if not who.in_service(station):
                raise ApiError(404, "not_found", f"no station {station}", "station")
            raise ApiError(403, "forbidden", f"station {station} is not in your grounds",
                           "station")
        return [station]
    return list(who.grounds)


_STATION = {"name": "station", "schema": {"type": "string", "maxLength": 16},
            "description": "Narrow to one station ground (it must be in your grounds)"}
_LIST_QUERY = [
    {"name": "q", "schema": {"type": "string"},
     "description": "Words of the name or address, a postcode or a UPRN"},
    _STATION,
    {"name": "risk_level", "schema": {"type": "integer", "minimum": 1, "maximum": 4}},
    {"name": "overdue", "schema": {"type": "string", "enum": ["", "true", "false", "1", "0"]},
     "description": "Only premises whose review is overdue (never-assessed premises have no "
                    "review date: ask never_assessed=true for those)"},
    {"name": "never_assessed", "schema": {"type": "string",
                                          "enum": ["", "true", "false", "1", "0"]},
     "description": "Only premises never assessed (no assessed_at, so no review date)"},
    {"name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 200},
     "description": "Page size, at most WATCHBOOK_API_PAGE_MAX (default 200)"},
    {"name": "offset", "schema": {"type": "integer", "minimum": 0, "maximum": 10_000_000}},
]
_NEAREST_QUERY = [
    {"name": "lat", "required": True,
     "schema": {"type": "number", "minimum": -90, "maximum": 90}},
    {"name": "lon", "required": True,
     "schema": {"type": "number", "minimum": -180, "maximum": 180}},
    {"name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    _STATION,
]


@operation("Sign in and enrol this device", request=EnrolRequest, response=EnrolResponse,
           roles=(), status=201)
async def enrol(request: Request) -> Response:
    """Sign in with username and password and enrol this device; the token is shown once."""
    body = decode_body(await request.body(), EnrolRequest)
    auth = request.app.state.auth
    who = await auth.sign_in(body.username, body.password, addresses.of(request),
                             body.device_id)
    device_id, token = await auth.enrol_device(who, body.device_name, body.device_id)
    who = await auth.principal_for_user(who.user_id, device_id)
    return json_response(EnrolResponse(device_id, token, me_of(who, request.app.state.settings)),
                         201)


@operation("The caller and their station grounds", response=Me)
async def me(request: Request) -> Response:
    who = await request.app.state.auth.authenticate_device(request, password_change=True)
    return json_response(me_of(who, request.app.state.settings))


@operation("Change your own password (204)", request=PasswordChange, overrides={"responses": {
    "204": {"description": "Changed: the device keeps its token"}}})
async def change_password(request: Request) -> Response:
    """The caller's own new password (the current one must be right); 204. The device keeps
    its token; the user's console sessions end."""
    auth = request.app.state.auth
    who = await auth.authenticate_device(request, password_change=True)
    body = decode_body(await request.body(), PasswordChange)
    await auth.change_password(who, body.current_password, body.new_password)
    return Response(status_code=204)


@operation("List and search premises in your grounds", response=PremisesPage,
           query=_LIST_QUERY)
async def list_premises(request: Request) -> Response:
    who = await principal(request)
    settings = request.app.state.settings
    limit = _int_param(request, "limit", 50, 1, settings.api_page_max) or 50
    offset = _int_param(request, "offset", 0, 0, 10_000_000) or 0
    level = _int_param(request, "risk_level", None, 1, 4)
    overdue = request.query_params.get("overdue", "").lower()
    if overdue not in ("", "true", "false", "1", "0"):
        raise ApiError(400, "invalid", "overdue must be true or false", "overdue")
    today = clock.today()
    stations = _stations_filter(request, who)
    q = request.query_params.get("q", "")[:200]
    if not stations:
        return json_response(PremisesPage(0, limit, offset, []))
    never = request.query_params.get("never_assessed", "").lower()
    if never not in ("", "true", "false", "1", "0"):
        raise ApiError(400, "invalid", "never_assessed must be true or false", "never_assessed")
    overdue_on = today if overdue in ("true", "1") else None
    found = await request.app.state.db.read(lambda c: search.search(
        c, q, search.Filters(stations, level, overdue_on=overdue_on,
                             never_assessed=never in ("true", "1")), limit, offset))
    return json_response(PremisesPage(found.total, limit, offset,
                                      [summary(d, today) for d in found.docs], found.capped))


@operation("One premises record", response=dict)
async def get_premises(request: Request) -> Response:
    who = await principal(request)
    premises_id = request.path_params["premises_id"]
    doc = await request.app.state.db.read(lambda c: records.get(c, premises_id))
    if doc is None or doc.get("deleted") or not who.in_service(doc["station"]):
        raise ApiError(404, "not_found", f"no premises {premises_id}", "premises_id")
    if not who.in_scope(doc["station"]):
        raise ApiError(403, "forbidden", "this premises is outside your station grounds")
    return json_response(doc)


@operation("Premises nearest a position", response=NearestResponse,
           query=_NEAREST_QUERY)
async def nearest(request: Request) -> Response:
    who = await principal(request)
    lat = _float_param(request, "lat", -90, 90)
    lon = _float_param(request, "lon", -180, 180)
    limit = _int_param(request, "limit", 20, 1, 100) or 20
    stations = _stations_filter(request, who)
    found = await request.app.state.db.read(
        lambda c: records.nearest(c, lat, lon, limit=limit, stations=stations))
    today = clock.today()
    return json_response(NearestResponse([NearestItem(d, summary(doc, today)) for d, doc in found]))


@operation("Stations and their grounds", response=StationList)
async def stations(request: Request) -> Response:
    who = await principal(request)
    rows = await stations_store.listing(request.app.state.db, who.organisation_id)
    return json_response(StationList([
        Station(r["code"], r["name"], r["lat"], r["lon"], r["extra_grounds"]) for r in rows]))


routes = [
    Route("/devices/enrol", enrol, methods=["POST"]),
    Route("/me", me),
    Route("/me/password", change_password, methods=["POST"], name="api_change_password"),
    Route("/premises", list_premises),
    Route("/premises/nearest", nearest),
    Route("/premises/{premises_id}", get_premises),
    Route("/stations", stations),
]
