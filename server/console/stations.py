"""Console admin pages for stations: list, add, edit a station's name, position and extra
grounds, and retire one (its premises moved to another station).

Admins only, of their own owning service (another's station is a 404). Every change goes through server/grounds.py, shared with the command line; a
station with premises is never deleted, only retired with them moved. Must not hold SQL.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import grounds
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError
from server.store import stations as stations_store

FIELDS = ("code", "name", "lat", "lon")


def _entered(form: FormData) -> dict[str, Any]:
    entered: dict[str, Any] = {k: text(form, k, 200) for k in FIELDS}
    entered["extra_grounds"] = [v for v in form.getlist("grounds") if isinstance(v, str)][:200]
    return entered


def _position(entered: dict[str, Any], errors: dict[str, str]) -> tuple[float | None, ...]:
    out: list[float | None] = []
    for name in ("lat", "lon"):
        raw = entered[name]
        try:
            value = float(raw) if raw else None
            if value is not None and not math.isfinite(value):
                raise ValueError(raw)
            out.append(value)
        except ValueError:
            errors[name] = "Enter a number, such as 52.2053 (or leave it empty)."
            out.append(None)
    return tuple(out)


async def _problems(request: Request, entered: dict[str, Any], lat: float | None,
                    lon: float | None, errors: dict[str, str], *, adding: bool,
                    service: int) -> None:
    """Every problem of the form at once, beside its field, before grounds.py is asked (it
    stops at the first)."""
    if adding and not grounds.CODE.match(entered["code"].strip().upper()):
        errors["code"] = "A station code is 1 to 16 letters or digits, such as WIS or A01."
    name = entered["name"].strip()
    if not name:
        errors["name"] = "Enter the station's name."
    elif len(name) > 200:
        errors["name"] = "The name is longer than 200 characters."
    if "lat" not in errors and "lon" not in errors:
        try:
            grounds.position(lat, lon)
        except ApiError as exc:
            errors[exc.field or "lat"] = _message(exc)
    live = {s["code"] for s in await stations_store.listing(request.app.state.db, service)
            if not s["retired_at"]}
    unknown = [c for c in grounds.parse_codes(entered["extra_grounds"]) if c not in live]
    if unknown:
        errors["grounds"] = f"No station in service with code {', '.join(unknown)}."


def _message(exc: ApiError) -> str:
    return exc.message[:1].upper() + exc.message[1:] + "."


async def _render_list(request: Request, who: Principal, status: int = 200,
                       errors: dict[str, str] | None = None,
                       entered: dict[str, Any] | None = None) -> Response:
    rows = await stations_store.overview(request.app.state.db, who.organisation_id)
    return render(request, "stations.html", who, status, nav="stations", stations=rows,
                  live=[s for s in rows if not s["retired_at"]], errors=errors or {},
                  entered=entered or {"extra_grounds": []})


@page("admin")
async def stations(request: Request, who: Principal) -> Response:
    return await _render_list(request, who)


@page("admin")
async def add_station(request: Request, who: Principal) -> Response:
    entered = _entered(await request.form())
    errors: dict[str, str] = {}
    lat, lon = _position(entered, errors)
    await _problems(request, entered, lat, lon, errors, adding=True,
                    service=who.organisation_id)
    if not errors:
        try:
            code = await grounds.add(request.app.state.db, entered["code"], entered["name"],
                                     lat, lon, entered["extra_grounds"],
                                     service=who.organisation_id)
        except ApiError as exc:
            errors[exc.field or "code"] = _message(exc)
    if errors:
        return await _render_list(request, who, 422, errors, entered)
    flash(request, "ok", f"Added station {code} {entered['name']}.")
    return see_other(request, "admin_stations")


async def _the_station(request: Request, who: Principal) -> dict[str, Any]:
    """The station of the path if it is of the admin's service; else 404."""
    code = request.path_params["code"]
    found = [s for s in await stations_store.overview(request.app.state.db, who.organisation_id)
             if s["code"] == code]
    if not found:
        raise ApiError(404, "not_found", f"There is no station {code}.")
    return found[0]


async def _render_station(request: Request, who: Principal, status: int = 200,
                          errors: dict[str, str] | None = None,
                          entered: dict[str, Any] | None = None) -> Response:
    station = await _the_station(request, who)
    others = [s for s in await stations_store.listing(request.app.state.db, who.organisation_id)
              if s["code"] != station["code"]]
    shown = entered or {**station, "lat": "" if station["lat"] is None else station["lat"],
                        "lon": "" if station["lon"] is None else station["lon"]}
    return render(request, "station.html", who, status, nav="stations", station=station,
                  others=others, errors=errors or {}, entered=shown)


@page("admin")
async def station_page(request: Request, who: Principal) -> Response:
    return await _render_station(request, who)


@page("admin")
async def edit_station(request: Request, who: Principal) -> Response:
    station = await _the_station(request, who)
    entered = {**_entered(await request.form()), "code": station["code"]}
    errors: dict[str, str] = {}
    lat, lon = _position(entered, errors)
    await _problems(request, entered, lat, lon, errors, adding=False,
                    service=who.organisation_id)
    if not errors:
        try:
            await grounds.edit(request.app.state.db, station["code"], name=entered["name"],
                               lat=lat, lon=lon, clear_position=lat is None and lon is None,
                               extra=entered["extra_grounds"], service=who.organisation_id)
        except ApiError as exc:
            errors[exc.field or "form"] = _message(exc)
    if errors:
        return await _render_station(request, who, 422, errors, entered)
    flash(request, "ok", f"Saved station {station['code']}; devices of its grounds get the "
          "change at their next sync.")
    return see_other(request, "admin_station", code=station["code"])


@page("admin")
async def retire_station(request: Request, who: Principal) -> Response:
    station = await _the_station(request, who)
    form = await request.form()
    move_to = text(form, "move_to", 20)
    if text(form, "confirm", 10) != "yes":
        return await _render_station(request, who, 422, {
            "retire": "Tick the box to confirm the retirement."})
    try:
        moved = await grounds.retire(request.app.state.db, station["code"], move_to,
                                     who.username,
                                     dict(request.app.state.settings.review_interval_days),
                                     service=who.organisation_id)
    except ApiError as exc:
        return await _render_station(request, who, exc.status if exc.status < 500 else 422,
                                     {"retire": _message(exc)})
    flash(request, "ok", f"Retired station {station['code']}"
          + (f"; its {moved} premises moved to {move_to.upper()}." if moved else "."))
    return see_other(request, "admin_stations")


routes = [
    Route("/admin/stations", stations, name="admin_stations"),
    Route("/admin/stations", add_station, methods=["POST"], name="add_station"),
    Route("/admin/stations/{code}", station_page, name="admin_station"),
    Route("/admin/stations/{code}", edit_station, methods=["POST"], name="edit_station"),
    Route("/admin/stations/{code}/retire", retire_station, methods=["POST"],
          name="retire_station"),
]
