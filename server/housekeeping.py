"""Housekeeping (`watchbook housekeeping`): bookkeeping kept only while someone can need it.

Reviewed (accepted or dismissed) observations leave their record once reviewed longer ago than
`keep_observations_days`, through the one writer (a new version, a history entry that keeps the
observation whole); receipts every device holds (engine Rule 4a), and all of a device revoked or
unseen for `keep_receipts_days`, are forgotten, as are last-writer rows that old; history entries
and views of sensitive fields past `keep_audit_days` / `keep_sensitive_views_days` (0: for ever);
followed records gone from a followed feed past `keep_followed_gone_days` (as tombstones are).
The SQL is the store's (server/store/housekeeping.py, postgres/housekeeping.py); no HTTP.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from sync import writer
from sync.store import Doc, Store, Tx

KIND = "housekeeping"  # the history entry's kind for an observation leaving its record
BATCH = 200            # records per write transaction


@dataclass(frozen=True)
class Retention:
    """Days each kind of bookkeeping is kept (server/settings.py); 0: for ever."""

    observations: int = 90
    receipts: int = 30
    audit: int = 0
    sensitive_views: int = 0
    followed_gone: int = 0  # a followed record the feed said gone (server/follow.py)


def ago(now: str, days: int) -> str:
    at = dt.datetime.fromisoformat(now.replace("Z", "+00:00")) - dt.timedelta(days=days)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reviewed_before(doc: Doc, reviewed_at: Callable[[str], str | None], before: str
                    ) -> list[str]:
    """Ids of the observations of `doc` accepted or dismissed before `before`: reviewed when
    their status was last written (`reviewed_at`), or, not known, when they were made."""
    return [o["id"] for o in doc.get("observations") or []
            if o.get("status") in ("accepted", "dismissed")
            and (reviewed_at(o["id"]) or o.get("at") or "") < before]


def _drop_observations(tx: Tx, ids: list[str], before: str, stamp: writer.Stamp) -> int:
    n = 0
    for pid in ids:
        doc = tx.premises(pid)
        if doc is None or doc.get("deleted"):
            continue

        def reviewed_at(oid: str, pid: str = pid) -> str | None:
            author = tx.writer(pid, f"observations/{oid}/status")
            return str(author["at"]) if author and author.get("at") else None
        gone = reviewed_before(doc, reviewed_at, before)
        if not gone:
            continue
        try:
            writer.write(tx, stamp, doc, {f"observations/{oid}": None for oid in gone})
        except msgspec.ValidationError:
            continue  # a record that is not valid as it stands is left for a person
        n += len(gone)
    return n


async def run(db: Any, store: Store, sql: Any, keep: Retention, now: str) -> dict[str, int]:
    """One pass over `db` and its sync `store`, with `sql` the store's housekeeping module
    (server/store/housekeeping.py or its PostgreSQL twin); how many of each were removed."""
    out = {"observations": 0}
    if keep.observations > 0:
        before = ago(now, keep.observations)
        stamp = writer.Stamp(kind=KIND, user="watchbook", now=now)
        ids = await sql.with_reviewed_observations(db)
        for start in range(0, len(ids), BATCH):
            out["observations"] += await store.write(functools.partial(
                _drop_observations, ids=ids[start:start + BATCH], before=before, stamp=stamp))
    quiet = ago(now, keep.receipts) if keep.receipts > 0 else ""
    out.update(await sql.prune(
        db, quiet, quiet,
        ago(now, keep.audit) if keep.audit > 0 else None,
        ago(now, keep.sensitive_views) if keep.sensitive_views > 0 else None))
    if keep.followed_gone > 0:
        out["followed records gone"] = await sql.prune_followed_gone(
            db, ago(now, keep.followed_gone))
    return out
