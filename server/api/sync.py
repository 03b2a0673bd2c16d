"""The sync endpoints (POST /api/sync/push, GET /api/sync/pull) and `SyncService`, the async
boundary around the synchronous engine: one `db.write` per push, one `db.read` per pull page.

Owns the push concurrency cap, the console's way in (`apply_local`) and the HTTP status of
each engine refusal code. Must not hold merge rules (sync/merge.py) or SQL (server/store/sync.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Sequence

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import clock
from server.api.openapi import operation
from server.auth import Principal
from server.crossborder import CrossBorder, with_read_only
from server.errors import ApiError
from server.settings import Settings
from server.store import accounts, engines
from server.store.database import Database
from sync import engine
from sync.protocol import (
    CURSOR_HEADER,
    MORE_HEADER,
    OLDEST_PENDING_HEADER,
    PENDING_HEADER,
    PROTOCOL_HEADER,
    Mutation,
    PullResponse,
    PushRequest,
    PushResponse,
    Receipt,
    encoder,
    page_tail,
)
from sync.store import Store, Tx


def console_device(principal: Principal) -> str:
    return f"console-{principal.user_id}"


class SyncService:
    """Push, pull and local (console) edits over a store: SQLite's on `db` unless another
    (server/store/postgres/sync.py's PgStore) is handed in."""

    def __init__(self, db: Database | None, settings: Settings, store: Store | None = None):
        self.db, self.settings = db, settings
        if store is None:
            if db is None:
                raise ValueError("SyncService needs a Database or a store")
            store = engines.sync_store(db)
        self.store: Store = store
        self.config = engine.Config(review_interval_days=dict(settings.review_interval_days),
                                    max_push_mutations=settings.max_push_mutations,
                                    max_conflicts_per_push=settings.max_conflicts_per_push,
                                    max_open_conflicts_per_device=(
                                        settings.max_open_conflicts_per_device),
                                    max_open_observations=settings.max_open_observations,
                                    pull_page_rows=settings.pull_page_rows,
                                    pull_page_bytes=settings.pull_page_bytes)
        self.active_pushes = 0
        # A push body is read whole (within `body_seconds`) before a slot is taken.
        # Pushes beyond the cap wait for a slot up to `queue_seconds`, then 429:
        # a burst of devices slightly over the cap queues for milliseconds instead of sleeping
        # through a Retry-After; a flood beyond `max_waiting` is refused at once.
        self._slots = asyncio.Semaphore(settings.max_concurrent_pushes)
        self.queue_seconds = float(settings.push_queue_seconds)
        self.max_waiting = 4 * settings.max_concurrent_pushes
        self.waiting = 0
        self.body_seconds = float(settings.push_body_seconds)
        # Records devices hold read-only from other services (server/crossborder.py), if wired
        self.shared: CrossBorder | None = None

    async def acquire_push_slot(self) -> bool:
        """Take one of the concurrent push slots, waiting a bounded time; False: refuse."""
        if self._slots.locked() and (self.queue_seconds <= 0
                                     or self.waiting >= self.max_waiting):
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.queue_seconds or None)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        self.active_pushes += 1
        return True

    def release_push_slot(self) -> None:
        self.active_pushes -= 1
        self._slots.release()

    @staticmethod
    def actor(principal: Principal, device_id: str | None = None) -> engine.Actor:
        return engine.Actor(user_id=principal.user_id, username=principal.username,
                            name=principal.name, role=principal.role,
                            grounds=tuple(principal.grounds),
                            device_id=device_id or principal.device_id or console_device(principal),
                            device_name=principal.device_name or (
                                "" if device_id or principal.device_id else "Console"))

    async def push(self, principal: Principal, body: bytes) -> PushResponse:
        """Decode, check and apply one push in one write transaction; raises ApiError."""
        actor = self.actor(principal)
        try:
            req = engine.decode_push(body, actor, self.config)
        except engine.Refused as exc:
            raise _api_error(exc) from None
        if self.shared is not None:  # Rule 6c: what the device holds read-only
            actor = with_read_only(actor, await self.shared.read_only(
                principal, (m.premises_id for m in req.mutations)))
        now = clock.now()

        def run(tx: Tx) -> PushResponse:
            tx.lock_first(m.premises_id for m in req.mutations)  # PostgreSQL: no deadlocks
            return engine.push(tx, actor, req.mutations, now, self.config)
        return await self.store.write(run)

    async def pull(self, principal: Principal, cursor: str = "", limit: int | None = None
                   ) -> bytes:
        """One page of PullResponse JSON for the principal's device, from one read snapshot."""
        actor = self.actor(principal)

        async def own(engine_cursor: str) -> bytes:
            return await self.store.read(
                lambda reader: engine.pull(reader, actor, engine_cursor, limit, self.config))
        if self.shared is None:
            return await own(cursor)
        return await self.shared.pull(principal, cursor, limit, own)  # + read-only records

    async def apply_local(self, principal: Principal, mutations: Sequence[Mutation]
                          ) -> list[Receipt]:
        """Apply edits made on the server itself (the console is a device): `device_id` and
        `seq` of each mutation are replaced by the device `console-<user id>` and its next
        seqs, inside the same transaction. Returns one receipt per mutation, in order."""
        actor = self.actor(principal, console_device(principal))
        now = clock.now()

        def run(tx: Tx) -> list[Receipt]:
            tx.lock_first(m.premises_id for m in mutations)
            first = tx.last_seq(actor.device_id) + 1
            stamped = [msgspec.structs.replace(m, device_id=actor.device_id, seq=first + i)
                       for i, m in enumerate(mutations)]
            return engine.push(tx, actor, stamped, now, self.config).receipts
        return await self.store.write(run)


async def make_service(db: Database, settings: Settings) -> SyncService:
    await engines.ensure_epoch(db)
    service = SyncService(db, settings)
    service.shared = CrossBorder(db, settings.pull_page_rows)
    return service


# The HTTP status of each way the engine refuses a whole request (docs/sync-protocol.md).
REFUSAL_STATUS: dict[engine.RefusalCode, int] = {
    "malformed_json": 400,
    "protocol_unsupported": 400,
    "too_many_mutations": 413,
    "invalid": 422,
    "upgrade_required": 426,
}


def _api_error(exc: engine.Refused) -> ApiError:
    return ApiError(REFUSAL_STATUS[exc.code], exc.code, exc.message, exc.field, **exc.extra)


_PULL_QUERY = [
    {"name": "cursor", "schema": {"type": "string"},
     "description": "The cursor of the last page; empty, absent or unreadable: from the start"},
    {"name": "limit", "schema": {"type": "string", "pattern": "^([1-9][0-9]*)?$"},
     "description": "Changes per page, a whole number of at least 1 (the server caps it)"},
]


async def record_pending(request: Request, principal: Principal) -> None:
    """The device's own report of its unsent edits (optional headers), kept on its row for
    the coverage view; a malformed report is a 400 naming the header."""
    raw = request.headers.get(PENDING_HEADER)
    if raw is None or principal.device_id is None:
        return
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= 10_000_000:
        raise ApiError(400, "invalid", f"{PENDING_HEADER} must be a whole number, 0 or more",
                       PENDING_HEADER)
    oldest = request.headers.get(OLDEST_PENDING_HEADER) or None
    if oldest is not None:
        try:
            dt.datetime.fromisoformat(oldest)
        except ValueError:
            oldest = None
        if oldest is None or len(request.headers[OLDEST_PENDING_HEADER]) > 40:
            raise ApiError(400, "invalid", f"{OLDEST_PENDING_HEADER} must be an ISO date and "
                           "time such as 2026-12-01T09:30:00Z", OLDEST_PENDING_HEADER)
    await accounts.report_pending(request.app.state.db, principal.device_id, count, oldest,
                                  clock.now("seconds"))


def _check_protocol_header(request: Request) -> None:
    raw = request.headers.get(PROTOCOL_HEADER)
    if raw is None:
        return
    try:
        version = int(raw)
    except ValueError:
        raise ApiError(400, "protocol_unsupported",
                       f"{PROTOCOL_HEADER} must be a whole number", "protocol",
                       supported=engine.SUPPORTED_PROTOCOLS) from None
    try:
        engine.check_protocol(version)
    except engine.Refused as exc:
        raise _api_error(exc) from None


async def read_body(request: Request, seconds: float) -> bytes:
    """The whole request body, or a 408 if it has not all arrived within `seconds`: read
    before a push slot is taken, so a client trickling its body holds no slot."""
    try:
        return await asyncio.wait_for(request.body(), timeout=seconds or None)
    except TimeoutError:
        wait = 1 + random.randint(0, 2)
        raise ApiError(408, "body_timeout", f"the push body did not arrive within {seconds:g} "
                       f"s; retry in {wait} s", "body",
                       headers={"Retry-After": str(wait), "Connection": "close"},
                       retry_after=wait) from None


@operation("Push a batch of this device's mutations; one receipt each", request=PushRequest,
           response=PushResponse)
async def push_endpoint(request: Request) -> Response:
    principal = await request.app.state.auth.authenticate_device(request)
    _check_protocol_header(request)
    await record_pending(request, principal)
    service: SyncService = request.app.state.sync
    body = await read_body(request, service.body_seconds)
    if not await service.acquire_push_slot():
        wait = 1 + random.randint(0, 2)
        raise ApiError(429, "busy", f"too many devices are syncing; retry in {wait} s",
                       headers={"Retry-After": str(wait)}, retry_after=wait)
    try:
        result = await service.push(principal, body)
    finally:
        service.release_push_slot()
    return Response(_with_retire(encoder.encode(result), principal),
                    media_type="application/json")


@operation("Pull a page of changes in your grounds after a cursor", response=PullResponse,
           query=_PULL_QUERY)
async def pull_endpoint(request: Request) -> Response:
    principal = await request.app.state.auth.authenticate_device(request)
    _check_protocol_header(request)
    await record_pending(request, principal)
    raw_limit = request.query_params.get("limit")
    limit: int | None = None
    if raw_limit:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise ApiError(422, "invalid", "limit must be a whole number", "limit") from None
        if limit < 1:
            raise ApiError(422, "invalid", "limit must be 1 or more", "limit")
    service: SyncService = request.app.state.sync
    body = await service.pull(principal, request.query_params.get("cursor", ""), limit)
    return Response(_with_retire(body, principal), media_type="application/json",
                    headers=_next_page_headers(body))


MAX_CURSOR_HEADER = 2048  # bytes: a proxy's buffer for response headers is often 4 KiB


def _next_page_headers(body: bytes) -> dict[str, str]:
    """The page's cursor and whether more follows, as headers: a client can ask for the next
    page as soon as they arrive, while this page's body is still on its way. A cursor too long
    for every proxy's header buffer (a scope of very many stations) is left to the body."""
    found = page_tail(body)
    if found is None:
        return {}
    tail = found[1]
    headers = {MORE_HEADER: "1" if tail.more else "0"}
    if len(tail.cursor) <= MAX_CURSOR_HEADER:
        headers[CURSOR_HEADER] = tail.cursor
    return headers


def _with_retire(body: bytes, principal: Principal) -> bytes:
    """A retiring device's answers carry `"retire": true` (docs/sync-protocol.md, Retiring)."""
    if not principal.retiring:
        return body
    return body.rstrip()[:-1] + b',"retire":true}'


@operation("Acknowledge a retire order: this device has sent everything and is clearing "
           "itself; its token stops working")
async def retired_endpoint(request: Request) -> Response:
    principal = await request.app.state.auth.authenticate_device(request)
    if not principal.retiring:
        raise ApiError(409, "not_retiring", "this device was not ordered to retire", "device")
    await request.app.state.auth.device_retired(principal)
    return Response(b'{"retired":true}', media_type="application/json")


routes = [
    Route("/sync/push", push_endpoint, methods=["POST"]),
    Route("/sync/pull", pull_endpoint, methods=["GET"]),
    Route("/sync/retired", retired_endpoint, methods=["POST"]),
]
