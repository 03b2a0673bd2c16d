"""The caller's network address: the peer, or what trusted proxies say in X-Forwarded-For.

A proxy listed in WATCHBOOK_TRUSTED_PROXIES (addresses or networks) is believed; the address
used is the right-most one in X-Forwarded-For that is not itself a trusted proxy. Anyone else's
X-Forwarded-For is ignored, so a client cannot pick the address it is throttled under.
Pure: must not read settings or requests beyond what it is given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection

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


def of(request: HTTPConnection) -> str:
    """The caller's address under the app's trusted proxies."""
    peer = request.client.host if request.client else "unknown"
    trusted: tuple[Network, ...] = getattr(request.app.state, "trusted_proxies", ())
    return client_address(peer, request.headers.get("x-forwarded-for", ""), trusted)
