// The device's replica in IndexedDB, and the only module that touches IndexedDB.
// Shared by the page and the service worker. Stores: chunks and chunk_ids (the server copies
// of premises, up to CHUNK records a value: see "premises" below), conflicts (by id), outbox (this device's edits, in order; page/outbox.js numbers them),
// meta (token, user, cursor, ...), uploads (attachment blobs waiting to be sent, by sha256;
// apart from the outbox so a large photo never holds up an edit) and files (the offline
// attachment cache, by sha256). No network and no UI here; every multi-store write is one
// transaction. Every write to premises, conflicts or the outbox bumps meta `gen`, which dates the
// cached first screen. The one home of the outbox entry schema.

const NAME = 'watchbook';
// 2: uploads and files stores; 3: premises in chunks (from one value a record); 4: a chunk may
// hold a pull page's bytes, which version 3 code cannot read (nothing to convert: the bump
// closes an older tab's connection, and it reloads to go on, rather than misread a chunk).
const VERSION = 4;
const CHUNK = 1000; // records a chunk holds at most
const BODY_MIN = CHUNK / 2; // a page of at least this many new records is stored as its bytes
// An outbox entry's shape: {n, schema, status: 'pending' | 'saved' | 'conflict' | 'rejected',
// created_at, mutation, receipt?, settled_at?, handled?: 'resent' | 'discarded' (a rejected entry
// the person dealt with), handled_at?, resends?: n of the rejected entry this one fixes}.
// Bump OUTBOX_SCHEMA when it changes, and list in
// OUTBOX_READABLE the schemas this code can still read and send: a new service worker waits
// while the outbox holds pending entries of any other (sw.js).
export const OUTBOX_SCHEMA = 1;
export const OUTBOX_READABLE = [1];

let opening = null;
// meta `gen` as this realm last knew it consistent with what it read and wrote; null once
// another tab (or an aborted write) may have moved it.
let knownGen = null;

// The one bridge from IDBRequest to a promise.
export function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// A transaction's outcome: IDB commits on its own once no request is pending, so callers queue
// every request synchronously and then await this.
function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error || new DOMException('aborted', 'AbortError'));
  });
}

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        const make = (name, options) => {
          if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, options);
        };
        make('chunks', { keyPath: 'n' });
        make('chunk_ids', { keyPath: 'n' });
        make('conflicts', { keyPath: 'id' });
        make('outbox', { keyPath: 'n', autoIncrement: true });
        make('meta');
        make('uploads', { keyPath: 'sha256' });
        make('files', { keyPath: 'sha256' });
        // A version 2 device: its per-record store becomes chunks in this same upgrade
        // transaction (all or nothing); the outbox and every other store are left as they are.
        if (db.objectStoreNames.contains('premises')) {
          const tx = req.transaction;
          tx.objectStore('premises').getAll().onsuccess = (e) => {
            const records = e.target.result;
            for (let i = 0, n = 1; i < records.length; i += CHUNK, n += 1) {
              putChunk(tx, n, records.slice(i, i + CHUNK));
            }
            db.deleteObjectStore('premises');
          };
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another tab or a new service worker wants a newer schema: let it, reopen later.
        db.onversionchange = () => { db.close(); opening = null; };
        db.onclose = () => { opening = null; };
        resolve(db);
      };
      req.onerror = () => { opening = null; reject(req.error); };
      req.onblocked = () => console.warn('watchbook: IndexedDB upgrade blocked by another tab');
    });
  }
  return opening;
}

async function run(stores, mode, body) {
  const db = await open();
  const tx = db.transaction(stores, mode, { durability: 'relaxed' });
  const result = body(tx);
  await finished(tx);
  return result;
}

async function read(store, fn) {
  const db = await open();
  return promised(fn(db.transaction(store, 'readonly').objectStore(store)));
}

// -- meta --------------------------------------------------------------------------------------

export function getMeta(key) { return read('meta', (s) => s.get(key)); }

export async function getMetas(keys) {
  const out = {};
  await run(['meta'], 'readonly', (tx) => {
    const store = tx.objectStore('meta');
    for (const k of keys) store.get(k).onsuccess = (e) => { out[k] = e.target.result; };
  });
  return out;
}

export function setMeta(values) {
  return run(['meta'], 'readwrite', (tx) => putMetas(tx, values));
}

// -- premises and conflicts ----------------------------------------------------------------------

// The server copies of premises are stored in chunks, not one value a record: one
// structured clone and one backend write per chunk is what makes a 20,000-record download and
// a cold open fast (docs/performance.md). `chunks` holds {n, records}, or {n, body}: the bytes
// of a pull page whose premises records (page/pagebody.js) are the chunk's, stored as they came
// so a download clones no records at all; `chunk_ids` holds {n, ids}, the same records' ids in
// the same order, read to find a record's chunk without reading the records. Both are only
// ever written together. Every chunk holds 1 to CHUNK records; a record is in exactly one chunk.

function putChunk(tx, n, records) {
  if (!records.length) {
    tx.objectStore('chunks').delete(n);
    tx.objectStore('chunk_ids').delete(n);
    return;
  }
  tx.objectStore('chunks').put({ n, records });
  tx.objectStore('chunk_ids').put({ n, ids: records.map((r) => r.id) });
}

function putBody(tx, n, ids, body) {
  tx.objectStore('chunks').put({ n, body });
  tx.objectStore('chunk_ids').put({ n, ids });
}

function chunkRecords(chunk) { return chunk.records ?? readPage(chunk.body).records; }

// A pull page's body (docs/sync-protocol.md) from its bytes: the answer (`res`: more, cursor,
// total, ...), the premises records it stores, the ids its tombstones remove and its
// conflicts. Pure; here, with no import, because a chunk may be such bytes (the service worker
// imports this module, and must import no more modules than it does: sw.js).
export function readPage(bytes) {
  const res = JSON.parse(new TextDecoder().decode(bytes));
  const records = [], removed = [], conflicts = [];
  for (const ch of res.changes || []) {
    if (ch.type === 'premises') {
      if (ch.record.deleted) removed.push(ch.record.id); else records.push(ch.record);
    } else if (ch.type === 'conflict') conflicts.push(ch.conflict);
  }
  return { res, records, removed, conflicts };
}

// Every record, sorted by id (the order the per-record store gave).
export async function allPremises() {
  const out = [];
  await run(['chunks'], 'readonly', (tx) => {
    tx.objectStore('chunks').getAll().onsuccess = (e) => {
      for (const c of e.target.result) for (const r of chunkRecords(c)) out.push(r);
    };
  });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function countPremises() {
  let count = 0;
  await run(['chunk_ids'], 'readonly', (tx) => {
    tx.objectStore('chunk_ids').getAll().onsuccess = (e) => {
      for (const c of e.target.result) count += c.ids.length;
    };
  });
  return count;
}

// Within a transaction on chunks and chunk_ids: store a page's records (later ones win over
// earlier versions, in place in the chunk that holds them) and drop `removed` (a removal wins
// over a record of the same page). Only the chunks holding these ids are read and rewritten;
// new records join the last chunk if it has room for all of them, else go into new chunks.
// The page is {records}, or {ids, body}: its bytes (readPage) and its records' ids in order,
// read into records only if a chunk is rewritten with them; a page of BODY_MIN to CHUNK
// records that are all new (a download) becomes one new chunk holding those bytes.
function writePremises(tx, page, removed) {
  const ids = page.ids ?? page.records.map((r) => r.id);
  if (!ids.length && !removed.length) return;
  const gone = new Set(removed);
  const stored = new Set(ids.filter((id) => !gone.has(id)));
  const chunks = tx.objectStore('chunks');
  tx.objectStore('chunk_ids').getAll().onsuccess = (e) => {
    const lists = e.target.result;
    const touched = new Set(); // chunks holding a record of the page or a removed one
    for (const { n, ids: held } of lists) {
      for (const id of held) {
        if (stored.has(id) || gone.has(id)) { touched.add(n); break; }
      }
    }
    const fresh = new Set(stored);
    for (const { n, ids: held } of lists) if (touched.has(n)) for (const id of held) fresh.delete(id);
    const last = lists.length ? lists[lists.length - 1] : null;
    let next = last ? last.n + 1 : 1;
    const asBody = Boolean(page.body) && fresh.size === ids.length
      && ids.length >= BODY_MIN && ids.length <= CHUNK;
    const byId = new Map(); // the page's records it stores; not read for a page stored as bytes
    if (!asBody) for (const r of page.records ?? readPage(page.body).records) if (!gone.has(r.id)) byId.set(r.id, r);
    const into = !asBody && last && fresh.size && last.ids.length + fresh.size <= CHUNK ? last.n : null;
    if (into !== null) touched.add(into);
    for (const n of touched) {
      chunks.get(n).onsuccess = (ev) => {
        const kept = [];
        for (const r of chunkRecords(ev.target.result)) {
          if (gone.has(r.id)) continue;
          kept.push(byId.get(r.id) ?? r);
        }
        if (n === into) for (const id of fresh) kept.push(byId.get(id));
        putChunk(tx, n, kept);
      };
    }
    if (asBody) putBody(tx, next, ids, page.body);
    else if (into === null && fresh.size) {
      const rest = [...fresh].map((id) => byId.get(id));
      for (let i = 0; i < rest.length; i += CHUNK, next += 1) putChunk(tx, next, rest.slice(i, i + CHUNK));
    }
  };
}

// One pulled page: records, tombstones, conflicts and the new cursor in one transaction, so a
// cursor is never saved ahead of the data it covers. `after`: the cursor the page before stores,
// in a transaction still running; this one queues behind it (IndexedDB runs overlapping
// read-write transactions in the order they were made) and aborts, storing nothing, unless
// that cursor is the one stored when it starts, i.e. unless the page before committed. Given
// as the cursor the page was fetched from (none, '' and null alike for the beginning), it also
// makes a page applied twice store nothing the second time. The page's records are `records`,
// or `ids` and `body` (see writePremises).
export function applyPage({ records, ids, body = null, removed = [], conflicts = [], meta = {} },
  options = {}) {
  const page = body && ids ? { ids, body } : { records: records || [] };
  return run(['chunks', 'chunk_ids', 'conflicts', 'meta'], 'readwrite', (tx) => {
    if ('after' in options) {
      const after = options.after || null;
      tx.objectStore('meta').get('cursor').onsuccess = (e) => {
        if ((e.target.result || null) !== after) tx.abort();
      };
    }
    writePremises(tx, page, removed);
    const conflictStore = tx.objectStore('conflicts');
    for (const c of conflicts) conflictStore.put(c);
    putMetas(tx, meta);
    const out = {}; // {was}: meta `gen` before this page, if it moved it (see wrote())
    if ((page.ids ?? page.records).length || removed.length || conflicts.length) bump(tx, out);
    return out;
  });
}

// Another realm (the pull worker) moved meta `gen` on from `was` in a write this realm knows
// all of: this realm's replica is as consistent with it as it was before.
export function wrote(was) {
  if (was === undefined) return;
  knownGen = knownGen === was ? was + 1 : null;
}

// A consistent copy of the replica for the page: every premises record, the outbox, conflicts
// and `gen`, in one readonly transaction. The chunks are read one request each, all queued at
// once, so each is turned into objects (on the page's thread) while the next is still being
// read, and no single task holds the thread for the whole store.
export async function snapshot() {
  const chunks = [];
  const out = { premises: [], outbox: [], conflicts: [], gen: 0 };
  await run(['chunks', 'outbox', 'conflicts', 'meta'], 'readonly', (tx) => {
    const store = tx.objectStore('chunks');
    store.getAllKeys().onsuccess = (e) => {
      for (const n of e.target.result) {
        const at = chunks.push(null) - 1;
        store.get(n).onsuccess = (ev) => { chunks[at] = chunkRecords(ev.target.result); };
      }
    };
    tx.objectStore('outbox').getAll().onsuccess = (e) => { out.outbox = e.target.result; };
    tx.objectStore('conflicts').getAll().onsuccess = (e) => { out.conflicts = e.target.result; };
    tx.objectStore('meta').get('gen').onsuccess = (e) => { out.gen = e.target.result || 0; };
  });
  out.premises = chunks.flat();
  knownGen = out.gen;
  return out;
}

// The cached first screen of the list ({gen, total, items}), the outbox and conflicts, in one
// readonly transaction; the first screen is null unless it was drawn at the current `gen`.
export async function firstScreen() {
  const out = { first: null, outbox: [], conflicts: [] };
  await run(['outbox', 'conflicts', 'meta'], 'readonly', (tx) => {
    const meta = tx.objectStore('meta');
    meta.get('first_screen').onsuccess = (e) => {
      const first = e.target.result;
      meta.get('gen').onsuccess = (ev) => {
        if (first && first.gen === (ev.target.result || 0)) out.first = first;
      };
    };
    tx.objectStore('outbox').getAll().onsuccess = (e) => { out.outbox = e.target.result; };
    tx.objectStore('conflicts').getAll().onsuccess = (e) => { out.conflicts = e.target.result; };
  });
  return out;
}

// Store the first screen ({total, items}) drawn from the page's replica, only if nothing was
// written since this realm last read or wrote a consistent replica. Resolves to whether it did.
export async function saveFirstScreen(first) {
  let saved = false;
  await run(['meta'], 'readwrite', (tx) => {
    const meta = tx.objectStore('meta');
    meta.get('gen').onsuccess = (e) => {
      const gen = e.target.result || 0;
      if (knownGen === null || gen !== knownGen) return;
      meta.put({ ...first, gen }, 'first_screen');
      saved = true;
    };
  });
  return saved;
}

// Within a transaction that writes premises, conflicts or the outbox: meta `gen` + 1.
function bump(tx, out = {}) {
  const meta = tx.objectStore('meta');
  meta.get('gen').onsuccess = (e) => {
    const was = e.target.result || 0;
    out.was = was;
    meta.put(was + 1, 'gen');
    knownGen = knownGen === was ? was + 1 : null;
  };
}

function putMetas(tx, values) {
  const store = tx.objectStore('meta');
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) store.delete(k); else store.put(v, k);
  }
}

// -- outbox ------------------------------------------------------------------------------------

export function outbox() { return read('outbox', (s) => s.getAll()); }

// Add entries (numbered by page/outbox.js) with the meta that numbers them; `updated`: existing
// entries rewritten in the same transaction.
export function addOutbox(entries, meta = {}, updated = []) {
  return run(['outbox', 'meta'], 'readwrite', (tx) => {
    const store = tx.objectStore('outbox');
    for (const e of entries) store.add({ schema: OUTBOX_SCHEMA, status: 'pending', ...e });
    for (const e of updated) store.put(e);
    putMetas(tx, meta);
    bump(tx);
  });
}

export function putOutbox(entries, meta = {}) {
  return run(['outbox', 'meta'], 'readwrite', (tx) => {
    const store = tx.objectStore('outbox');
    for (const e of entries) store.put(e);
    putMetas(tx, meta);
    if (entries.length) bump(tx);
  });
}

export function deleteOutbox(keys) {
  return run(['outbox', 'meta'], 'readwrite', (tx) => {
    const store = tx.objectStore('outbox');
    for (const n of keys) store.delete(n);
    if (keys.length) bump(tx);
  });
}

// The schemas of entries still waiting to be sent (the service worker checks them before an
// update takes over).
export async function pendingOutboxSchemas() {
  const entries = await outbox();
  return [...new Set(entries.filter((e) => e.status === 'pending').map((e) => e.schema))];
}

// -- attachment uploads and the offline attachment cache ---------------------------------------

export function uploads() { return read('uploads', (s) => s.getAll()); }
export function getUpload(sha256) { return read('uploads', (s) => s.get(sha256)); }
export function putUpload(entry) { return run(['uploads'], 'readwrite', (tx) => { tx.objectStore('uploads').put(entry); }); }
export function getFile(sha256) { return read('files', (s) => s.get(sha256)); }

// A sent upload leaves the queue and enters the cache in one transaction: never in neither.
export function uploaded(sha256, file) {
  return run(['uploads', 'files'], 'readwrite', (tx) => {
    tx.objectStore('uploads').delete(sha256);
    if (file) tx.objectStore('files').put(file);
  });
}

// Every cached file's bookkeeping (sha256, size, station, viewed_at), without the bytes.
export async function fileIndex() {
  const out = [];
  await run(['files'], 'readonly', (tx) => {
    tx.objectStore('files').openCursor().onsuccess = (e) => {
      const c = e.target.result;
      if (!c) return;
      const { blob, ...rest } = c.value;
      out.push(rest);
      c.continue();
    };
  });
  return out;
}

export function putFile(file, evict = []) {
  return run(['files'], 'readwrite', (tx) => {
    const store = tx.objectStore('files');
    for (const sha of evict) store.delete(sha);
    if (file) store.put(file);
  });
}

// -- the whole replica ---------------------------------------------------------------------------

const ALL = ['chunks', 'chunk_ids', 'conflicts', 'outbox', 'meta', 'uploads', 'files'];

export async function wipe() {
  await run(ALL, 'readwrite', (tx) => {
    for (const name of ALL) tx.objectStore(name).clear();
  });
  knownGen = 0;
}
