// The composition root: builds the session, replica, sync client (handing them the transport,
// page/api.js `call`) and service worker wiring, queues edits through page/outbox.js, routes
// location.hash to one view at a time, and keeps the badge and notices current.

import * as db from './db.js';
import { call } from './page/api.js';
import { h, replace } from './page/dom.js';
import { Attachments } from './page/attachments.js';
import { describe } from './page/edits.js';
import * as outbox from './page/outbox.js';
import { Replica } from './page/replica.js';
import { Session } from './page/session.js';
import { Sync } from './page/sync.js';
import { applyUpdate, registerWorker } from './page/updates.js';
import { freshnessLine, renderBadge } from './page/views/badge.js';
import { viewerView } from './page/views/attachments.js';
import { conflictsView } from './page/views/conflicts.js';
import { deviceView, progress } from './page/views/device.js';
import { editView } from './page/views/edit.js';
import { inboxView } from './page/views/inbox.js';
import { newPremisesView } from './page/views/create.js';
import { listView } from './page/views/list.js';
import { nearestView } from './page/views/nearest.js';
import { observeView } from './page/views/observe.js';
import { passwordView } from './page/views/password.js';
import { premisesView } from './page/views/premises.js';
import { signinView } from './page/views/signin.js';

outbox.useStore(db); // before anything queues, numbers or sends

const THEME_KEY = 'watchbook.theme';
const ROUTES = [
  [/^#?\/?$/, listView, 'Premises'],
  [/^#\/nearest$/, nearestView, 'Nearest premises'],
  [/^#\/p\/([^/]+)$/, premisesView, 'Premises'],
  [/^#\/p\/([^/]+)\/edit$/, editView, 'Edit premises'],
  [/^#\/p\/([^/]+)\/fix\/(\d+)$/, (app, p) => editView(app, { id: p.id, fix: Number(p.aid) }), 'Fix a change'],
  [/^#\/p\/([^/]+)\/accept\/([^/]+)$/, (app, p) => editView(app, { id: p.id, observation: p.aid }), 'Accept observation'],
  [/^#\/observations$/, inboxView, 'Observations'],
  [/^#\/new$/, newPremisesView, 'New premises'],
  [/^#\/p\/([^/]+)\/observe$/, observeView, 'Add observation'],
  [/^#\/p\/([^/]+)\/a\/([^/]+)$/, viewerView, 'Attachment'],
  [/^#\/conflicts$/, conflictsView, 'Conflicts'],
  [/^#\/sync$/, deviceView, 'Sync and device'],
  [/^#\/password$/, passwordView, 'Change password'],
  [/^#\/signin$/, signinView, 'Sign in'],
];

const el = { main: document.getElementById('main'), badge: document.getElementById('badge'),
  nav: document.getElementById('nav'), notices: document.getElementById('notices'),
  dialog: document.getElementById('dialog') };
const session = new Session(call);
const replica = new Replica();
const sync = new Sync(replica, session, call);
const files = new Attachments(session);
let current = null;
let currentHash = null;
let update = { reg: null, blocked: null };
// Edits being prepared and queued (a photo shrunk, stored, then its `attach` queued): signing
// out waits for them, so it never counts the photo without the change that references it.
const working = new Set();
function track(promise) {
  working.add(promise);
  promise.then(() => working.delete(promise), () => working.delete(promise));
  return promise;
}
sync.preparing = () => working.size > 0; // a retire never clears a photo still being queued

const app = {
  state: {}, vocab: null, checks: null, session, replica, sync, files,
  go(hash) { if (location.hash === hash) render(); else location.hash = hash; },
  queue(mutations, notes) {
    return track((async () => {
      await outbox.enqueue(session.deviceId, mutations, notes);
      await replica.reloadOutbox();
      sync.requestWake();
      if (navigator.onLine) setTimeout(() => sync.run('edit', { force: true }), 300);
    })());
  },
  // Work that ends in app.queue (preparing a photo, then queueing it): tracked as one.
  work: (fn) => track(fn()),
  // Send a refused entry again as `mutations` (its fix); the entry stops needing attention.
  resend(n, mutations) {
    return track((async () => {
      await outbox.resend(session.deviceId, n, mutations);
      await replica.reloadOutbox();
      sync.requestWake();
      if (navigator.onLine) setTimeout(() => sync.run('edit', { force: true }), 300);
    })());
  },
  async discard(entry) {
    if (!await ask('Discard this change?', `“${describe(entry)}” was not saved on the server. Discarding it removes it from this device for good.`,
      'Discard the change', 'Keep it')) return;
    await outbox.discard(entry.n);
    await replica.reloadOutbox();
  },
  ask: (...args) => ask(...args),
  async signedIn() {
    await replica.load();
    await sync.loadStatus();
    app.go('#/');
    sync.run('signin', { force: true });
  },
  async signOut() {
    while (working.size) await Promise.allSettled([...working]); // an attach still being queued
    if (replica.pending().length) await sync.run('manual', { force: true });
    await files.upload();
    await replica.reloadOutbox();
    const left = replica.pending().length;
    const photos = (await db.uploads()).length;
    const what = [left && `${left} change${left === 1 ? '' : 's'}`,
      photos && `${photos} photo${photos === 1 ? '' : 's'} or plan${photos === 1 ? '' : 's'}`].filter(Boolean).join(' and ');
    if (what && !await ask('Not sent yet',
      `${what} could not be sent to the server. Signing out now deletes ${left + photos === 1 ? 'it' : 'them'} from this device.`,
      'Delete and sign out', 'Stay signed in')) return;
    await session.wipe('Signed out. This device no longer holds any premises data.');
    app.go('#/');
  },
  toggleTheme() {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
    const next = dark ? 'light' : 'dark';
    localStorage.setItem(THEME_KEY, next);
    document.documentElement.dataset.theme = next;
  },
};

function ask(title, message, yes, no) {
  return new Promise((resolve) => {
    const done = (v) => { el.dialog.close(); resolve(v); };
    replace(el.dialog, h('h2', { id: 'dialog-title' }, title), h('p', null, message),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: () => done(true) }, yes),
        h('button', { type: 'button', class: 'primary', onclick: () => done(false) }, no)));
    el.dialog.addEventListener('cancel', () => resolve(false), { once: true });
    el.dialog.showModal();
  });
}

function renderNav() {
  if (!session.signedIn) { replace(el.nav); return; }
  const here = location.hash || '#/';
  const link = (href, text) => h('a', { href, 'aria-current': here === href ? 'page' : null }, text);
  replace(el.nav, link('#/', 'List'), link('#/nearest', 'Nearest'),
    session.canEdit ? [link('#/observations', 'Observations'), link('#/new', 'New premises'),
      link('#/conflicts', 'Conflicts')] : null, link('#/sync', 'Sync'));
}

function renderNotices() {
  const items = [];
  if (update.reg) {
    items.push(h('div', { class: 'notice info', id: 'update-notice', role: 'status' },
      update.blocked ? 'A new version is ready. It will install once the changes made by this version are sent.'
        : 'A new version is ready — reload',
      h('button', { type: 'button', id: 'update-reload', onclick: () => applyUpdate(update.reg) }, 'Reload')));
  }
  if (session.signedIn && session.expired) {
    const n = replica.pending().length;
    items.push(h('div', { class: 'notice warn', role: 'alert', id: 'expired-notice' },
      n ? `Sign in to send ${n} change${n === 1 ? '' : 's'}` : 'Your sign-in has expired.',
      h('a', { class: 'button', href: '#/signin' }, 'Sign in')));
  }
  if (session.signedIn) {
    items.push(freshnessLine(app));
    items.push(progress(app));
  }
  replace(el.notices, items);
}

function chrome() { renderBadge(app, el.badge); renderNav(); renderNotices(); }

function render() {
  const hash = location.hash || '#/';
  let view = signinView, params = {}, title = 'Sign in';
  if (session.signedIn || hash === '#/signin') {
    for (const [re, fn, t] of ROUTES) {
      const m = hash.match(re);
      if (m) { view = fn; params = { id: m[1] && decodeURIComponent(m[1]), aid: m[2] && decodeURIComponent(m[2]) }; title = t; break; }
    }
  }
  const focusedId = document.activeElement?.id;
  // Only the list can show anything before the whole replica is read (a cold open); the rest
  // wait for it, and the 'change' that ends it renders them.
  const waiting = !replica.loaded && view !== listView && view !== signinView;
  current = waiting ? { node: h('p', { class: 'loading' }, 'Loading premises…') } : view(app, params);
  replace(el.main, current.node);
  document.title = `${title} — Watchbook`;
  if (waiting) currentHash = null; // the view itself takes focus when it renders
  else if (hash !== currentHash) {
    currentHash = hash;
    (current.focus || el.main).focus({ preventScroll: false });
    window.scrollTo(0, 0);
  } else if (focusedId) document.getElementById(focusedId)?.focus();
  chrome();
}

// Data changed under the view: refresh it in place, but never rebuild a form being filled in.
function refresh() {
  chrome();
  if (!current || current.keep) return;
  if (current.refresh) current.refresh(); else render();
}

async function start() {
  const theme = localStorage.getItem(THEME_KEY);
  if (theme) document.documentElement.dataset.theme = theme;
  // The cold open's reads at once, not one after another: the vocabulary and checks (preloaded
  // by the shell page), the session, then the first screen and the sync status.
  const json = Promise.all(['/pwa/vocab.json', '/pwa/checks.json']
    .map(async (url) => (await fetch(url)).json()));
  await session.load();
  if (session.signedIn) await Promise.all([replica.open(), sync.loadStatus()]);
  else replica.empty();
  [app.vocab, app.checks] = await json;
  addEventListener('hashchange', render);
  replica.addEventListener('change', refresh);
  sync.addEventListener('status', () => {
    chrome();
    if (current?.refresh && (sync.state.downloading || current.syncStatus)) current.refresh();
  });
  sync.addEventListener('synced', () => {
    app.worker?.update().catch(() => {});
    session.refreshUser().then(chrome).catch(() => {}); // settings the app follows may change
    // Attachments after the edits: a large photo never holds up a risk note.
    files.upload().then(() => files.cacheStation([...replica.server.values()])).catch(() => {});
  });
  files.addEventListener('uploaded', () => sync.run('uploaded'));
  // Signing in or out changes every screen; an expired token or a refreshed user does not,
  // and must never rebuild a form the person is filling in (refresh() keeps it).
  let wasSignedIn = session.signedIn;
  session.addEventListener('change', () => {
    if (!session.signedIn) { replica.clear(); app.state = {}; }
    if (session.signedIn === wasSignedIn && session.signedIn) refresh(); else render();
    wasSignedIn = session.signedIn;
  });
  addEventListener('online', chrome);
  addEventListener('offline', chrome);
  setInterval(chrome, 60000);
  render();
  registerWorker({
    onWaiting: (reg) => { update = { reg, blocked: null }; chrome(); },
    onBlocked: (info) => { update.blocked = info; chrome(); sync.run('update', { force: true }); },
  }).then((reg) => { app.worker = reg; }).catch((e) => console.warn('watchbook: service worker', e));
  if (session.signedIn) {
    app.started = true;
    await replica.load(); // the rest of the replica, after the first screen; syncing needs all of it
    sync.start(); files.start();
  } else {
    // The first sign-in syncs once it has read the replica (app.signedIn), not before.
    session.addEventListener('change', () => { if (session.signedIn && !app.started) { app.started = true; sync.start({ now: false }); files.start(); } });
  }
  document.documentElement.dataset.ready = 'true';
}

start();
