"""Structured JSON logs with request ids, and Prometheus metrics at /metrics.

Logs name the method, route, status and duration of each request, never headers, bodies or
query strings (tokens, passwords and cursors stay out of logs). Metrics are counted in memory
per process.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import ApiError
from server.store import gauges

log = logging.getLogger("watchbook")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


_encode = msgspec.json.Encoder().encode
ROUTE_CACHE_SIZE = 4096


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return _encode(out).decode()


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("watchbook")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = defaultdict(lambda: [0.0] * (len(BUCKETS) + 2))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        h = self.latency[route]
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                h[i] += 1
        h[len(BUCKETS)] += 1          # count (the +Inf bucket)
        h[len(BUCKETS) + 1] += seconds  # sum

    def render(self, gauges: dict[str, list[tuple[dict[str, str], float]]]) -> str:
        lines = ["# HELP watchbook_requests_total HTTP requests by route and status.",
                 "# TYPE watchbook_requests_total counter"]
        for (method, route, status), n in sorted(self.requests.items()):
            lines.append(f'watchbook_requests_total{{method="{method}",route="{route}",'
                         f'status="{status}"}} {n}')
        lines += ["# HELP watchbook_request_seconds Request latency by route.",
                  "# TYPE watchbook_request_seconds histogram"]
        for route, h in sorted(self.latency.items()):
            for bound, count in zip(BUCKETS, h, strict=False):
                lines.append(f'watchbook_request_seconds_bucket{{route="{route}",le="{bound}"}} '
                             f"{int(count)}")
            lines.append(f'watchbook_request_seconds_bucket{{route="{route}",le="+Inf"}} '
                         f"{int(h[len(BUCKETS)])}")
            lines.append(f'watchbook_request_seconds_count{{route="{route}"}} '
                         f"{int(h[len(BUCKETS)])}")
            lines.append(f'watchbook_request_seconds_sum{{route="{route}"}} '
                         f"{h[len(BUCKETS) + 1]:.6f}")
        for name, samples in gauges.items():
            lines.append(f"# TYPE {name} gauge")
            for labels, value in samples:
                text = ",".join(f'{k}="{v}"' for k, v in labels.items())
                lines.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")
        return "\n".join(lines) + "\n"


def _route_name(app: Any, scope: Scope) -> str:
    """The route template (e.g. /api/premises/{premises_id}) so labels stay bounded."""
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", []):
        match, child = route.matches(scope)
        if match is Match.FULL:
            path = getattr(route, "path", "")
            sub = getattr(route, "routes", None)
            if sub:
                sub_scope = {**scope, **child}
                for r in sub:
                    m, _ = r.matches(sub_scope)
                    if m is Match.FULL:
                        return path + getattr(r, "path", "")
            return str(path)
    return "unmatched"


class RequestLog:
    """Gives each request an id (X-Request-Id), logs one line per request, counts metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics, root: list[Any]):
        self.app, self.metrics, self.root = app, metrics, root  # root: [the Starlette app]
        self._routes: dict[tuple[str, str], str] = {}  # (method, path) -> route template

    def route_of(self, scope: Scope) -> str:
        """The route template of a request, cached: matching every route is not free."""
        path = (scope["method"], scope["path"])
        route = self._routes.get(path)
        if route is None:
            # Name the route before routing: the router rewrites scope (root_path) as it descends.
            route = _route_name(self.root[0], dict(scope)) if self.root else "unmatched"
            if len(self._routes) >= ROUTE_CACHE_SIZE:
                self._routes.clear()
            self._routes[path] = route
        return route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        route = self.route_of(scope)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], route, status, elapsed)
            log.info("request", extra={"fields": {
                "request_id": request_id, "method": scope["method"], "route": route,
                "status": status, "ms": round(elapsed * 1000, 2)}})


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text; open to loopback scrapers and to admins' device tokens."""
    client = request.client.host if request.client else ""
    if client not in ("127.0.0.1", "::1", "testclient"):
        who = await request.app.state.auth.authenticate_device(request)
        if who.role != "admin":
            raise ApiError(403, "forbidden", "metrics are for admins")
    db = request.app.state.db

    text = request.app.state.metrics.render(await db.read(gauges.read))
    return Response(text, media_type="text/plain; version=0.0.4")
