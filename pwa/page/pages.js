// The page's end of the pull worker (page/pull-worker.js): parse(buffer) hands a pull page's
// bytes over (transferred, not copied) and resolves to its head (more, cursor, total, ...),
// record ids, tombstones and conflicts; apply(id, ...) has the worker store it and resolves to
// its records once the transaction committed. Sends nothing over the network.

import * as db from '../db.js';

export class PullPages {
  constructor(url = '/pwa/page/pull-worker.js') {
    this.url = url;
    this.worker = null;
    this.n = 0;
    this.waiting = new Map(); // id -> {resolve, reject, records}
  }

  start() {
    if (this.worker) return this.worker;
    this.worker = new Worker(this.url, { type: 'module' });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => { // failed to load or threw: every pending page fails
      e.preventDefault?.();
      const err = new Error(`the pull worker failed (${e.message || 'not started'})`);
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.worker.terminate();
      this.worker = null;
    };
    return this.worker;
  }

  expect(id) {
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject, records: [] }));
  }

  parse(buffer) {
    const id = ++this.n;
    const out = this.expect(id);
    this.start().postMessage({ op: 'parse', id, buffer }, [buffer]);
    return out;
  }

  apply(id, { removed, conflicts, meta, after }) {
    const out = this.expect(id);
    this.start().postMessage({ op: 'apply', id, removed, conflicts, meta, after });
    return out;
  }

  drop(id) { this.worker?.postMessage({ op: 'drop', id }); }

  receive(m) {
    const w = this.waiting.get(m.id);
    if (!w) return;
    if (m.op === 'records') { for (const r of m.records) w.records.push(r); return; }
    this.waiting.delete(m.id);
    if (m.error) {
      w.reject(m.op === 'stored' ? new DOMException(m.error, m.error) : new Error(m.error));
    } else if (m.op === 'parsed') {
      w.resolve({ id: m.id, head: m.head, ids: m.ids, removed: m.removed, conflicts: m.conflicts });
    } else {
      db.wrote(m.was); // the page's replica follows this write: its first screen may be saved
      w.resolve(w.records);
    }
  }
}
