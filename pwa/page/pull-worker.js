// The pull worker (a dedicated module worker the sync client starts): stores pull pages in
// IndexedDB (db.applyPage), off the page's thread. A page of new records is stored as the
// bytes it came in, so its records are neither parsed nor cloned here. It decides nothing
// about sync: the page (page/sync.js, holding the sync lock) has read each page and says what
// it removes and which cursor must be stored before it. No network here.
import * as db from '../db.js';

db.open().catch(() => {}); // started by a pull: the database is open by its first page

// Stored only if `after` is the cursor stored when its transaction starts (db.applyPage), so a
// page is never applied twice, nor ahead of the page before it.
function apply({ id, ids, body, removed, conflicts, meta, after }) {
  db.applyPage({ ids, body: new Uint8Array(body), removed, conflicts, meta }, { after })
    .then(({ was }) => postMessage({ op: 'stored', id, was }),
      (e) => postMessage({ op: 'stored', id, error: e?.name || String(e) }));
}

self.onmessage = ({ data }) => {
  if (data.op === 'apply') apply(data);
};
