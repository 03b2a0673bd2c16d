// The page's in-memory view of the IndexedDB replica: records with pending edits overlaid,
// the search index, the outbox and conflicts. Emits 'change'. Reads db.js; sends nothing.

import * as db from '../db.js';
import { overlay } from './edits.js';
import { SearchIndex } from './search.js';

export class Replica extends EventTarget {
  constructor() {
    super();
    this.server = new Map();   // id -> record as the server last sent it
    this.records = new Map();  // id -> record as shown (pending edits overlaid)
    this.entries = [];         // outbox entries, oldest first
    this.conflicts = new Map();
    this.index = new SearchIndex();
  }

  async load() {
    const [records, entries, conflicts] = await Promise.all([
      db.allPremises(), db.outbox(), db.allConflicts()]);
    this.server = new Map(records.map((r) => [r.id, r]));
    this.conflicts = new Map(conflicts.map((c) => [c.id, c]));
    this.entries = entries.sort((a, b) => a.n - b.n);
    this.rebuild();
  }

  async reloadOutbox() {
    this.entries = (await db.outbox()).sort((a, b) => a.n - b.n);
    this.rebuild();
  }

  // Apply a pulled page in memory (db.applyPage has already stored it).
  applyPage({ records, removed, conflicts }) {
    for (const r of records) this.server.set(r.id, r);
    for (const id of removed) this.server.delete(id);
    for (const c of conflicts) this.conflicts.set(c.id, c);
  }

  rebuild() {
    const pendingBy = new Map();
    for (const e of this.pending()) {
      const list = pendingBy.get(e.mutation.premises_id) || [];
      list.push(e);
      pendingBy.set(e.mutation.premises_id, list);
    }
    this.records = new Map();
    for (const [id, r] of this.server) this.records.set(id, overlay(r, pendingBy.get(id)));
    this.index.build([...this.records.values()]);
    this.dispatchEvent(new Event('change'));
  }

  clear() {
    this.server.clear(); this.records.clear(); this.conflicts.clear(); this.entries = [];
    this.index.build([]);
    this.dispatchEvent(new Event('change'));
  }

  get(id) { return this.records.get(id); }
  all() { return [...this.records.values()]; }
  get size() { return this.records.size; }
  pending() { return this.entries.filter((e) => e.status === 'pending'); }
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
