"""Console attachments: upload a photo or plan from the desk, remove one, and serve blobs and
thumbnails to signed-in supervisors and admins.

An upload is hashed and stored here (server/api/blobs.store_blob, stamped with the uploader),
then referenced with an `attach` mutation through `SyncService.apply_local`, like every other
console edit. Blobs are served only within the caller's grounds (server/api/blobs.py). Must
not hold SQL.
"""

from __future__ import annotations

import hashlib
import secrets

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server import blobs
from server.api.blobs import blob_response, store_blob
from server.auth import Principal
from server.console.page import flash, page, text, whole_number
from server.console.premises import load_in_scope
from server.errors import ApiError
from sync.protocol import Attach, Detach, Receipt
from sync.record import ATTACHMENT_KINDS, Attachment

KIND_LABELS = {"photo": "Photo", "floor_plan": "Floor plan", "site_plan": "Site plan"}


def _back(request: Request, premises_id: str) -> Response:
    path = request.app.url_path_for("premises", premises_id=premises_id)
    return RedirectResponse(f"{path}#attachments", 303)


def _flash(request: Request, receipt: Receipt, done: str) -> None:
    if receipt.status == "rejected":
        flash(request, "error", f"Not saved: {receipt.message}")
    else:
        flash(request, "ok", f"{done} Version {receipt.version}.")


@page()
async def attachment_add(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    await load_in_scope(request, who, premises_id)
    form = await request.form()
    try:  # the file part is spooled to a temporary file; close it whatever happens
        upload, kind = form.get("file"), text(form, "kind", 20)
        caption, base = text(form, "caption", 200), whole_number(form, "base_version")
        if kind not in ATTACHMENT_KINDS:
            raise ApiError(422, "invalid", "Choose whether it is a photo, floor plan or site "
                                           "plan.")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(422, "invalid", "Choose a file to upload.")
        filename, data = upload.filename, await upload.read()
    finally:
        await form.close()
    ctype = blobs.sniff(data[:16])
    if ctype is None:
        raise ApiError(415, "unsupported_type",
                       "Only JPEG, PNG or WebP images and PDF documents can be attached.")
    sha256 = hashlib.sha256(data).hexdigest()
    await store_blob(request, who, sha256, ctype, data, filename)
    receipts: list[Receipt] = await request.app.state.sync.apply_local(who, [Attach(
        premises_id=premises_id, base_version=base,
        attachment=Attachment(id="a" + secrets.token_hex(6), sha256=sha256, kind=kind,  # type: ignore[arg-type]
                              content_type=ctype, size=len(data),  # type: ignore[arg-type]
                              caption=caption))])
    _flash(request, receipts[0], f"{KIND_LABELS[kind]} {filename} attached.")
    return _back(request, premises_id)


@page()
async def attachment_remove(request: Request, who: Principal) -> Response:
    premises_id = request.path_params["premises_id"]
    await load_in_scope(request, who, premises_id)
    form = await request.form()
    receipts: list[Receipt] = await request.app.state.sync.apply_local(who, [Detach(
        premises_id=premises_id, base_version=whole_number(form, "base_version"),
        attachment_id=request.path_params["attachment_id"])])
    _flash(request, receipts[0], "Attachment removed.")
    return _back(request, premises_id)


@page()
async def blob_file(request: Request, who: Principal) -> Response:
    return await blob_response(request, who, request.path_params["sha256"], thumb=False)


@page()
async def blob_thumb(request: Request, who: Principal) -> Response:
    return await blob_response(request, who, request.path_params["sha256"], thumb=True)


routes = [
    Route("/premises/{premises_id}/attachments", attachment_add, methods=["POST"],
          name="attachment_add"),
    Route("/premises/{premises_id}/attachments/{attachment_id}/remove", attachment_remove,
          methods=["POST"], name="attachment_remove"),
    Route("/blobs/{sha256}", blob_file, name="console_blob"),
    Route("/blobs/{sha256}/thumb", blob_thumb, name="console_blob_thumb"),
]
