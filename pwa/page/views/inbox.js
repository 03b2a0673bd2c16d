// The observations inbox (supervisors): every open crew observation on this device's premises
// (the supervisor's grounds), newest first; accept, accept with the record change it reports
// (the edit form, one save), or dismiss. Each answer is a queued review_observation.

import { h } from '../dom.js';
import { longDate } from '../time.js';

const LABELS = { access: 'Access', hazard: 'Hazard', water: 'Water', contact: 'Contact', building_works: 'Building works', other: 'Other' };

export function openObservations(records) {
  const out = [];
  for (const r of records) {
    for (const o of r.observations || []) if (o.status === 'open') out.push({ record: r, obs: o });
  }
  return out.sort((a, b) => (b.obs.at || '').localeCompare(a.obs.at || ''));
}

export function inboxView(app) {
  if (!app.session.canEdit) {
    return { node: h('section', { class: 'card' }, h('h1', null, 'Observations'), h('p', null, 'Only supervisors review observations.')) };
  }
  const items = openObservations(app.replica.all());
  const review = (r, o, status) => app.queue([{ kind: 'review_observation', premises_id: r.id,
    base_version: r.version || 0, observation_id: o.id, status, old: o.status || 'open' }]);
  const node = h('section', { class: 'inbox' }, h('h1', null, 'Observations'),
    h('p', { class: 'muted' }, 'Open observations from crews on your grounds. Accepting one can update the record in the same step.'),
    items.length ? h('ul', { class: 'plain', id: 'observations' }, items.map(({ record: r, obs: o }) => {
      const head = `obs-${o.id}`;
      return h('li', { class: 'card observation', 'data-observation': o.id, 'aria-labelledby': head },
        h('h2', { id: head }, h('a', { href: `#/p/${encodeURIComponent(r.id)}` }, r.name), ` — ${LABELS[o.category] || o.category}`),
        h('p', { class: 'multiline' }, o.note),
        h('p', { class: 'muted small' }, `${o.by || 'Crew'}${o.at ? `, ${longDate(o.at)}` : ''}${o._pending ? ' — not sent yet' : ''}`),
        h('div', { class: 'actions' },
          h('a', { class: 'button primary', href: `#/p/${encodeURIComponent(r.id)}/accept/${encodeURIComponent(o.id)}` }, 'Accept and update the record'),
          h('button', { type: 'button', onclick: () => review(r, o, 'accepted') }, 'Accept'),
          h('button', { type: 'button', onclick: () => review(r, o, 'dismissed') }, 'Dismiss')));
    })) : h('p', { class: 'card', id: 'observations-empty' }, 'No open observations.'));
  return { node };
}
