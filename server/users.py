"""Users over their life: change role, home station and extra grounds; disable and enable.

Shared by the command line and the console. A change is read fresh by every request, so a
user's devices see new grounds at their next sync; disabling revokes the user's devices with
the wipe order (the same order `device revoke` gives). Adding users and passwords belong to
server/auth.py; SQL to server/store/accounts.py. Bad input raises ApiError naming the field.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from server import clock
from server.errors import ApiError
from server.grounds import check_codes, invalid, parse_codes
from server.store import accounts, organisations
from server.store.database import Database
from sync.roles import ROLES


async def find(db: Database, username: str, service: int | None = None) -> accounts.Row:
    """The user named; 404 if there is none, or (with `service`) not that service's."""
    row = await accounts.user_named(db, username)
    if row is None or (service is not None and row["organisation_id"] != service):
        raise ApiError(404, "not_found", f"no user {username!r}", "username")
    return row


async def edit(db: Database, user_id: int, *, name: str | None = None,
               role: str | None = None, station: str | None = None,
               extra: Iterable[str] | None = None, service: int | None = None
               ) -> dict[str, Any]:
    """Change what is given (None: keep it; station "" clears it, for an admin). A crew or
    supervisor needs a home station in service; extra grounds must be stations in service,
    both of the user's own owning service (another's read as unknown). With `service`, a
    user of another service is a 404. Returns the profile as stored."""
    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        row = accounts.user(conn, user_id)
        if row is None or (service is not None and service not in (
                row["organisation_id"], organisations.owner_of(conn, row["organisation_id"]))):
            raise ApiError(404, "not_found", "there is no such user", "username")
        partner_user = organisations.owner_of(conn, row["organisation_id"]) is not None
        if partner_user and role is not None and role != row["role"]:
            raise invalid("role", f"a partner organisation's user keeps the {row['role']} "
                          "role, with no station or grounds (Sharing, in the console)")
        if partner_user and (station or extra):
            raise invalid("station" if station else "grounds",
                          "a partner organisation's user has no station or grounds of this "
                          "service: they see only what is shared with their organisation")
        if partner_user:  # the name only
            name_only = (row["name"] if name is None else name.strip())
            if not name_only or len(name_only) > 200:
                raise invalid("name", "enter the person's name (up to 200 characters)")
            accounts.set_profile(conn, user_id, name_only, row["role"], None, [])
            return {"name": name_only, "role": row["role"], "station": None, "extra": []}
        new: dict[str, Any] = {"name": row["name"] if name is None else name.strip(),
               "role": row["role"] if role is None else role,
               "station": row["station"] if station is None else (station.strip().upper()
                                                                 or None),
               "extra": accounts.extra_grounds_of(row) if extra is None
               else parse_codes(extra)}
        if not new["name"] or len(new["name"]) > 200:
            raise invalid("name", "enter the person's name (up to 200 characters)")
        if new["role"] not in ROLES:
            raise invalid("role", f"role must be one of {', '.join(ROLES)}")
        if new["role"] != "admin" and not new["station"]:
            raise invalid("station", f"a {new['role']} needs a home station")
        if station is not None and new["station"]:
            check_codes(conn, [new["station"]], "station", row["organisation_id"])
        new["extra"] = [s for s in new["extra"] if s != new["station"]]
        if extra is not None:
            check_codes(conn, new["extra"], "grounds", row["organisation_id"])
        accounts.set_profile(conn, user_id, new["name"], new["role"], new["station"],
                             new["extra"])
        return new
    return await db.write(run)


async def disable(db: Database, user_id: int) -> int:
    """Disable a user; their live devices are revoked with the wipe order, which each gets at
    its next contact. Returns how many devices that is."""
    return await accounts.set_disabled(db, user_id, True, clock.now("seconds"))


async def enable(db: Database, user_id: int) -> None:
    """Let a user sign in again; devices revoked when they were disabled stay revoked (they
    wiped their data), so the user enrols again on first sign-in."""
    await accounts.set_disabled(db, user_id, False, clock.now("seconds"))
