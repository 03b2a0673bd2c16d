// The sync badge in the header: syncing now, pending edits, last synced, conflicts (supervisors),
// edits the server refused ("not saved").

import { h, replace } from '../dom.js';
import { ago } from '../time.js';

export function renderBadge(app, el) {
  if (!app.session.signedIn) { replace(el); return; }
  const s = app.sync.state;
  const pending = app.replica.pending().length;
  const attention = app.replica.attention().length; // refused by the server: the person must act
  const conflicts = app.session.canEdit ? app.replica.openConflicts().length : 0;
  replace(el, h('a', { href: '#/sync', class: 'badge-link' },
    s.running ? h('span', { class: 'syncing' }, 'Syncing…') : h('span', null, `Synced ${ago(s.lastOk)}`),
    h('span', { class: pending ? 'count-pill warn' : 'count-pill', id: 'pending-count', 'data-count': pending },
      `${pending} pending`)),
  conflicts ? h('a', { href: '#/conflicts', class: 'count-pill alert', id: 'conflict-count' }, `${conflicts} conflict${conflicts === 1 ? '' : 's'}`) : null,
  attention ? h('a', { href: '#/sync', class: 'count-pill alert', id: 'attention-count', 'data-count': attention }, `${attention} not saved`) : null);
}
