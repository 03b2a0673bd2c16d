"""The server's clock: stored UTC times shown as people read them in the console."""

from __future__ import annotations

from server import clock


def test_a_stored_time_reads_as_a_date_time_and_how_long_ago() -> None:
    now = "2026-12-01T23:50:00Z"
    assert clock.readable("2026-12-01T20:49:40.621Z", now) == "1 Dec 2026 20:49 UTC, 3 hours ago"
    assert clock.readable("2026-11-24T23:50:00Z", now) == "24 Nov 2026 23:50 UTC, 7 days ago"
    assert clock.readable("2026-12-01T23:49:00Z", now) == "1 Dec 2026 23:49 UTC, 1 minute ago"
    assert clock.readable("2026-12-01T23:49:55Z", now) == "1 Dec 2026 23:49 UTC, just now"


def test_a_time_ahead_of_the_clock_or_not_a_time_is_shown_without_guessing() -> None:
    assert clock.readable("2026-12-02T09:00:00Z", "2026-12-01T23:50:00Z") == "2 Dec 2026 09:00 UTC"
    assert clock.readable("not a time") == "not a time"
    assert clock.readable(None) == "" and clock.readable("") == ""
