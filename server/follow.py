"""Federation: this server follows another Watchbook server's partner feed (a share's feed
key, `watchbook follow URL --key-file F`), page by page from the cursor it keeps, storing the
records as served and dropping those the feed names deleted or leaving; an ended share (410)
or a revoked key (401) drops every record it gave. Its devices then hold them read-only
(server/crossborder.py). The HTTP client is handed in (tests: an ASGI transport to the
leader's app). Must not hold SQL (server/store/follows.py) nor decide what devices see.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from server import clock
from server.errors import ApiError
from server.store import follows
from server.store.database import Database

FEED_PATH = "/api/partner/feed"
PAGE = 500
MAX_PAGES = 10_000  # a run stops here at the latest; the next run goes on from the cursor


class FollowError(Exception):
    """A run that could not read the feed (network, the leader's error): what is held stays."""


@dataclass
class Outcome:
    stored: int = 0
    dropped: int = 0
    pages: int = 0
    ended: bool = False   # the share ended or the key stopped: every record was dropped
    message: str = ""


def feed_url(url: str) -> str:
    """The leader's feed, from its address or the feed's own (https://…/api/partner/feed)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(422, "invalid", f"{url!r} is not the address of a Watchbook server "
                       "(https://…)", "url")
    base = url.split("?", 1)[0].rstrip("/")
    return base if base.endswith(FEED_PATH) else base + FEED_PATH


def read_key(text: str) -> str:
    key = text.strip()
    if not key.startswith("wbk_") or len(key) > 200 or any(c.isspace() for c in key):
        raise ApiError(422, "invalid", "the key file must hold one share feed key (wbk_…), as "
                       "the owning service's console showed it", "key_file")
    return key


async def follow_once(db: Database, client: httpx.AsyncClient, url: str, key: str,
                      organisation_id: int = 1, name: str = "") -> Outcome:
    """One run: every page after the stored cursor. `name` (if given) is the owning
    service's name shown on devices; otherwise the feed's own."""
    target = feed_url(url)
    row = await follows.get_or_add(db, target, organisation_id, clock.now("seconds"))
    if int(row["organisation_id"]) != organisation_id:  # one feed, one receiving service
        raise ApiError(409, "invalid", f"{target} is followed for another owning service "
                       "of this deployment already (`watchbook follow --list`)", "service")
    follow_id, cursor = int(row["id"]), str(row["cursor"])
    out = Outcome()
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    while out.pages < MAX_PAGES:
        try:
            got = await client.get(target, params={"cursor": cursor, "limit": PAGE},
                                   headers=headers, timeout=60)
        except httpx.HTTPError as exc:
            return await _failed(db, follow_id, f"could not reach {target}: {exc}")
        if got.status_code in (401, 410):
            return await _ended(db, follow_id, out, got)
        if got.status_code != 200:
            return await _failed(db, follow_id, f"{target} answered {got.status_code}: "
                                 f"{_message(got)}")
        try:
            page: dict[str, Any] = got.json()
            served = [r for r in page["records"] if isinstance(r, dict) and "id" in r]
            gone = [str(x) for x in (*page.get("deleted", []), *page.get("left", []))]
            cursor = str(page["cursor"])
        except (ValueError, KeyError, TypeError):
            return await _failed(db, follow_id, f"{target} did not answer with a feed page")
        service = name or str(page.get("service") or "")
        now = clock.now("seconds")
        stored, dropped = await db.write(functools.partial(
            _store, follow_id=follow_id, served=served, ages=page.get("ages") or {}, gone=gone,
            cursor=cursor, service=service, now=now))
        out.stored += stored
        out.dropped += dropped
        out.pages += 1
        if not page.get("more"):
            break
    return out


def _store(conn: Any, follow_id: int, served: list[dict[str, Any]], ages: dict[str, Any],
           gone: list[str], cursor: str, service: str, now: str) -> tuple[int, int]:
    """A page and the cursor after it, in one transaction."""
    done = follows.apply_page(conn, follow_id, served, ages, gone, now)
    follows.set_state(conn, follow_id, cursor=cursor, service=service or None, now=now)
    return done


async def _ended(db: Database, follow_id: int, out: Outcome, got: httpx.Response) -> Outcome:
    why = ("the share has ended or expired" if got.status_code == 410
           else "the feed key was refused (revoked or unknown)")
    now = clock.now("seconds")

    def go(conn: Any) -> int:
        dropped = follows.drop_all(conn, follow_id, now)
        follows.set_state(conn, follow_id, cursor="", service=None, now=now,
                          error=f"{why}: {_message(got)}")
        return dropped
    out.dropped += await db.write(go)
    out.ended, out.message = True, why
    return out


async def _failed(db: Database, follow_id: int, message: str) -> Outcome:
    now = clock.now("seconds")
    await db.write(lambda c: follows.set_state(c, follow_id, cursor=None, service=None,
                                               now=now, error=message[:500]))
    raise FollowError(message)


def _message(got: httpx.Response) -> str:
    try:
        return str(got.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return got.text[:200]
