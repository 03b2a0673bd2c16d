// The pull worker (a dedicated module worker the sync client starts): turns a pull page's bytes
// into records and stores them in IndexedDB (db.applyPage), off the page's thread. It decides
// nothing about sync: the page (page/sync.js, holding the sync lock) says what each page
// removes and which cursor must be stored before it, and gets the records back in chunks, one
// task each, to show them. No network here.
import * as db from '../db.js';

const CHUNK = 250; // records per message back: each is one short task on the page's thread
const parsed = new Map(); // page id -> its records, parsed and not yet applied

function parse({ id, buffer }) {
  let res;
  try {
    res = JSON.parse(new TextDecoder().decode(buffer));
  } catch (e) {
    postMessage({ op: 'parsed', id, error: `the server sent an unreadable page (${e.message})` });
    return;
  }
  const records = [], removed = [], conflicts = [];
  for (const ch of res.changes || []) {
    if (ch.type === 'premises') {
      if (ch.record.deleted) removed.push(ch.record.id); else records.push(ch.record);
    } else if (ch.type === 'conflict') conflicts.push(ch.conflict);
  }
  parsed.set(id, records);
  const head = { more: Boolean(res.more), cursor: res.cursor, total: res.total ?? null,
    reset: Boolean(res.reset), left_scope: res.left_scope || [], count: (res.changes || []).length,
    retire: Boolean(res.retire) };
  postMessage({ op: 'parsed', id, head, ids: records.map((r) => r.id), removed, conflicts });
}

// Stored only if `after` is the cursor stored when its transaction starts (db.applyPage), so a
// page is never applied twice, nor ahead of the page before it.
function apply({ id, removed, conflicts, meta, after }) {
  const records = parsed.get(id) || [];
  parsed.delete(id);
  const tx = db.applyPage({ records, removed, conflicts, meta }, { after });
  for (let i = 0; i < records.length; i += CHUNK) {
    postMessage({ op: 'records', id, records: records.slice(i, i + CHUNK) });
  }
  tx.then(({ was }) => postMessage({ op: 'stored', id, was }),
    (e) => postMessage({ op: 'stored', id, error: e?.name || String(e) }));
}

self.onmessage = ({ data }) => {
  if (data.op === 'parse') parse(data);
  else if (data.op === 'apply') apply(data);
  else if (data.op === 'drop') parsed.delete(data.id);
};
