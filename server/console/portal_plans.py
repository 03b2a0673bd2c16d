"""The portal's plans and wall pages (issue 16): what the fire service holds for the building
(accepted, waiting for review, not accepted with the reason, missing floors) and the forms that
send a floor plan, the building plan and external wall information through the link.

Server-rendered, no JavaScript; every problem of a form at once, in an error summary and beside
its field, with a 4xx and nothing stored. Files are never served back here: a link is not a
file host. Rules are server/owner_submissions.py's. Must not hold SQL.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server import owner_submissions as rules
from server import submissions
from server.api.blobs import blob_store, decoders
from server.console.page import render, text
from server.console.portal import building, here, portal_page
from server.errors import ApiError
from server.store import building_submissions
from sync.record import WALL_RISKS

FORMS = {"floor_plan": "portal_plan_form.html", "building_plan": "portal_plan_form.html",
         "external_wall": "portal_wall_form.html"}
FIELD_LABELS = {"file": "The plan's file", "documents": "Documents", "floor": "Floor",
                "submitted_by": "Your name", "design_materials": "Design and materials",
                "risk": "Level of risk", "mitigation": "Mitigation",
                "material_change": "Material change"}




@portal_page
async def plans(request: Request, link: submissions.Link) -> Response:
    doc = await building(request, link)
    history = await request.app.state.db.read(
        lambda c: building_submissions.for_premises(c, link.premises_id))
    sent = request.query_params.get("sent", "")
    return render(request, "portal_plans.html", None, doc=doc, here=here(request),
                  held=rules.holdings(doc, history), history=history,
                  labels=rules.KIND_LABELS, risks=WALL_RISKS,
                  sent=rules.KIND_LABELS.get(sent, ""))


def _form_page(request: Request, doc: dict[str, Any], kind: str, values: dict[str, str],
               errors: dict[str, str], status: int = 200) -> Response:
    return render(request, FORMS[kind], None, status, doc=doc, kind=kind, here=here(request),
                  label=rules.KIND_LABELS[kind], values=values, errors=errors,
                  field_labels=FIELD_LABELS, risks=WALL_RISKS,
                  floors=rules.floor_choices((doc.get("high_rise") or {}).get("storeys")),
                  max_documents=rules.MAX_DOCUMENTS, rows=_rows(values),
                  max_mb=request.app.state.settings.portal_file_max_bytes / 1_000_000)


async def _files(form: FormData, field: str) -> list[rules.Upload]:
    out = []
    for part in form.getlist(field):
        if isinstance(part, UploadFile) and (part.filename or part.size):
            out.append(rules.Upload(field, part.filename or "", await part.read()))
    return out


def _defaults(doc: dict[str, Any]) -> dict[str, str]:
    return {"submitted_by": (doc.get("high_rise") or {}).get("responsible_person", ""),
            "floor": "", "floor_other": "", "design_materials": "", "risk": "",
            "mitigation": "", "material_change": ""}


def _form(kind: str) -> Any:
    @portal_page
    async def endpoint(request: Request, link: submissions.Link) -> Response:
        doc = await building(request, link)
        if request.method == "GET":
            values = _defaults(doc)
            if kind == "floor_plan":  # a row for each missing floor, up to PLANS_AT_ONCE
                for n, floor in enumerate((await _missing(request, link, doc))
                                          [:rules.PLANS_AT_ONCE]):
                    values["floor" + suffix(n)] = floor
            return _form_page(request, doc, kind, values, {})
        return await _submit(request, link, doc, kind)
    endpoint.__name__ = f"portal_{kind}"
    return endpoint


def suffix(row: int) -> str:
    """The floor-plan form's field names for a row: `floor`, `file` … then `floor_1` …"""
    return f"_{row}" if row else ""


def _plan_label(row: int, field: str) -> str:
    return FIELD_LABELS[field] if row == 0 else f"Plan {row + 1}'s {field}"


async def _missing(request: Request, link: submissions.Link, doc: dict[str, Any]
                   ) -> list[str]:
    history = await request.app.state.db.read(
        lambda c: building_submissions.for_premises(c, link.premises_id))
    return list(rules.holdings(doc, history)["missing"])


def _rows(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"n": str(n), "sfx": suffix(n), "floor": values.get("floor" + suffix(n), ""),
             "floor_other": values.get("floor_other" + suffix(n), "")}
            for n in range(rules.PLANS_AT_ONCE)]


async def _submit_floors(request: Request, link: submissions.Link, doc: dict[str, Any]
                         ) -> Response:
    """Up to PLANS_AT_ONCE floor plans in one post, each row a floor and its file: every
    problem of every row at once, or all stored (each its floor's next version)."""
    settings = request.app.state.settings
    names = [f + suffix(n) for n in range(rules.PLANS_AT_ONCE) for f in ("floor", "floor_other")]
    form = await request.form()
    try:
        values = {**_defaults(doc), **{f: text(form, f, 200) for f in names},
                  "submitted_by": text(form, "submitted_by", 300)}
        uploads = [(await _files(form, "file" + suffix(n)))[:1]
                   for n in range(rules.PLANS_AT_ONCE)]
    finally:
        await form.close()
    errors: dict[str, str] = {}
    statuses: list[int] = []
    name, problem = rules.parse_name(values)
    if problem:
        errors["submitted_by"] = problem
    items: list[tuple[str | None, list[rules.Checked]]] = []
    for n in rules.plan_rows([bool(u) for u in uploads]):
        sfx = suffix(n)
        floor, problem = rules.parse_floor({"floor": values["floor" + sfx],
                                            "floor_other": values["floor_other" + sfx]})
        if problem:
            errors["floor" + sfx] = problem if n == 0 else f"Plan {n + 1}: {problem}"
        found = rules.check_file((uploads[n] or [rules.Upload("file" + sfx, "", b"")])[0],
                                 _plan_label(n, "file"), settings.portal_file_max_bytes,
                                 settings.image_max_pixels)
        if isinstance(found, rules.Problem):
            errors["file" + sfx] = found.message
            statuses.append(found.status)
        else:
            items.append((floor, [found]))
    twice = rules.same_floor_twice([floor or "" for floor, _ in items])
    if twice is not None and not errors:
        field = items[twice][1][0].field.replace("file", "floor", 1)
        errors[field] = (f"{items[twice][0]} is chosen for two plans: send one plan for each "
                         "floor.")
    if errors:
        status = next((s for s in (413, 415) if s in statuses), 422)
        return _form_page(request, doc, "floor_plan", values, errors, status)
    try:
        await rules.submit_many(request.app.state.db, blob_store(request), decoders(request),
                                link.id, doc, "floor_plan", items, name, {},
                                settings.portal_link_quota_bytes)
    except ApiError as exc:
        if exc.code != "quota_exceeded":
            raise
        return _form_page(request, doc, "floor_plan", values,
                          {exc.field or "file": exc.message}, exc.status)
    return RedirectResponse(here(request) + "/plans?sent=floor_plan#held", 303)


async def _submit(request: Request, link: submissions.Link, doc: dict[str, Any], kind: str
                  ) -> Response:
    if kind == "floor_plan":
        return await _submit_floors(request, link, doc)
    settings = request.app.state.settings
    form = await request.form()
    try:
        values = {**_defaults(doc), **{f: text(form, f, 10_100) for f in (
            "floor", "floor_other", "submitted_by", "design_materials", "risk", "mitigation",
            "material_change")}}
        uploads = await _files(form, "documents" if kind == "external_wall" else "file")
    finally:
        await form.close()
    errors: dict[str, str] = {}
    statuses: list[int] = []
    floor: str | None = None
    fields: dict[str, Any] = {}
    if kind == "floor_plan":
        floor, problem = rules.parse_floor(values)
        if problem:
            errors["floor"] = problem
    if kind == "external_wall":
        fields, errors = rules.parse_wall(values)
        if len(uploads) > rules.MAX_DOCUMENTS:
            errors["documents"] = (f"Documents: send at most {rules.MAX_DOCUMENTS} files at "
                                   "once.")
    name, problem = rules.parse_name(values)
    if problem:
        errors["submitted_by"] = problem
    if kind != "external_wall" and len(uploads) != 1:
        uploads = uploads[:1] or [rules.Upload("file", "", b"")]
    checked: list[rules.Checked] = []
    for upload in uploads[:rules.MAX_DOCUMENTS]:
        found = rules.check_file(upload, FIELD_LABELS[upload.field],
                                 settings.portal_file_max_bytes, settings.image_max_pixels)
        if isinstance(found, rules.Problem):
            errors.setdefault(upload.field, found.message)
            statuses.append(found.status)
        else:
            checked.append(found)
    if errors:
        status = next((s for s in (413, 415) if s in statuses), 422)
        return _form_page(request, doc, kind, values, errors, status)
    try:
        await rules.submit(request.app.state.db, blob_store(request), decoders(request),
                           link.id, doc, kind, floor, name, fields, checked,
                           settings.portal_link_quota_bytes)
    except ApiError as exc:
        if exc.code != "quota_exceeded":
            raise
        return _form_page(request, doc, kind, values, {exc.field or "file": exc.message},
                          exc.status)
    return RedirectResponse(here(request) + f"/plans?sent={kind}#held", 303)


routes = [
    Route("/{token}/plans", plans, name="portal_plans"),
    Route("/{token}/plans/floor", _form("floor_plan"), methods=["GET", "POST"],
          name="portal_floor_plan"),
    Route("/{token}/plans/building", _form("building_plan"), methods=["GET", "POST"],
          name="portal_building_plan"),
    Route("/{token}/walls", _form("external_wall"), methods=["GET", "POST"],
          name="portal_external_wall"),
]
