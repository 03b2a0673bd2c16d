"""Console edits through the sync engine: premises fields, hazards, risk notes; the conflicts
inbox (the history page is server/console/history.py).

The console is a device: every write is a mutation handed to `SyncService.apply_local`; reads
go through server/store/. Never SQL here. A form carries the values it was rendered with
(`base`, `base_version`), so an edit that crossed another device's becomes a conflict, never
a silent overwrite.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Principal
from server.console import audit
from server.console.page import (
    flash,
    page,
    render,
    see_other,
    text,
    today,
    whole_number,
)
from server.console.premises import hazards_for_view, load_in_scope
from server.errors import ApiError
from server.store import records
from server.store import sync as sync_store
from sync import problems
from sync.protocol import (
    AddHazard,
    FieldChange,
    Mutation,
    Receipt,
    RemoveHazard,
    ResolveConflict,
    ReviewObservation,
    Update,
)
from sync.record import (
    EVACUATION_STRATEGIES,
    HARMS,
    HAZARD_TYPES,
    SENSITIVE_FIELDS,
    Hazard,
    validate,
)
from sync.validation import problem_of

# (legend, [(field, label, kind)]) in form order; kind picks the input and how it is parsed.
DETAIL_GROUPS: list[tuple[str, list[tuple[str, str, str]]]] = [
    ("Identity", [
        ("name", "Premises name", "text"), ("address", "Address", "text"),
        ("postcode", "Postcode", "text"), ("uprn", "UPRN", "text"),
        ("use", "Use / occupancy", "text"), ("lat", "Latitude", "float"),
        ("lon", "Longitude", "float")]),
    ("Risk and review", [
        ("risk_level", "Risk level", "level"), ("risk_score", "Risk score (0-100)", "int"),
        ("assessed_at", "Date assessed", "date"), ("assessed_by", "Assessed by", "text"),
        ("harms", "Harms considered", "harms")]),
    ("Access", [
        ("rvp", "Rendezvous point", "text"), ("access_points", "Access points", "long"),
        ("key_holder", "Key holder", "text"), ("key_box", "Key box (sensitive)", "text"),
        ("entry_codes", "Entry codes (sensitive)", "text")]),
    ("Water supplies", [("water_supplies", "Water supplies", "water")]),
    ("Contacts", [("contacts", "Contacts", "contacts")]),
    ("Firefighting facilities", [
        ("alarm_panel", "Alarm panel", "text"),
        ("suppression", "Sprinklers / suppression", "text"), ("risers", "Risers", "text"),
        ("isolation_gas", "Gas isolation", "text"),
        ("isolation_electric", "Electricity isolation", "text"),
        ("isolation_water", "Water isolation", "text")]),
    ("Tactical", [
        ("evacuation_strategy", "Evacuation strategy", "evacuation"),
        ("tactical_plan", "Tactical plan", "long"),
        ("environmental_plan", "Environmental protection plan", "long"),
        ("risk_notes", "Risk notes", "long")]),
]
DETAIL_FIELDS = [f for _, group in DETAIL_GROUPS for f in group]
NOTES_GROUPS = [("Risk notes", [f for f in DETAIL_FIELDS if f[0] == "risk_notes"])]
OUTCOMES = {
    "applied": ("ok", "Saved."),
    "merged": ("ok", "Saved, merged with changes made since you opened the form."),
    "conflict": ("warn", "Saved what could be saved; some of your changes clash with another "
                         "edit and wait in the conflicts inbox."),
}


# List fields edited one item a line, parts split by " | ".
ROW_KEYS: dict[str, tuple[str, ...]] = {"contacts": ("name", "role", "phone"),
                                        "water": ("kind", "location", "notes")}
ROW_HINTS = {"contacts": "One contact a line: name | role | phone",
             "water": "One supply a line: kind | location | notes. Kinds: hydrant, "
                      "static_tank, open_water, dry_main, other"}


def row_text(kind: str, items: Any) -> str:
    keys = ROW_KEYS[kind]
    return "\n".join(" | ".join(str(item.get(k) or "") for k in keys) for item in items or [])


def _rows(kind: str, raw: str) -> list[dict[str, str]]:
    keys, out = ROW_KEYS[kind], []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|", len(keys) - 1)]
        out.append(dict(zip(keys, parts + [""] * (len(keys) - len(parts)), strict=True)))
    return out


def _canon(kind: str, value: Any) -> Any:
    """A base value as the form would give it back (so an untouched list is no change)."""
    return _rows(kind, row_text(kind, value)) if kind in ROW_KEYS else value


def _parse(kind: str, form: Any, name: str) -> Any:
    """A form value as the record holds it; ValueError names what is wrong."""
    if kind == "harms":
        chosen = set(form.getlist(name))
        return [h for h in HARMS if h in chosen]
    raw = text(form, name, 200_000)  # past every limit, so a too-long text is refused, not cut
    if kind in ROW_KEYS:
        return _rows(kind, raw)
    if kind == "text" and name == "postcode":
        return raw.upper()
    if kind in ("text", "long", "evacuation"):
        return raw.replace("\r\n", "\n")
    if kind == "date":
        return raw or None
    if kind == "float":
        return float(raw) if raw else None
    if kind in ("int", "level"):
        return int(raw) if raw else (4 if kind == "level" else 0)
    raise ValueError(kind)


def _value_of(doc: dict[str, Any], name: str) -> Any:
    defaults: dict[str, Any] = {"harms": [], "risk_level": 4, "risk_score": 0,
                                "contacts": [], "water_supplies": []}
    return doc.get(name, defaults.get(name, None if name in ("lat", "lon", "assessed_at")
                                      else ""))


async def _apply(request: Request, who: Principal, mutation: Mutation) -> Receipt:
    receipts: list[Receipt] = await request.app.state.sync.apply_local(who, [mutation])
    return receipts[0]


def _flash_receipt(request: Request, receipt: Receipt) -> None:
    if receipt.status == "rejected":
        flash(request, "error", f"Not saved: {problems.reason(receipt.reason, receipt.message)}")
        return
    kind, message = OUTCOMES[receipt.status]
    href = None
    if receipt.conflict_ids:
        href = (str(request.app.url_path_for("conflict", conflict_id=receipt.conflict_ids[0]))
                if len(receipt.conflict_ids) == 1 else str(request.app.url_path_for("conflicts")))
    flash(request, kind, f"{message} Version {receipt.version}.", href)


def _every_problem(changed: dict[str, Any], fields: set[str]) -> dict[str, str]:
    """Every problem of an edited record, by form field (each beside its field, all at once);
    a problem outside the edited fields is the form's."""
    _, found = problems.every_problem(changed)
    if not found:
        try:
            validate(changed)
        except msgspec.ValidationError as exc:
            found = [problems.explain(str(exc), changed)]
    errors: dict[str, str] = {}
    for where, message in found:
        name = re.split(r"[\[.]", where)[0]
        key = name if name in fields else "form"
        message = message if message.endswith(".") else message + "."
        errors[key] = f"{errors[key]} {message}" if key in errors else message
    return errors


async def _field_form(request: Request, who: Principal,
                      groups: list[tuple[str, list[tuple[str, str, str]]]], template: str,
                      ) -> Response:
    fields = [f for _, group in groups for f in group]
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    base = {name: _value_of(doc, name) for name, _, _ in fields}
    errors: dict[str, str] = {}
    values = dict(base)
    status = 200
    if request.method == "POST":
        form = await request.form()
        try:
            seen = json.loads(text(form, "base", 200_000))
            base_version = int(text(form, "base_version", 20))
            if not isinstance(seen, dict) or base_version < 0:
                raise ValueError("damaged form")
        except (ValueError, RecursionError):  # RecursionError: nested too deep to read
            raise ApiError(400, "invalid", "The form is damaged; reload it.") from None
        for name, label, kind in fields:
            if kind != "harms" and name not in form:
                continue  # not on the submitted form: leave it as it was
            try:
                values[name] = _parse(kind, form, name)
            except ValueError:
                errors[name] = f"{label}: enter a number."
        changes = [FieldChange(field=name, old=seen.get(name), new=values[name])
                   for name, _, kind in fields
                   if values[name] != _canon(kind, seen.get(name))]
        changes = [c for c in changes if c.field not in errors]
        if changes:
            errors.update(_every_problem({**doc, **{c.field: c.new for c in changes}},
                                         {c.field for c in changes}))
        if not errors:
            if not changes:
                flash(request, "ok", "Nothing changed.")
                return see_other(request, "premises", premises_id=premises_id)
            receipt = await _apply(request, who, Update(
                premises_id=premises_id, base_version=base_version, changes=changes))
            if receipt.status != "rejected":
                _flash_receipt(request, receipt)
                return see_other(request, "premises", premises_id=premises_id)
            errors["form"] = receipt.message
        base, doc_version, status = seen, base_version, 422
    else:
        doc_version = doc.get("version", 0)
        shown_codes = sorted(name for name in SENSITIVE_FIELDS if name in base and base[name])
        if shown_codes:
            await audit.record_view(request.app.state.db, who, doc["id"], shown_codes)
    return render(request, template, who, status, nav="premises", doc=doc, groups=groups,
                  values=values, errors=errors, base=json.dumps(base),
                  base_version=doc_version, harms=HARMS, evacuations=EVACUATION_STRATEGIES,
                  row_text=row_text, row_hints=ROW_HINTS)


@page()
async def premises_edit(request: Request, who: Principal) -> Response:
    return await _field_form(request, who, DETAIL_GROUPS, "premises_edit.html")


@page()
async def notes_edit(request: Request, who: Principal) -> Response:
    return await _field_form(request, who, NOTES_GROUPS, "notes_edit.html")


def _hazard_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Hazards by severity, each with the JSON it was shown as (sent back as `old`)."""
    return [{**h, "old_json": json.dumps({k: v for k, v in h.items() if k != "expired"})}
            for h in hazards_for_view(doc, "")]


def _hazards_page(request: Request, who: Principal, doc: dict[str, Any], status: int = 200,
                  entered: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None) -> Response:
    return render(request, "hazards_edit.html", who, status, nav="premises", doc=doc,
                  hazards=_hazard_rows(doc), hazard_types=HAZARD_TYPES,
                  entered=entered or {"severity": "medium"}, errors=errors or {})


@page()
async def hazards_edit(request: Request, who: Principal) -> Response:
    doc = await load_in_scope(request, who, request.path_params["premises_id"])
    return _hazards_page(request, who, doc)


_SOUND_HAZARD: dict[str, Any] = {"id": "h0", "type": next(iter(HAZARD_TYPES))}


def _hazard_of(values: dict[str, Any]) -> tuple[Hazard | None, dict[str, str]]:
    """The hazard, or every problem of it by field: each field is checked on a sound hazard,
    so one wrong field never hides another."""
    errors: dict[str, str] = {}
    if not values.get("type"):
        errors["type"] = "Choose a hazard type."
    for name, value in values.items():
        if name in errors:
            continue
        probe = {**_SOUND_HAZARD, name: value}
        try:
            msgspec.convert(probe, Hazard)
        except msgspec.ValidationError as exc:
            errors[name] = problems.explain(str(exc), probe)[1] + "."
    if errors:
        return None, errors
    try:
        return msgspec.convert(values, Hazard), {}
    except msgspec.ValidationError as exc:
        found = problem_of(exc)
        return None, {found.path or "type": found.message}


@page()
async def hazard_add(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    form = await request.form()
    entered = {k: text(form, k, 2000) for k in
               ("type", "severity", "location", "hazchem", "expires", "description")}
    hazard, errors = _hazard_of({"id": "h" + secrets.token_hex(5), **entered,
                                 "hazchem": entered["hazchem"].upper(),
                                 "expires": entered["expires"] or None})
    if hazard is None:
        return _hazards_page(request, who, doc, 422, entered, errors)
    receipt = await _apply(request, who, AddHazard(
        premises_id=premises_id, base_version=whole_number(form, "base_version"),
        hazard=hazard))
    _flash_receipt(request, receipt)
    return see_other(request, "hazards_edit", premises_id=premises_id)


@page()
async def hazard_remove(request: Request, who: Principal) -> Response:
    premises_id, hazard_id = request.path_params["premises_id"], request.path_params["hazard_id"]
    await load_in_scope(request, who, premises_id)
    form = await request.form()
    try:
        old = msgspec.json.decode(text(form, "old", 50_000), type=Hazard)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise ApiError(400, "invalid", "The form is damaged; reload it.") from None
    receipt = await _apply(request, who, RemoveHazard(
        premises_id=premises_id, base_version=whole_number(form, "base_version"),
        hazard_id=hazard_id, old=old))
    _flash_receipt(request, receipt)
    return see_other(request, "hazards_edit", premises_id=premises_id)


@page()
async def mark_reviewed(request: Request, who: Principal) -> Response:
    """Record a review done today by the signed-in user; the next due date follows."""
    premises_id = request.path_params["premises_id"]
    doc = await load_in_scope(request, who, premises_id)
    form = await request.form()
    receipt = await _apply(request, who, Update(
        premises_id=premises_id, base_version=whole_number(form, "base_version"),
        changes=[FieldChange(field="assessed_at", old=text(form, "old_assessed_at", 20) or None,
                             new=today()),
                 FieldChange(field="assessed_by", old=text(form, "old_assessed_by", 200),
                             new=who.name)]))
    _flash_receipt(request, receipt)
    if receipt.status in ("applied", "merged"):
        fresh = await load_in_scope(request, who, premises_id)
        flash(request, "ok", f"Review of {doc['name']} recorded; next review due "
              f"{fresh.get('next_review_due') or 'not set'}. Version {receipt.version}.")
    return see_other(request, "premises", premises_id=premises_id)


@page()
async def review_observation(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    await load_in_scope(request, who, premises_id)
    form = await request.form()
    status = text(form, "status", 20)
    then_edit = status == "accepted_edit"  # the inbox's "accept and edit the record"
    status = "accepted" if then_edit else status
    if status not in ("accepted", "dismissed"):
        raise ApiError(422, "invalid", "Choose accept or dismiss.")
    old = text(form, "old", 20) or None  # the status the page showed: a clash is a conflict
    if old not in (None, "open", "accepted", "dismissed"):
        raise ApiError(400, "invalid", "The form is damaged; reload it.")
    receipt = await _apply(request, who, ReviewObservation(
        premises_id=premises_id, base_version=whole_number(form, "base_version"),
        observation_id=request.path_params["observation_id"],
        status=status, old=old))  # type: ignore[arg-type]
    _flash_receipt(request, receipt)
    if then_edit and receipt.status != "rejected":
        return see_other(request, "premises_edit", premises_id=premises_id)
    if text(form, "back", 20) == "inbox":
        return see_other(request, "observations")
    return see_other(request, "premises", premises_id=premises_id)


# -- conflicts and history --------------------------------------------------------------------

CONFLICTS_PAGE = 50  # conflicts to a page of the inbox

def path_label(path: str) -> str:
    labels = {name: label for name, label, _ in DETAIL_FIELDS}
    labels["deleted"] = "Record deleted"
    top, _, rest = path.partition("/")
    if top in ("hazards", "observations"):
        item, _, sub = rest.partition("/")
        what = "Hazard" if top == "hazards" else "Observation"
        return f"{what} {item}" + (f": {sub.replace('_', ' ')}" if sub else "")
    return labels.get(top, top.replace("_", " ").capitalize())


def shown(value: Any) -> str:
    """A stored value as readable text."""
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return value or "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and "type" in value and "severity" in value:
        parts = [HAZARD_TYPES.get(value["type"], value["type"]), value.get("severity", "")]
        parts += [f"{k}: {value[k]}" for k in ("location", "hazchem", "expires", "description")
                  if value.get(k)]
        return "\n".join(p for p in parts if p)
    return json.dumps(value, indent=1, ensure_ascii=False)


def _editable_text(conflict: dict[str, Any]) -> str:
    value = conflict["client"] if conflict["client"] is not None else conflict["server"]
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _combined(conflict: dict[str, Any], raw: str) -> Any:
    """The typed value of a combined answer, shaped like the values in conflict."""
    sample = next((v for v in (conflict["server"], conflict["client"], conflict["base"])
                   if v is not None), "")
    if isinstance(sample, str):
        return raw.replace("\r\n", "\n")
    if isinstance(sample, bool):
        return raw.lower() in ("yes", "true", "1")
    if isinstance(sample, int):
        return int(raw)
    if isinstance(sample, float):
        return float(raw)
    return json.loads(raw) if raw.strip() else None


@page()
async def conflicts(request: Request, who: Principal) -> Response:
    """The open conflicts in the user's grounds, oldest first, CONFLICTS_PAGE to a page."""
    db = request.app.state.db
    raw = request.query_params.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < len(raw) <= 6 and int(raw) > 0 else 1
    total = await sync_store.count_open_conflicts(db, list(who.grounds))
    pages = max(1, -(-total // CONFLICTS_PAGE))
    number = min(number, pages)
    items = await sync_store.list_conflicts(db, list(who.grounds), limit=CONFLICTS_PAGE,
                                            offset=(number - 1) * CONFLICTS_PAGE)
    names: dict[str, str] = {}
    if items:
        ids = sorted({c["premises_id"] for c in items})
        names = await db.read(lambda c: records.names(c, ids))
    return render(request, "conflicts.html", who, nav="conflicts", items=items, names=names,
                  path_label=path_label, shown=shown, total=total, number=number,
                  pages=pages)


async def _load_conflict(request: Request, who: Principal) -> dict[str, Any]:
    conflict = await sync_store.get_conflict(request.app.state.db,
                                               request.path_params["conflict_id"])
    if conflict is None or not who.in_service(conflict["station"]):
        raise ApiError(404, "not_found", "There is no such conflict.")
    if not who.in_scope(conflict["station"]):
        raise ApiError(403, "forbidden", "This conflict is outside your station grounds.")
    return conflict


@page()
async def conflict(request: Request, who: Principal) -> Response:
    c = await _load_conflict(request, who)
    name = (await request.app.state.db.read(
        lambda conn: records.names(conn, [c["premises_id"]]))).get(c["premises_id"])
    return render(request, "conflict.html", who, nav="conflicts", c=c, premises_name=name,
                  label=path_label(c["path"]), shown=shown, combined=_editable_text(c),
                  long=isinstance(c["client"], str) and len(c["client"] or "") > 60
                  or c["path"].split("/")[0] in ("access_points", "tactical_plan",
                                                 "environmental_plan", "risk_notes"),
                  error=None)


async def _refuse_empty(request: Request, who: Principal, c: dict[str, Any]) -> Response:
    """An empty combined value would erase both edits: the page again, saying what each
    choice keeps."""
    label = path_label(c["path"])
    error = (f"The combined value is empty: saving it would erase {label}. Write the combined "
             f"value, or choose “Keep the server value” (keeps: {shown(c['server'])[:200]}) or "
             f"“Use the proposed value” (keeps: {shown(c['client'])[:200]}).")
    pid = c["premises_id"]
    name = (await request.app.state.db.read(lambda conn: records.names(conn, [pid]))).get(pid)
    return render(request, "conflict.html", who, 422, nav="conflicts", c=c, premises_name=name,
                  label=label, shown=shown, combined="", long=True, error=error)


@page()
async def resolve(request: Request, who: Principal) -> Response:
    c = await _load_conflict(request, who)
    form = await request.form()
    choice = text(form, "choice", 20)
    allowed = ("keep", "delete") if c["path"] == "deleted" else ("server", "client", "value")
    if choice not in allowed:
        raise ApiError(422, "invalid", "Choose one of the offered answers.")
    value = None
    if choice == "value" and not text(form, "value", 20_000).strip():
        return await _refuse_empty(request, who, c)
    if choice == "value":
        try:
            value = _combined(c, text(form, "value", 20_000))
        except (ValueError, RecursionError):
            raise ApiError(422, "invalid",
                           "The combined value does not fit this field; go back and fix it."
                           ) from None
    current = await load_in_scope(request, who, c["premises_id"])
    receipt = await _apply(request, who, ResolveConflict(
        premises_id=c["premises_id"], base_version=current.get("version", 0),
        conflict_id=c["id"], choice=choice, value=value))  # type: ignore[arg-type]
    if receipt.status == "rejected":
        flash(request, "error", f"Not resolved: {receipt.message}")
        return see_other(request, "conflict", conflict_id=c["id"])
    flash(request, "ok", f"Resolved: {path_label(c['path'])} on {current['name']} "
          f"(version {receipt.version}).",
          str(request.app.url_path_for("premises", premises_id=c["premises_id"])))
    return see_other(request, "conflicts")


routes = [
    Route("/premises/{premises_id}/edit", premises_edit, methods=["GET", "POST"],
          name="premises_edit"),
    Route("/premises/{premises_id}/notes", notes_edit, methods=["GET", "POST"],
          name="notes_edit"),
    Route("/premises/{premises_id}/hazards", hazards_edit, name="hazards_edit"),
    Route("/premises/{premises_id}/hazards/add", hazard_add, methods=["POST"],
          name="hazard_add"),
    Route("/premises/{premises_id}/hazards/{hazard_id}/remove", hazard_remove,
          methods=["POST"], name="hazard_remove"),
    Route("/premises/{premises_id}/reviewed", mark_reviewed, methods=["POST"],
          name="mark_reviewed"),
    Route("/premises/{premises_id}/observations/{observation_id}", review_observation,
          methods=["POST"], name="review_observation"),
    Route("/conflicts", conflicts, name="conflicts"),
    Route("/conflicts/{conflict_id}", conflict, name="conflict"),
    Route("/conflicts/{conflict_id}/resolve", resolve, methods=["POST"], name="resolve"),
]
