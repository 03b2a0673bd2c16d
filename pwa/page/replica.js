// The page's in-memory view of the IndexedDB replica: records with pending edits overlaid
// (premises created here included), the search index, the outbox (pending and needing
// attention) and conflicts. Emits 'change'. Reads db.js and outbox.js; writes nothing but the
// cached first screen, sends nothing.
// A cold open shows the cached first screen of the list (`first`) until `load()` has read
// every record; `loaded` says which. It keeps that first screen current in IndexedDB.
// Only a cold open overlays and indexes every record at once; a pulled page or an edit
// touches just the records it changes (`refresh(ids)`), so a sync never holds the thread.

import * as db from '../db.js';
import { overlay } from './edits.js';
import * as outbox from './outbox.js';
import { SearchIndex } from './search.js';

const FIRST_SCREEN = 100; // rows of the list a cold open shows before the whole replica is read
const SAVE_DELAY_MS = 1000;

// What a list row needs of a record (views/list.js resultItem), not the whole record.
function summary(r) {
  // Type and expiry only: enough for the chips, and for leaving out expired hazards.
  const hazards = [...new Map((r.hazards || []).map((x) => [`${x.type}|${x.expires || ''}`,
    x.expires ? { type: x.type, expires: x.expires } : { type: x.type }])).values()];
  const row = { id: r.id, name: r.name, address: r.address, postcode: r.postcode, uprn: r.uprn,
    station: r.station, risk_level: r.risk_level, next_review_due: r.next_review_due, hazards };
  if (r._pending?.size) row._pending = r._pending;
  return row;
}

export class Replica extends EventTarget {
  constructor() {
    super();
    this.server = new Map();   // id -> record as the server last sent it
    this.records = new Map();  // id -> record as shown (pending edits overlaid)
    this.entries = [];         // outbox entries, oldest first
    this.conflicts = new Map();
    this.index = new SearchIndex();
    this.loaded = false;       // every record read (or none to read): search covers them all
    this.first = null;         // before that, the cached first screen: {total, items}
    this.saving = null;
    this.whenLoaded = new Promise((resolve) => { this.settle = resolve; });
  }

  // Nothing to read (no one is signed in).
  empty() { this.loaded = true; this.settle(); }

  // Cold open: the outbox, conflicts and the first screen the last session left, if it is
  // still current. Cheap; `load()` follows.
  async open() {
    const { first, outbox: queued, conflicts } = await db.firstScreen();
    if (this.loaded) return;
    this.first = first && { total: first.total, items: first.items };
    this.conflicts = new Map(conflicts.map((c) => [c.id, c]));
    this.entries = queued.sort((a, b) => a.n - b.n);
    this.dispatchEvent(new Event('change'));
  }

  async load() {
    const { premises, outbox: queued, conflicts } = await db.snapshot();
    this.server = new Map(premises.map((r) => [r.id, r]));
    this.conflicts = new Map(conflicts.map((c) => [c.id, c]));
    this.entries = queued.sort((a, b) => a.n - b.n);
    this.loaded = true;
    this.first = null;
    this.rebuild();
    this.settle();
    performance.mark('wb:replica-loaded');
  }

  // Only the records whose pending edits changed are overlaid again (settled receipts do not
  // change what is shown).
  async reloadOutbox() {
    const before = this.pending();
    this.entries = await outbox.entries();
    const after = this.pending();
    if (after.map((e) => e.n).join() !== before.map((e) => e.n).join()) {
      this.refresh([...before, ...after].map((e) => e.mutation.premises_id));
    }
    if (this.loaded) this.saveFirstScreen(); // the outbox was written: `gen` moved on
    this.dispatchEvent(new Event('change'));
  }

  // Apply a pulled page in memory (db.applyPage has already stored it): its records, overlaid
  // and in the search index at once. No 'change' (the sync says when it ends: `changed()`).
  applyPage({ records, removed, conflicts }) {
    for (const r of records) this.server.set(r.id, r);
    for (const id of removed) this.server.delete(id);
    for (const c of conflicts) this.conflicts.set(c.id, c);
    const ids = records.map((r) => r.id);
    for (const id of removed) ids.push(id);
    for (const c of conflicts) ids.push(c.premises_id); // a queued resolution reads its conflict
    this.refresh(ids);
  }

  // The end of a sync that changed something: show it, keep the first screen current.
  changed() {
    if (this.loaded) this.saveFirstScreen();
    this.dispatchEvent(new Event('change'));
  }

  pendingBy() {
    const by = new Map();
    for (const e of this.pending()) {
      const list = by.get(e.mutation.premises_id) || [];
      list.push(e);
      by.set(e.mutation.premises_id, list);
    }
    return by;
  }

  // The shown copy of each of `ids` from its server copy and pending edits (a premises created
  // here from its queued `create`; none: it leaves), and the search index with them.
  refresh(ids) {
    const pendingBy = this.pendingBy();
    const shown = [], gone = [];
    for (const id of new Set(ids)) {
      const list = pendingBy.get(id);
      const base = this.server.get(id)
        ?? (list?.some((e) => e.mutation.kind === 'create') ? { id, version: 0 } : null);
      if (!base) {
        if (this.records.delete(id)) gone.push(id);
        continue;
      }
      const r = overlay(base, list, this.conflicts);
      this.records.set(id, r);
      shown.push(r);
    }
    this.index.update(shown, gone);
  }

  // Every record overlaid and indexed again: a cold open, once the whole replica is read.
  rebuild() {
    const pendingBy = this.pendingBy();
    this.records = new Map();
    for (const [id, r] of this.server) this.records.set(id, overlay(r, pendingBy.get(id), this.conflicts));
    // A premises created on this device shows at once, built from its queued `create`.
    for (const [id, list] of pendingBy) {
      if (!this.server.has(id) && list.some((e) => e.mutation.kind === 'create')) {
        this.records.set(id, overlay({ id, version: 0 }, list, this.conflicts));
      }
    }
    this.index.build([...this.records.values()]);
    if (this.loaded) this.saveFirstScreen();
    this.dispatchEvent(new Event('change'));
  }

  // Keep the first screen of the list in IndexedDB, a moment after the replica settles.
  saveFirstScreen() {
    clearTimeout(this.saving);
    this.saving = setTimeout(() => {
      if (!this.loaded) return;
      const items = this.index.entries.slice(0, FIRST_SCREEN).map((e) => summary(e.record));
      db.saveFirstScreen({ total: this.index.entries.length, items })
        .catch((e) => console.warn('watchbook: first screen', e));
    }, SAVE_DELAY_MS);
  }

  clear() {
    clearTimeout(this.saving);
    this.server.clear(); this.records.clear(); this.conflicts.clear(); this.entries = [];
    this.first = null;
    this.empty();
    this.index.build([]);
    this.dispatchEvent(new Event('change'));
  }

  get(id) { return this.records.get(id); }
  all() { return [...this.records.values()]; }
  get size() { return this.records.size; }
  pending() { return this.entries.filter(outbox.isPending); }
  // Edits the server refused that the person has not yet resent or discarded.
  attention() { return this.entries.filter(outbox.needsAttention); }
  entriesFor(id) { return this.entries.filter((e) => e.mutation.premises_id === id); }

  // Records that must stay on the device: pending edits or open conflicts.
  heldIds() {
    const ids = new Set(this.pending().map((e) => e.mutation.premises_id));
    for (const c of this.conflicts.values()) if (c.status === 'open') ids.add(c.premises_id);
    return ids;
  }

  // Open conflicts not already being resolved by a queued resolution.
  openConflicts() {
    const resolving = new Set(this.pending().filter((e) => e.mutation.kind === 'resolve_conflict')
      .map((e) => e.mutation.conflict_id));
    return [...this.conflicts.values()].filter((c) => c.status === 'open' && !resolving.has(c.id))
      .sort((a, b) => (a.created_at || '').localeCompare(b.created_at || ''));
  }
}
