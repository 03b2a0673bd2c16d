"""Authentication and roles: passwords, device tokens, console sessions, CSRF, throttling.

Owns who the caller is (`Principal`) and what they may reach (their station grounds).
Secrets are hashed with argon2id and never logged. Must not decide sync rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import HTTPConnection, Request

from server import clock
from server.errors import ApiError
from server.settings import Settings
from server.store.database import Database
from sync.roles import EDITORS, ROLES

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

    @property
    def can_edit(self) -> bool:
        return self.role in EDITORS

    def in_scope(self, station: str) -> bool:
        return station in self.grounds


class Passwords:
    """argon2id hashing with parameters from settings; rehash when they change."""

    def __init__(self, settings: Settings):
        self.hasher = PasswordHasher(time_cost=settings.argon2_time_cost,
                                     memory_cost=settings.argon2_memory_cost,
                                     parallelism=settings.argon2_parallelism)

    def hash(self, secret: str) -> str:
        return self.hasher.hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        try:
            return self.hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


class Throttle:
    """Sign-in failures per key (account, address) in a sliding window, in memory."""

    def __init__(self, max_failures: int, window_seconds: int):
        self.max_failures, self.window = max_failures, window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, *keys: str) -> int:
        """Seconds until a blocked key may try again; 0 if none is blocked."""
        now, wait = time.monotonic(), 0
        for key in keys:
            q = self._failures.get(key)
            if not q:
                continue
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.max_failures:
                wait = max(wait, int(q[0] + self.window - now) + 1)
        return wait

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures[key].append(now)

    def succeed(self, key: str) -> None:
        self._failures.pop(key, None)


def _grounds(conn: sqlite3.Connection, role: str, station: str | None) -> tuple[str, ...]:
    if role == "admin":
        return tuple(r[0] for r in conn.execute("SELECT code FROM stations ORDER BY code"))
    if not station:
        return ()
    row = conn.execute("SELECT extra_grounds FROM stations WHERE code = ?", (station,)).fetchone()
    extra = json.loads(row[0]) if row else []
    return (station, *[s for s in extra if s != station])


def _principal(conn: sqlite3.Connection, user: sqlite3.Row, device_id: str | None) -> Principal:
    return Principal(user_id=user["id"], username=user["username"], name=user["name"],
                     role=user["role"], station=user["station"],
                     grounds=_grounds(conn, user["role"], user["station"]), device_id=device_id)


class Auth:
    """Sign-in, device enrolment and bearer-token checks over the users and devices tables."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self.passwords = Passwords(settings)
        self.throttle = Throttle(settings.signin_max_failures, settings.signin_window_seconds)
        self._verified: dict[str, str] = {}  # device id -> sha256 of a token argon2 accepted
        self._dummy = self.passwords.hash(secrets.token_urlsafe(16))
        self._seen: dict[str, str] = {}  # device id -> last seen, not yet written
        self._seen_flushed_at = 0.0

    async def sign_in(self, username: str, password: str, address: str) -> Principal:
        """Check a password; raises ApiError 401 (wrong), 403 (disabled) or 429 (throttled)."""
        keys = ("user:" + username.lower(), "addr:" + address)
        wait = self.throttle.retry_after(*keys)
        if wait:
            raise ApiError(429, "throttled", f"too many failed sign-ins; try again in {wait} s",
                           headers={"Retry-After": str(wait)})
        row = (await self.db.execute("SELECT * FROM users WHERE username = ?",
                                     (username,))).first()
        ok = self.passwords.verify(row["password_hash"] if row else self._dummy, password)
        if not row or not ok:
            self.throttle.fail(*keys)
            raise ApiError(401, "bad_credentials", "wrong username or password")
        if row["disabled"]:
            raise ApiError(403, "disabled", "this account is disabled")
        self.throttle.succeed(keys[0])
        if self.passwords.needs_rehash(row["password_hash"]):
            await self.db.execute_write("UPDATE users SET password_hash = ? WHERE id = ?",
                                        (self.passwords.hash(password), row["id"]))
        return await self.principal_for_user(row["id"])

    async def principal_for_user(self, user_id: int, device_id: str | None = None,
                                 ) -> Principal:
        def load(conn: sqlite3.Connection) -> Principal:
            user = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
            if user is None or user["disabled"]:
                raise ApiError(401, "unauthorized", "this account is no longer active")
            return _principal(conn, user, device_id)
        return await self.db.read(load)

    async def enrol_device(self, principal: Principal, name: str,
                           previous_id: str | None = None) -> tuple[str, str]:
        """Register a device for the user; returns (device id, token). The token is shown once.

        With `previous_id` naming a live device of the same user, that device gets a new token
        and keeps its id (and so its sync sequence); otherwise a new device is enrolled.
        """
        def token_for(device_id: str) -> str:
            return f"wb_{device_id}_{secrets.token_urlsafe(32)}"
        if previous_id:
            row = (await self.db.execute(
                "SELECT user_id, revoked_at FROM devices WHERE id = ?", (previous_id,))).first()
            if row and row["user_id"] == principal.user_id and not row["revoked_at"]:
                token = token_for(previous_id)
                await self.db.execute_write(
                    "UPDATE devices SET token_hash = ?, last_seen = ? WHERE id = ?",
                    (self.passwords.hash(token), clock.now("seconds"), previous_id))
                self._verified.pop(previous_id, None)
                return previous_id, token
        device_id = "d" + secrets.token_hex(8)
        token = token_for(device_id)
        await self.db.execute_write(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (device_id, principal.user_id, name, self.passwords.hash(token), clock.now("seconds"),
             clock.now("seconds")))
        return device_id, token

    async def authenticate_device(self, request: HTTPConnection) -> Principal:
        """The principal behind `Authorization: Bearer <token>`, or ApiError 401.

        A revoked device gets 401 with `wipe: true` so the client clears its local data.
        """
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.startswith("wb_"):
            raise ApiError(401, "unauthorized", "sign in: a device token is required",
                           headers={"WWW-Authenticate": "Bearer"})
        device_id = token[3:].split("_", 1)[0]

        def load(conn: sqlite3.Connection) -> tuple[Any, Any, Principal | None]:
            """Device, user and their principal in one hop to the database thread."""
            dev = conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
            user = dev and conn.execute("SELECT * FROM users WHERE id = ?",
                                        (dev["user_id"],)).fetchone()
            return dev, user, _principal(conn, user, device_id) if user else None
        dev, user, principal = await self.db.read(load)
        if dev is None:
            raise ApiError(401, "unauthorized", "unknown device token",
                           headers={"WWW-Authenticate": "Bearer"})
        digest = hashlib.sha256(token.encode()).hexdigest()
        known = self._verified.get(device_id)
        if not (known and hmac.compare_digest(known, digest)):
            if not self.passwords.verify(dev["token_hash"], token):
                raise ApiError(401, "unauthorized", "unknown device token",
                               headers={"WWW-Authenticate": "Bearer"})
            self._verified[device_id] = digest
        if dev["revoked_at"]:
            raise ApiError(401, "device_revoked",
                           "this device was revoked; its local data must be wiped",
                           wipe=bool(dev["wipe"]))
        if user is None or user["disabled"] or principal is None:
            raise ApiError(401, "unauthorized", "this account is disabled")
        await self._touch(device_id)
        return principal

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
            await self.db.executemany("UPDATE devices SET last_seen = ? WHERE id = ?",
                                      [(at, device) for device, at in pending.items()])

    async def revoke_device(self, device_id: str, wipe: bool = True) -> None:
        await self.db.execute_write(
            "UPDATE devices SET revoked_at = ?, wipe = ? WHERE id = ? AND revoked_at IS NULL",
            (clock.now("seconds"), 1 if wipe else 0, device_id))
        self._verified.pop(device_id, None)

    async def add_user(self, username: str, name: str, role: str, station: str | None,
                       password: str) -> int:
        if role not in ROLES:
            raise ApiError(422, "invalid", f"role must be one of {', '.join(ROLES)}", "role")
        try:
            return await self.db.execute_write(
                "INSERT INTO users (username, name, role, station, password_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (username, name, role, station, self.passwords.hash(password), clock.now("seconds")))
        except sqlite3.IntegrityError as exc:
            field = "username" if "UNIQUE" in str(exc) else "station"
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
