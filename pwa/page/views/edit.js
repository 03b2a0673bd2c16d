// Supervisor edit: fields, hazards and notes, offline. Saving queues per-field mutations
// (old and new value, base version) and shows the change at once, marked pending.

import { h } from '../dom.js';
import { hazardMutations, newId, updateMutation } from '../edits.js';

const GROUPS = [
  ['Premises', [['name', 'Name'], ['address', 'Address'], ['postcode', 'Postcode'], ['uprn', 'UPRN'], ['use', 'Use / occupancy']]],
  ['Risk', [['risk_level', 'Risk level (1 highest – 4)', 'level'], ['risk_score', 'Risk score (0–100)', 'number'],
    ['assessed_at', 'Date assessed', 'date'], ['assessed_by', 'Assessed by']]],
  ['Access', [['rvp', 'Rendezvous point (RVP)'], ['access_points', 'Access points', 'long'], ['key_holder', 'Key holder'],
    ['key_box', 'Key box (sensitive)'], ['entry_codes', 'Entry codes (sensitive)']]],
  ['Firefighting facilities', [['alarm_panel', 'Alarm panel'], ['suppression', 'Sprinklers / suppression'], ['risers', 'Risers'],
    ['isolation_gas', 'Gas isolation'], ['isolation_electric', 'Electricity isolation'], ['isolation_water', 'Water isolation']]],
  ['Tactics and notes', [['evacuation_strategy', 'Evacuation strategy', 'evac'], ['tactical_plan', 'Tactical plan', 'long'],
    ['environmental_plan', 'Environmental protection plan', 'long'], ['risk_notes', 'Risk notes', 'long']]],
];

function input(app, field, label, kind, value) {
  const id = `f-${field}`;
  let el;
  if (kind === 'long') el = h('textarea', { id, name: field, rows: 5, value: value ?? '' });
  else if (kind === 'evac') {
    el = h('select', { id, name: field, value: value || '' }, h('option', { value: '' }, 'Not recorded'),
      Object.entries(app.vocab.evacuation).map(([k, l]) => h('option', { value: k }, l)));
  } else if (kind === 'level') {
    el = h('select', { id, name: field, value: String(value ?? 4) }, [1, 2, 3, 4].map((n) => h('option', { value: String(n) }, `Level ${n}`)));
  } else el = h('input', { id, name: field, type: kind === 'number' ? 'number' : kind === 'date' ? 'date' : 'text', value: value ?? '' });
  return h('div', { class: 'field' }, h('label', { for: id }, label), el);
}

function read(form, field, kind, before) {
  const v = form.elements[field].value;
  if (kind === 'level' || kind === 'number') return v === '' ? before : Number(v);
  if (kind === 'date') return v || null;
  return kind === 'long' ? v : v.trim();
}

function hazardRow(app, hz) {
  const p = `hz-${hz.id}`;
  const sel = (name, label, options, value) => h('div', { class: 'field' }, h('label', { for: `${p}-${name}` }, label),
    h('select', { id: `${p}-${name}`, 'data-field': name, value }, options.map(([k, l]) => h('option', { value: k }, l))));
  const text = (name, label, value) => h('div', { class: 'field' }, h('label', { for: `${p}-${name}` }, label),
    h('input', { id: `${p}-${name}`, 'data-field': name, value: value || '' }));
  return h('fieldset', { class: 'hazard-edit', 'data-id': hz.id },
    h('legend', null, app.vocab.hazard_types[hz.type] || 'New hazard'),
    sel('type', 'Type', Object.entries(app.vocab.hazard_types), hz.type),
    sel('severity', 'Severity', [['high', 'High'], ['medium', 'Medium'], ['low', 'Low']], hz.severity || 'medium'),
    text('location', 'Location on site', hz.location), text('description', 'Description', hz.description),
    text('hazchem', 'Hazchem code', hz.hazchem),
    h('div', { class: 'field' }, h('label', { for: `${p}-expires` }, 'Expires (temporary hazards)'),
      h('input', { id: `${p}-expires`, type: 'date', 'data-field': 'expires', value: hz.expires || '' })),
    h('div', { class: 'field check' }, h('input', { id: `${p}-remove`, type: 'checkbox', 'data-field': 'remove' }),
      h('label', { for: `${p}-remove` }, 'Remove this hazard')));
}

function readHazards(box) {
  return [...box.querySelectorAll('fieldset.hazard-edit')].map((fs) => {
    const get = (f) => fs.querySelector(`[data-field="${f}"]`);
    if (get('remove').checked) return null;
    return { id: fs.dataset.id, type: get('type').value, severity: get('severity').value,
      location: get('location').value.trim(), description: get('description').value.trim(),
      hazchem: get('hazchem').value.trim(), expires: get('expires').value || null };
  }).filter(Boolean);
}

export function editView(app, { id }) {
  const r = app.replica.get(id);
  if (!r || !app.session.canEdit) {
    return { node: h('section', { class: 'card' }, h('h1', null, 'Cannot edit'),
      h('p', null, r ? 'Only supervisors can edit records.' : 'This premises is not on this device.')) };
  }
  const clean = (hz) => ({ id: hz.id, type: hz.type, severity: hz.severity || 'medium', location: hz.location || '',
    description: hz.description || '', hazchem: hz.hazchem || '', expires: hz.expires || null });
  const beforeHazards = (r.hazards || []).map(clean);
  const hazardBox = h('div', { class: 'hazard-box' }, beforeHazards.map((hz) => hazardRow(app, hz)));
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'edit', onsubmit: async (e) => {
    e.preventDefault();
    const after = { ...r };
    const fields = [];
    for (const [, items] of GROUPS) {
      for (const [field, , kind] of items) { after[field] = read(form, field, kind, r[field]); fields.push(field); }
    }
    if (!after.name) { error.textContent = 'The premises needs a name.'; return; }
    const mutations = [];
    const upd = updateMutation(r, after, fields);
    if (upd) mutations.push(upd);
    mutations.push(...hazardMutations(r, beforeHazards, readHazards(hazardBox)));
    if (mutations.length) await app.queue(mutations);
    app.go(`#/p/${encodeURIComponent(id)}`);
  } },
  h('h1', null, `Edit ${r.name}`),
  h('p', { class: 'muted' }, 'Changes are saved on this device at once and sent at the next sync.'),
  h('fieldset', { class: 'card' }, h('legend', null, 'Hazards'), hazardBox,
    h('button', { type: 'button', onclick: () => hazardBox.append(hazardRow(app, { id: newId('h'), type: 'asbestos', severity: 'medium' })) }, 'Add a hazard')),
  GROUPS.map(([title, items]) => h('fieldset', { class: 'card' }, h('legend', null, title),
    items.map(([field, label, kind]) => input(app, field, label, kind, r[field])))),
  error,
  h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary' }, 'Save changes'),
    h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}` }, 'Cancel')));
  return { node: form, keep: true };
}
