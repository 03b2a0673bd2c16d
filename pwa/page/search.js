// The in-memory search index over the replica: name, address, postcode (with and without its
// space) and UPRN, every typed word must match. Built from IndexedDB at start and after a sync.

export function searchText(r) {
  const pc = r.postcode || '';
  return [r.name, r.address, pc, pc.replace(/\s+/g, ''), r.uprn].join(' ').toLowerCase();
}

export class SearchIndex {
  constructor(records = []) { this.build(records); }

  build(records) {
    this.entries = records.filter((r) => !r.deleted)
      .sort((a, b) => (a.name || '').localeCompare(b.name || '') || a.id.localeCompare(b.id))
      .map((r) => ({ record: r, text: searchText(r) }));
  }

  // {total, items}: at most `limit` records, in name order.
  search(query, limit = 100) {
    const words = String(query || '').toLowerCase().split(/\s+/).filter(Boolean);
    const items = [];
    let total = 0;
    for (const e of this.entries) {
      if (words.every((w) => e.text.includes(w))) {
        total += 1;
        if (items.length < limit) items.push(e.record);
      }
    }
    return { total, items };
  }
}
