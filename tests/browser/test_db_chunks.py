"""The replica's premises stored in chunks (pwa/db.js): a device upgrading from an older
layout (one value a record; chunks of records only) keeps every record, its pending edits and
its cursor; later pages update records in place, remove them, and never store a record twice,
whether a chunk holds records or the bytes of the page they came in."""

from __future__ import annotations

from typing import Any

import pytest
from harness import new_device

pytestmark = pytest.mark.browser

# A database as older code made it: `version`, its stores [name, options], and values to put
# [store, value, key]. Opened on a page of the origin that does not start the app.
OLD_DB = """async ({ version, stores, puts }) => {
  await new Promise((resolve, reject) => {
    const req = indexedDB.open('watchbook', version);
    req.onupgradeneeded = () => {
      for (const [name, options] of stores) req.result.createObjectStore(name, options ?? undefined);
    };
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction([...new Set(puts.map(([name]) => name))], 'readwrite');
      for (const [name, value, key] of puts) tx.objectStore(name).put(value, key ?? undefined);
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
    req.onerror = () => reject(req.error);
  });
}"""
COMMON_STORES = [["conflicts", {"keyPath": "id"}], ["outbox", {"keyPath": "n", "autoIncrement": True}],
                 ["meta", None], ["uploads", {"keyPath": "sha256"}], ["files", {"keyPath": "sha256"}]]
PENDING = {"n": 1, "schema": 1, "status": "pending",
           "mutation": {"kind": "update", "premises_id": "", "seq": 1, "fields": {"name": "Edited"}}}


def old_db(version: int, stores: list, puts: list, pending_on: str, cursor: str) -> dict:
    """OLD_DB's argument: `stores` and `puts` plus a pending edit of `pending_on` and a cursor."""
    edit = {**PENDING, "mutation": {**PENDING["mutation"], "premises_id": pending_on}}
    return {"version": version, "stores": [*stores, *COMMON_STORES],
            "puts": [*puts, ["outbox", edit, None], ["meta", cursor, "cursor"]]}


def record(prefix: str, i: int) -> dict:
    return {"id": f"{prefix}-{i:05d}", "name": f"{prefix.upper()} {i}", "hazards": []}


# Version 2, one value a record: 2,500 records, a pending edit and a cursor.
V2 = old_db(2, [["premises", {"keyPath": "id"}]],
            [["premises", record("p", i), None] for i in range(2500)], "p-01234", "c-v2")

# Version 3, chunks of records: 1,500 records in two chunks, a pending edit and a cursor.
V3 = old_db(3, [["chunks", {"keyPath": "n"}], ["chunk_ids", {"keyPath": "n"}]], [
    *(["chunks", {"n": n, "records": [record("v", i) for i in range(a, b)]}, None]
      for n, a, b in ((1, 0, 1000), (2, 1000, 1500))),
    *(["chunk_ids", {"n": n, "ids": [f"v-{i:05d}" for i in range(a, b)]}, None]
      for n, a, b in ((1, 0, 1000), (2, 1000, 1500)))], "v-00042", "c-v3")


# Run `body` (JavaScript, ending in a return) in a page of the origin that does not start the
# app, over an empty replica, with `db` (pwa/db.js), `rec(i, name)` and `range(a, b)` at hand.
PRELUDE = """const db = await import('/pwa/db.js');
  await db.wipe();
  const rec = (i, name) => ({ id: `r-${String(i).padStart(5, '0')}`, name: name || `R ${i}`, hazards: [] });
  const range = (a, b) => Array.from({ length: b - a }, (_, k) => a + k);"""


def in_db_page(browser: Any, server: Any, body: str) -> Any:
    context = new_device(browser, server)
    try:
        page = context.new_page()
        page.goto("/pwa/db.js")
        return page.evaluate(f"async () => {{ {PRELUDE}\n{body} }}")
    finally:
        context.close()


@pytest.mark.parametrize(("old", "prefix", "n", "cursor", "edited"), [
    (V2, "p", 2500, "c-v2", "p-01234"), (V3, "v", 1500, "c-v3", "v-00042")], ids=["v2", "v3"])
def test_a_device_upgrading_keeps_every_record_its_pending_edits_and_cursor(
        browser, server, old, prefix, n, cursor, edited):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/pwa/db.js")
    page.evaluate(OLD_DB, old)
    out = page.evaluate("""async () => {
      const db = await import('/pwa/db.js');
      const all = await db.allPremises();
      return { count: await db.countPremises(), ids: all.map((r) => r.id),
        snapshot: (await db.snapshot()).premises.length, cursor: await db.getMeta('cursor'),
        outbox: (await db.outbox()).map((e) => [e.n, e.status, e.mutation.premises_id]),
        pending: await db.pendingOutboxSchemas(), version: (await db.open()).version };
    }""")
    assert out == {"count": n, "ids": [f"{prefix}-{i:05d}" for i in range(n)], "snapshot": n,
                   "cursor": cursor, "outbox": [[1, "pending", edited]], "pending": [1],
                   "version": 4}
    context.close()


def test_later_pages_update_in_place_remove_and_never_store_a_record_twice(browser, server):
    out = in_db_page(browser, server, """
      await db.applyPage({ records: range(0, 2300).map((i) => rec(i)), meta: { cursor: 'a' } }, { after: '' });
      // A delta page: two updates in different chunks, a new record, two removals (one of them
      // also sent as a record in the same page: the removal wins, as before).
      await db.applyPage({ records: [rec(5, 'five'), rec(2100, 'twenty-one hundred'), rec(9000), rec(7)],
        removed: ['r-00006', 'r-00007', 'r-99999'], meta: { cursor: 'b' } }, { after: 'a' });
      const all = await db.allPremises();
      const byId = new Map(all.map((r) => [r.id, r]));
      // Everything removed (a scope that left): the device holds no premises.
      await db.applyPage({ removed: all.map((r) => r.id), meta: { cursor: 'c' } }, { after: 'b' });
      return { count: all.length, unique: byId.size, five: byId.get('r-00005').name,
        late: byId.get('r-02100').name, added: byId.has('r-09000'), six: byId.has('r-00006'),
        seven: byId.has('r-00007'), cursor: await db.getMeta('cursor'),
        after: await db.countPremises(), snapshot: (await db.snapshot()).premises.length };""")
    assert out == {"count": 2299, "unique": 2299, "five": "five", "late": "twenty-one hundred",
                   "added": True, "six": False, "seven": False, "cursor": "c", "after": 0,
                   "snapshot": 0}


def test_a_downloaded_page_stored_as_its_bytes_reads_back_and_updates_like_any_other(
        browser, server):
    # A page of new records is kept as the bytes it came in (no records cloned); reading it,
    # updating and removing records in it, and a later page naming some of its records again
    # behave exactly as with records stored one by one.
    out = in_db_page(browser, server, """
      const bytes = (records, extra = []) => new TextEncoder().encode(JSON.stringify({
        changes: [...records.map((record, k) => ({ type: 'premises', seq: k, record })), ...extra],
        cursor: 'x', more: true }));
      const asPage = (records, extra) => {
        const body = bytes(records, extra);
        const read = db.readPage(body);
        return { ids: read.records.map((r) => r.id), body, removed: read.removed };
      };
      // A download: 800 new records with a tombstone of a record the device never had.
      const first = asPage(range(0, 800).map((i) => rec(i)), [{ type: 'premises', seq: 900, record: { id: 'r-99999', deleted: true } }]);
      await db.applyPage({ ...first, meta: { cursor: 'a' } }, { after: '' });
      const kinds = await new Promise((resolve) => {
        const req = indexedDB.open('watchbook');
        req.onsuccess = () => {
          const q = req.result.transaction('chunks').objectStore('chunks').getAll();
          q.onsuccess = () => { req.result.close(); resolve(q.result.map((c) => (c.body ? 'bytes' : 'records'))); };
        };
      });
      const stored = await db.allPremises();
      // The next page updates two of them, removes one, and adds one: stored as records.
      const second = asPage([rec(5, 'five'), rec(700, 'seven hundred'), rec(5000)]);
      await db.applyPage({ ...second, removed: ['r-00006'], meta: { cursor: 'b' } }, { after: 'a' });
      // A page of 600 records of which one is already held: not all new, so not stored as bytes.
      const third = asPage([...range(1000, 1599).map((i) => rec(i)), rec(7, 'seven')]);
      await db.applyPage({ ...third, meta: { cursor: 'c' } }, { after: 'b' });
      const all = await db.allPremises();
      const byId = new Map(all.map((r) => [r.id, r]));
      const snap = (await db.snapshot()).premises;
      return { kinds, stored: stored.length, firstName: stored[0].name, count: all.length,
        unique: byId.size, counted: await db.countPremises(), snapshot: snap.length,
        five: byId.get('r-00005').name, late: byId.get('r-00700').name, seven: byId.get('r-00007').name,
        six: byId.has('r-00006'), added: byId.has('r-05000'), tombstone: byId.has('r-99999') };""")
    assert out == {"kinds": ["bytes"], "stored": 800, "firstName": "R 0", "count": 1399,
                   "unique": 1399, "counted": 1399, "snapshot": 1399, "five": "five",
                   "late": "seven hundred", "seven": "seven", "six": False, "added": True,
                   "tombstone": False}
