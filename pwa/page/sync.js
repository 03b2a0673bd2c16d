// The browser sync client (docs/sync-protocol.md): push the outbox in batches, then pull pages
// of changes from the saved cursor, one tab at a time (navigator.locks), each page sized for the
// link (page/pagesize.js) and parsed and stored by the pull worker (page/pull-worker.js). Triggers: start,
// `online`, page visible, a timer, "Sync now", Background Sync wake-ups. The transport is passed
// in; the outbox's numbering and receipts are page/outbox.js's, the push loop page/push.js's
// (shared with the service worker). Never holds an IndexedDB transaction across a request;
// each pulled page is one transaction.

import * as db from '../db.js';
import { CURSOR_HEADER, MORE_HEADER, PROTOCOL } from './api.js';
import * as outbox from './outbox.js';
import { PullPages } from './pages.js';
import { FIRST_ROWS, nextLimit } from './pagesize.js';
import { pushOutbox, SYNC_LOCK } from './push.js';

const TIMER_MS = 5 * 60 * 1000;
const PROGRESS_MS = 400; // during a download, the progress (and the list under it) redrawn at most this often
const MAX_BACKOFF_MS = 5 * 60 * 1000;
const AHEAD = 2; // pull pages requested and not yet taken by the pull loop

export class Sync extends EventTarget {
  // `transport(path, {token, method, body, timeout})`: the API's JSON, or throws ApiError.
  constructor(replica, session, transport) {
    super();
    this.replica = replica;
    this.session = session;
    this.call = transport;
    this.state = { running: false, phase: '', done: 0, total: null, error: '', lastOk: null };
    this.failures = 0;
    this.notBefore = 0;
    this.pages = new PullPages(); // the pull worker, started by the first pull
    this.limit = FIRST_ROWS;      // the next pull page's rows, sized for the link
    this.channel = 'BroadcastChannel' in self ? new BroadcastChannel('watchbook-sync') : null;
    if (this.channel) {
      this.channel.onmessage = (e) => {
        if (e.data === 'synced') this.replica.load().then(() => this.loadStatus());
      };
    }
  }

  async loadStatus() {
    const m = await db.getMetas(['last_sync_ok', 'last_sync_error', 'initial']);
    Object.assign(this.state, { lastOk: m.last_sync_ok || null, error: m.last_sync_error || '' });
    if (m.initial && !m.initial.complete) Object.assign(this.state, m.initial);
    this.emit();
  }

  emit() {
    clearTimeout(this.progressTimer);
    this.progressTimer = null;
    this.emitted = performance.now();
    this.dispatchEvent(new Event('status'));
  }

  // A stored page's progress: drawn now if the last drawing is PROGRESS_MS old, else at the
  // end of that time (never dropped). Each drawing renders the list again; twenty pages a
  // second would spend the page's thread on it.
  progressed() {
    if (this.progressTimer) return;
    const wait = (this.emitted || 0) + PROGRESS_MS - performance.now();
    if (wait <= 0) this.emit(); else this.progressTimer = setTimeout(() => this.emit(), wait);
  }

  // Wire up the triggers; `now`: sync at once (a sign-in syncs when it has read the replica:
  // app.js signedIn). Background Sync is the service worker's: it pushes the outbox itself
  // (page/push.js, under the same lock) and then wakes open pages to pull.
  start({ now = true } = {}) {
    addEventListener('online', () => this.run('online', { force: true })); // back in signal: go now
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.run('visible');
    });
    setInterval(() => this.run('timer'), TIMER_MS);
    navigator.serviceWorker?.addEventListener('message', (e) => {
      if (e.data?.type === 'sync-wake') this.run('wake');
    });
    return now ? this.run('start') : Promise.resolve('started');
  }

  async requestWake() {
    try {
      const reg = await navigator.serviceWorker?.ready;
      await reg?.sync?.register('watchbook-sync');
    } catch { /* Background Sync is optional */ }
  }

  // One sync, if no other tab is syncing. `force` (the button) ignores the backoff; pressed
  // while this tab is already syncing, it runs once more when that sync ends (what it asks for
  // may have reached the server after the running sync pulled), never dropped.
  async run(reason = 'manual', { force = false } = {}) {
    if (!this.session.token || this.session.expired) return 'signed-out';
    if (force && this.state.running) { this.again = true; return 'queued'; }
    if (!force && Date.now() < this.notBefore) return 'backoff';
    if (!navigator.onLine && reason !== 'manual') return this.fail('offline');
    if (!navigator.locks) return this.locked();
    return navigator.locks.request(SYNC_LOCK, { ifAvailable: true },
      (lock) => (lock ? this.locked() : 'busy'));
  }

  async locked() {
    if (this.state.running) return 'busy';
    this.state.running = true;
    this.state.error = '';
    this.emit();
    try {
      let result;
      do {
        this.again = false;
        result = await this.once();
      } while (this.again && result === 'ok');
      return result;
    } finally {
      this.again = false;
      this.state.running = false;
      this.emit();
    }
  }

  async once() {
    try {
      await this.replica.whenLoaded; // a cold open reads the whole replica before syncing it
      await this.push();
      await this.pull();
      await this.push(); // resolutions or edits made while pulling
      const now = new Date().toISOString();
      await db.setMeta({ last_sync_ok: now, last_sync_error: undefined });
      Object.assign(this.state, { lastOk: now, error: '', phase: '' });
      this.failures = 0;
      this.notBefore = 0;
      this.channel?.postMessage('synced');
      this.dispatchEvent(new Event('synced'));
      if (this.retireOrdered) return await this.retire();
      return 'ok';
    } catch (err) {
      return this.fail(err);
    }
  }

  // An administrator retired this device (a sync answer said `retire`): once nothing is left
  // unsent — no pending or refused edit, no queued photo — tell the server (its token then stops
  // working) and sign out, clearing the device. Anything unsent keeps the data, and says why.
  async retire() {
    if (this.preparing?.()) return 'retiring'; // an edit is being queued (app.js): the next sync
    const unsent = (await outbox.entries()).filter((e) => outbox.isPending(e) || outbox.needsAttention(e)).length;
    const photos = (await db.uploads()).length;
    if (unsent || photos) {
      const what = [unsent && `${unsent} change${unsent === 1 ? '' : 's'}`,
        photos && `${photos} photo${photos === 1 ? '' : 's'}`].filter(Boolean).join(' and ');
      this.state.error = `An administrator retired this device. It signs out once ${what} ${unsent + photos === 1 ? 'is' : 'are'} sent${unsent ? ' or discarded (see the Sync page)' : ''}; until then it keeps its data.`;
      await db.setMeta({ last_sync_error: this.state.error });
      this.emit();
      return 'retiring';
    }
    try {
      await this.call('/sync/retired', { token: this.session.token, method: 'POST' });
    } catch (err) {
      if (!err.revoked) throw err; // offline or busy: the next sync tries again
    }
    this.retireOrdered = false;
    await this.session.wipe('An administrator retired this device: everything it held was sent, and it has signed out and cleared its data.');
    return 'retired';
  }

  async fail(err) {
    if (err && err.status === 401) {
      await this.session.rejected(err);
      this.state.error = err.revoked ? 'device revoked' : 'sign in again';
    } else {
      this.state.error = typeof err === 'string' ? err
        : err?.offline ? 'offline' : (err?.message || String(err));
      // No signal is not a server failure: no backoff; the `online` event wakes us.
      if (!navigator.onLine) {
        await db.setMeta({ last_sync_error: this.state.error }).catch(() => {});
        this.emit();
        return 'failed';
      }
      this.failures += 1;
      if (err?.status === 426) this.state.error = 'this app is too old for the server: update it (your changes are kept)';
      const refused = err?.status >= 400 && err?.status < 500 && err?.status !== 429;
      const cap = Math.min(MAX_BACKOFF_MS, 5000 * 2 ** (this.failures - 1));
      const wait = err?.retryAfter ? err.retryAfter * 1000 + Math.random() * 1000
        : refused ? 60 * 60 * 1000 : Math.random() * cap; // full jitter; 4xx waits for a person
      this.notBefore = Date.now() + wait;
    }
    await db.setMeta({ last_sync_error: this.state.error }).catch(() => {});
    this.emit();
    return 'failed';
  }

  // -- push --------------------------------------------------------------------------------------

  async push() {
    const who = { token: this.session.token, deviceId: this.session.deviceId, protocol: PROTOCOL };
    await pushOutbox(this.call, outbox, who, async () => {
      await this.replica.reloadOutbox();
      const pending = this.replica.pending();
      const n = pending.length;
      if (n) { this.state.phase = `Sending ${n} change${n === 1 ? '' : 's'}`; this.emit(); }
      return pending; // just read: pushOutbox need not read the outbox again
    });
  }

  // -- pull --------------------------------------------------------------------------------------

  async pull() {
    this.pages.start(); // the worker and its database open while the first page is asked for
    // one read: the cursor, the download's progress, and after a reset the ids sent again so far
    let { cursor, initial, reset_seen: seen } = await db.getMetas(['cursor', 'initial', 'reset_seen']);
    initial = initial || { complete: false, done: 0, total: null };
    const outcome = { changed: false, downloaded: false };
    try {
      await this.pullPages(cursor, initial, seen, outcome);
    } finally {
      // Each page's records were shown and indexed as it was stored (replica.applyPage);
      // what arrived stays so even if a page failed.
      if (outcome.changed) this.replica.changed();
    }
    if (outcome.downloaded) performance.mark('wb:initial-sync-done');
  }

  // Request the page after `cursor` for the pull `run`: {cursor, page, next}. `page` resolves to
  // it parsed by the pull worker; `next` is the cursor of the page after it once known (the
  // answer's Watchbook-Cursor and Watchbook-More headers, before its body; else its body), null
  // if it is the last. Sized for the link (page/pagesize.js).
  fetchPage(run, cursor) {
    const limit = this.limit;
    const f = { cursor, next: undefined, requested: false };
    // the unsent edits, reported on pulls too (so a device with none says 0, for the console)
    const headers = { 'X-Watchbook-Pending': String(this.replica.pending().length) };
    const onHeaders = (h) => {
      const more = h.get(MORE_HEADER), after = h.get(CURSOR_HEADER);
      if (more === '0') f.next = null;
      else if (more === '1' && after) { f.next = after; this.ahead(run); }
    };
    f.page = this.call(`/sync/pull?cursor=${encodeURIComponent(cursor || '')}&limit=${limit}`,
      { token: this.session.token, timeout: 60000, as: 'buffer', headers, onHeaders })
      .then(({ buffer, transferMs }) => {
        const got = this.pages.parse(buffer);
        this.limit = nextLimit(limit, { rows: got.head.count, transferMs });
        return got;
      });
    f.page.catch(() => {}); // awaited later, or dropped if storing the page before it failed
    return f;
  }

  // Keep AHEAD pages requested and not yet taken by the pull loop, each from the cursor the
  // page before it announced: the server prepares page N+1 while page N's body arrives and is
  // parsed, instead of after.
  ahead(run) {
    let last = run.queue.at(-1) ?? run.taken;
    while (!run.stopped && run.queue.length < AHEAD && typeof last?.next === 'string' && !last.requested) {
      last.requested = true;
      last = this.fetchPage(run, last.next);
      run.queue.push(last);
    }
  }

  // Pages in flight: page N+1 is requested as soon as page N's headers name its cursor (ahead),
  // and fetched and parsed while page N is stored. The pull worker parses
  // each page and stores it (its records and cursor one transaction, made while the page
  // before commits); transactions commit in page order, and each stores nothing unless the
  // cursor it was fetched from is the one stored (db.applyPage `after`), so the saved cursor
  // never runs ahead of the data and no page is applied twice. The sync lock (held for the
  // whole sync, by this tab or the service worker's push) keeps other tabs out. The in-memory
  // replica and the progress follow each commit, from the bytes the worker hands back.
  // `outcome`: whether anything changed, whether a download from the beginning completed.
  // `seen`: after a reset, the ids sent again so far; records that do not come back are dropped
  // at the end, except those with pending edits or open conflicts (protocol obligations 6, 7).
  async pullPages(cursor, initial, seen, outcome) {
    const run = { queue: [], taken: null, stopped: false }; // pages requested, in order
    run.queue.push(this.fetchPage(run, cursor));
    let storing = null; // the page whose transaction may still be running
    try {
      for (let n = 0; n < 100000; n += 1) {
        const taken = run.queue[0];
        const got = await taken.page;
        run.queue.shift();
        run.taken = taken;
        const res = got.head;
        if (res.retire) this.retireOrdered = true;
        taken.next = res.more ? res.cursor : null; // the body is the word on what follows
        if (run.queue.length && run.queue[0].cursor !== taken.next) { // never, from this server
          for (const f of run.queue.splice(0)) f.page.then((g) => this.pages.drop(g.id), () => {});
          taken.requested = false;
        }
        this.ahead(run);
        const next = res.more ? run.queue[0] : null;
        if (!next) { await this.stored(storing, outcome); storing = null; } // the reset check below reads the stored ids
        const held = this.replica.heldIds();
        for (const c of storing?.page.conflicts || []) if (c.status === 'open') held.add(c.premises_id);
        const { removed, conflicts } = got;
        for (const id of res.left_scope) if (!held.has(id)) removed.push(id);
        if (res.reset) seen = [];
        if (seen) {
          for (const id of got.ids) seen.push(id);
          if (!res.more) {
            const back = new Set(seen);
            for (const id of this.replica.server.keys()) if (!back.has(id) && !held.has(id)) removed.push(id);
            seen = undefined;
          }
        }
        // A pull from the beginning (first, reset or grown scope) carries `total`: N of M.
        if (res.total != null || !cursor) initial = { complete: false, done: 0, total: res.total ?? null };
        const counting = !initial.complete;
        if (counting) {
          initial.done += res.count;
          if (!res.more) initial.complete = true;
        }
        const after = cursor; // the cursor this page was fetched from
        cursor = res.cursor;
        const page = { removed, conflicts };
        const tx = this.pages.apply(got.id, { removed, conflicts, after,
          meta: { cursor, initial: { ...initial }, reset_seen: seen } });
        tx.catch(() => {}); // awaited in stored(); stores nothing if the page before failed
        await this.stored(storing, outcome);
        storing = { page, tx, cursor, counting, initial: { ...initial } };
        this.stored(storing, outcome).catch(() => {}); // shown once it commits, not a page later
        if (!next) break;
      }
      await this.stored(storing, outcome);
      run.stopped = true;
    } catch (err) {
      run.stopped = true;
      await this.stored(storing, outcome).catch(() => {}); // what did commit is shown and counted
      for (const f of run.queue) f.page.then((got) => this.pages.drop(got.id), () => {});
      throw err;
    }
    this.state.downloading = false;
  }

  // A page's transaction committed: apply it in memory, count it for the progress bar. Once
  // per page, however often it is awaited.
  stored(s, outcome) {
    if (!s) return Promise.resolve();
    s.applied ??= this.applyStored(s, outcome);
    return s.applied;
  }

  async applyStored(s, outcome) {
    const records = await s.tx;
    const { removed, conflicts } = s.page;
    this.replica.applyPage({ records, removed, conflicts });
    if (records.length || removed.length || conflicts.length) outcome.changed = true;
    performance.mark('wb:sync-page-stored');
    if (s.counting) {
      // Progress counts what is stored, so an interrupted download shows where it resumes.
      Object.assign(this.state, { phase: 'Downloading premises', done: s.initial.done,
        total: s.initial.total, downloading: !s.initial.complete });
      if (s.initial.complete) this.emit(); else this.progressed();
      if (s.initial.complete) outcome.downloaded = true;
    }
  }
}
