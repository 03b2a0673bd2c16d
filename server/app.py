"""The one wiring point: settings, Database, auth, sync engine, routes and middleware.

Must not hold request handling itself; each module owns its routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from server import api, compliance, console, fault_review, shell
from server.api.sync import make_service
from server.auth import Auth
from server.blobfiles import LocalDirectory
from server.console import portal, portal_plans
from server.errors import ApiError, handle_api_error
from server.imports import ImportJobs
from server.owner_submissions import MAX_DOCUMENTS
from server.settings import Settings
from server.store import engines
from server.store.integrity import Integrity, quick_check
from server.web.addresses import TrustedProxies
from server.web.compression import Compression
from server.web.middleware import BodyLimit, SecurityHeaders
from server.web.observability import Metrics, RequestLog, configure_logging, metrics_endpoint
from server.web.sessions import ServerSessions

log = logging.getLogger("watchbook")


async def healthz(request: Request) -> JSONResponse:
    """Liveness and readiness: the database answers a query and was not found damaged at
    start (503 with the reason if it was)."""
    integrity: Integrity = request.app.state.integrity
    version = (await request.app.state.db.execute("PRAGMA user_version")).single_value()
    body = {"status": "ok", "schema": version, "integrity": integrity.status}
    process = {"X-Watchbook-Process": str(os.getpid())}  # which of several processes answered
    if integrity.damaged:
        body.update(status="damaged", reason=f"the database is damaged ({integrity.reason}); "
                    "restore the latest backup (docs/operations.md)")
        return JSONResponse(body, status_code=503, headers=process)
    return JSONResponse(body, headers=process)


async def check_integrity(settings: Settings) -> Integrity:
    """quick_check the database file before it is opened, off the event loop; logged.
    PostgreSQL checks its own pages (data checksums): nothing to run here."""
    if settings.database_url:
        return Integrity("unchecked", "PostgreSQL")
    found = await asyncio.to_thread(quick_check, settings.db_path,
                                    settings.integrity_check_seconds)
    fields = {"integrity": found.status, "reason": found.reason, "ms": round(found.seconds * 1000)}
    if found.damaged:
        log.error("database damaged", extra={"fields": fields})
    else:
        log.info("database integrity", extra={"fields": fields})
    return found


FAULT_REVIEW_SECONDS = 3600  # how often "for review" flags are brought up to date


async def _fault_reviews(db: engines.AnyDatabase, settings: Settings) -> None:
    """Hourly: flag on their records the equipment faults with no repair reported in time."""
    while True:
        await asyncio.sleep(FAULT_REVIEW_SECONDS)
        try:
            changed = await fault_review.flag_due(db, settings.fault_review_days)
            if changed:
                log.info("faults for review", extra={"fields": {"records": changed}})
        except Exception:  # a failed pass is tried again next hour; the server carries on
            log.exception("fault review pass failed")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    configure_logging()
    metrics = Metrics()
    root: list[Starlette] = []  # the app itself, for route names in metrics

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.integrity = await check_integrity(settings)
        db = await engines.open_database(settings.db_path, settings.database_url,
                                         settings.read_connections)
        try:
            app.state.db = db
            app.state.auth = Auth(db, settings)
            app.state.sync = await make_service(db, settings)
            app.state.imports = ImportJobs(db, settings)
            await app.state.imports.recover()
            reviews = asyncio.create_task(_fault_reviews(db, settings))
            yield
            reviews.cancel()
            await app.state.imports.close()
            await app.state.auth.flush_seen()
            app.state.auth.close()
        finally:
            await db.close()

    app = Starlette(
        routes=[
            Mount("/api", routes=api.routes),
            # Only the console has sessions (cookies, CSRF); the API and the app shell do not.
            Mount("/console", routes=console.routes, middleware=[
                Middleware(ServerSessions, cookie="watchbook_session",
                           max_age=settings.session_max_age_seconds,
                           idle=settings.session_idle_seconds, https=settings.https)]),
            # The responsible person's portal: a submission link, a session only for CSRF.
            Mount("/portal", routes=[*portal.routes, *portal_plans.routes], middleware=[
                Middleware(ServerSessions, cookie="watchbook_portal",
                           max_age=settings.session_max_age_seconds,
                           idle=settings.session_idle_seconds, https=settings.https)]),
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint),
            *shell.routes,
        ],
        middleware=[
            Middleware(TrustedProxies, trusted=settings.trusted_proxies),
            Middleware(RequestLog, metrics=metrics, root=root),
            Middleware(SecurityHeaders, hsts=settings.https),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes, paths=[
                (r"/api/blobs/", None),  # the upload route enforces blob_max_bytes itself
                (r"/console/premises/[^/]+/attachments$", settings.blob_max_bytes + 256 * 1024),
                (r"/console/import$", settings.import_max_bytes + 256 * 1024),
                (r"/portal/[^/]+/(plans/floor|plans/building|walls)$",
                 settings.portal_file_max_bytes * MAX_DOCUMENTS + 256 * 1024),
            ]),
            Middleware(Compression, minimum_size=1024, gzip_level=settings.gzip_level,
                       zstd_level=settings.zstd_level, brotli_level=settings.brotli_level),
        ],
        exception_handlers={ApiError: handle_api_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.blob_files = LocalDirectory(settings.blobs_path)  # server/blobfiles.py
    app.state.metrics = metrics
    # Plans and wall information held per building, for the compliance view: nothing until
    # the versioned submissions store is wired here (server/compliance.py `Submissions`).
    app.state.submissions = compliance.held
    root.append(app)
    return app
