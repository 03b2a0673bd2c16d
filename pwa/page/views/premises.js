// One premises, for the incident: hazards first, then access, water, facilities, contacts,
// tactics, evacuation and notes. Shows pending edits and each edit's receipt.

import { h, hazardIcon } from '../dom.js';
import { describe } from '../edits.js';
import { isOverdue, longDate } from '../time.js';
import { attachmentsSection } from './attachments.js';
import { attentionSection } from './attention.js';
import { pendingMark, riskLevel, row } from './parts.js';

const SEVERITY = { high: 'High', medium: 'Medium', low: 'Low' };
const WATER = { hydrant: 'Hydrant', static_tank: 'Static tank', open_water: 'Open water', dry_main: 'Dry main', other: 'Other' };
const RECEIPT = { pending: 'Pending — not sent yet', saved: 'Saved to server', conflict: 'Conflict — a supervisor must choose', rejected: 'Rejected' };

function section(title, id, ...body) {
  const kids = body.flat(Infinity).filter(Boolean);
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title), kids.length ? kids : h('p', { class: 'muted' }, 'Nothing recorded.'));
}

function dl(...rows) {
  const items = rows.flat(Infinity).filter(Boolean);
  return items.length ? h('dl', null, items) : null;
}

export function hazardList(app, hazards) {
  const order = { high: 0, medium: 1, low: 2 };
  const sorted = [...hazards].sort((a, b) => (order[a.severity] ?? 1) - (order[b.severity] ?? 1));
  return h('ul', { class: 'hazards' }, sorted.map((hz) => h('li', { class: `hazard sev-${hz.severity || 'medium'}` },
    hazardIcon(hz.type),
    h('div', null,
      h('p', { class: 'hazard-title' }, h('strong', null, app.vocab.hazard_types[hz.type] || hz.type),
        h('span', { class: `sev sev-${hz.severity || 'medium'}` }, `${SEVERITY[hz.severity] || 'Medium'} severity`),
        pendingMark(Boolean(hz._pending))),
      hz.location ? h('p', null, h('span', { class: 'muted' }, 'Location: '), hz.location) : null,
      hz.description ? h('p', null, hz.description) : null,
      hz.hazchem ? h('p', null, h('span', { class: 'muted' }, 'Hazchem: '), h('strong', null, hz.hazchem)) : null,
      hz.expires ? h('p', null, h('span', { class: 'muted' }, 'Temporary, until '), longDate(hz.expires)) : null))));
}

export function premisesView(app, { id }) {
  const r = app.replica.get(id);
  if (!r) return { node: h('section', { class: 'card' }, h('h1', null, 'Premises not on this device'),
    h('p', null, 'It may be outside your grounds, or not downloaded yet.'), h('a', { href: '#/' }, 'Back to the list')) };
  const p = (f) => Boolean(r._pending && r._pending.has(f));
  const v = app.vocab;
  const receipts = app.replica.entriesFor(id).slice(-10).reverse();
  const canEdit = app.session.canEdit;
  const node = h('article', { class: 'premises' },
    h('header', { class: 'premises-head' },
      h('h1', null, r.name, pendingMark(p('name'))),
      h('p', { class: 'address' }, [r.address, r.postcode].filter(Boolean).join(', ')),
      h('p', { class: 'meta' }, riskLevel(r.risk_level), r.use ? h('span', null, r.use) : null,
        r.uprn ? h('span', null, `UPRN ${r.uprn}`) : null, h('span', null, `Station ${r.station}`)),
      h('div', { class: 'actions' },
        canEdit ? h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}/edit` }, 'Edit') : null,
        h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}/observe` }, 'Add observation'))),
    attentionSection(app, id),
    isOverdue(r.next_review_due) ? h('p', { class: 'banner overdue', role: 'note' },
      `Review overdue: this record was due for review on ${longDate(r.next_review_due)}. Check it on site.`) : null,
    h('section', { class: 'card hazards-card', 'aria-labelledby': 'h-hazards' },
      h('h2', { id: 'h-hazards' }, 'Hazards', pendingMark(p('hazards'))),
      (r.hazards || []).length ? hazardList(app, r.hazards) : h('p', { class: 'muted' }, 'No hazards recorded.')),
    section('Access', 'h-access', dl(
      row('Rendezvous point (RVP)', r.rvp, { pending: p('rvp') }),
      row('Access points', r.access_points, { pending: p('access_points'), multiline: true }),
      row('Key holder', r.key_holder, { pending: p('key_holder') }),
      row('Key box', r.key_box, { pending: p('key_box'), sensitive: true }),
      row('Entry codes', r.entry_codes, { pending: p('entry_codes'), sensitive: true }))),
    section('Water', 'h-water', (r.water_supplies || []).length ? h('ul', { class: 'plain' },
      r.water_supplies.map((w) => h('li', null, h('strong', null, WATER[w.kind] || w.kind), w.location ? `: ${w.location}` : '',
        w.notes ? h('span', { class: 'muted' }, ` — ${w.notes}`) : null))) : null),
    section('Firefighting facilities', 'h-facilities', dl(
      row('Alarm panel', r.alarm_panel, { pending: p('alarm_panel') }),
      row('Sprinklers / suppression', r.suppression, { pending: p('suppression') }),
      row('Risers', r.risers, { pending: p('risers') }),
      row('Gas isolation', r.isolation_gas, { pending: p('isolation_gas') }),
      row('Electricity isolation', r.isolation_electric, { pending: p('isolation_electric') }),
      row('Water isolation', r.isolation_water, { pending: p('isolation_water') }))),
    section('Contacts', 'h-contacts', (r.contacts || []).length ? h('ul', { class: 'plain' },
      r.contacts.map((c) => h('li', null, h('strong', null, c.name), c.role ? ` (${c.role})` : '',
        c.phone ? [' ', h('a', { href: `tel:${c.phone.replace(/\s+/g, '')}` }, c.phone)] : null))) : null),
    section('Tactics', 'h-tactics', dl(
      row('Evacuation strategy', v.evacuation[r.evacuation_strategy] || '', { pending: p('evacuation_strategy') }),
      row('Tactical plan', r.tactical_plan, { pending: p('tactical_plan'), multiline: true }),
      row('Environmental protection', r.environmental_plan, { pending: p('environmental_plan'), multiline: true }))),
    section('Risk notes', 'h-notes', r.risk_notes ? h('p', { class: 'multiline', id: 'risk-notes' }, r.risk_notes, pendingMark(p('risk_notes'))) : null),
    section('Observations', 'h-observations', (r.observations || []).length ? h('ul', { class: 'plain' },
      r.observations.map((o) => h('li', null, h('strong', null, o.category.replace(/_/g, ' ')), `: ${o.note}`,
        h('span', { class: 'muted' }, ` — ${o.by || 'crew'}, ${o.status}`), pendingMark(Boolean(o._pending))))) : null),
    attachmentsSection(app, r),
    receipts.length ? section('Changes from this device', 'h-receipts', h('ul', { class: 'receipts' },
      receipts.map((e) => h('li', { class: `receipt receipt-${e.status}` },
        h('span', { class: 'receipt-status' }, RECEIPT[e.status] || e.status),
        h('span', null, describe(e)),
        e.status === 'rejected' ? h('span', { class: 'muted' }, ` — ${e.receipt?.message || e.receipt?.reason || ''}`) : null)))) : null,
    h('p', { class: 'muted small' }, `Record version ${r.version}${r.updated_at ? `, updated ${longDate(r.updated_at)}` : ''}${r.assessed_at ? `; assessed ${longDate(r.assessed_at)}` : ''}${r.next_review_due ? `; next review ${longDate(r.next_review_due)}` : ''}.`));
  return { node };
}
