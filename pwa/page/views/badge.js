// The header's sync state and the data's age on every screen: "Offline" unmistakably when
// there is no signal, syncing now, pending edits, conflicts (supervisors), edits the server
// refused ("not saved"), and how old the data is — amber after the server's stale threshold,
// red (out of date) after its old one.

import { h, replace } from '../dom.js';
import { ageLevel, thresholds } from '../freshness.js';
import { ago } from '../time.js';

const AGE_CLASS = { none: 'age-old', fresh: 'age-fresh', stale: 'age-stale', old: 'age-old' };

export function isOffline(app) {
  return !navigator.onLine || app.sync.state.error === 'offline';
}

// The data's age: {level, text}; text is "Data from 8 days ago" and says when it is out of date.
export function dataAge(app, now = Date.now()) {
  const s = app.sync.state;
  const level = ageLevel(s.lastOk, now, thresholds(app.session.user));
  if (level === 'none') return { level, text: 'No data downloaded yet' };
  const text = `Data from ${ago(s.lastOk, now)}`;
  return { level, text: level === 'old' ? `${text} — may be out of date` : text };
}

export function renderBadge(app, el) {
  if (!app.session.signedIn) { replace(el); return; }
  const s = app.sync.state;
  const pending = app.replica.pending().length;
  const attention = app.replica.attention().length; // refused by the server: the person must act
  const conflicts = app.session.canEdit ? app.replica.openConflicts().length : 0;
  const offline = isOffline(app);
  const age = dataAge(app);
  const state = offline ? h('span', { class: 'offline-pill', id: 'offline-state' }, offlineIcon(), 'Offline')
    : s.running ? h('span', { class: 'syncing' }, 'Syncing…') : h('span', null, `Synced ${ago(s.lastOk)}`);
  replace(el, h('a', { href: '#/sync', class: 'badge-link', id: 'sync-state', 'data-offline': offline ? 'true' : 'false' },
    state,
    offline || age.level !== 'fresh' ? h('span', { class: `count-pill ${AGE_CLASS[age.level]}`, id: 'data-age', 'data-age': age.level },
      age.level === 'none' ? 'No data' : `Data ${ago(s.lastOk).replace(' ago', ' old')}`) : null,
    h('span', { class: pending ? 'count-pill warn' : 'count-pill', id: 'pending-count', 'data-count': pending },
      `${pending} pending`)),
  conflicts ? h('a', { href: '#/conflicts', class: 'count-pill alert', id: 'conflict-count' }, `${conflicts} conflict${conflicts === 1 ? '' : 's'}`) : null,
  attention ? h('a', { href: '#/sync', class: 'count-pill alert', id: 'attention-count', 'data-count': attention }, `${attention} not saved`) : null);
}

// The line under the header on every screen: offline, the data's age, the last failure.
export function freshnessLine(app) {
  const s = app.sync.state;
  const offline = isOffline(app);
  const age = dataAge(app);
  return h('p', { class: `freshness ${AGE_CLASS[age.level]}${s.error ? ' stale' : ''}`, id: 'freshness', 'data-age': age.level },
    age.text,
    s.error ? ` — last sync failed: ${s.error}` : '',
    offline ? '. Changes are kept on this device until there is signal' : '',
    s.running ? ' — syncing now' : '');
}

// A crossed-out signal symbol beside the word "Offline".
function offlineIcon() {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0M12 19.5h.01M3 3l18 18');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2.2');
  path.setAttribute('stroke-linecap', 'round');
  svg.append(path);
  return svg;
}
