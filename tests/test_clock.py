"""The server's clock reads UTC: the date does not follow the machine's time zone."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator

import pytest

from server import clock
from server.console import page


@pytest.fixture
def zone_on_another_date() -> Iterator[None]:
    """A local zone whose date differs from UTC's right now (UTC+14 or UTC-12)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Etc/GMT-14" if dt.datetime.now(dt.UTC).hour >= 10 else "Etc/GMT+12"
    time.tzset()
    assert dt.date.today() != dt.datetime.now(dt.UTC).date()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_today_is_the_utc_date_whatever_the_local_zone(zone_on_another_date: None) -> None:
    utc = dt.datetime.now(dt.UTC).date()
    assert clock.today() == utc.isoformat()
    assert page.today() == utc.isoformat()
    assert clock.today(plus_days=30) == (utc + dt.timedelta(days=30)).isoformat()


def test_now_is_utc_with_a_z() -> None:
    stamp = clock.now()
    assert stamp.endswith("Z") and len(stamp) == len("2026-12-01T18:41:57.123Z")
    parsed = dt.datetime.fromisoformat(stamp)
    assert abs((parsed - dt.datetime.now(dt.UTC)).total_seconds()) < 5
    assert len(clock.now("seconds")) == len("2026-12-01T18:41:57Z")
