"""Response compression: each large response is sent in the best coding the client accepts,
zstd, then br, then gzip (through ISA-L), else identity (server/web/negotiation.py chooses).
Pull pages are the largest responses (about 2 MB of JSON); zstd level 1 sends about 10% of
their raw bytes for about the CPU gzip-1 takes to send 18% (docs/performance.md, "Content codings").

Compresses whole responses sent in one body message; streamed responses, files (attachments),
ranges, and already-encoded or incompressible types pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import brotli
import zstandard
from isal import igzip
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.web.negotiation import IDENTITY, choose

INCOMPRESSIBLE = ("image/", "application/pdf", "application/zip", "font/woff")
# Already coded, a part of a file, or a file (attachments are sent as their stored bytes).
PASSED_HEADERS = ("content-encoding", "content-range", "content-disposition")
OFFERED = ("zstd", "br", "gzip")  # the server's preference, best first
# Levels each coding takes. zstd stops at 19: above it the window outgrows the 8 MB that
# HTTP's zstd coding lets a browser refuse (RFC 9659); negative levels are its fast modes.
LEVELS = {"gzip": (0, 3), "zstd": (-7, 19), "br": (0, 11)}

Coder = Callable[[bytes], bytes]


def coder(coding: str, level: int) -> Coder:
    """A function that codes a whole body in `coding` at `level` (clamped to its range)."""
    low, high = LEVELS[coding]
    level = max(low, min(high, level))
    if coding == "gzip":
        return lambda body: igzip.compress(body, compresslevel=level, mtime=0)
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=level).compress  # one thread: no locking needed
    if coding == "br":
        return lambda body: brotli.compress(body, quality=level, mode=brotli.MODE_TEXT)
    raise ValueError(f"unknown coding {coding!r}")


class Compression:
    def __init__(self, app: ASGIApp, minimum_size: int = 1024, gzip_level: int = 1,
                 zstd_level: int = 1, brotli_level: int = 1):
        self.app, self.minimum_size = app, minimum_size
        self.coders = {"gzip": coder("gzip", gzip_level), "zstd": coder("zstd", zstd_level),
                       "br": coder("br", brotli_level)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = choose(Headers(scope=scope).get("accept-encoding"), OFFERED)
        start: Message | None = None
        passing = False

        async def compressing(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or passing or start is None:
                await send(message)
                return
            body = message.get("body", b"")
            headers = MutableHeaders(raw=start["headers"])
            kind = headers.get("content-type", "")
            if (message.get("more_body") or len(body) < self.minimum_size
                    or kind.startswith(INCOMPRESSIBLE)
                    or any(h in headers for h in PASSED_HEADERS)):
                passing = True  # streamed, small, a file, a range or not worth it: as it comes
                await send(start)
                await send(message)
                return
            headers.add_vary_header("Accept-Encoding")  # identity here may be zstd elsewhere
            if coding != IDENTITY:
                body = self.coders[coding](body)
                headers["content-encoding"] = coding
                headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, compressing)
