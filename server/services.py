"""Owning services over their life: a deployment operator adds another owning service with
its first admin (a regional deployment hosting several fire services), an admin renames
their own, and the command line finds a service by name (the only one when there is just
one). Shared by the console and the command line. Must not hold SQL
(server/store/organisations.py) nor decide what a service's users see (server/tenancy.py).
"""

from __future__ import annotations

from typing import Any

from server import clock
from server import passwords as policy
from server.auth import Auth
from server.errors import ApiError
from server.store import organisations
from server.store.database import Database

NAME_MAX = 200


def _invalid(field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, "invalid", message, field)


def _name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise _invalid("name", "Enter the service's name")
    if len(name) > NAME_MAX:
        raise _invalid("name", f"The name must be at most {NAME_MAX} characters")
    return name


async def add(auth: Auth, name: str, username: str, full_name: str, password: str) -> int:
    """A new owning service with its first admin (no stations yet: the admin adds them);
    returns its id. ApiError naming the field for a bad or taken name, username or password."""
    name, username, full_name = _name(name), username.strip(), full_name.strip()
    if not username or len(username) > 64:
        raise _invalid("admin", "The admin needs a username of 1 to 64 characters")
    if not full_name or len(full_name) > 200:
        raise _invalid("admin_name", "Enter the admin's full name (up to 200 characters)")
    problem = policy.problem(password, username)
    if problem:
        raise ApiError(422, "weak_password", problem, "password")
    try:
        return await organisations.add_owner(auth.db, name, clock.now("seconds"), username,
                                             full_name, await auth.passwords.hash_async(password))
    except organisations.NameTaken as exc:
        if str(exc) == username:
            raise _invalid("admin", f"The username {username!r} is taken", 409) from None
        raise _invalid("name", f"There is an organisation named {name!r} already",
                       409) from None


async def rename(db: Database, service: int, name: str) -> str:
    """Rename an owning service; returns the name as stored."""
    name = _name(name)
    found = await organisations.get(db, service)
    if found is None or found["kind"] != organisations.OWNER:
        raise ApiError(404, "not_found", "There is no such service.", "service")
    try:
        await organisations.rename(db, service, name)
    except organisations.NameTaken:
        raise _invalid("name", f"There is an organisation named {name!r} already",
                       409) from None
    return name


async def listing(db: Database) -> list[dict[str, Any]]:
    return await organisations.owners(db)


async def named(db: Database, name: str | None) -> dict[str, Any]:
    """The owning service called `name` (any case); with no name, the only one, else an
    ApiError asking for --service."""
    if name:
        found = await organisations.named(db, name)
        if found is None or found["kind"] != organisations.OWNER:
            raise _invalid("service", f"There is no owning service {name!r} "
                           "(`watchbook service list`)")
        return found
    every = await organisations.owners(db)
    if len(every) != 1:
        raise _invalid("service", "This deployment hosts several owning services: say which "
                       "with --service NAME (`watchbook service list`)")
    return every[0]
