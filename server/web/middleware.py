"""ASGI middleware: security headers (and a default Cache-Control) on every response and a
request body size limit.

Owns nothing else: no auth, no logging of bodies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_body

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=()"),
]

# A response that says nothing of caching is kept by no cache (API JSON, pull pages and console
# pages carry key box and entry codes); static files are revalidated. Responses that set their
# own (immutable blobs, the app shell's no-cache) keep theirs.
NO_STORE = b"no-store"
REVALIDATE = b"no-cache"
REVALIDATE_PREFIXES = ("/console/static/",)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False):
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False
        path = scope.get("path", "")
        cache = REVALIDATE if path.startswith(REVALIDATE_PREFIXES) else NO_STORE

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.headers if k not in present]
                if b"cache-control" not in present:
                    message["headers"].append((b"cache-control", cache))
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            # Answer an unexpected error here, inside the headers, with no detail; re-raise so
            # the server still logs the traceback (Starlette's own 500 would come out bare).
            if not started:
                body = error_body("internal", "something went wrong on the server; quote the "
                                              "X-Request-Id header when reporting it")
                await with_headers({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]})
                await with_headers({"type": "http.response.body", "body": body})
            raise


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413 before the handler reads them all.

    `paths` gives some paths (a regex matched at the start) their own limit, or None to leave
    the limit to the route (attachment uploads, which say what their limit is)."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 paths: Sequence[tuple[str, int | None]] = ()):
        self.app, self.max_bytes = app, max_bytes
        self.paths = [(re.compile(p), limit) for p, limit in paths]

    def _limit(self, path: str) -> int | None:
        for pattern, limit in self.paths:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(send, limit)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except _TooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = error_body("too_large", f"request body is over the limit of {limit} bytes")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
