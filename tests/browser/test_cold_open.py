"""An offline cold open takes the page and every module straight from the service worker's
cache by its static routes (the worker need not start for them), each module asked for by the
shell's modulepreload list rather than by its importer; a /pwa/ file the cache does not hold
still comes from the network."""

from __future__ import annotations

import pytest
from harness import new_device, sign_in

pytestmark = pytest.mark.browser

TIMINGS = """() => [performance.getEntriesByType('navigation')[0],
  ...performance.getEntriesByType('resource')].map((e) => ({
    url: new URL(e.name).pathname, source: e.workerMatchedSourceType ?? null,
    initiator: e.initiatorType ?? null, start: e.startTime, end: e.responseEnd }))"""


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
    # No waterfall: every module but app.js (the page's <script>) was asked for by the shell's
    # modulepreload list, not by an import once its importer had arrived. Chromium reports a
    # preload as initiator "other" and a module fetched by an import as "script" (as app.js is
    # here). Timing alone cannot tell: from a warm cache app.js can arrive before the preload
    # scanner has asked for the last module.
    assert by_url["/pwa/app.js"]["initiator"] == "script"
    fetched_by_import = [e["url"] for e in modules
                         if e["url"] != "/pwa/app.js" and e["initiator"] != "other"]
    assert fetched_by_import == []
    assert "/pwa/page/views/parts.js" in by_url  # three imports deep

    context.set_offline(False)
    status = page.evaluate("fetch('/pwa/no-such-file.js').then((r) => r.status)")
    assert status == 404  # not in the cache: the server's answer, not a failed fetch
    context.close()
