// The outbox: this device's edits waiting for their receipts. Owns numbering (seq 1, 2, 3 ...
// per device), renumbering, settling receipts, pruning, the pending list and the rejected edits
// that need attention (kept until the person resends or discards them), each under the one lock
// `watchbook-outbox` so two tabs (or a tab and the service worker) never hand out or rewrite the
// same numbers. Storage is db.js's, handed in by `useStore` (app.js, sw.js): this module
// imports nothing, so the service worker's imports stay one level deep (see sw.js). Sending is
// page/push.js's. No network and no UI here.

let db = null;

// The storage module (db.js); set once, before any other call, by the page and the worker.
export function useStore(store) { db = store; }

const LOCK = 'watchbook-outbox';
const KEEP_SETTLED = 200; // receipts kept to show; pending entries are never pruned

function locked(work) {
  return navigator.locks ? navigator.locks.request(LOCK, work) : work();
}

export const isPending = (e) => e.status === 'pending';
// Refused by the server and not yet resent or discarded by the person: never pruned.
export const needsAttention = (e) => e.status === 'rejected' && !e.handled;

// Every entry, oldest first.
export async function entries() {
  return (await db.outbox()).sort((a, b) => a.n - b.n);
}

// Entries still waiting to be sent, oldest first.
export async function pending() {
  return (await entries()).filter(isPending);
}

// Queue mutations from this device, numbered from meta `next_seq`; `notes[i]`: local fields kept
// on the i-th entry beside its mutation.
export function enqueue(deviceId, mutations, notes = []) {
  return locked(async () => {
    const next = (await db.getMeta('next_seq')) || 1;
    const now = new Date().toISOString();
    const added = mutations.map((m, i) => ({
      ...(notes[i] || {}), created_at: now,
      mutation: { ...m, seq: next + i, device_id: deviceId, client_time: now },
    }));
    await db.addOutbox(added, { next_seq: next + mutations.length });
  });
}

// A rejected entry's fix: queue `mutations` (as enqueue does) and mark entry `n` resent, in one
// transaction, so the fix is never queued without the old entry leaving "needs attention".
export function resend(deviceId, n, mutations, notes = []) {
  return locked(async () => {
    const old = (await entries()).find((e) => e.n === n);
    const next = (await db.getMeta('next_seq')) || 1;
    const now = new Date().toISOString();
    const added = mutations.map((m, i) => ({
      ...(notes[i] || {}), created_at: now, resends: n,
      mutation: { ...m, seq: next + i, device_id: deviceId, client_time: now },
    }));
    const handled = old && needsAttention(old) ? [{ ...old, handled: 'resent', handled_at: now }] : [];
    await db.addOutbox(added, { next_seq: next + mutations.length }, handled);
  });
}

// The person gave up a rejected edit: it stays listed as discarded, no longer needing attention.
export function discard(n) {
  return locked(async () => {
    const old = (await entries()).find((e) => e.n === n);
    if (old && needsAttention(old)) {
      await db.putOutbox([{ ...old, handled: 'discarded', handled_at: new Date().toISOString() }]);
    }
  });
}

// Number the pending entries from `next` for `deviceId`: the server expects `next` (e.g. this
// device was re-enrolled, or the server's history was restored).
export function renumber(next, deviceId) {
  return locked(async () => {
    const waiting = await pending();
    const renumbered = waiting.map((e, i) => ({ ...e,
      mutation: { ...e.mutation, seq: next + i, device_id: deviceId } }));
    await db.putOutbox(renumbered, { next_seq: next + waiting.length });
  });
}

// Record receipts on the sent entries they answer; resolves to how many were settled.
export function settle(sent, receipts) {
  return locked(async () => {
    const bySeq = new Map(receipts.map((r) => [r.seq, r]));
    const current = new Map((await entries()).map((e) => [e.n, e]));
    const at = new Date().toISOString();
    const settled = [];
    for (const e of sent) {
      const receipt = bySeq.get(e.mutation.seq);
      const now = current.get(e.n);
      if (!receipt || !now || !isPending(now) || now.mutation.seq !== e.mutation.seq) continue;
      settled.push({ ...now, status: receiptStatus(receipt), receipt, settled_at: at });
    }
    await db.putOutbox(settled);
    return settled.length;
  });
}

// Keep the latest `keep` settled entries to show; pending entries are never pruned.
export function prune(keep = KEEP_SETTLED) {
  return locked(async () => {
    const settled = (await entries()).filter((e) => !isPending(e) && !needsAttention(e));
    if (settled.length > keep) await db.deleteOutbox(settled.slice(0, settled.length - keep).map((e) => e.n));
  });
}

function receiptStatus(r) {
  if (r.status === 'applied' || r.status === 'merged') return 'saved';
  return r.status; // 'conflict' | 'rejected'
}
