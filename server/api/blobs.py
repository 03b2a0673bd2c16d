"""The attachment blob endpoints under /api/blobs: upload (PUT, idempotent), download and its
thumbnail (GET/HEAD, immutable), plus `store_blob`, the upload path the console shares.

Every caller is a signed-in device. A blob is served only to callers whose grounds hold a
record referencing it, or to its uploaders while no record does (server/store/blob_access.py);
anyone else gets the 404 of a blob that does not exist. Storage and checks live in
server/blobs.py; records change
only through the one writer (sync/writer.py), by the sync engine (attach, detach) and by
`blobs.mark_available`. Must not hold SQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import msgspec
from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from server import blobs, clock
from server.api.openapi import operation
from server.auth import Principal
from server.errors import ApiError
from server.store import blob_access, uploads

CACHE_FOREVER = "private, max-age=31536000, immutable"
STATUS = {"hash_mismatch": 400, "bad_hash": 400, "unsupported_type": 415, "unreadable": 415,
          "too_large": 413, "too_many_pixels": 413}


class BlobInfo(msgspec.Struct):
    sha256: str
    content_type: str
    size: int                  # bytes uploaded
    created: bool              # false: the server already had it and nothing changed
    marked_available: list[str] = []  # premises whose attachments became available


def blob_store(request: Request) -> blobs.BlobStore:
    """The blobs, kept in the app's `blob_files` (server/blobfiles.py)."""
    state = request.app.state
    return blobs.BlobStore(state.blob_files, state.settings.image_max_pixels)


def decoders(request: Request) -> asyncio.Semaphore:
    """The bounded pool images are decoded under, one or two at a time (each may take
    hundreds of MB while it runs), in worker threads off the event loop."""
    state = request.app.state
    pool: asyncio.Semaphore | None = getattr(state, "image_decoders", None)
    if pool is None:
        pool = state.image_decoders = asyncio.Semaphore(max(1, state.settings.image_decoders))
    return pool


def _refused(exc: blobs.BlobRejected, name: str = "", **extra: Any) -> ApiError:
    field = "sha256" if exc.code in ("hash_mismatch", "bad_hash") else "file"
    message = f"{name}: {exc.message}" if name and field == "file" else exc.message
    return ApiError(STATUS[exc.code], exc.code, message, field, **extra)


def _seconds_to_midnight(now: dt.datetime) -> int:
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))


async def _charge(request: Request, who: Principal, size: int, name: str) -> None:
    """Count `size` bytes against the user's upload quota for today (UTC), or a 429."""
    quota = request.app.state.settings.upload_quota_bytes_per_day
    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    if await request.app.state.db.write(
            lambda conn: uploads.charge(conn, who.user_id, day, size, quota)) is None:
        wait = _seconds_to_midnight(now)
        raise ApiError(429, "quota_exceeded", f"{name}: you have uploaded your "
                       f"{blobs.megabytes(quota)} of attachments for today; more can be "
                       "uploaded after midnight UTC", "file",
                       headers={"Retry-After": str(wait)}, quota=quota, retry_after=wait)


async def store_blob(request: Request, who: Principal, sha256: str, content_type: str,
                     data: bytes, name: str = "") -> BlobInfo:
    """Check, count against the uploader's quota, store (decoding under the bounded pool) and
    record one blob; raises ApiError naming the file (`name`, else its hash)."""
    store = blob_store(request)
    limit = request.app.state.settings.blob_max_bytes
    name = name or sha256
    try:
        ctype = blobs.check(sha256, content_type, data, limit)
        if not store.exists(sha256):
            blobs.measure(data, ctype, store.max_pixels)  # the header only: no pixel decoded
            await _charge(request, who, len(data), name)
            async with decoders(request):
                await asyncio.to_thread(store.save, sha256, data, ctype)
    except blobs.BlobRejected as exc:
        raise _refused(exc, name, limit=limit) from None
    now = clock.now()

    def write(conn: Any) -> tuple[bool, list[str]]:
        blob_access.note_uploader(conn, sha256, who.user_id)
        return blobs.record_blob(conn, store, sha256, ctype, data, now, who.username,
                                 who.device_id)
    created, marked = await request.app.state.db.write(write)
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
    who = await request.app.state.auth.authenticate_device(request)
    sha256 = request.path_params["sha256"]
    try:
        blobs.check_name(sha256)
    except blobs.BlobRejected as exc:
        raise _refused(exc) from None
    data = await _read_body(request, request.app.state.settings.blob_max_bytes)
    info = await store_blob(request, who, sha256, request.headers.get("content-type", ""),
                            data)
    return Response(msgspec.json.encode(info), status_code=201 if info.created else 200,
                    media_type="application/json")


async def blob_response(request: Request, who: Principal, sha256: str, thumb: bool
                        ) -> Response:
    """The blob (or its thumbnail) as an immutable file with a strong ETag; 304 on a match.
    404, as for a blob that does not exist, unless `who` may see it."""
    try:
        blobs.check_name(sha256)
    except blobs.BlobRejected as exc:
        raise _refused(exc) from None
    store = blob_store(request)

    def look(conn: Any) -> str | None:
        if not blob_access.visible(conn, sha256, who.grounds, who.user_id):
            return None
        return blobs.content_type_of(conn, sha256)
    ctype = await request.app.state.db.read(look)
    if ctype is None or not store.exists(sha256):
        raise ApiError(404, "not_found", f"no blob {sha256}: it may still be uploading",
                       "sha256")
    key = sha256
    if thumb:
        try:
            async with decoders(request):
                found = await asyncio.to_thread(store.ensure_thumb, sha256, ctype)
        except blobs.BlobRejected:  # kept before a lower pixel bound, or damaged on disk
            found = None
        if found is None:
            raise ApiError(404, "no_thumbnail", f"a {ctype} attachment has no thumbnail")
        key, ctype = found, "image/jpeg"
    etag = f'"{sha256}{"-thumb" if thumb else ""}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_FOREVER}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = "inline"
    path = store.files.local_path(key)
    if path is not None:  # a file here: sent as it is (ranges, sendfile)
        return FileResponse(path, media_type=ctype, headers=headers)
    size = await asyncio.to_thread(store.files.size, key)
    try:
        chunks = await asyncio.to_thread(store.files.stream, key)
    except KeyError:  # removed by gc since it was looked up
        raise ApiError(404, "not_found", f"no blob {sha256}", "sha256") from None
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(iterate_in_threadpool(chunks), media_type=ctype, headers=headers)


@operation("An attachment's bytes (immutable; metadata stripped)",
           overrides={"responses": _FILE})
async def get_blob(request: Request) -> Response:
    who = await request.app.state.auth.authenticate_device(request)
    return await blob_response(request, who, request.path_params["sha256"], thumb=False)


@operation("An image attachment's JPEG thumbnail", overrides={"responses": {
    "200": {"description": "A JPEG thumbnail", "content": {"image/jpeg": _BINARY}},
    "304": _FILE["304"]}})
async def get_thumb(request: Request) -> Response:
    who = await request.app.state.auth.authenticate_device(request)
    return await blob_response(request, who, request.path_params["sha256"], thumb=True)


routes = [
    Route("/blobs/{sha256}", put_blob, methods=["PUT"]),
    Route("/blobs/{sha256}", get_blob, methods=["GET", "HEAD"]),
    Route("/blobs/{sha256}/thumb", get_thumb, methods=["GET", "HEAD"]),
]
