"""Console sessions kept on the server: the cookie holds only a random id, the row lives in the
database (server/store/sessions.py), so signing out, a password change or a disable ends it.

ASGI middleware that gives each request `request.session` (a dict: user_id, csrf, flash) and
saves it when the response starts. A session ends after `idle` seconds unused and `max_age`
seconds after it began, whatever its use; the id is replaced whenever the signed-in user or
the CSRF token changes (sign-in, a password change: no fixation), and an id the server did not
make is never adopted. Must not decide who
may sign in nor hold SQL.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.store import sessions

PURGE_EVERY_SECONDS = 600
TOUCH_EVERY_SECONDS = 60  # how stale a session's last use may be in the database


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class ServerSessions:
    def __init__(self, app: ASGIApp, cookie: str, max_age: int, idle: int, https: bool):
        self.app, self.cookie, self.max_age, self.idle = app, cookie, max_age, idle
        self.flags = "; Path=/; HttpOnly; SameSite=lax" + ("; Secure" if https else "")
        self._purged_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        db = scope["app"].state.db
        now = time.time()
        sid = self._cookie_of(scope)
        row = await sessions.load(db, _digest(sid)) if sid else None
        if row is not None and (now - row["created_at"] > self.max_age
                                or now - row["seen_at"] > self.idle):
            await sessions.delete(db, row["id_hash"])
            row = None
        data: dict[str, Any] = json.loads(row["data"]) if row else {}
        if row is not None and row["user_id"] is not None:
            data["user_id"] = row["user_id"]
        scope["session"] = data
        loaded = json.dumps(data, sort_keys=True)

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._save(db, row, data, loaded, time.time())
                if cookie:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _cookie_of(self, scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                try:
                    morsel = SimpleCookie(value.decode("latin-1")).get(self.cookie)
                except CookieError:  # a damaged header is no session, never a 500
                    continue
                if morsel and 20 <= len(morsel.value) <= 100:
                    return morsel.value
        return ""

    async def _save(self, db: Any, row: Any, data: dict[str, Any], loaded: str,
                    now: float) -> str:
        """Write the session if it changed; the Set-Cookie header value to send, if any."""
        user_id = data.get("user_id")
        payload = json.dumps({k: v for k, v in data.items() if k != "user_id"}, sort_keys=True)
        if not data:
            if row is None:
                return ""
            await sessions.delete(db, row["id_hash"])
            return f"{self.cookie}=null; Max-Age=0{self.flags}"
        if row is None or row["user_id"] != user_id or data.get("csrf") != json.loads(
                row["data"]).get("csrf"):
            sid = secrets.token_urlsafe(32)
            await sessions.create(db, _digest(sid), user_id, payload, now,
                                  replaces=row["id_hash"] if row else None)
            await self._purge(db, now)
            return f"{self.cookie}={sid}; Max-Age={self.max_age}{self.flags}"
        if json.dumps(data, sort_keys=True) != loaded or now - row["seen_at"] > TOUCH_EVERY_SECONDS:
            await sessions.save(db, row["id_hash"], payload, now)
        return ""

    async def _purge(self, db: Any, now: float) -> None:
        if now - self._purged_at >= PURGE_EVERY_SECONDS:
            self._purged_at = now
            await sessions.purge(db, now - self.max_age, now - self.idle)
