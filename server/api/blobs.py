"""The attachment blob endpoints under /api/blobs: upload (PUT, idempotent), download and its
thumbnail (GET/HEAD, immutable), plus `store_blob`, the upload path the console shares.

Every caller is a signed-in device; a blob's 256-bit name is its capability (you learn it
from a record in your grounds). Storage and checks live in server/blobs.py; records change
only through the sync engine (attach, detach) and `blobs.mark_available`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from server import blobs, clock
from server.api.openapi import operation
from server.errors import ApiError

CACHE_FOREVER = "private, max-age=31536000, immutable"
STATUS = {"hash_mismatch": 400, "bad_hash": 400, "unsupported_type": 415, "unreadable": 415,
          "too_large": 413}


class BlobInfo(msgspec.Struct):
    sha256: str
    content_type: str
    size: int                  # bytes uploaded
    created: bool              # false: the server already had it and nothing changed
    marked_available: list[str] = []  # premises whose attachments became available


def blob_store(request: Request) -> blobs.BlobStore:
    return blobs.BlobStore(request.app.state.settings.blobs_path)


def _refused(exc: blobs.BlobRejected, **extra: Any) -> ApiError:
    return ApiError(STATUS[exc.code], exc.code, exc.message,
                    "sha256" if exc.code in ("hash_mismatch", "bad_hash") else None, **extra)


async def store_blob(request: Request, sha256: str, content_type: str, data: bytes
                     ) -> BlobInfo:
    """Check, store (in a worker thread) and record one blob; raises ApiError."""
    store = blob_store(request)
    limit = request.app.state.settings.blob_max_bytes
    try:
        ctype = blobs.check(sha256, content_type, data, limit)
        await asyncio.to_thread(store.save, sha256, data, ctype)
    except blobs.BlobRejected as exc:
        raise _refused(exc, limit=limit) from None
    now = clock.now()
    created, marked = await request.app.state.db.write(
        lambda conn: blobs.record_blob(conn, store, sha256, ctype, data, now))
    return BlobInfo(sha256, ctype, len(data), created, marked)


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit`."""
    too_large = ApiError(413, "too_large", "", limit=limit)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        too_large.message = (f"this file is {blobs.megabytes(int(declared))}; attachments may "
                             f"be at most {blobs.megabytes(limit)}")
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            too_large.message = f"attachments may be at most {blobs.megabytes(limit)}"
            raise too_large
    return bytes(body)


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_JSON_INFO = {"application/json": {"schema": {"$ref": "#/components/schemas/BlobInfo"}}}
_FILE = {"200": {"description": "The bytes", "content": {t: _BINARY for t in blobs.CONTENT_TYPES}},
         "304": {"description": "Not modified (If-None-Match)"}}


@operation("Upload an attachment's bytes (JPEG, PNG, WebP or PDF) named by their SHA-256; "
           "idempotent. Body: the raw bytes with their Content-Type", response=BlobInfo,
           overrides={
               "requestBody": {"required": True,
                               "content": {t: _BINARY for t in blobs.CONTENT_TYPES}},
               "responses": {"200": {"description": "Already stored: nothing changed",
                                     "content": _JSON_INFO},
                             "201": {"description": "Stored", "content": _JSON_INFO}}})
async def put_blob(request: Request) -> Response:
    """Upload the bytes named by their SHA-256; a second upload of the same bytes is a no-op."""
    await request.app.state.auth.authenticate_device(request)
    sha256 = request.path_params["sha256"]
    try:
        blobs.check_name(sha256)
    except blobs.BlobRejected as exc:
        raise _refused(exc) from None
    data = await _read_body(request, request.app.state.settings.blob_max_bytes)
    info = await store_blob(request, sha256, request.headers.get("content-type", ""), data)
    return Response(msgspec.json.encode(info), status_code=201 if info.created else 200,
                    media_type="application/json")


async def blob_response(request: Request, sha256: str, thumb: bool) -> Response:
    """The blob (or its thumbnail) as an immutable file with a strong ETag; 304 on a match."""
    try:
        blobs.check_name(sha256)
    except blobs.BlobRejected as exc:
        raise _refused(exc) from None
    store = blob_store(request)
    ctype = await request.app.state.db.read(lambda c: blobs.content_type_of(c, sha256))
    if ctype is None or not store.exists(sha256):
        raise ApiError(404, "not_found", f"no blob {sha256}: it may still be uploading",
                       "sha256")
    path = store.path(sha256)
    if thumb:
        found = await asyncio.to_thread(store.ensure_thumb, sha256, ctype)
        if found is None:
            raise ApiError(404, "no_thumbnail", f"a {ctype} attachment has no thumbnail")
        path, ctype = found, "image/jpeg"
    etag = f'"{sha256}{"-thumb" if thumb else ""}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_FOREVER}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=ctype, headers={
        **headers, "Content-Disposition": "inline"})


@operation("An attachment's bytes (immutable; metadata stripped)",
           overrides={"responses": _FILE})
async def get_blob(request: Request) -> Response:
    await request.app.state.auth.authenticate_device(request)
    return await blob_response(request, request.path_params["sha256"], thumb=False)


@operation("An image attachment's JPEG thumbnail", overrides={"responses": {
    "200": {"description": "A JPEG thumbnail", "content": {"image/jpeg": _BINARY}},
    "304": _FILE["304"]}})
async def get_thumb(request: Request) -> Response:
    await request.app.state.auth.authenticate_device(request)
    return await blob_response(request, request.path_params["sha256"], thumb=True)


routes = [
    Route("/blobs/{sha256}", put_blob, methods=["PUT"]),
    Route("/blobs/{sha256}", get_blob, methods=["GET", "HEAD"]),
    Route("/blobs/{sha256}/thumb", get_thumb, methods=["GET", "HEAD"]),
]
