"""Stations and their grounds: add, edit, retire, shared by the command line and the console.

A station's grounds are its own premises plus the extra grounds it covers (other stations'
codes). A station is never deleted: it is retired, its premises moved to another station
through the one writer (sync/writer.py), so devices see them leave and arrive at their next
pull. Bad input raises ApiError naming the field. SQL lives in server/store/; no HTTP here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from server.errors import ApiError
from server.store import accounts, stations
from server.store.database import Database
from server.store.sync import run_tx
from sync import writer
from sync.store import Tx

CODE = re.compile(r"^[A-Z0-9]{1,16}$")
RETIRE_KIND = "station_retired"  # the audit kind of a record moved off a retired station


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def invalid(field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, "invalid", message, field)


def parse_codes(raw: str | Iterable[str]) -> list[str]:
    """Station codes from "A01, B02" (or a list), upper-cased, each once, in order."""
    parts = re.split(r"[\s,]+", raw) if isinstance(raw, str) else list(raw)
    return list(dict.fromkeys(p.strip().upper() for p in parts if p.strip()))


def check_codes(conn: sqlite3.Connection, codes: Iterable[str], field: str,
                service: int) -> None:
    """Every code names a station of the owning service, in service, or ApiError 422 on
    `field` (another service's station reads as no station at all)."""
    live = set(stations.codes(conn, service))
    unknown = [c for c in codes if c not in live]
    if unknown:
        raise invalid(field, f"no station in service with code {', '.join(unknown)}")


def check_not_retired(conn: sqlite3.Connection, code: str, field: str, service: int) -> None:
    """ApiError 422 on `field` if `code` names a retired station of the service (it takes
    nobody and nothing new); an unknown code, or another service's, is left for the caller
    to report."""
    found = stations.get(conn, code)
    if found is not None and found["retired_at"] and stations.service_of(conn, code) == service:
        raise invalid(field, f"station {code} was retired on {found['retired_at']}")


def position(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """Both or neither, each in range; else ApiError naming the field."""
    if (lat is None) != (lon is None):
        raise invalid("lat" if lat is None else "lon", "give both latitude and longitude, "
                      "or neither")
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if value is not None and not (math.isfinite(value) and -limit <= value <= limit):
            raise invalid(name, f"{'latitude' if name == 'lat' else 'longitude'} must be "
                          f"between -{limit:g} and {limit:g}")
    return lat, lon


def _details(conn: sqlite3.Connection, code: str, name: str, lat: float | None,
             lon: float | None, extra: Iterable[str], service: int) -> list[str]:
    name = name.strip()
    if not name:
        raise invalid("name", "enter the station's name")
    if len(name) > 200:
        raise invalid("name", "the name is longer than 200 characters")
    position(lat, lon)
    covered = [c for c in parse_codes(extra) if c != code]
    check_codes(conn, covered, "grounds", service)
    return covered


async def add(db: Database, code: str, name: str, lat: float | None = None,
              lon: float | None = None, extra: Iterable[str] = (), *, service: int) -> str:
    """Add a station to an owning service; returns its code (upper-cased). Codes are
    unique across the whole deployment, so a code another service holds is taken."""
    code = code.strip().upper()
    if not CODE.match(code):
        raise invalid("code", "a station code is 1 to 16 letters or digits, such as WIS or A01")

    def run(conn: sqlite3.Connection) -> str:
        covered = _details(conn, code, name, lat, lon, extra, service)
        if not stations.add(conn, code, name.strip(), lat, lon, covered, service):
            raise invalid("code", f"station code {code} is taken", 409)
        return code
    return await db.write(run)


async def edit(db: Database, code: str, *, name: str | None = None,
               lat: float | None = None, lon: float | None = None, clear_position: bool = False,
               extra: Iterable[str] | None = None, service: int | None = None
               ) -> dict[str, Any]:
    """Change a station's name, position or extra grounds (None: keep as it is); devices of
    its grounds see the new scope at their next pull. Extra grounds are stations of the
    station's own service. With `service`, a station of another service is a 404. Returns
    the station as stored."""
    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        now = _live(conn, code, "code", service)
        new_lat, new_lon = (None, None) if clear_position else (
            (lat, lon) if lat is not None or lon is not None else (now["lat"], now["lon"]))
        covered = _details(conn, code, now["name"] if name is None else name, new_lat,
                           new_lon, now["extra_grounds"] if extra is None else extra,
                           now["service"])
        stations.update(conn, code, (now["name"] if name is None else name).strip(),
                        new_lat, new_lon, covered)
        return stations.get(conn, code) or {}
    return await db.write(run)


def _live(conn: sqlite3.Connection, code: str, field: str,
          service: int | None = None) -> dict[str, Any]:
    """The station in service with its owning service (`service` key); 404 if there is none,
    or it is not `service`'s (when given)."""
    found = stations.get(conn, code)
    owner = stations.service_of(conn, code)
    if found is None or (service is not None and owner != service):
        raise ApiError(404, "not_found", f"no station {code}", field)
    found["service"] = owner
    if found["retired_at"]:
        raise invalid(field, f"station {code} was retired on {found['retired_at']}", 409)
    return found


async def retire(db: Database, code: str, move_to: str | None, by: str,
                 intervals: dict[int, int] | None = None, service: int | None = None) -> int:
    """Retire a station: its premises (tombstones too) move to `move_to`, a station of the
    same service, through the one writer; it leaves every extra-grounds list, and it takes
    no new premises. Refused while users are based there. With `service`, a station of
    another service is a 404. Returns how many records moved."""
    move_to = (move_to or "").strip().upper() or None

    def run(conn: sqlite3.Connection) -> int:
        owner = _live(conn, code, "code", service)["service"]
        based = accounts.based_at(conn, code)
        if based:
            raise invalid("code", f"{len(based)} user(s) are based at {code} "
                          f"({', '.join(based[:10])}): give them another home station first",
                          409)
        ids = stations.premises_ids(conn, code)
        if ids and not move_to:
            raise invalid("move_to", f"{code} holds {len(ids)} premises: choose the station "
                          "they move to", 409)
        if ids and move_to:
            if move_to == code:
                raise invalid("move_to", "choose another station to move the premises to")
            _live(conn, move_to, "move_to", owner)
            stamp = writer.Stamp(kind=RETIRE_KIND, user=by, now=_now())

            def move(tx: Tx) -> None:
                for pid in ids:
                    doc = tx.premises(pid)
                    if doc is not None:
                        writer.write(tx, stamp, doc, {"station": move_to}, intervals)
            run_tx(conn, move)
        stations.retire(conn, code, _now())
        accounts.drop_ground(conn, code)
        return len(ids)
    return await db.write(run)
