"""The app's pull pages come in the best coding Chromium offers (zstd) and the browser decodes
them transparently: the replica holds every premises the pages carried."""

from __future__ import annotations

import json

import pytest
from harness import new_device, sign_in

pytestmark = pytest.mark.browser


def test_the_app_syncs_from_zstd_pull_pages(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    pulls = []
    context.on("response", lambda r: pulls.append(r) if "/api/sync/pull" in r.url else None)
    sign_in(page, "crew")
    assert pulls, "no pull page was seen"
    sent = {r.request.all_headers().get("accept-encoding") for r in pulls}
    # Pages under the compression minimum (1 KB: a last, empty page) go as they are.
    codings = {r.all_headers().get("content-encoding") for r in pulls if len(r.body()) >= 1024}
    premises = {c["record"]["id"] for r in pulls for c in json.loads(r.body())["changes"]
                if c["type"] == "premises"}
    replica = page.evaluate("import('/pwa/db.js').then(db => db.allPremises())"
                            ".then(a => a.map(p => p.id))")
    context.close()
    assert all("zstd" in (s or "") for s in sent), sent
    assert codings == {"zstd"}, codings
    assert premises and set(replica) == premises
