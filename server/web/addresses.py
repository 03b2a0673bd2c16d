"""The caller's network address: the peer, or what trusted proxies say in X-Forwarded-For.

A proxy listed in WATCHBOOK_TRUSTED_PROXIES (addresses or networks) is believed; the address
used is the right-most one in X-Forwarded-For that is not itself a trusted proxy. Anyone else's
X-Forwarded-For is ignored, so a client cannot pick the address it is throttled under. The
`TrustedProxies` middleware puts that address in the ASGI scope, so sign-in throttling, the
/metrics loopback rule and the request log all see the same one. Must not read settings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Parse addresses and networks ("10.0.0.1", "10.0.0.0/8"); ValueError names a bad one."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"WATCHBOOK_TRUSTED_PROXIES: {entry!r} is not an address or "
                             "network") from None
    return tuple(out)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The address a request came from, given its peer and X-Forwarded-For header."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, trusted):
            return hop
    return peer


class TrustedProxies:
    """ASGI middleware: the client of a request through a trusted proxy is the address that
    proxy forwarded for."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]):
        self.app, self.trusted = app, networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.trusted and client and scope["type"] in ("http", "websocket"):
            forwarded = b",".join(v for k, v in scope.get("headers", [])
                                  if k == b"x-forwarded-for").decode("latin-1")
            if forwarded:
                scope = {**scope, "client": (
                    client_address(client[0], forwarded, self.trusted), client[1])}
        await self.app(scope, receive, send)


def of(request: HTTPConnection) -> str:
    """The caller's address (after TrustedProxies)."""
    return request.client.host if request.client else "unknown"
