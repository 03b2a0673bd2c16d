// The outbox: this device's edits waiting for their receipts. Owns numbering (seq 1, 2, 3 ...
// per device), renumbering, settling receipts, pruning and the pending list, each under the one
// lock `watchbook-outbox` so two tabs never hand out or rewrite the same numbers. Storage is
// db.js's; sending is page/sync.js's. No network and no UI here.

import * as db from '../db.js';

const LOCK = 'watchbook-outbox';
const KEEP_SETTLED = 200; // receipts kept to show; pending entries are never pruned

function locked(work) {
  return navigator.locks ? navigator.locks.request(LOCK, work) : work();
}

export const isPending = (e) => e.status === 'pending';

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
    const settled = (await entries()).filter((e) => !isPending(e));
    if (settled.length > keep) await db.deleteOutbox(settled.slice(0, settled.length - keep).map((e) => e.n));
  });
}

function receiptStatus(r) {
  if (r.status === 'applied' || r.status === 'merged') return 'saved';
  return r.status; // 'conflict' | 'rejected'
}
