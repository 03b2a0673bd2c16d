"""The list stays usable while a first sync downloads: each stored page is searchable at once
(pwa/page/replica.js applyPage), and the search index kept current page by page
(pwa/page/search.js update) finds exactly what an index built afresh over the same records
finds, at every step."""

from __future__ import annotations

import re

import pytest
from harness import new_device, wait_synced

pytestmark = pytest.mark.browser

PULL = re.compile(r".*/api/sync/pull.*")


def _matches(record: dict[str, str], query: str) -> bool:
    pc = record.get("postcode") or ""
    text = " ".join(str(record.get(k) or "") for k in ("name", "address")) + f" {pc} "
    text = (text + pc.replace(" ", "") + " " + str(record.get("uprn") or "")).lower()
    return all(w in text for w in query.lower().split())


def test_a_search_typed_while_the_first_sync_downloads_shows_the_premises_stored_so_far(
        browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    held: list = []

    def third_page_waits(route):  # the download stops after two pages until the test goes on
        held.append(route)
        if len(held) != 3:
            route.continue_()
    context.route(PULL, third_page_waits)
    page.goto("/")
    page.fill("#username", "supervisor")
    page.fill("#password", "supervisor")
    page.click("button[type=submit]")
    page.wait_for_selector("#freshness:has-text('syncing now')")
    page.wait_for_selector("#sync-progress-bar[value='100']")  # two pages of 50 stored, shown
    assert len(held) == 3  # two pages stored, the third on hold: the sync is still running

    stored = page.evaluate("import('/pwa/db.js').then(db => db.allPremises())")
    assert 0 < len(stored) < 150
    record = stored[len(stored) // 2]
    query = f"{record['name'].split()[0]} {record['postcode'].split()[0]}"
    page.fill("#q", query)
    want = sorted(r["name"] for r in stored if _matches(r, query))
    page.wait_for_selector(f"#count:has-text('{len(want)} premises')")
    # text, not innerText: rows off screen skip layout (content-visibility), and innerText of a
    # row not laid out is empty although the row is there and read out
    names = page.locator("#results .result-name").all_text_contents()
    assert record["name"] in names and sorted(names) == want[:100]
    assert page.locator("#freshness:has-text('syncing now')").count() == 1

    held[2].continue_()
    wait_synced(page)
    every = page.evaluate("import('/pwa/db.js').then(db => db.allPremises())")
    want = [r for r in every if _matches(r, query)]
    page.wait_for_selector(f"#count:has-text('{len(want)} premises')")
    context.close()


def test_an_index_kept_current_page_by_page_finds_what_one_built_afresh_finds(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate("""async () => {
      const { SearchIndex } = await import('/pwa/page/search.js');
      let seed = 7;
      const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 65536) % n; };
      const words = ['Mill', 'mill', 'Ash', 'Oak', 'École', 'ecole', 'Zed', '', 'Ash Farm', '10'];
      const record = (id, v) => ({ id: `p${id}`, name: words[rand(words.length)] + (v % 3 ? '' : ' Farm'),
        address: `${rand(50)} High Street`, postcode: `CB${rand(9)} ${rand(9)}AB`, uprn: String(rand(1000)),
        deleted: rand(10) === 0 });
      const live = new Map();
      const index = new SearchIndex();
      const queries = ['', 'mill', 'farm', 'cb3', 'cb3 4ab', 'high 1', 'ecole', 'école', 'zed farm'];
      const shown = (ix) => JSON.stringify(queries.map((q) => {
        const { total, items } = ix.search(q, 1000);
        return [total, items.map((r) => `${r.id}@${r.name}`)];
      }));
      for (let step = 0; step < 40; step += 1) {
        const page = new Map(), removed = new Set();  // a page names each record once
        for (let i = 0; i < 1 + rand(30); i += 1) {
          const id = `p${rand(200)}`;
          if (rand(6) === 0) { removed.add(id); page.delete(id); live.delete(id); continue; }
          const r = record(id.slice(1), step);
          removed.delete(id);
          page.set(id, r);
          live.set(id, r);
        }
        index.update([...page.values()], [...removed]);
        const afresh = new SearchIndex([...live.values()]);
        if (shown(index) !== shown(afresh)) return { step, kept: shown(index), afresh: shown(afresh) };
      }
      return { step: 'all', size: index.entries.length };
    }""")
    assert out["step"] == "all", out
    assert out["size"] > 50
    context.close()
