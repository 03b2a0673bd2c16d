"""The portal's limits per network address, over and above each link's own rate: a budget of
requests of any kind, and a small one of unknown-token answers (a stranger trying tokens), each
within a sliding window. Counted in the database (server/store/throttle.py, the sign-in
throttle's table), so every server process counts the same requests. Wall-clock time.
Must not read requests nor know links; the portal (server/console/portal.py) asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from server.store import throttle as store

REQUEST, UNKNOWN = "portal:request", "portal:unknown-link"


class PortalThrottle:
    def __init__(self, db: Any, per_address: int, unknown_per_address: int, window: int,
                 clock: Callable[[], float] = time.time):
        self.db, self.window, self.clock = db, window, clock
        self.budgets = ((REQUEST, per_address), (UNKNOWN, unknown_per_address))  # 0: none

    async def admit(self, address: str) -> int:
        """Seconds this address must wait (0: go on, and the request is counted). A refused
        request is not counted, so waiting the time given is enough."""
        now, key = self.clock(), _key(address)
        since = now - self.window

        def run(conn: Any) -> float:
            wait = 0.0
            for account, budget in self.budgets:
                nth = store.nth_latest(conn, account, key, since, budget) if budget else None
                if nth is not None:
                    wait = max(wait, nth + self.window - now)
            if wait <= 0 and self.budgets[0][1]:
                store.note(conn, REQUEST, key, now, since)
            return wait
        wait = await self.db.write(run)
        return int(wait) + 1 if wait > 0 else 0

    async def unknown_link(self, address: str) -> None:
        """A token that opens no link was tried from this address."""
        if self.budgets[1][1]:
            now = self.clock()
            await self.db.write(lambda c: store.note(c, UNKNOWN, _key(address), now,
                                                     now - self.window))


def _key(address: str) -> str:
    return f"portal {address}"  # never a sign-in address, so sign-in budgets never count it
