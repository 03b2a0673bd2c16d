"""Console import and export of premises: upload a CSV or GeoJSON file, see every problem or
a preview of what would be created, changed and left alone, confirm, and follow the job's
progress (a page that refreshes itself: no JavaScript needed); export by station.

Imports are admins only and run as jobs (server/imports.py over server/transfer.py, the
checks `watchbook import` uses). Exports: admins any station, sensitive fields when asked;
supervisors their own grounds, never sensitive fields (docs/deployment.md); each export is
audited per station. Imports and exports touch only the caller's owning service. A bad upload (no file, wrong type, too big, not UTF-8, empty) gets a 4xx
page saying which. Must not hold SQL.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import PurePath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock, transfer
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError
from server.store import events
from server.store import imports as imports_store
from server.store import stations as stations_store

SUFFIXES = {".csv": "csv", ".geojson": "geojson", ".json": "geojson"}
REFRESH_SECONDS = 1
PROBLEMS_SHOWN = 2000


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


async def _render_upload(request: Request, who: Principal, status: int = 200,
                         error: str = "") -> Response:
    jobs = await request.app.state.imports.recent(who.organisation_id)
    return render(request, "import.html", who, status, nav="import", jobs=jobs, error=error,
                  max_size=_size(request.app.state.settings.import_max_bytes))


@page("admin")
async def import_page(request: Request, who: Principal) -> Response:
    return await _render_upload(request, who)


async def _uploaded(request: Request) -> tuple[str, str, str]:
    """(file name, format, text) of the upload; ApiError with a 4xx saying what is wrong."""
    limit = request.app.state.settings.import_max_bytes
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(422, "invalid", "Choose a file to upload.", "file")
        name = PurePath(upload.filename.replace("\\", "/")).name[:200]
        fmt = SUFFIXES.get(PurePath(name).suffix.lower())
        if fmt is None:
            raise ApiError(415, "unsupported_type", f"{name} is not a CSV (.csv) or GeoJSON "
                           "(.geojson) file.", "file")
        data = await upload.read(limit + 1)
    finally:
        await form.close()
    if len(data) > limit:
        raise ApiError(413, "too_large", f"The file is larger than {_size(limit)}; split it "
                       "and import each part.", "file")
    if b"\0" in data:
        raise ApiError(415, "unsupported_type", f"{name} is not a text file: export it from "
                       "your spreadsheet as CSV (UTF-8).", "file")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid", f"{name} is not UTF-8 text (the first bad byte is "
                       f"number {exc.start + 1:,}): save it from your spreadsheet as "
                       "“CSV UTF-8”.", "file") from None
    if not content.strip():
        raise ApiError(422, "invalid", f"{name} is empty.", "file")
    return name, fmt, content


@page("admin")
async def upload(request: Request, who: Principal) -> Response:
    try:
        name, fmt, content = await _uploaded(request)
    except ApiError as exc:
        return await _render_upload(request, who, exc.status, exc.message)
    job_id = await request.app.state.imports.start(who.user_id, name, fmt, content)
    return see_other(request, "import_job", job_id=job_id)


async def _job(request: Request, who: Principal) -> dict[str, Any]:
    """The import of the path if an admin of the caller's service started it; else 404."""
    job: dict[str, Any] | None = await request.app.state.imports.get(
        request.path_params["job_id"], who.organisation_id)
    if job is None:
        raise ApiError(404, "not_found", "There is no such import.")
    return job


@page("admin")
async def job_page(request: Request, who: Principal) -> Response:
    job = await _job(request, who)
    running = job["status"] in imports_store.RUNNING
    return render(request, "import_job.html", who, nav="import", job=job, running=running,
                  refresh=REFRESH_SECONDS if running else None,
                  rows_with_problems=len({p.split(",", 1)[0] for p in job["problems"]}),
                  problems=job["problems"][:PROBLEMS_SHOWN], problems_shown=PROBLEMS_SHOWN)


@page("admin")
async def confirm(request: Request, who: Principal) -> Response:
    job_id = request.path_params["job_id"]
    await _job(request, who)
    if not await request.app.state.imports.confirm(job_id, who.username):
        flash(request, "error", "This import is not waiting for confirmation.")
    return see_other(request, "import_job", job_id=job_id)


@page("admin")
async def discard(request: Request, who: Principal) -> Response:
    job_id = request.path_params["job_id"]
    await _job(request, who)
    if await request.app.state.imports.discard(job_id):
        flash(request, "ok", "Import discarded; nothing was written.")
    return see_other(request, "import_page")


# -- export ---------------------------------------------------------------------------------
async def _exportable(request: Request, who: Principal) -> list[dict[str, Any]]:
    stations = await stations_store.listing(request.app.state.db, who.organisation_id,
                                            include_retired=False)
    return stations if who.role == "admin" else [s for s in stations if who.in_scope(s["code"])]


@page()
async def export_page(request: Request, who: Principal) -> Response:
    return render(request, "export.html", who, nav="import", errors={},
                  stations=await _exportable(request, who), chosen=[], entered={})


@page()
async def export(request: Request, who: Principal) -> Response:
    form = await request.form()
    allowed = await _exportable(request, who)
    codes = {s["code"] for s in allowed}
    chosen = [v for v in form.getlist("station") if isinstance(v, str)][:500]
    fmt, sensitive = text(form, "format", 10), text(form, "sensitive", 5) == "yes"
    errors: dict[str, str] = {}
    if not chosen:
        errors["station"] = "Choose at least one station."
    elif not set(chosen) <= codes:
        raise ApiError(403, "forbidden", "You may export only your own station grounds.")
    if fmt not in transfer.FORMATS:
        errors["format"] = "Choose CSV or GeoJSON."
    if sensitive and who.role != "admin":
        raise ApiError(403, "forbidden", "Only an admin may export key box and entry codes.")
    if errors:
        return render(request, "export.html", who, 422, nav="import", errors=errors,
                      stations=allowed, chosen=chosen, entered={"format": fmt})
    db = request.app.state.db
    docs = await db.read(lambda c: imports_store.live_docs_of(c, sorted(set(chosen))))

    def build() -> str:
        out = io.StringIO()
        (transfer.write_csv if fmt == "csv" else transfer.write_geojson)(docs, out, sensitive)
        return out.getvalue()
    body = await asyncio.to_thread(build)
    now = clock.now("seconds")
    for code in sorted(set(chosen)):
        count = sum(1 for d in docs if d["station"] == code)
        await events.add(db, now, "export", who.user_id, station=code, detail=(
            f"{count} premises of {code} ({fmt}, console)"
            + (", sensitive fields included" if sensitive else "")))
    name = f"premises-{'-'.join(sorted(set(chosen)))[:60]}-{clock.today()}"
    suffix, ctype = (".csv", "text/csv; charset=utf-8") if fmt == "csv" else (
        ".geojson", "application/geo+json")
    return Response(body, media_type=ctype, headers={
        "Content-Disposition": f'attachment; filename="{name}{suffix}"',
        "Cache-Control": "no-store"})


routes = [
    Route("/import", import_page, name="import_page"),
    Route("/import", upload, methods=["POST"], name="import_upload"),
    Route("/import/{job_id:int}", job_page, name="import_job"),
    Route("/import/{job_id:int}/confirm", confirm, methods=["POST"], name="import_confirm"),
    Route("/import/{job_id:int}/discard", discard, methods=["POST"], name="import_discard"),
    Route("/export", export_page, name="export_page"),
    Route("/export", export, methods=["POST"], name="export"),
]
