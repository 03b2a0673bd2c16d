"""pwa/db.js guarantees the sync client relies on: a pull page queued behind another stores
nothing unless that one committed; the cached first screen of the list is only read back while
nothing was written after it."""

from __future__ import annotations

import pytest
from harness import new_device

pytestmark = pytest.mark.browser


def test_a_page_queued_behind_one_that_did_not_commit_stores_nothing(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate("""async () => {
      const db = await import('/pwa/db.js');
      const rec = (id) => ({ id, name: id, hazards: [] });
      // Two pages in flight, the second queued while the first commits: both stored.
      const one = db.applyPage({ records: [rec('t-a')], meta: { cursor: 'c1' } });
      const two = db.applyPage({ records: [rec('t-b')], meta: { cursor: 'c2' } }, { after: 'c1' });
      await Promise.all([one, two]);
      // The stored cursor is not the one the page before would have stored: nothing stored.
      const three = await db.applyPage({ records: [rec('t-c')], meta: { cursor: 'c3' } },
        { after: 'c9' }).then(() => 'stored', (e) => e.name);
      return { three, cursor: await db.getMeta('cursor'),
        ids: (await db.allPremises()).map((r) => r.id).filter((id) => id.startsWith('t-')) };
    }""")
    assert out == {"three": "AbortError", "cursor": "c2", "ids": ["t-a", "t-b"]}
    context.close()


def test_first_screen_is_read_back_only_while_nothing_was_written_after_it(browser, server):
    context = new_device(browser, server)
    tab, other = context.new_page(), context.new_page()
    tab.goto("/")
    other.goto("/")
    db = "const db = await import('/pwa/db.js');"
    read = "(await db.firstScreen()).first?.total ?? null"
    tab.evaluate(f"""async () => {{ {db}
      await db.applyPage({{ records: [{{ id: 'f-a', name: 'A', hazards: [] }}], meta: {{ cursor: 'f1' }} }});
      await db.snapshot(); }}""")  # this tab holds a consistent replica
    assert tab.evaluate(f"async () => {{ {db} return [{read}, await db.saveFirstScreen({{ total: 1, items: [] }}), {read}]; }}") == [None, True, 1]
    # Another tab queues an edit: the first screen no longer reads back, and this tab, which
    # has not read the replica since, may not save one drawn from what it holds.
    other.evaluate(f"""async () => {{ {db}
      await db.addOutbox([{{ mutation: {{ kind: 'update', premises_id: 'f-a', seq: 1 }} }}]); }}""")
    assert tab.evaluate(f"async () => {{ {db} return [{read}, await db.saveFirstScreen({{ total: 1, items: [] }}), {read}]; }}") == [None, False, None]
    tab.evaluate(f"async () => {{ {db} await db.snapshot(); }}")
    assert tab.evaluate(f"async () => {{ {db} return [await db.saveFirstScreen({{ total: 1, items: [] }}), {read}]; }}") == [True, 1]
    context.close()


def test_a_page_applied_twice_stores_nothing_the_second_time(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate("""async () => {
      const db = await import('/pwa/db.js');
      await db.wipe();
      const page = { records: [{ id: 't-x', name: 'x', hazards: [] }], meta: { cursor: 'c1' } };
      const first = await db.applyPage(page, { after: '' }).then(() => 'stored', (e) => e.name);
      const again = await db.applyPage({ ...page, records: [{ id: 't-y', name: 'y', hazards: [] }] },
        { after: '' }).then(() => 'stored', (e) => e.name);
      return { first, again, ids: (await db.allPremises()).map((r) => r.id) };
    }""")
    assert out == {"first": "stored", "again": "AbortError", "ids": ["t-x"]}
    context.close()
