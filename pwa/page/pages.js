// The page's end of the pull worker (page/pull-worker.js): parse(buffer) reads a pull page's
// bytes (db.readPage, one JSON.parse on this thread: the page shows the records anyway) into
// its head (more, cursor, total, ...), record ids, tombstones and conflicts; apply(id, ...)
// hands the bytes to the worker (transferred, not copied) to store and, once the transaction
// committed, resolves to the page's records. Sends nothing over the network.

import * as db from '../db.js';

export class PullPages {
  constructor(url = '/pwa/page/pull-worker.js') {
    this.url = url;
    this.worker = null;
    this.n = 0;
    this.read = new Map();    // id -> {buffer, ids, records}, parsed and not yet stored
    this.waiting = new Map(); // id -> {resolve, reject, records}, being stored
  }

  // Started when a pull starts, so the worker and its database are ready by its first page.
  start() {
    if (this.worker) return this.worker;
    this.worker = new Worker(this.url, { type: 'module' });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => { // failed to load or threw: every page being stored fails
      e.preventDefault?.();
      const err = new Error(`the pull worker failed (${e.message || 'not started'})`);
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.worker.terminate();
      this.worker = null;
    };
    return this.worker;
  }

  parse(buffer) {
    let page;
    try {
      page = db.readPage(new Uint8Array(buffer));
    } catch (e) {
      throw new Error(`the server sent an unreadable page (${e.message})`);
    }
    const { res, records, removed, conflicts } = page;
    const id = ++this.n;
    const ids = records.map((r) => r.id);
    this.read.set(id, { buffer, ids, records });
    const head = { more: Boolean(res.more), cursor: res.cursor, total: res.total ?? null,
      reset: Boolean(res.reset), left_scope: res.left_scope || [], count: (res.changes || []).length,
      retire: Boolean(res.retire) };
    return { id, head, ids, removed, conflicts };
  }

  // Stored only if `after` is the cursor stored when its transaction starts (db.applyPage), so a
  // page is never applied twice, nor ahead of the page before it.
  apply(id, { removed, conflicts, meta, after }) {
    const { buffer, ids, records } = this.read.get(id);
    this.read.delete(id);
    const out = new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject, records }));
    this.start().postMessage({ op: 'apply', id, ids, body: buffer, removed, conflicts, meta, after },
      [buffer]);
    return out;
  }

  drop(id) { this.read.delete(id); }

  receive(m) {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (m.error) {
      w.reject(new DOMException(m.error, m.error));
    } else {
      db.wrote(m.was); // the page's replica follows this write: its first screen may be saved
      w.resolve(w.records);
    }
  }
}
