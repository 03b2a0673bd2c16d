"""The partner feed: a partner system reads one share with that share's key (`Authorization:
Bearer wbk_…`, made in the console, stored hashed, revocable): GET /api/partner/feed, the
share's changes cursor-paged as the pull protocol has them (records, tombstones, records
leaving the share), and GET /api/partner/feed.geojson, the whole share as GeoJSON. The key
and share are checked on every request; every page is audited (server/partners.py).
Must not hold SQL or the field rule.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import partners
from server.api.openapi import operation
from server.errors import ApiError

_KEY: dict[str, Any] = {"security": [{"shareKey": []}]}
_QUERY = [{"name": "cursor", "schema": {"type": "string", "maxLength": 18},
           "description": "The `cursor` of the previous page; leave out to start"},
          {"name": "limit", "schema": {"type": "integer", "minimum": 1,
                                       "maximum": partners.FEED_PAGE_MAX},
           "description": f"Records to a page (default 500, at most {partners.FEED_PAGE_MAX})"}]


class KeyRate:
    """At most `per_minute` requests per key in each clock minute (`now` in seconds is passed
    in); returns the seconds to wait, 0 when the request may go ahead."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.window = -1
        self.counts: dict[int, int] = {}

    def wait(self, key_id: int, now: float) -> int:
        if self.per_minute <= 0:
            return 0
        window = int(now // 60)
        if window != self.window:
            self.window, self.counts = window, {}
        self.counts[key_id] = self.counts.get(key_id, 0) + 1
        if self.counts[key_id] > self.per_minute:
            return max(1, 60 * (window + 1) - int(now))
        return 0


async def _share(request: Request) -> tuple[Any, int]:
    """The live share behind the key, once the key is within its rate (429 beyond it)."""
    db = request.app.state.db
    share, key_id = await partners.share_for_key(db, request.headers.get("authorization", ""))
    rate = getattr(request.app.state, "partner_feed_rate", None)
    if rate is None:
        rate = request.app.state.partner_feed_rate = KeyRate(
            request.app.state.settings.partner_feed_per_minute)
    wait = rate.wait(key_id, time.time())
    if wait:
        raise ApiError(429, "throttled", f"too many feed requests with this key; try again in "
                       f"{wait} s", headers={"Retry-After": str(wait)})
    return share, key_id


def _json(body: object, media_type: str = "application/json") -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type=media_type,
                    headers={"Cache-Control": "no-store"})


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "500")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise ApiError(422, "invalid", f"limit must be a whole number 1 to "
                       f"{partners.FEED_PAGE_MAX}", "limit")
    return int(raw)


@operation("A share's changes for a partner system (a share's feed key)", response=dict,
           roles=(), query=_QUERY, overrides=_KEY)
async def feed(request: Request) -> Response:
    db = request.app.state.db
    share, key_id = await _share(request)
    page = await partners.feed_page(db, share, key_id, request.query_params.get("cursor", ""),
                                    _limit(request))
    return _json(page)


@operation("A share's records as GeoJSON (a share's feed key)", response=dict, roles=(),
           overrides=_KEY)
async def feed_geojson(request: Request) -> Response:
    db = request.app.state.db
    share, key_id = await _share(request)
    return _json(await partners.geojson(db, share, key_id), "application/geo+json")


routes = [
    Route("/partner/feed", feed),
    Route("/partner/feed.geojson", feed_geojson),
]
