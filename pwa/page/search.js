// The in-memory search index over the replica: name, address, postcode (with and without its
// space) and UPRN, every typed word must match, results in name order. Built whole once the
// replica is read, then kept current a few records at a time (`update`, one pulled page or one
// edit): never a whole rebuild on the page's thread while a sync runs. Pure: no IndexedDB.

export function searchText(r) {
  const pc = r.postcode || '';
  return [r.name, r.address, pc, pc.replace(/\s+/g, ''), r.uprn].join(' ').toLowerCase();
}

// Name order ignoring case and accents, then id. Each entry carries its name folded once, so a
// comparison is one native string comparison: a collator call per comparison cost a
// 20,000-premises download about 200 ms of the page's thread, merging page after page.
const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
const order = (a, b) => cmp(a.key, b.key) || cmp(a.record.id, b.record.id);
const entry = (r) => ({ record: r, text: searchText(r), name: r.name || '', key: fold(r.name || '') });

export class SearchIndex {
  constructor(records = []) { this.build(records); }

  build(records) {
    this.entries = records.filter((r) => !r.deleted).map(entry).sort(order);
    this.held = new Set(this.entries.map((e) => e.record.id));
  }

  // `records`: the new versions of some records (a deleted one leaves the index); `removed`:
  // ids that leave it. The entries are replaced in one step, so a search never sees half of it.
  // Costs one pass over the entries plus sorting the changed ones.
  update(records, removed = []) {
    if (!records.length && !removed.length) return;
    const gone = new Set(); // the ids to take out: only those in the index (none, downloading)
    for (const id of removed) if (this.held.has(id)) gone.add(id);
    for (const r of records) if (this.held.has(r.id)) gone.add(r.id);
    const kept = gone.size ? this.entries.filter((e) => !gone.has(e.record.id)) : this.entries;
    for (const id of gone) this.held.delete(id);
    const added = records.filter((r) => !r.deleted).map(entry).sort(order);
    for (const e of added) this.held.add(e.record.id);
    if (!added.length) { this.entries = kept; return; }
    const out = new Array(kept.length + added.length);
    let i = 0, j = 0, k = 0;
    while (i < kept.length && j < added.length) { // order(a, b) <= 0, inline: one page's merge
      const a = kept[i], b = added[j];
      out[k++] = a.key < b.key || (a.key === b.key && a.record.id <= b.record.id) ? kept[i++] : added[j++];
    }
    while (i < kept.length) out[k++] = kept[i++];
    while (j < added.length) out[k++] = added[j++];
    this.entries = out;
  }

  // {total, items}: at most `limit` records, in name order.
  search(query, limit = 100) {
    const words = String(query || '').toLowerCase().split(/\s+/).filter(Boolean);
    const items = [];
    let total = 0;
    next: for (const e of this.entries) { // no closure an entry: a search allocates next to nothing
      for (const w of words) if (!e.text.includes(w)) continue next;
      total += 1;
      if (items.length < limit) items.push(e.record);
    }
    return { total, items };
  }
}
