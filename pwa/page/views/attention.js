// Edits the server refused, kept until the person acts: "Not saved — needs attention", the
// reason in plain words, and fix-and-send-again or discard. Shown on the premises page and the
// Sync page; the header counts them (views/badge.js). Queueing is app.js's (`resend`, `discard`).

import { reasonText } from '../check.js';
import { h } from '../dom.js';
import { describe } from '../edits.js';

const FIXABLE = new Set(['update', 'add_hazard', 'update_hazard']);

function item(app, e, { withName }) {
  const id = e.mutation.premises_id;
  const name = app.replica.get(id)?.name || id;
  const fix = FIXABLE.has(e.mutation.kind) && app.replica.get(id)
    ? h('a', { class: 'button primary', href: `#/p/${encodeURIComponent(id)}/fix/${e.n}` }, 'Fix and send again')
    : h('button', { type: 'button', class: 'primary', onclick: () => app.resend(e.n, [strip(e.mutation)]) }, 'Send again');
  return h('li', { class: 'attention-item', 'data-n': e.n },
    h('p', null, h('strong', { class: 'attention-status' }, 'Not saved — needs attention'),
      withName ? [' ', h('a', { href: `#/p/${encodeURIComponent(id)}` }, name)] : null, ` — ${describe(e)}`),
    h('p', { class: 'attention-reason' }, reasonText(app.checks, e.receipt)),
    h('div', { class: 'actions' }, fix,
      h('button', { type: 'button', class: 'danger', onclick: () => app.discard(e) }, 'Discard this change')));
}

// The mutation as queued again: numbering is the outbox's.
function strip({ seq: _s, device_id: _d, client_time: _t, ...rest }) { return rest; }

// The needs-attention list for one premises (`id`) or the whole device; null when there is none.
export function attentionSection(app, id = null) {
  const list = app.replica.attention().filter((e) => id === null || e.mutation.premises_id === id);
  if (!list.length) return null;
  return h('section', { class: 'card attention', id: 'needs-attention', 'aria-labelledby': 'h-attention' },
    h('h2', { id: 'h-attention' }, list.length === 1 ? 'One change was not saved' : `${list.length} changes were not saved`),
    h('p', null, 'The server refused ', list.length === 1 ? 'this change' : 'these changes',
      '. Nothing is lost: fix and send again, or discard.'),
    h('ul', { class: 'plain' }, list.map((e) => item(app, e, { withName: id === null }))));
}
