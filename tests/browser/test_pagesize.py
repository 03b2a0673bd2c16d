"""The pull page size rule (pwa/page/pagesize.js), run in the page: a slow link gets pages of
about two seconds of transfer, so a drop throws little away; a fast link gets large pages; the
size never jumps more than fourfold at once and stays within its bounds."""

from __future__ import annotations

import pytest
from harness import new_device

pytestmark = pytest.mark.browser


def test_pull_pages_hold_about_two_seconds_of_transfer_on_a_slow_link_and_grow_on_a_fast_one(
        browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate("""async () => {
      const s = await import('/pwa/page/pagesize.js');
      return {
        // 250 rows took 5 s to arrive (50 rows/s, about 400 kbit/s): 100 rows is 2 s.
        slow: s.nextLimit(250, { rows: 250, transferMs: 5000 }),
        // 250 rows in 25 ms: capped at four times the last ask, then at the most it asks.
        fast: s.nextLimit(250, { rows: 250, transferMs: 25 }),
        fastest: s.nextLimit(4000, { rows: 1000, transferMs: 1 }),
        // A link slower than 25 rows/s still asks for the smallest page.
        crawl: s.nextLimit(250, { rows: 10, transferMs: 5000 }),
        // An empty page teaches nothing: the same ask.
        empty: s.nextLimit(300, { rows: 0, transferMs: 10 }),
        bounds: [s.MIN_ROWS, s.MAX_ROWS, s.TARGET_MS],
      };
    }""")
    assert out == {"slow": 100, "fast": 1000, "fastest": 5000, "crawl": 50, "empty": 300,
                   "bounds": [50, 5000, 2000]}
    context.close()
