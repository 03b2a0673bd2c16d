"""The pull loop asks for page N+1 as soon as page N's headers name its cursor
(pwa/page/sync.js `ahead`), keeps at most two pages asked for ahead, still stores every page
once and in order, and follows the body when a header ever disagrees with it. Driven in the
page with a scripted transport over the real pull worker and IndexedDB."""

from __future__ import annotations

import pytest
from harness import new_device

pytestmark = pytest.mark.browser

# Five pages of ten records. Each answer's headers arrive a task after its request, its body
# 30 ms later, so requests made before a body has arrived are visible. `lie`: the headers of the page after '' name a cursor the body does not.
PULL = """async ({ lie }) => {
  const db = await import('/pwa/db.js');
  const { Replica } = await import('/pwa/page/replica.js');
  const { Sync } = await import('/pwa/page/sync.js');
  await db.wipe();
  const pages = ['', 'c1', 'c2', 'c3', 'c4'];
  const body = (cursor) => {
    const k = pages.indexOf(cursor);
    const changes = Array.from({ length: 10 }, (_, i) => ({ type: 'premises', seq: k * 10 + i,
      record: { id: `a-${k}-${i}`, name: `Page ${k} record ${i}`, hazards: [] } }));
    const next = pages[k + 1] ?? `c${k + 1}`;
    return JSON.stringify({ changes, cursor: next, more: k < 4, total: k ? null : 50 });
  };
  const log = [];       // what happened, in order
  let open = 0, most = 0; // requests whose body has not arrived
  const transport = async (path, { onHeaders }) => {
    const cursor = new URL(path, location.href).searchParams.get('cursor');
    log.push(`ask ${cursor}`);
    open += 1; most = Math.max(most, open);
    const k = pages.indexOf(cursor);
    const named = lie && cursor === '' ? 'c9' : (pages[k + 1] ?? '');
    await new Promise((r) => setTimeout(r, 0)); // the headers, as fetch gives them: later
    onHeaders(new Headers({ 'Watchbook-Cursor': named, 'Watchbook-More': k < 4 ? '1' : '0' }));
    await new Promise((r) => setTimeout(r, 30));
    open -= 1;
    log.push(`body ${cursor}`);
    return { buffer: new TextEncoder().encode(body(cursor)).buffer, transferMs: 5 };
  };
  const replica = new Replica();
  replica.empty();
  const sync = new Sync(replica, { token: 't', deviceId: 'd', expired: false }, transport);
  sync.pages.start();
  await sync.pull();
  const all = await db.allPremises();
  return { log, most, count: all.length, unique: new Set(all.map((r) => r.id)).size,
    cursor: await db.getMeta('cursor'), shown: replica.size };
}"""


def test_the_next_page_is_asked_for_before_this_one_has_arrived_and_each_is_stored_once(
        browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate(PULL, {"lie": False})
    log = out["log"]
    assert log.index("ask c1") < log.index("body ")  # asked on the first page's headers
    assert out["most"] <= 3  # the page being read and at most two asked ahead
    assert [x for x in log if x.startswith("ask")] == ["ask ", "ask c1", "ask c2", "ask c3", "ask c4"]
    assert out["count"] == out["unique"] == out["shown"] == 50
    assert out["cursor"] == "c5"
    context.close()


def test_a_header_that_disagrees_with_its_body_is_dropped_and_the_body_followed(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate(PULL, {"lie": True})
    asks = [x for x in out["log"] if x.startswith("ask")]
    assert asks[:2] == ["ask ", "ask c9"]  # asked ahead on the headers' word
    assert asks[2:] == ["ask c1", "ask c2", "ask c3", "ask c4"]  # then as the body said
    assert out["count"] == out["unique"] == out["shown"] == 50
    assert out["cursor"] == "c5"
    context.close()
