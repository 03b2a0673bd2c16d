// The service worker, served at /sw.js (scope /): precaches the app shell into a versioned
// cache, serves it offline, deletes stale caches. /api/ and /console are never answered from the
// shell cache: data comes from IndexedDB (db.js) in the page. Activation of an update waits until
// the outbox is readable by it. Background Sync pushes the outbox itself (page/push.js). Static:
// the release (version, precache list) is the module server/shell.py generates, whose bytes
// change with any shell file, so the browser's byte check of the worker's imports finds every
// new release.
// Two imports only: db.js and the release, which also carries the page's transport, outbox and
// push code (server/shell.py WORKER_LIBS), because Chromium often fails to start an updated
// module worker with more imports ("ServiceWorker cannot be started"; Chromium 156,
// tests/browser/test_update.py).
import * as db from '/pwa/db.js';
import { call, pending, PRECACHE, PROTOCOL, prune, pushOutbox, renumber, settle, SYNC_LOCK,
  useStore, VERSION } from '/pwa/release.js';

useStore(db);
const outbox = { pending, prune, renumber, settle }; // what push.js uses of page/outbox.js

const PREFIX = 'watchbook-shell-';
const REVOKED = 'This device was revoked by an administrator; its data has been removed.';
const CACHE = PREFIX + VERSION;
let shell = null; // this release's cache, opened once

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    // This release's shell straight from its cache, without running this worker for each file
    // (the Static Routing API, Chromium 123+): a cold open's page and modules do not wait for
    // the worker to start and answer them one by one. A file not in the cache goes to the
    // network; a browser without the API uses the fetch handler below, which answers the same.
    if (event.addRoutes) {
      await event.addRoutes([
        { condition: { urlPattern: new URLPattern({ pathname: '/pwa/*', search: '' }), requestMethod: 'GET' },
          source: { cacheName: CACHE } },
        { condition: { urlPattern: new URLPattern({ pathname: '/', search: '' }), requestMode: 'navigate' },
          source: { cacheName: CACHE } },
      ]).catch((e) => console.warn('watchbook: static routes', e));
    }
    const cache = await caches.open(CACHE);
    // Fetch each file by its hash so neither the HTTP cache nor a half-deployed server can mix
    // versions; store it under its plain URL, which is what the page asks for.
    await Promise.all(PRECACHE.map(async ({ url, rev }) => {
      const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}v=${rev}`, { cache: 'no-store' });
      if (!res.ok) throw new Error(`precache ${url}: HTTP ${res.status}`);
      await cache.put(url, res);
    }));
    // The very first install has no page to disrupt and no older outbox: take over now.
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/console')) return;
  const key = req.mode === 'navigate' && url.pathname === '/' ? '/' : url.pathname;
  if (req.mode === 'navigate' && key !== '/') return;
  event.respondWith((async () => {
    const cache = await (shell ??= caches.open(CACHE));
    return (await cache.match(key)) || fetch(req);
  })());
});

self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type === 'version') {
    event.source.postMessage({ type: 'version', version: VERSION });
  } else if (msg.type === 'activate-if-safe') {
    // Never skip waiting while the outbox holds edits this version could not read and send.
    event.waitUntil((async () => {
      const schemas = await db.pendingOutboxSchemas();
      const unreadable = schemas.filter((s) => !db.OUTBOX_READABLE.includes(s));
      if (unreadable.length) {
        event.source.postMessage({ type: 'update-blocked', unreadable });
      } else {
        await self.skipWaiting();
      }
    })());
  }
});

// Background Sync: the signal is back. Push the outbox here, with the page's own push code and
// under its lock, so edits leave even with the app closed; then wake any open page to pull.
// A failure rejects, so the browser tries again later; a refused token waits for the app,
// except a revoked device's wipe order, obeyed at once (protocol obligation 8: a lost device
// must not keep its data until someone opens the app). A retire order is the page's to act on
// (docs/sync-protocol.md, Retiring a device): pushing for a retiring device is what it must do.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'watchbook-sync') return;
  event.waitUntil(backgroundPush());
});

async function backgroundPush() {
  await self.navigator.locks.request(SYNC_LOCK, async () => {
    const m = await db.getMetas(['token', 'device_id', 'expired']);
    if (!m.token || m.expired) return;
    try {
      await pushOutbox(call, outbox, { token: m.token, deviceId: m.device_id, protocol: PROTOCOL });
    } catch (err) {
      if (err.status !== 401) throw err; // the page signs in again when it opens
      if (err.revoked && err.wipe) {
        await db.wipe();
        await db.setMeta({ wiped: REVOKED });
      }
    }
  });
  const pages = await self.clients.matchAll({ type: 'window' });
  pages.forEach((p) => p.postMessage({ type: 'sync-wake' }));
}
