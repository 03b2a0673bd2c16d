// Conflicts (supervisors): base, server and this-device values side by side; keep one or write
// a combined value (never an empty one: it would erase both). The resolution is queued and
// synced like any edit.

import { h } from '../dom.js';
import { resolveMutation } from '../edits.js';

const when = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short',
  year: 'numeric', hour: '2-digit', minute: '2-digit' }) : '');

// Who made an edit, on which device and when: "by supervisor on Pump 1 WIS, 1 Dec 2026, 14:02".
export function authorLine(app, author, { edited = false } = {}) {
  if (!author) return '';
  const device = author.device && author.device === app.session.deviceId ? 'this device'
    : author.device_name || (author.device ? `device ${author.device.slice(0, 8)}` : 'an unknown device');
  const time = edited && author.client_time ? `edited ${when(author.client_time)}, received ${when(author.at)}`
    : when(author.at);
  return `by ${author.user} on ${device}${time ? `, ${time}` : ''}`;
}

function show(value) {
  if (value === null || value === undefined || value === '') return h('em', { class: 'muted' }, '(empty)');
  return typeof value === 'string' ? value : JSON.stringify(value, null, 1);
}

function label(app, path) {
  const [head, id, field] = path.split('/');
  if (head === 'hazards') return field ? `Hazard ${id}: ${field}` : `Hazard ${id}`;
  if (head === 'deleted') return 'Record deleted';
  return head.replace(/_/g, ' ');
}

function conflictCard(app, c) {
  const r = app.replica.get(c.premises_id);
  const textual = typeof c.server === 'string' || typeof c.client === 'string';
  const combined = textual ? h('textarea', { id: `combine-${c.id}`, rows: 4,
    value: [c.server, c.client].filter((x) => typeof x === 'string' && x).join('\n') }) : null;
  const resolve = async (choice, value) => {
    await app.queue([resolveMutation(c, choice, value)]);
  };
  // An empty combination would erase both edits: refuse it, saying what each choice keeps.
  const refusal = h('p', { class: 'field-error', id: `combine-error-${c.id}`, role: 'alert' });
  const saveCombined = () => {
    if (combined.value.trim()) { resolve('value', combined.value); return; }
    refusal.textContent = `The combined value is empty: saving it would erase ${label(app, c.path)}. `
      + 'Write the combined text, or choose “Keep server value” or “Keep device value” to keep one of them as shown above.';
    combined.setAttribute('aria-invalid', 'true');
    combined.setAttribute('aria-describedby', refusal.id);
    combined.focus();
  };
  const pane = (title, value, who) => h('div', { class: 'pane' }, h('h3', null, title),
    who ? h('p', { class: 'muted small' }, who) : null, h('pre', { class: 'value' }, show(value)));
  const isDelete = c.path === 'deleted';
  return h('li', { class: 'card conflict', 'data-conflict': c.id },
    h('h2', null, r ? h('a', { href: `#/p/${encodeURIComponent(c.premises_id)}` }, r.name) : c.premises_id, ` — ${label(app, c.path)}`),
    h('div', { class: 'panes' },
      pane('Before both edits', c.base),
      pane('On the server', c.server, authorLine(app, c.server_author)),
      pane('From the device', c.client, authorLine(app, c.client_author, { edited: true }))),
    h('div', { class: 'actions' },
      isDelete ? [h('button', { type: 'button', onclick: () => resolve('keep') }, 'Keep the record'),
        h('button', { type: 'button', onclick: () => resolve('delete') }, 'Delete the record')]
        : [h('button', { type: 'button', onclick: () => resolve('server') }, 'Keep server value'),
          h('button', { type: 'button', onclick: () => resolve('client') }, 'Keep device value')]),
    combined ? h('div', { class: 'field' }, h('label', { for: `combine-${c.id}` }, 'Or write a combined value'), combined, refusal,
      h('button', { type: 'button', class: 'primary', onclick: () => saveCombined() }, 'Save combined value')) : null);
}

export function conflictsView(app) {
  const list = app.replica.openConflicts();
  const node = h('section', { class: 'conflicts' }, h('h1', null, 'Conflicts'),
    h('p', { class: 'muted' }, 'Two people changed the same thing. The record keeps the server value until you choose.'),
    list.length ? h('ul', { class: 'plain' }, list.map((c) => conflictCard(app, c)))
      : h('p', { class: 'card' }, 'No open conflicts.'));
  return { node };
}
