"""Sign-in throttling's state in the database (migration 16): failed sign-ins by account and
address, and the addresses each account signed in from before, so every server process (several
on PostgreSQL) counts the same failures. Owns the SQL only; the rules are server/throttle.py's
(`SharedThrottle`). Times are UNIX seconds; rows older than the window are forgotten.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

KNOWN_PER_ACCOUNT = 64     # addresses remembered per account


@dataclass(frozen=True)
class Seen:
    """What the rules need to know of one (account, address) at `now`."""
    pair_failures: int            # failures of this pair within the window
    pair_last: float              # the latest of them (0: none)
    account_nth: float | None     # the budget-th latest failure of the account, if so many
    address_nth: float | None     # the same for the address
    known: bool                   # the account signed in from this address before


def seen(conn: sqlite3.Connection, account: str, address: str, since: float,
         per_account: int, per_address: int) -> Seen:
    pair = conn.execute(
        "SELECT count(*), coalesce(max(at), 0) FROM signin_failures "
        "WHERE account = ? AND address = ? AND at > ? AND cleared = 0",
        (account, address, since)).fetchone()

    def nth(column: str, value: str, budget: int) -> float | None:
        row = conn.execute(
            f"SELECT at FROM signin_failures WHERE {column} = ? AND at > ? "
            "ORDER BY at DESC LIMIT 1 OFFSET ?", (value, since, max(0, budget - 1))).fetchone()
        return float(row[0]) if row else None
    known = conn.execute("SELECT 1 FROM signin_known WHERE account = ? AND address = ?",
                         (account, address)).fetchone() is not None
    return Seen(int(pair[0]), float(pair[1]), nth("account", account, per_account),
                nth("address", address, per_address), known)


def fail(conn: sqlite3.Connection, account: str, address: str, now: float, since: float
         ) -> None:
    """One more failure; failures older than the window go (not the portal's rows: `note`
    keeps those to their own window)."""
    conn.execute("DELETE FROM signin_failures WHERE at <= ? AND address NOT LIKE ?",
                 (since, "portal %"))
    conn.execute("INSERT INTO signin_failures (account, address, at) VALUES (?, ?, ?)",
                 (account, address, now))


def succeed(conn: sqlite3.Connection, account: str, address: str, now: float) -> None:
    """A success clears its pair's delay (its failures still count against the account's and
    the address's budgets) and marks the address known to the account."""
    conn.execute("UPDATE signin_failures SET cleared = 1 WHERE account = ? AND address = ? "
                 "AND cleared = 0", (account, address))
    conn.execute("INSERT INTO signin_known (account, address, at) VALUES (?, ?, ?) "
                 "ON CONFLICT (account, address) DO UPDATE SET at = excluded.at",
                 (account, address, now))
    conn.execute("DELETE FROM signin_known WHERE account = ? AND address NOT IN (SELECT address "
                 "FROM signin_known WHERE account = ? ORDER BY at DESC LIMIT ?)",
                 (account, account, KNOWN_PER_ACCOUNT))


# -- the portal's per-address counts (server/portal_throttle.py), in the same table: the
# `account` names what is counted, the address is prefixed so sign-in never counts it --------

def nth_latest(conn: sqlite3.Connection, account: str, address: str, since: float, n: int
               ) -> float | None:
    """When the `n`-th latest row of (account, address) after `since` was; None: fewer."""
    row = conn.execute(
        "SELECT at FROM signin_failures WHERE account = ? AND address = ? AND at > ? "
        "ORDER BY at DESC LIMIT 1 OFFSET ?", (account, address, since, max(0, n - 1))
    ).fetchone()
    return float(row[0]) if row else None


def note(conn: sqlite3.Connection, account: str, address: str, now: float, since: float
         ) -> None:
    """One more row of (account, address); that account's rows older than `since` go."""
    conn.execute("DELETE FROM signin_failures WHERE account = ? AND at <= ?", (account, since))
    conn.execute("INSERT INTO signin_failures (account, address, at) VALUES (?, ?, ?)",
                 (account, address, now))
