"""Authentication and roles: sign-in, password changes and resets, device tokens, CSRF.

Owns who the caller is (`Principal`) and what they may reach (their station grounds, computed
by server/tenancy.py within their owning service).
Passwords are argon2id hashes checked in a bounded pool (server/passwords.py); device tokens,
256-bit random secrets, are stored as SHA-256 and compared in constant time. Secrets are never
logged. Users and devices are read and written through server/store/accounts.py: no SQL here.
Must not decide sync rules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request

from server import clock, tenancy
from server import passwords as policy
from server.errors import ApiError
from server.passwords import Passwords
from server.settings import Settings
from server.store import accounts, events
from server.store.database import Database
from server.throttle import SharedThrottle, SignInThrottle
from sync.roles import EDITORS, PARTNER, ROLES

__all__ = ["Auth", "EDITORS", "Passwords", "Principal", "ROLES", "SignInThrottle", "check_csrf",
           "new_csrf_token", "token_digest"]

SEEN_FLUSH_SECONDS = 30  # how stale a device's stored "last seen" may be


@dataclass(frozen=True)
class Principal:
    """The caller: a user, their role, the station grounds in their scope, and the device."""

    user_id: int
    username: str
    name: str
    role: str
    station: str | None
    grounds: tuple[str, ...]
    device_id: str | None = None
    device_name: str = ""   # the name the device was enrolled with
    must_change_password: bool = False  # an admin reset it: choose a new one before anything
    organisation_id: int = 1  # the owning service (staff) or partner organisation (partners)
    retiring: bool = False  # an admin retired the device: it sends what it holds, then clears
    # every station (retired too) of the caller's owning service (server/tenancy.py)
    service_stations: frozenset[str] = frozenset()

    @property
    def can_edit(self) -> bool:
        return self.role in EDITORS

    def in_scope(self, station: str) -> bool:
        return station in self.grounds

    def in_service(self, station: str) -> bool:
        """Is `station` one of the caller's own service's? Another service's stations, and
        everything under them, do not exist for the caller (404, not 403)."""
        return station in self.service_stations


TOKEN_HASH_PREFIX = "sha256:"


def token_digest(token: str) -> str:
    """How a device token is stored: a 256-bit random secret needs no slow hash to resist
    guessing, and SHA-256 costs a microsecond, so a forged token costs the server nothing."""
    return TOKEN_HASH_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def _unauthorized(message: str = "unknown device token") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _principal(conn: sqlite3.Connection, user: accounts.Row, device_id: str | None,
               device_name: str = "") -> Principal:
    scope = tenancy.scope_of(conn, user["role"], user["station"],
                             tuple(accounts.extra_grounds_of(user)),
                             int(user["organisation_id"]))
    return Principal(user_id=user["id"], username=user["username"], name=user["name"],
                     role=user["role"], station=user["station"], grounds=scope.grounds,
                     device_id=device_id, device_name=device_name,
                     must_change_password=bool(user["must_change_password"]),
                     organisation_id=int(user["organisation_id"]),
                     service_stations=scope.service_stations)


class Auth:
    """Sign-in, password changes, device enrolment and bearer-token checks over the users and
    devices tables."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self.passwords = Passwords(settings)
        self.throttle = SharedThrottle(
            db, settings.signin_max_failures, settings.signin_account_max_failures,
            settings.signin_address_max_failures, settings.signin_window_seconds)
        self._dummy = self.passwords.hash(secrets.token_urlsafe(16))
        self._seen: dict[str, str] = {}  # device id -> last seen, not yet written
        self._seen_flushed_at = 0.0

    def close(self) -> None:
        self.passwords.close()

    async def sign_in(self, username: str, password: str, address: str,
                      device_id: str | None = None) -> Principal:
        """Check a password; raises ApiError 401 (wrong), 403 (disabled) or 429 (throttled).

        `device_id`, a device enrolled before by this user, counts as known to the account
        (server/throttle.py, rule 2), like an address the user signed in from before.
        """
        account = username.lower()
        row = await accounts.user_named(self.db, username)
        known_device = False
        if row and device_id:
            dev = await accounts.device_row(self.db, device_id)
            known_device = bool(dev and dev["user_id"] == row["id"] and not dev["revoked_at"])
        wait = await self.throttle.retry_after(account, address, known_device)
        if wait:
            raise ApiError(429, "throttled", f"too many failed sign-ins; try again in {wait} s",
                           headers={"Retry-After": str(wait)})
        ok = await self.passwords.verify_async(row["password_hash"] if row else self._dummy,
                                               password)
        if not row or not ok:
            await self.throttle.fail(account, address)
            raise ApiError(401, "bad_credentials", "wrong username or password")
        if row["disabled"]:
            raise ApiError(403, "disabled", "this account is disabled")
        await self.throttle.succeed(account, address)
        await events.add(self.db, clock.now("seconds"), "sign_in", row["id"], device_id,
                         f"from {address}")
        if self.passwords.needs_rehash(row["password_hash"]):
            await accounts.set_password_hash(self.db, row["id"],
                                             await self.passwords.hash_async(password))
        return await self.principal_for_user(row["id"])

    async def principal_for_user(self, user_id: int, device_id: str | None = None,
                                 ) -> Principal:
        def load(conn: sqlite3.Connection) -> Principal:
            user = accounts.user(conn, user_id)
            if user is None or user["disabled"]:
                raise ApiError(401, "unauthorized", "this account is no longer active")
            return _principal(conn, user, device_id)
        return await self.db.read(load)

    async def change_password(self, who: Principal, current: str, new: str) -> None:
        """The signed-in user's own change: the current password must be right and the new
        one pass the policy. Every console session of the user ends (the caller starts a new
        one for the person in front of it); devices keep their tokens."""
        row = await accounts.user_named(self.db, who.username)
        if row is None or not await self.passwords.verify_async(row["password_hash"], current):
            raise ApiError(403, "bad_credentials", "the current password is wrong",
                           "current_password")
        if hmac.compare_digest(current.encode(), new.encode()):
            raise ApiError(422, "invalid", "the new password must differ from the current one",
                           "new_password")
        self._check_policy(new, who.username, "new_password")
        await accounts.change_password(self.db, who.user_id,
                                       await self.passwords.hash_async(new), must_change=False)

    async def reset_password(self, username: str, new: str) -> int:
        """An admin's reset: the user must choose a new password at their next sign-in, and
        their console sessions end. Returns the user's id; ApiError 404 if there is none."""
        row = await accounts.user_named(self.db, username)
        if row is None:
            raise ApiError(404, "not_found", f"no user {username!r}", "username")
        self._check_policy(new, username, "password")
        await accounts.change_password(self.db, row["id"], await self.passwords.hash_async(new),
                                       must_change=True)
        return int(row["id"])

    @staticmethod
    def _check_policy(password: str, username: str, field: str) -> None:
        problem = policy.problem(password, username)
        if problem:
            raise ApiError(422, "weak_password", problem, field)

    async def enrol_device(self, principal: Principal, name: str,
                           previous_id: str | None = None) -> tuple[str, str]:
        """Register a device for the user; returns (device id, token). The token is shown once.

        With `previous_id` naming a live device of the same user, that device gets a new token
        and keeps its id (and so its sync sequence); otherwise a new device is enrolled.
        """
        def token_for(device_id: str) -> str:
            return f"wb_{device_id}_{secrets.token_urlsafe(32)}"
        if principal.role == PARTNER:
            raise ApiError(403, "forbidden", "a partner account cannot enrol a device; partners "
                           "read what is shared with them at /console/partner/", "username")
        if previous_id:
            row = await accounts.device_row(self.db, previous_id)
            if row and row["user_id"] == principal.user_id and not row["revoked_at"]:
                token = token_for(previous_id)
                await accounts.set_token_hash(self.db, previous_id, token_digest(token),
                                              clock.now("seconds"))
                await events.add(self.db, clock.now("seconds"), "enrol", principal.user_id,
                                 previous_id, f"{name} (enrolled again, new token)")
                return previous_id, token
        device_id = "d" + secrets.token_hex(8)
        token = token_for(device_id)
        await accounts.add_device(self.db, device_id, principal.user_id, name,
                                  token_digest(token), clock.now("seconds"))
        await events.add(self.db, clock.now("seconds"), "enrol", principal.user_id, device_id,
                         name)
        return device_id, token

    async def authenticate_device(self, request: HTTPConnection,
                                  password_change: bool = False) -> Principal:
        """The principal behind `Authorization: Bearer <token>`, or ApiError 401.

        A revoked device gets 401 with `wipe: true` so the client clears its local data. A
        user whose password an admin reset gets 403 `password_change_required` everywhere
        but where `password_change` allows (who am I, change my password).
        """
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.startswith("wb_") or len(token) > 200:
            raise _unauthorized("sign in: a device token is required")
        device_id = token[3:].split("_", 1)[0]

        def load(conn: sqlite3.Connection) -> tuple[Any, Any, Principal | None]:
            """Device, user and their principal in one hop to the database thread."""
            dev = accounts.device(conn, device_id)
            user = dev and accounts.user(conn, dev["user_id"])
            return dev, user, (_principal(conn, user, device_id, dev["name"])
                               if user and dev else None)
        dev, user, principal = await self.db.read(load)
        if dev is None:
            raise _unauthorized()
        stored: str = dev["token_hash"]
        if stored.startswith(TOKEN_HASH_PREFIX):
            if not hmac.compare_digest(stored.encode(), token_digest(token).encode()):
                raise _unauthorized()
        elif not await self._legacy_token(device_id, stored, token):
            raise _unauthorized()
        if dev["revoked_at"]:
            raise ApiError(401, "device_revoked",
                           "this device was revoked; its local data must be wiped",
                           wipe=bool(dev["wipe"]))
        if user is None or user["disabled"] or principal is None:
            raise ApiError(401, "unauthorized", "this account is disabled")
        if principal.role == PARTNER:
            raise ApiError(403, "forbidden", "a partner account has no device access")
        if principal.must_change_password and not password_change:
            raise ApiError(403, "password_change_required",
                           "an admin reset your password: choose a new one first")
        await self._touch(device_id)
        if dev["wipe"] == accounts.RETIRE_ORDERED:
            return dataclasses.replace(principal, retiring=True)
        return principal

    async def _legacy_token(self, device_id: str, stored: str, token: str) -> bool:
        """A token enrolled before tokens were SHA-256 (an argon2id hash): checked once in
        the bounded pool, then stored as SHA-256 so it never costs argon2 again."""
        if not await self.passwords.verify_async(stored, token):
            return False
        await accounts.upgrade_token_hash(self.db, device_id, stored, token_digest(token))
        return True

    async def _touch(self, device_id: str) -> None:
        """Note when a device was last seen; written in batches (a write per request, or even
        per device, would cost a transaction each in a shift-change burst)."""
        self._seen[device_id] = clock.now("seconds")
        if time.monotonic() - self._seen_flushed_at >= SEEN_FLUSH_SECONDS:
            await self.flush_seen()

    async def flush_seen(self) -> None:
        """Write every pending last-seen time in one transaction (also called at shutdown)."""
        self._seen_flushed_at = time.monotonic()
        pending, self._seen = self._seen, {}
        if pending:
            await accounts.mark_seen(self.db, pending)

    async def revoke_device(self, device_id: str, wipe: bool = True, by: str = "") -> None:
        """Revoke a device (and order its wipe); the audit log names who did it (`by`)."""
        await accounts.revoke(self.db, device_id, wipe, clock.now("seconds"))
        row = await accounts.device_row(self.db, device_id)
        await events.add(self.db, clock.now("seconds"), "revoke",
                         row["user_id"] if row else None, device_id,
                         ("revoked, wipe ordered" if wipe else "revoked")
                         + (f", by {by}" if by else ""))

    async def retire_device(self, device_id: str, by: str = "") -> bool:
        """Order a live device to retire: its pushes are still applied and each sync answer
        carries the order; its token ends when it acknowledges (`device_retired`). False if
        the device is already revoked."""
        done = await accounts.retire(self.db, device_id)
        if done:
            row = await accounts.device_row(self.db, device_id)
            await events.add(self.db, clock.now("seconds"), "retire",
                             row["user_id"] if row else None, device_id,
                             "retire ordered: it sends what it holds, then clears itself"
                             + (f", by {by}" if by else ""))
        return done

    async def device_retired(self, principal: Principal) -> None:
        """The retiring device says its outbox is empty and it is clearing itself: its token
        stops working (revoked with the wipe order, so a copy that failed to clear still
        clears at its next contact)."""
        assert principal.device_id is not None
        await accounts.end_retirement(self.db, principal.device_id, clock.now("seconds"))
        await events.add(self.db, clock.now("seconds"), "retired", principal.user_id,
                         principal.device_id, "retired: sent everything, signed out and cleared")

    async def add_user(self, username: str, name: str, role: str, station: str | None,
                       password: str, check_password: bool = True, *, service: int) -> int:
        """Add a user of an owning service (their home station must be one of its); the
        password must pass the policy unless `check_password` is False (demo accounts, whose
        passwords are printed in demo mode only, and test fixtures)."""
        if role not in ROLES:
            raise ApiError(422, "invalid", f"role must be one of {', '.join(ROLES)}", "role")
        if check_password:
            self._check_policy(password, username, "password")
        try:
            return await accounts.add_user(self.db, username, name, role, station,
                                           await self.passwords.hash_async(password),
                                           clock.now("seconds"), service)
        except accounts.AccountConflict as exc:
            field = exc.field
            raise ApiError(409 if field == "username" else 422, "invalid",
                           f"cannot add user: {field} " + (
                               "is taken" if field == "username" else "is unknown"),
                           field) from None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise ApiError(403, "csrf", "the form is stale or was not sent by this site; reload it")
