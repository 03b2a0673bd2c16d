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
