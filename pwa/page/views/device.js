// This device: sync now, download progress, edits needing attention, every edit's receipt,
// storage, theme, sign out. Follows the sync state as it changes (opened directly or reloaded
// mid-sync, it never keeps showing "Syncing…" after the sync ended).

import { h, replace } from '../dom.js';
import { reasonText } from '../check.js';
import { describe } from '../edits.js';
import { ago } from '../time.js';
import { attentionSection } from './attention.js';
import { needsAttention } from '../outbox.js';

const STATUS = { pending: 'Pending', saved: 'Saved to server', conflict: 'Conflict', rejected: 'Not saved' };
const HANDLED = { resent: 'Not saved — sent again after a fix', discarded: 'Not saved — discarded' };

function statusText(e) {
  if (needsAttention(e)) return 'Not saved — needs attention';
  return HANDLED[e.handled] || STATUS[e.status] || e.status;
}

export function progress(app) {
  const s = app.sync.state;
  if (!s.downloading) return null;
  const text = s.total ? `${s.done} of ${s.total} premises` : `${s.done} premises`;
  return h('div', { class: 'progress', id: 'sync-progress' },
    h('label', { for: 'sync-progress-bar' }, `Downloading premises: ${text}`),
    h('progress', { id: 'sync-progress-bar', max: s.total || 1, value: s.total ? s.done : 0 }, text));
}

export function deviceView(app) {
  const node = h('section', { class: 'device' });
  const refresh = () => {
    const focused = document.activeElement?.id;
    replace(node, deviceParts(app));
    if (focused && node.querySelector(`#${focused}`)) document.getElementById(focused).focus();
  };
  refresh();
  return { node, refresh, syncStatus: true };
}

function deviceParts(app) {
  const s = app.sync.state;
  const entries = [...app.replica.entries].reverse().slice(0, 50);
  const user = app.session.user;
  return [h('h1', null, 'Sync and device'),
    h('div', { class: 'card' },
      h('p', null, s.running ? (s.phase || 'Syncing…') : `Last successful sync: ${ago(s.lastOk)}`),
      s.error ? h('p', { class: 'error' }, `Last sync failed: ${s.error}`) : null,
      progress(app),
      h('button', { type: 'button', class: 'primary', id: 'sync-now', disabled: s.running,
        onclick: () => app.sync.run('manual', { force: true }) }, s.running ? 'Syncing…' : 'Sync now')),
    attentionSection(app),
    h('div', { class: 'card' }, h('h2', null, 'Changes from this device'),
      entries.length ? h('ul', { class: 'receipts', id: 'receipts' }, entries.map((e) =>
        h('li', { class: `receipt receipt-${e.status}` },
          h('span', { class: 'receipt-status' }, statusText(e)),
          h('a', { href: `#/p/${encodeURIComponent(e.mutation.premises_id)}` }, app.replica.get(e.mutation.premises_id)?.name || e.mutation.premises_id),
          h('span', null, ` — ${describe(e)}`),
          e.status === 'rejected' ? h('span', { class: 'muted' }, ` (${reasonText(app.checks, e.receipt)})`) : null)))
        : h('p', { class: 'muted' }, 'No changes made on this device.')),
    h('div', { class: 'card' }, h('h2', null, 'This device'),
      h('dl', null,
        h('dt', null, 'Signed in as'), h('dd', null, user ? `${user.name} (${user.username}, ${user.role})` : '—'),
        h('dt', null, 'Premises stored'), h('dd', null, String(app.replica.size)),
        h('dt', null, 'Storage'), h('dd', { id: 'storage-state' }, app.session.persisted
          ? 'Persistent: the browser will not clear it to free space'
          : 'Not persistent: the browser may clear it when space runs low. Install the app or sync often.'),
        h('dt', null, 'App version'), h('dd', null, document.documentElement.dataset.version))),
    h('div', { class: 'card actions' },
      h('button', { type: 'button', id: 'theme-toggle', onclick: () => app.toggleTheme() }, 'Switch day / night theme'),
      h('a', { class: 'button', id: 'change-password', href: '#/password' }, 'Change password'),
      h('button', { type: 'button', id: 'sign-out', class: 'danger', onclick: () => app.signOut() }, 'Sign out and clear this device'))];
}
