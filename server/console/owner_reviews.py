"""The console's inbox of building owners' submissions (issue 16): floor plans, the building
plan and external wall information waiting for review in the reviewer's grounds, each one's
page with its files (downloaded as attachments, never shown inline) and the version it would
replace, and accept or reject with a reason. Supervisors and admins, scope checked on every
route. The rules are server/owner_submissions.py's. Must not hold SQL.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from server import blobs
from server import owner_submissions as rules
from server.api.blobs import blob_store
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.console.premises import load_in_scope
from server.errors import ApiError
from server.store import building_submissions as store
from sync.record import WALL_RISKS

LIMIT = 500


def _id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise ApiError(404, "not_found", "There is no such submission.")
    return int(raw)


async def _in_scope(request: Request, who: Principal) -> tuple[dict[str, Any], dict[str, Any]]:
    """The submission of the path and its premises, or 404 (no such) / 403 (outside grounds)."""
    sub_id = _id(request.path_params["submission_id"])
    sub = await request.app.state.db.read(lambda c: store.get(c, sub_id))
    if sub is None:
        raise ApiError(404, "not_found", "There is no such submission.")
    return sub, await load_in_scope(request, who, sub["premises_id"])


@page("admin", "supervisor")
async def inbox(request: Request, who: Principal) -> Response:
    premises_id = request.query_params.get("premises") or None
    doc = await load_in_scope(request, who, premises_id[:64]) if premises_id else None
    stations = list(who.grounds)
    items = await request.app.state.db.read(
        lambda c: store.pending(c, stations, LIMIT, premises_id))
    return render(request, "submissions.html", who, nav="submissions", items=items, doc=doc,
                  labels=rules.KIND_LABELS, limit=LIMIT)


def _review_page(request: Request, who: Principal, sub: dict[str, Any], doc: dict[str, Any],
                 versions: list[dict[str, Any]], errors: dict[str, str],
                 reason: str = "", status: int = 200) -> Response:
    current = next((v for v in versions if v["status"] == "accepted"), None)
    return render(request, "submission.html", who, status, nav="submissions", sub=sub,
                  doc=doc, versions=versions, current=current, errors=errors, reason=reason,
                  labels=rules.KIND_LABELS, risks=WALL_RISKS)


@page("admin", "supervisor")
async def review(request: Request, who: Principal) -> Response:
    sub, doc = await _in_scope(request, who)
    versions = await request.app.state.db.read(lambda c: store.same_key(c, sub))
    return _review_page(request, who, sub, doc, versions, {})


@page("admin", "supervisor")
async def accept(request: Request, who: Principal) -> Response:
    sub, doc = await _in_scope(request, who)
    done = await rules.accept(request.app.state.db, who, doc, sub["id"])
    where = f" ({done['floor']})" if done.get("floor") else ""
    flash(request, "ok", f"Accepted: {rules.KIND_LABELS[done['kind']]}{where} version "
          f"{done['version']} is on the record"
          + (f"; version(s) {', '.join(map(str, done['superseded']))} superseded and kept."
             if done["superseded"] else "."))
    return see_other(request, "submissions_inbox")


@page("admin", "supervisor")
async def reject(request: Request, who: Principal) -> Response:
    sub, doc = await _in_scope(request, who)
    raw = text(await request.form(), "reason", 2100)
    reason, problem = rules.parse_reason(raw)
    if problem:
        versions = await request.app.state.db.read(lambda c: store.same_key(c, sub))
        return _review_page(request, who, sub, doc, versions, {"reason": problem}, raw, 422)
    await rules.reject(request.app.state.db, who, doc, sub["id"], reason)
    flash(request, "ok", "Not accepted; the responsible person sees your reason on the portal.")
    return see_other(request, "submissions_inbox")


@page("admin", "supervisor")
async def download(request: Request, who: Principal) -> Response:
    """A submitted file, always as a download (Content-Disposition: attachment) with the type
    its bytes were checked to be: never rendered in the console's origin."""
    sub, _ = await _in_scope(request, who)
    files = sub["detail"].get("files") or []
    raw = request.path_params["n"]
    n = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else -1
    if not 0 <= n < len(files):
        raise ApiError(404, "not_found", "There is no such file.")
    file = files[n]
    found = blob_store(request)
    ctype = await request.app.state.db.read(
        lambda c: blobs.content_type_of(c, file["sha256"]))
    if ctype not in rules.FILE_TYPES or not found.exists(file["sha256"]):
        raise ApiError(404, "not_found", "The file is not stored.")
    name = file.get("name") or "file"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    headers = {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                      f"filename*=UTF-8''{quote(name)}",
               "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    path = found.files.local_path(file["sha256"])
    if path is not None:
        return FileResponse(path, media_type=ctype, headers=headers)
    try:
        chunks = await asyncio.to_thread(found.files.stream, file["sha256"])
    except KeyError:  # removed since it was looked up
        raise ApiError(404, "not_found", "The file is not stored.") from None
    return StreamingResponse(iterate_in_threadpool(chunks), media_type=ctype, headers=headers)


routes = [
    Route("/submissions", inbox, name="submissions_inbox"),
    Route("/submissions/{submission_id}", review, name="submission_review"),
    Route("/submissions/{submission_id}/accept", accept, methods=["POST"],
          name="submission_accept"),
    Route("/submissions/{submission_id}/reject", reject, methods=["POST"],
          name="submission_reject"),
    Route("/submissions/{submission_id}/files/{n}", download, name="submission_file"),
]
