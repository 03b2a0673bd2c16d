"""The server's clock: the time and the date now, in UTC, as the ISO text records keep.

The one place the server reads the time of day; the sync engine is handed `now` from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal


def now(timespec: Literal["seconds", "milliseconds"] = "milliseconds") -> str:
    """UTC now: `2026-12-01T18:41:57.123Z` (or to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def today(plus_days: int = 0) -> str:
    """The UTC date now (plus some days): `2026-12-01`."""
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=plus_days)).isoformat()


def readable(stamp: object, now: str | None = None) -> str:
    """A stored UTC time as a person reads it: `1 Dec 2026 20:49 UTC, 3 hours ago`.
    Anything that is not an ISO time comes back as it is (empty for None)."""
    if not stamp:
        return ""
    try:
        at = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    at = at.astimezone(dt.UTC)
    ref = dt.datetime.fromisoformat((now or globals()["now"]()).replace("Z", "+00:00"))
    text = f"{at.day} {at:%b %Y %H:%M} UTC"
    seconds = int((ref - at).total_seconds())
    if seconds < 0:
        return text
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{text}, {n} {unit}{'' if n == 1 else 's'} ago"
    return f"{text}, just now"
