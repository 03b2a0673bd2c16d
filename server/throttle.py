"""Sign-in throttling: a growing delay per (account, address) and looser budgets per
account and per address that spare the addresses and devices an account signed in from before.

Rule 1: after `per_pair` failures of one account from one address, each further failure doubles
        the wait before the next try there (2 s, 4 s, 8 s … at most `window` seconds).
Rule 2: after `per_account` failures of an account from anywhere within `window`, only addresses
        and devices that signed in to it before may try; likewise after `per_address` failures
        from one address (a station's NAT), only accounts that signed in from it before.
Rule 3: a success clears its pair and marks the address known to the account.
`SignInThrottle` keeps the bookkeeping in memory (one process); `SharedThrottle`, which the
server uses, keeps it in the database so every process counts the same failures. Injectable
clocks: must not read requests nor check passwords.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from server.store import throttle as store

MAX_KEYS = 100_000         # keys remembered per table; the oldest go first beyond it
KNOWN_PER_ACCOUNT = 64     # addresses remembered per account


class SignInThrottle:
    def __init__(self, per_pair: int, per_account: int, per_address: int, window: int,
                 clock: Callable[[], float] = time.monotonic):
        self.per_pair, self.per_account, self.per_address = per_pair, per_account, per_address
        self.window, self.clock = window, clock
        self._pairs: dict[tuple[str, str], tuple[int, float]] = {}  # -> (failures, last at)
        self._accounts: dict[str, deque[float]] = defaultdict(deque)
        self._addresses: dict[str, deque[float]] = defaultdict(deque)
        self._known: dict[str, dict[str, None]] = {}  # account -> addresses, oldest first

    def known(self, account: str, address: str) -> bool:
        return address in self._known.get(account, {})

    def retry_after(self, account: str, address: str, known_device: bool = False) -> int:
        """Seconds until this account may be tried from this address; 0: try now."""
        now, wait = self.clock(), 0.0
        failures, last = self._pairs.get((account, address), (0, 0.0))
        if failures and now - last > self.window:
            del self._pairs[(account, address)]
        elif failures >= self.per_pair:
            delay = min(2.0 ** (failures - self.per_pair + 1), self.window)
            wait = max(wait, last + delay - now)
        if not (known_device or self.known(account, address)):
            for q, budget in ((self._accounts.get(account), self.per_account),
                              (self._addresses.get(address), self.per_address)):
                if q is None:
                    continue
                while q and q[0] <= now - self.window:
                    q.popleft()
                if len(q) >= budget:
                    wait = max(wait, q[-budget] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def fail(self, account: str, address: str) -> None:
        now = self.clock()
        failures, _ = self._pairs.pop((account, address), (0, 0.0))
        self._pairs[(account, address)] = (failures + 1, now)
        self._accounts[account].append(now)
        self._addresses[address].append(now)
        for table in (self._pairs, self._accounts, self._addresses):
            while len(table) > MAX_KEYS:
                del table[next(iter(table))]  # type: ignore[arg-type]

    def succeed(self, account: str, address: str) -> None:
        self._pairs.pop((account, address), None)
        known = self._known.setdefault(account, {})
        known.pop(address, None)
        known[address] = None
        while len(known) > KNOWN_PER_ACCOUNT:
            del known[next(iter(known))]
        while len(self._known) > MAX_KEYS:
            del self._known[next(iter(self._known))]


class SharedThrottle:
    """The same three rules over state in the database (server/store/throttle.py), so every
    server process sees every failure: what several processes on PostgreSQL need, and the
    default on SQLite too. Wall-clock time (`clock`), shared by the processes."""

    def __init__(self, db: Any, per_pair: int, per_account: int, per_address: int,
                 window: int, clock: Callable[[], float] = time.time):
        self.db = db
        self.per_pair, self.per_account, self.per_address = per_pair, per_account, per_address
        self.window, self.clock = window, clock

    async def retry_after(self, account: str, address: str, known_device: bool = False) -> int:
        """Seconds until this account may be tried from this address; 0: try now."""
        now = self.clock()
        s = await self.db.read(lambda c: store.seen(c, account, address, now - self.window,
                                                    self.per_account, self.per_address))
        wait = 0.0
        if s.pair_failures >= self.per_pair:
            delay = min(2.0 ** (s.pair_failures - self.per_pair + 1), self.window)
            wait = max(wait, s.pair_last + delay - now)
        if not (known_device or s.known):
            for nth in (s.account_nth, s.address_nth):
                if nth is not None:
                    wait = max(wait, nth + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    async def fail(self, account: str, address: str) -> None:
        now = self.clock()
        await self.db.write(lambda c: store.fail(c, account, address, now, now - self.window))

    async def succeed(self, account: str, address: str) -> None:
        now = self.clock()
        await self.db.write(lambda c: store.succeed(c, account, address, now))
