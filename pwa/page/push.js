// Pushing the outbox: pending entries in batches to /sync/push, receipts settled, a seq gap
// renumbered, settled entries pruned (all numbering and settling is outbox.js's). Shared by the
// page (page/sync.js, first step of a sync) and the service worker (Background Sync with no page
// open). Callers hold SYNC_LOCK around it, so page and worker never send the same batch at once.
// The transport, the outbox (page/outbox.js) and the protocol version are passed in: this module
// imports nothing (see sw.js). No UI here.

export const SYNC_LOCK = 'watchbook-sync';
const PUSH_BATCH = 100;

// Send until nothing is pending; resolves to how many entries were settled. `before()` runs
// before each batch is read off (the page shows progress with it); if it resolves to the pending
// entries, oldest first (it has just read them), they are not read again. Throws the
// transport's error (offline, 401, ...), leaving unsent entries pending.
export async function pushOutbox(transport, outbox, { token, deviceId, protocol }, before = async () => {}) {
  let sent = 0;
  for (let round = 0; round < 1000; round += 1) {
    const pending = (await before()) ?? await outbox.pending();
    if (!pending.length) return sent;
    const batch = pending.slice(0, PUSH_BATCH);
    // the device's unsent edits, reported for the coverage view (docs/sync-protocol.md)
    const oldest = pending.map((e) => e.mutation.client_time).filter(Boolean).sort()[0];
    const headers = { 'X-Watchbook-Pending': String(pending.length) };
    if (oldest) headers['X-Watchbook-Oldest-Pending'] = oldest;
    const res = await transport('/sync/push', { token, method: 'POST', headers,
      body: { mutations: batch.map((e) => e.mutation), protocol } });
    const settled = await outbox.settle(batch, res.receipts);
    if (res.gap && !settled) await outbox.renumber(res.next_seq, deviceId);
    if (!settled && !res.gap) throw new Error('the server returned no receipts');
    await outbox.prune();
    sent += settled;
  }
  return sent;
}
