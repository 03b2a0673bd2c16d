// One premises, for the incident: a summary that fits one Chromebook screen (risk level and its
// meaning, hazards as icons, people and evacuation, RVP and access, key box, nearest water, the
// data's age, jump links), then every section in full. Shows pending edits, open conflicts on
// the field they hold (to crews too), expired temporary hazards as expired, and each edit's
// receipt. Printed, it is the premises information sheet (app.css @media print).

import { h, hazardIcon } from '../dom.js';
import { describe } from '../edits.js';
import { splitHazards } from '../hazards.js';
import { longDate, isOverdue, today } from '../time.js';
import { attachmentsSection } from './attachments.js';
import { attentionSection } from './attention.js';
import { dataAge } from './badge.js';
import { conflictMark, pendingMark, riskLevel, row } from './parts.js';
import { isShared, sharedBanner } from './shared.js';

// Lift and firefighting-equipment faults a building's responsible person reported (issue 16).
const FAULTS = { firefighting_lift: 'Firefighting lift', dry_riser: 'Dry riser', wet_riser: 'Wet riser',
  evacuation_alert: 'Evacuation alert system', smoke_control: 'Smoke control', sprinklers: 'Sprinklers',
  other: 'Firefighting equipment' };

// The external wall information the responsible person sent and a supervisor accepted (reg. 5).
const wallBanner = (w) => (w ? h('p', { class: `banner${w.risk === 'low' ? '' : ' overdue'} external-wall`, role: 'note' },
  h('strong', null, `External walls: ${w.risk} risk`), ` (from the responsible person): ${w.design_materials}${w.mitigation ? ` Mitigation: ${w.mitigation}` : ''}`) : null);

const SEVERITY = { high: 'High', medium: 'Medium', low: 'Low' };
const ORDER = { high: 0, medium: 1, low: 2 };
const SUMMARY_HAZARDS = 8; // icons on the first screen; the rest are one jump away
const WATER = { hydrant: 'Hydrant', static_tank: 'Static tank', open_water: 'Open water', dry_main: 'Dry main', other: 'Other' };
const HARMS = { life_public: 'Life risk to the public', life_firefighter: 'Life risk to firefighters',
  environment: 'Environment', heritage: 'Heritage', economic: 'Economic', community: 'Community' };
const RECEIPT = { pending: 'Pending — not sent yet', saved: 'Saved to server', conflict: 'Conflict — a supervisor must choose', rejected: 'Rejected' };
const SECTIONS = [['h-hazards', 'Hazards'], ['h-access', 'Access'], ['h-water', 'Water'],
  ['h-facilities', 'Facilities'], ['h-contacts', 'Contacts'], ['h-tactics', 'Tactics'],
  ['h-notes', 'Risk notes'], ['h-observations', 'Observations'], ['h-attachments', 'Attachments']];

function section(title, id, ...body) {
  const kids = body.flat(Infinity).filter(Boolean);
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id, tabindex: -1 }, title), kids.length ? kids : h('p', { class: 'muted' }, 'Nothing recorded.'));
}

// The high-rise building's secure information box (reg. 4): shown when its last check found
// problems or is more than a year old (`due` passed), so crews do not rely on its contents.
function infoBoxBanner(box) {
  if (!box || (box.outcome !== 'problems' && !isOverdue(box.due))) return null;
  return h('p', { class: 'banner overdue information-box', role: 'note' }, h('strong', null, box.outcome === 'problems'
    ? `Information box: problems found at the check on ${longDate(box.checked_on)}${box.problems ? `: ${box.problems}` : ''}`
    : `Information box: check overdue, last checked ${longDate(box.checked_on)}; its contents may be out of date`));
}

function noPrint(el) { el.classList.add('no-print'); return el; }

function dl(...rows) {
  const items = rows.flat(Infinity).filter(Boolean);
  return items.length ? h('dl', null, items) : null;
}

const bySeverity = (list) => [...list].sort((a, b) => (ORDER[a.severity] ?? 1) - (ORDER[b.severity] ?? 1));

// `marks(path)`: the pending and conflict marks for a path of this record.
export function hazardList(app, hazards, marks = () => null) {
  const { live, expired } = splitHazards(hazards, today());
  const item = (hz, isExpired) => h('li', { class: `hazard sev-${hz.severity || 'medium'}${isExpired ? ' hazard-expired' : ''}`, 'data-hazard': hz.id },
    hazardIcon(hz.type),
    h('div', null,
      h('p', { class: 'hazard-title' }, h('strong', null, app.vocab.hazard_types[hz.type] || hz.type),
        isExpired ? h('span', { class: 'sev expired' }, 'Expired') : h('span', { class: `sev sev-${hz.severity || 'medium'}` }, `${SEVERITY[hz.severity] || 'Medium'} severity`),
        pendingMark(Boolean(hz._pending)), marks(`hazards/${hz.id}`)),
      hz.location ? h('p', null, h('span', { class: 'muted' }, 'Location: '), hz.location) : null,
      hz.description ? h('p', null, hz.description) : null,
      hz.hazchem ? h('p', null, h('span', { class: 'muted' }, 'Hazchem: '), h('strong', null, hz.hazchem)) : null,
      hz.expires ? h('p', { class: isExpired ? 'expired-note' : null }, isExpired
        ? `Temporary: expired on ${longDate(hz.expires)} — check on site; flagged for review`
        : [h('span', { class: 'muted' }, 'Temporary, until '), longDate(hz.expires)]) : null));
  return h('ul', { class: 'hazards' }, bySeverity(live).map((hz) => item(hz, false)),
    expired.map((hz) => item(hz, true)));
}

// Move to a full section without touching location.hash (the router owns it).
function jump(id) {
  return (e) => {
    e.preventDefault();
    const target = document.getElementById(id);
    target?.scrollIntoView({ block: 'start' });
    target?.focus({ preventScroll: true });
  };
}

function summary(app, r, marks) {
  const v = app.vocab;
  const { live, expired } = splitHazards(r.hazards, today());
  const water = r.water_supplies || [];
  const people = (r.harms || []).filter((x) => x.startsWith('life_')).map((x) => HARMS[x]);
  const age = dataAge(app);
  const absent = (path) => isShared(r) && path && !(path in r); // a field the share leaves out
  const fact = (label, value, path, { sensitive = false, id = null } = {}) => h('div', { class: 'fact', id },
    h('dt', null, label, sensitive ? h('span', { class: 'sensitive' }, 'Sensitive') : null),
    h('dd', null, value || h('span', { class: 'muted' }, absent(path) ? 'Not shared' : 'Not recorded'), path ? marks(path) : null));
  return h('section', { class: 'card summary', id: 'summary', 'aria-label': 'At a glance' },
    h('div', { class: 'summary-hazards', id: 'summary-hazards' },
      h('h2', { class: 'summary-title' }, live.length ? `Hazards (${live.length})` : 'Hazards', marks('hazards')),
      live.length ? h('ul', { class: 'hazard-icons' }, bySeverity(live).slice(0, SUMMARY_HAZARDS).map((hz) => h('li', { class: `sev-${hz.severity || 'medium'}`, 'data-type': hz.type },
        hazardIcon(hz.type), h('span', null, v.hazard_types[hz.type] || hz.type,
          hz.severity === 'high' ? h('span', { class: 'visually-hidden' }, ' (high severity)') : null),
        marks(`hazards/${hz.id}`))))
        : h('p', { class: 'muted' }, 'No hazards recorded.'),
      live.length > SUMMARY_HAZARDS ? h('a', { href: '#h-hazards', id: 'summary-more-hazards', onclick: jump('h-hazards') },
        `+${live.length - SUMMARY_HAZARDS} more hazards`) : null,
      expired.length ? h('p', { class: 'expired-note', id: 'summary-expired' },
        `${expired.length} temporary hazard${expired.length === 1 ? '' : 's'} expired — flagged for review`) : null),
    h('dl', { class: 'summary-facts' },
      fact('Rendezvous point (RVP)', r.rvp, 'rvp', { id: 'summary-rvp' }),
      fact('Access', firstLine(r.access_points), 'access_points', { id: 'summary-access' }),
      fact('Key box', r.key_box, 'key_box', { sensitive: true, id: 'summary-keybox' }),
      fact('Nearest water', water.length ? [h('strong', null, WATER[water[0].kind] || water[0].kind),
        water[0].location ? `: ${water[0].location}` : '', water.length > 1 ? h('span', { class: 'muted' }, ` (+${water.length - 1} more)`) : null] : '',
      'water_supplies', { id: 'summary-water' }),
      fact('People at risk', people.length ? people.join('; ') : (r.harms || []).length ? 'No life risk recorded' : '', 'harms', { id: 'summary-people' }),
      fact('Evacuation strategy', v.evacuation[r.evacuation_strategy] || '', 'evacuation_strategy', { id: 'summary-evacuation' })),
    h('div', { class: 'summary-foot' },
      h('p', { class: `data-stamp age-${age.level}`, id: 'summary-age' }, age.text,
        isShared(r) ? ` · shared by ${r.shared.service}` : ` · record version ${r.version}${r.updated_at ? `, updated ${longDate(r.updated_at)}` : ''}`),
      h('nav', { class: 'jump', 'aria-label': 'Sections of this premises' },
        SECTIONS.filter(([id]) => !isShared(r) || !['h-observations', 'h-attachments'].includes(id))
          .map(([id, label]) => h('a', { href: `#${id}`, onclick: jump(id) }, label)))));
}

function firstLine(text) {
  const line = (text || '').split('\n').find((x) => x.trim()) || '';
  return line.length > 90 ? `${line.slice(0, 88)}…` : line;
}

export function premisesView(app, { id }) {
  const r = app.replica.get(id);
  if (!r) return { node: h('section', { class: 'card' }, h('h1', null, 'Premises not on this device'),
    h('p', null, 'It may be outside your grounds, or not downloaded yet.'), h('a', { href: '#/' }, 'Back to the list')) };
  const p = (f) => Boolean(r._pending && r._pending.has(f));
  const open = [...app.replica.conflicts.values()].filter((c) => c.status === 'open' && c.premises_id === id);
  const underConflict = (path) => open.some((c) => c.path === path || c.path.startsWith(`${path}/`));
  const marks = (path) => [pendingMark(p(path)), conflictMark(underConflict(path))];
  const v = app.vocab;
  const receipts = app.replica.entriesFor(id).slice(-10).reverse();
  const shared = isShared(r); // another service's, read-only: no Edit, no observations
  const canEdit = app.session.canEdit && !shared;
  const { expired } = splitHazards(r.hazards, today());
  const stamp = shared ? `Shared by ${r.shared.service}${r.updated_at ? `, updated ${longDate(r.updated_at)}` : ''}`
    : `Record version ${r.version}${r.updated_at ? `, updated ${longDate(r.updated_at)}` : ''}`;
  const printStamp = h('p', { class: 'print-stamp', id: 'print-stamp' });
  const stampNow = () => { printStamp.textContent = `${stamp}. Printed ${new Date().toLocaleString('en-GB')} from this device's copy. ${dataAge(app).text}.`; };
  stampNow();
  const node = h('article', { class: 'premises', 'data-version': r.version },
    h('header', { class: 'premises-head' },
      h('h1', null, r.name, marks('name')),
      h('p', { class: 'address' }, [r.address, r.postcode].filter(Boolean).join(', ')),
      h('p', { class: 'meta' }, riskLevel(r.risk_level, { meaning: true }), r.use ? h('span', null, r.use) : null,
        r.uprn ? h('span', null, `UPRN ${r.uprn}`) : null, h('span', null, `Station ${r.station}`)),
      h('div', { class: 'actions no-print' },
        canEdit ? h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}/edit` }, 'Edit') : null,
        shared ? null : h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}/observe` }, 'Add observation'),
        h('button', { type: 'button', id: 'print-sheet', onclick: () => { stampNow(); window.print(); } }, 'Print sheet')),
      printStamp),
    sharedBanner(r),
    underConflict('deleted') ? h('p', { class: 'banner conflict', role: 'note' },
      'Being resolved: this record was deleted on one device and edited on another.') : null,
    attentionSection(app, id),
    ...(r.equipment_faults || []).map((f) => h('p', { class: 'banner overdue equipment-fault', role: 'note' },
      h('strong', null, `${FAULTS[f.kind] || 'Firefighting equipment'} out of order${f.since ? ` since ${longDate(f.since)}` : ''}`),
      ` (reported by ${f.reported_by || 'the responsible person'}, reference ${f.id})${f.description ? `: ${f.description}` : ''}`,
      f.for_review ? h('strong', { class: 'for-review' }, ' For review: no repair reported in time; check on site.') : null)),
    wallBanner(r.high_rise && r.high_rise.external_wall),
    infoBoxBanner(r.information_box),
    isOverdue(r.next_review_due) ? h('p', { class: 'banner overdue', role: 'note' },
      `Review overdue: this record was due for review on ${longDate(r.next_review_due)}. Check it on site.`) : null,
    expired.length ? h('p', { class: 'banner overdue', role: 'note', id: 'expired-banner' },
      `Flagged for review: ${expired.length} temporary hazard${expired.length === 1 ? '' : 's'} expired (${expired.map((x) => `${v.hazard_types[x.type] || x.type}, ${longDate(x.expires)}`).join('; ')}). Check on site whether ${expired.length === 1 ? 'it is' : 'they are'} gone.`) : null,
    summary(app, r, marks),
    h('section', { class: 'card hazards-card', 'aria-labelledby': 'h-hazards' },
      h('h2', { id: 'h-hazards', tabindex: -1 }, 'Hazards', marks('hazards')),
      (r.hazards || []).length ? hazardList(app, r.hazards, (path) => conflictMark(underConflict(path))) : h('p', { class: 'muted' }, 'No hazards recorded.')),
    section('Access', 'h-access', dl(
      row('Rendezvous point (RVP)', r.rvp, { pending: p('rvp'), conflict: underConflict('rvp') }),
      row('Access points', r.access_points, { pending: p('access_points'), conflict: underConflict('access_points'), multiline: true }),
      row('Key holder', r.key_holder, { pending: p('key_holder'), conflict: underConflict('key_holder') }),
      row('Key box', r.key_box, { pending: p('key_box'), conflict: underConflict('key_box'), sensitive: true }),
      row('Entry codes', r.entry_codes, { pending: p('entry_codes'), conflict: underConflict('entry_codes'), sensitive: true }))),
    section('Water', 'h-water', marks('water_supplies'), (r.water_supplies || []).length ? h('ul', { class: 'plain' },
      r.water_supplies.map((w) => h('li', null, h('strong', null, WATER[w.kind] || w.kind), w.location ? `: ${w.location}` : '',
        w.notes ? h('span', { class: 'muted' }, ` — ${w.notes}`) : null))) : null),
    section('Firefighting facilities', 'h-facilities', dl([
      ['alarm_panel', 'Alarm panel'], ['suppression', 'Sprinklers / suppression'], ['risers', 'Risers'],
      ['isolation_gas', 'Gas isolation'], ['isolation_electric', 'Electricity isolation'], ['isolation_water', 'Water isolation'],
    ].map(([f, label]) => row(label, r[f], { pending: p(f), conflict: underConflict(f) })))),
    section('Contacts', 'h-contacts', marks('contacts'), (r.contacts || []).length ? h('ul', { class: 'plain' },
      r.contacts.map((c) => h('li', null, h('strong', null, c.name), c.role ? ` (${c.role})` : '',
        c.phone ? [' ', h('a', { href: `tel:${c.phone.replace(/\s+/g, '')}` }, c.phone)] : null))) : null),
    section('Tactics', 'h-tactics', dl(
      row('Harms considered', (r.harms || []).map((x) => HARMS[x] || x).join('; '), { pending: p('harms'), conflict: underConflict('harms') }),
      row('Evacuation strategy', v.evacuation[r.evacuation_strategy] || '', { pending: p('evacuation_strategy'), conflict: underConflict('evacuation_strategy') }),
      row('Tactical plan', r.tactical_plan, { pending: p('tactical_plan'), conflict: underConflict('tactical_plan'), multiline: true }),
      row('Environmental protection', r.environmental_plan, { pending: p('environmental_plan'), conflict: underConflict('environmental_plan'), multiline: true }))),
    section('Risk notes', 'h-notes', r.risk_notes ? h('p', { class: 'multiline', id: 'risk-notes' }, r.risk_notes, marks('risk_notes')) : null),
    shared ? null : section('Observations', 'h-observations', (r.observations || []).length ? h('ul', { class: 'plain' },
      r.observations.map((o) => h('li', null, h('strong', null, o.category.replace(/_/g, ' ')), `: ${o.note}`,
        h('span', { class: 'muted' }, ` — ${o.by || 'crew'}, ${o.status}`), pendingMark(Boolean(o._pending))))) : null),
    shared ? null : attachmentsSection(app, r),
    receipts.length ? noPrint(section('Changes from this device', 'h-receipts', h('ul', { class: 'receipts' },
      receipts.map((e) => h('li', { class: `receipt receipt-${e.status}` },
        h('span', { class: 'receipt-status' }, RECEIPT[e.status] || e.status),
        h('span', null, describe(e)),
        e.status === 'rejected' ? h('span', { class: 'muted' }, ` — ${e.receipt?.message || e.receipt?.reason || ''}`) : null))))) : null,
    h('p', { class: 'muted small', id: 'record-stamp' }, `${stamp}${r.assessed_at ? `; assessed ${longDate(r.assessed_at)}` : ''}${r.next_review_due ? `; next review ${longDate(r.next_review_due)}` : ''}.`));
  return { node };
}
