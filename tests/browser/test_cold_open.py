"""An offline cold open takes the page and every module straight from the service worker's
cache by its static routes (the worker need not start for them), each module asked for at once
(the shell's modulepreload list); a /pwa/ file the cache does not hold still comes from the
network."""

from __future__ import annotations

import pytest
from harness import new_device, sign_in

pytestmark = pytest.mark.browser

TIMINGS = """() => [performance.getEntriesByType('navigation')[0],
  ...performance.getEntriesByType('resource')].map((e) => ({
    url: new URL(e.name).pathname, source: e.workerMatchedSourceType ?? null,
    start: e.startTime, end: e.responseEnd }))"""


def test_an_offline_cold_open_takes_the_shell_from_the_cache_by_static_routes(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    page.reload()  # the worker that installed the routes now controls the page from its start
    page.wait_for_selector("#results li")

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#results li")
    page.fill("#q", page.locator("#results li .result-name").first.inner_text())
    page.wait_for_selector("#count:has-text('premises')")
    entries = page.evaluate(TIMINGS)
    by_url = {e["url"]: e for e in entries}
    modules = [e for e in entries if e["url"].startswith("/pwa/") and e["url"].endswith(".js")]
    assert {"/pwa/app.js", "/pwa/page/views/list.js", "/pwa/db.js"} <= set(by_url)
    assert by_url["/"]["source"] == "cache"
    assert [e["url"] for e in modules if e["source"] != "cache"] == []
    # A module three imports deep is asked for before app.js has even arrived: no waterfall.
    assert by_url["/pwa/page/views/parts.js"]["start"] < by_url["/pwa/app.js"]["end"]

    context.set_offline(False)
    status = page.evaluate("fetch('/pwa/no-such-file.js').then((r) => r.status)")
    assert status == 404  # not in the cache: the server's answer, not a failed fetch
    context.close()
