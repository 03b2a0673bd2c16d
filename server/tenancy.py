"""Tenancy: one deployment may host several owning services, each with its own stations (and
so premises), users and devices. `grounds` is THE computation of the stations a user works
in (what the console shows, the crew API reads and a device pulls); `service_stations` are
every station of the user's service, so a route can tell "not in your grounds" (403) from
"not your service's" (404, as if it did not exist). Must not hold SQL (server/store/) nor
decide roles or shares (what a partner sees comes through server/partners.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from server.store import stations
from sync.roles import PARTNER


@dataclass(frozen=True)
class Scope:
    """A user's grounds and every station (retired ones too) of their service."""

    grounds: tuple[str, ...]
    service_stations: frozenset[str]


def scope_of(conn: sqlite3.Connection, role: str, station: str | None,
             own: tuple[str, ...], service: int) -> Scope:
    """An admin's grounds are every station of their service in service; anyone else's their
    home station, what it covers and their own extra grounds (`own`), each once, and only
    stations of their service. A partner has none: partners read through shares."""
    rows = stations.of_service(conn, service)
    every = frozenset(rows)
    if role == PARTNER:
        return Scope((), every)
    if role == "admin":
        return Scope(tuple(c for c, s in rows.items() if not s.retired), every)
    home = rows.get(station) if station else None
    extra = home.extra_grounds if home else ()
    wanted = (station, *extra, *own)
    return Scope(tuple(dict.fromkeys(s for s in wanted if s and s in every)), every)
