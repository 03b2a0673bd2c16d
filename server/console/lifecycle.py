"""Premises over their life in the console: create one, move it to another station, delete it
(a tombstone, after a confirmation page) and restore a deleted one while its tombstone is kept.

The console is a device: each is a mutation (create, update of `station`, delete, restore)
handed to `SyncService.apply_local`, so history records it and devices see it at their next
pull. Supervisors and admins, within their grounds. Never SQL here.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Principal
from server.console.page import flash, page, render, see_other, text, whole_number
from server.console.premises import load_in_scope
from server.errors import ApiError
from server.store import records
from server.store import stations as stations_store
from sync import problems
from sync.protocol import (
    CreatePremises,
    DeletePremises,
    FieldChange,
    Mutation,
    Receipt,
    RestorePremises,
    Update,
)
from sync.record import Premises, to_dict

DELETED_LIMIT = 200
# (field, label, hint) of the create form, in order; the rest is added on the edit pages.
NEW_FIELDS = [("name", "Premises name", ""), ("address", "Address", ""),
              ("postcode", "Postcode", "such as PE15 9ZZ"), ("uprn", "UPRN", "up to 12 digits"),
              ("use", "Use / occupancy", ""), ("lat", "Latitude", "such as 52.2053"),
              ("lon", "Longitude", "such as 0.1218")]


async def _apply(request: Request, who: Principal, mutation: Mutation) -> Receipt:
    receipts: list[Receipt] = await request.app.state.sync.apply_local(who, [mutation])
    return receipts[0]


async def _stations_in_grounds(request: Request, who: Principal) -> list[dict[str, Any]]:
    return [s for s in await stations_store.listing(request.app.state.db, who.organisation_id)
            if who.in_scope(s["code"])]


def _new_page(request: Request, who: Principal, choices: list[dict[str, Any]],
              status: int = 200, entered: dict[str, str] | None = None,
              errors: dict[str, str] | None = None) -> Response:
    return render(request, "premises_new.html", who, status, nav="premises",
                  fields=NEW_FIELDS, stations=choices, errors=errors or {},
                  entered=entered or {"risk_level": "4",
                                      "station": who.station or (choices[0]["code"]
                                                                 if choices else "")})


def _record(entered: dict[str, str], errors: dict[str, str]) -> Premises | None:
    values: dict[str, Any] = {"id": "p" + secrets.token_hex(6)}
    for name in ("name", "station", "address", "use", "uprn"):
        values[name] = entered[name]
    values["postcode"] = " ".join(entered["postcode"].upper().split())
    for name in ("lat", "lon"):
        try:
            values[name] = float(entered[name]) if entered[name] else None
        except ValueError:
            errors[name] = "Enter a number."
    try:
        values["risk_level"] = int(entered["risk_level"])
    except ValueError:
        errors["risk_level"] = "Choose a risk level."
    if not entered["name"]:
        errors["name"] = "Enter the premises name."
    # Every other problem too, at once: the fields already found wrong are left out of the check.
    probe = {k: v for k, v in values.items() if k not in errors}
    _, found = problems.every_problem(probe)
    for where, message in found:
        name = re.split(r"[.\[]", where)[0]
        errors.setdefault(name if name in entered else "form", message + ".")
    if errors:
        return None
    try:
        return msgspec.convert(values, Premises)
    except msgspec.ValidationError as exc:
        where, message = problems.explain(str(exc), values)
        errors[re.split(r"[.\[]", where)[0] or "name"] = message + "."
        return None


@page()
async def new_premises(request: Request, who: Principal) -> Response:
    choices = await _stations_in_grounds(request, who)
    if request.method == "GET":
        return _new_page(request, who, choices)
    form = await request.form()
    entered = {k: text(form, k, 300) for k in
               ("name", "station", "address", "postcode", "uprn", "use", "lat", "lon",
                "risk_level")}
    errors: dict[str, str] = {}
    if entered["station"] not in {s["code"] for s in choices}:
        errors["station"] = "Choose a station in your grounds."
    record = _record(entered, errors)
    if record is None:
        return _new_page(request, who, choices, 422, entered, errors)
    receipt = await _apply(request, who, CreatePremises(premises_id=record.id,
                                                             record=to_dict(record)))
    if receipt.status == "rejected":
        return _new_page(request, who, choices, 422, entered, {"form": receipt.message})
    flash(request, "ok", f"Created {record.name} at {record.station}. Add its hazards, access "
          "and risk notes from here.")
    return see_other(request, "premises", premises_id=record.id)


@page()
async def move_premises(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    choices = [s for s in await _stations_in_grounds(request, who)
               if s["code"] != doc["station"]]
    error = None
    if request.method == "POST":
        form = await request.form()
        target = text(form, "station", 20)
        if target not in {s["code"] for s in choices}:
            error = "Choose another station in your grounds."
        else:
            receipt = await _apply(request, who, Update(
                premises_id=premises_id, base_version=whole_number(form, "base_version"),
                changes=[FieldChange(field="station", old=doc["station"], new=target)]))
            if receipt.status in ("applied", "merged"):
                flash(request, "ok", f"Moved {doc['name']} from {doc['station']} to {target}; "
                      "devices of both grounds see it at their next sync.")
                return see_other(request, "premises", premises_id=premises_id)
            error = receipt.message or ("Someone else changed its station meanwhile; see the "
                                        "conflicts inbox.")
    return render(request, "premises_move.html", who, 422 if error else 200, nav="premises",
                  doc=doc, stations=choices, error=error)


@page()
async def delete_premises(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    if request.method == "GET":
        return render(request, "premises_delete.html", who, nav="premises", doc=doc)
    form = await request.form()
    if text(form, "confirm", 10) != "yes":
        raise ApiError(422, "invalid", "Tick the box to confirm the deletion.", "confirm")
    receipt = await _apply(request, who, DeletePremises(
        premises_id=premises_id, base_version=whole_number(form, "base_version")))
    if receipt.status == "conflict":
        flash(request, "warn", f"{doc['name']} was changed since you opened it, so it was not "
              "deleted: the deletion waits in the conflicts inbox.",
              str(request.app.url_path_for("conflicts")))
        return see_other(request, "premises", premises_id=premises_id)
    if receipt.status == "rejected":
        raise ApiError(409, "invalid", f"Not deleted: {receipt.message}")
    flash(request, "ok", f"Deleted {doc['name']}. It can be restored from Deleted premises "
          "until the tombstones are purged.", str(request.app.url_path_for("deleted_premises")))
    return see_other(request, "premises_list")


@page()
async def deleted_premises(request: Request, who: Principal) -> Response:
    docs = await request.app.state.db.read(
        lambda c: records.deleted_in(c, list(who.grounds), DELETED_LIMIT))
    return render(request, "premises_deleted.html", who, nav="premises", docs=docs,
                  limit=DELETED_LIMIT)


@page()
async def restore_premises(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await request.app.state.db.read(lambda c: records.get(c, premises_id))
    if doc is None or not who.in_service(doc["station"]):
        raise ApiError(404, "not_found", f"There is no premises {premises_id} (or no longer: "
                       "its tombstone was purged).")
    if not who.in_scope(doc["station"]):
        raise ApiError(403, "forbidden", "This premises is outside your station grounds.")
    receipt = await _apply(request, who, RestorePremises(
        premises_id=premises_id, base_version=int(doc.get("version", 0))))
    if receipt.status == "rejected":
        raise ApiError(409, "invalid", f"Not restored: {receipt.message}")
    flash(request, "ok", f"Restored {doc['name']} (version {receipt.version}).")
    return see_other(request, "premises", premises_id=premises_id)


# Before server/console/premises.py's routes: "/premises/new" is not a premises id.
routes = [
    Route("/premises/new", new_premises, methods=["GET", "POST"], name="new_premises"),
    Route("/premises/deleted", deleted_premises, name="deleted_premises"),
    Route("/premises/{premises_id}/move", move_premises, methods=["GET", "POST"],
          name="move_premises"),
    Route("/premises/{premises_id}/delete", delete_premises, methods=["GET", "POST"],
          name="delete_premises"),
    Route("/premises/{premises_id}/restore", restore_premises, methods=["POST"],
          name="restore_premises"),
]
