"""An aiohttp transport for the reference client (sync/client.py): `(method, path, headers,
body) -> (status, headers, body)` over one shared keep-alive session, recording each request's
latency and status.
"""

from __future__ import annotations

import time

import aiohttp

from sync.client import TransportError


class AiohttpTransport:
    def __init__(self, http: aiohttp.ClientSession, base: str):
        self.http, self.base = http, base
        self.latencies: list[float] = []   # seconds, every request, retries included
        self.statuses: dict[int, int] = {}

    async def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes
                       ) -> tuple[int, dict[str, str], bytes]:
        t0 = time.perf_counter()
        try:
            async with self.http.request(method, self.base + path, headers=headers,
                                         data=body or None) as resp:
                data = await resp.read()
                status, out = resp.status, dict(resp.headers)
        except aiohttp.ClientError as exc:
            raise TransportError(str(exc)) from exc
        self.latencies.append(time.perf_counter() - t0)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, out, data
