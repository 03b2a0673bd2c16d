"""The one wiring point: settings, Database, auth, sync engine, routes and middleware.

Must not hold request handling itself; each module owns its routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from server import api, console, shell
from server.api.sync import make_service
from server.auth import Auth
from server.errors import ApiError, handle_api_error
from server.settings import Settings
from server.store.database import Database
from server.store.migrations import migrate
from server.web.addresses import TrustedProxies
from server.web.compression import Gzip
from server.web.middleware import BodyLimit, SecurityHeaders
from server.web.observability import Metrics, RequestLog, configure_logging, metrics_endpoint
from server.web.sessions import ServerSessions


async def healthz(request: Request) -> JSONResponse:
    """Liveness and readiness: the database answers a query."""
    version = (await request.app.state.db.execute("PRAGMA user_version")).single_value()
    return JSONResponse({"status": "ok", "schema": version})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    configure_logging()
    metrics = Metrics()
    root: list[Starlette] = []  # the app itself, for route names in metrics

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await Database(settings.db_path, settings.read_connections).open()
        try:
            await migrate(db)
            app.state.db = db
            app.state.auth = Auth(db, settings)
            app.state.sync = await make_service(db, settings)
            yield
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
            ]),
            Middleware(Gzip, minimum_size=1024, level=settings.gzip_level),
        ],
        exception_handlers={ApiError: handle_api_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    root.append(app)
    return app
