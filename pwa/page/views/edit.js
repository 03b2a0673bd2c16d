// Supervisor edit, offline: every section the console edits (identity and location, risk and
// review, harms, access, water supplies, contacts, facilities, tactics and notes, hazards).
// Every field is checked before saving with the server's limits (page/check.js); problems show
// beside their field and focus moves to the first. Saving queues one `update` (old and new value
// per changed field) and hazard mutations. Also opened to fix an edit the server refused (its
// values filled in again) and to accept an observation together with the change it reports.

import { checkField, checkItem } from '../check.js';
import { h } from '../dom.js';
import { hazardMutations, newId, updateMutation } from '../edits.js';
import { today } from '../time.js';
import { field, listEditor, locationFields, readList } from './fields.js';
import { isShared, readOnlyNotice } from './shared.js';

const GROUPS = [
  ['Premises', 'identity', [['name', 'Name'], ['address', 'Address'], ['postcode', 'Postcode'], ['uprn', 'UPRN'], ['use', 'Use / occupancy']]],
  ['Location', 'location', [['lat', 'Latitude', 'float'], ['lon', 'Longitude', 'float']]],
  ['Risk and review', 'risk', [['risk_level', 'Risk level (1 highest – 4)', 'level'], ['risk_score', 'Risk score (0–100)', 'number'],
    ['assessed_at', 'Date assessed', 'date'], ['assessed_by', 'Assessed by'], ['harms', 'Harms considered', 'harms']]],
  ['Access', 'access', [['rvp', 'Rendezvous point (RVP)'], ['access_points', 'Access points', 'long'], ['key_holder', 'Key holder'],
    ['key_box', 'Key box (sensitive)'], ['entry_codes', 'Entry codes (sensitive)']]],
  ['Water supplies', 'water', [['water_supplies', 'Water supplies', 'water']]],
  ['Contacts', 'contacts', [['contacts', 'Contacts', 'contacts']]],
  ['Firefighting facilities', 'facilities', [['alarm_panel', 'Alarm panel'], ['suppression', 'Sprinklers / suppression'], ['risers', 'Risers'],
    ['isolation_gas', 'Gas isolation'], ['isolation_electric', 'Electricity isolation'], ['isolation_water', 'Water isolation']]],
  ['Tactics and notes', 'tactics', [['evacuation_strategy', 'Evacuation strategy', 'evac'], ['tactical_plan', 'Tactical plan', 'long'],
    ['environmental_plan', 'Environmental protection plan', 'long'], ['risk_notes', 'Risk notes', 'long']]],
];
const FIELDS = GROUPS.flatMap(([, , items]) => items);
const HARM_LABELS = { life_public: 'Life: public', life_firefighter: 'Life: firefighters', environment: 'Environment',
  heritage: 'Heritage', economic: 'Economic', community: 'Community' };

function read(form, name, kind, before) {
  if (kind === 'water' || kind === 'contacts') return readList(form, name);
  if (kind === 'harms') return [...form.querySelectorAll(`input[name="harms"]:checked`)].map((x) => x.value);
  const v = form.elements[name].value;
  if (kind === 'level') return Number(v);
  if (kind === 'number') return v === '' ? before ?? 0 : Number(v);
  if (kind === 'float') return v.trim() === '' ? null : Number(v);
  if (kind === 'date') return v || null;
  if (name === 'postcode') return v.trim().toUpperCase();
  return kind === 'long' ? v : v.trim();
}

function input(app, name, label, kind, value) {
  const id = `f-${name}`;
  if (kind === 'harms') {
    const chosen = new Set(value || []);
    return h('fieldset', { class: 'field harms', id }, h('legend', null, label),
      app.vocab.harms.map((k) => h('div', { class: 'check' },
        h('input', { type: 'checkbox', id: `f-harms-${k}`, name: 'harms', value: k, checked: chosen.has(k) }),
        h('label', { for: `f-harms-${k}` }, HARM_LABELS[k] || k))));
  }
  if (kind === 'water') {
    return listEditor(name, 'Water supply', value || [], [['kind', 'Kind', [['hydrant', 'Hydrant'], ['static_tank', 'Static tank'],
      ['open_water', 'Open water'], ['dry_main', 'Dry main'], ['other', 'Other']]], ['location', 'Location'], ['notes', 'Notes']],
    { kind: 'hydrant', location: '', notes: '' });
  }
  if (kind === 'contacts') {
    return listEditor(name, 'Contact', value || [], [['name', 'Name'], ['role', 'Role'], ['phone', 'Phone', 'tel']],
      { name: '', role: '', phone: '' });
  }
  let el;
  if (kind === 'long') el = h('textarea', { id, name, rows: 5, value: value ?? '' });
  else if (kind === 'evac') {
    el = h('select', { id, name, value: value || '' }, h('option', { value: '' }, 'Not recorded'),
      Object.entries(app.vocab.evacuation).map(([k, l]) => h('option', { value: k }, l)));
  } else if (kind === 'level') {
    el = h('select', { id, name, value: String(value ?? 4) }, [1, 2, 3, 4].map((n) => h('option', { value: String(n) }, `Level ${n}`)));
  } else if (kind === 'float') {
    el = h('input', { id, name, type: 'text', inputmode: 'decimal', value: value ?? '' });
  } else el = h('input', { id, name, type: kind === 'number' ? 'number' : kind === 'date' ? 'date' : 'text', value: value ?? '' });
  return field(id, label, el);
}

function hazardRow(app, hz) {
  const p = `hz-${hz.id}`;
  const sel = (name, label, options, value) => field(`${p}-${name}`, label,
    h('select', { id: `${p}-${name}`, 'data-field': name, value }, options.map(([k, l]) => h('option', { value: k }, l))));
  const text = (name, label, value) => field(`${p}-${name}`, label, h('input', { id: `${p}-${name}`, 'data-field': name, value: value || '' }));
  return h('fieldset', { class: 'hazard-edit', 'data-id': hz.id },
    h('legend', null, app.vocab.hazard_types[hz.type] || 'New hazard'),
    sel('type', 'Type', Object.entries(app.vocab.hazard_types), hz.type),
    sel('severity', 'Severity', [['high', 'High'], ['medium', 'Medium'], ['low', 'Low']], hz.severity || 'medium'),
    text('location', 'Location on site', hz.location), text('description', 'Description', hz.description),
    text('hazchem', 'Hazchem code', hz.hazchem),
    field(`${p}-expires`, 'Expires (temporary hazards)', h('input', { id: `${p}-expires`, type: 'date', 'data-field': 'expires', value: hz.expires || '' })),
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

// Show `message` beside the control `el` (its .field), marked for assistive technology.
function showError(el, message) {
  const box = el.closest('.field, fieldset') || el.parentElement;
  const id = `err-${el.id || Math.random().toString(36).slice(2)}`;
  box.append(h('p', { class: 'field-error', id }, message));
  el.setAttribute('aria-invalid', 'true');
  el.setAttribute('aria-describedby', id);
}

function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((x) => x.remove());
  form.querySelectorAll('[aria-invalid]').forEach((x) => { x.removeAttribute('aria-invalid'); x.removeAttribute('aria-describedby'); });
}

// The control a problem path points at: `tactical_plan`, `contacts[1].name`, `harms[0]`.
function controlFor(form, path) {
  const m = /^(\w+)(?:\[(\d+)\](?:\.(\w+))?)?/.exec(path);
  if (!m) return null;
  const [, top, index, sub] = m;
  if (index !== undefined && (top === 'water_supplies' || top === 'contacts')) {
    const row = form.querySelectorAll(`[data-list="${top}"] .list-item`)[Number(index)];
    return row?.querySelector(`[data-field="${sub || ''}"]`) || row?.querySelector('input, select') || null;
  }
  return form.querySelector(`#f-${top}`);
}

// The values to fill in again for a refused entry: {fields: {name: value}, hazards: [...]}.
function refused(entry) {
  const m = entry?.mutation;
  const out = { fields: {}, hazard: null, message: entry?.receipt?.message || '' };
  if (!m) return out;
  if (m.kind === 'update') for (const c of m.changes) out.fields[c.field] = c.new;
  if (m.kind === 'add_hazard') out.hazard = { ...m.hazard };
  if (m.kind === 'update_hazard') out.hazardChanges = { id: m.hazard_id, changes: m.changes };
  return out;
}

export function editView(app, { id, fix, observation }) {
  const r = app.replica.get(id);
  if (isShared(r)) return { node: readOnlyNotice(r) };
  if (!r || !app.session.canEdit) {
    return { node: h('section', { class: 'card' }, h('h1', null, 'Cannot edit'),
      h('p', null, r ? 'Only supervisors can edit records.' : 'This premises is not on this device.')) };
  }
  const fixing = fix != null ? app.replica.attention().find((e) => e.n === fix) : null;
  const again = refused(fixing);
  const obs = observation ? (r.observations || []).find((o) => o.id === observation) : null;
  const clean = (hz) => ({ id: hz.id, type: hz.type, severity: hz.severity || 'medium', location: hz.location || '',
    description: hz.description || '', hazchem: hz.hazchem || '', expires: hz.expires || null });
  const beforeHazards = (r.hazards || []).map(clean);
  let shownHazards = beforeHazards.map((hz) => ({ ...hz }));
  if (again.hazard) shownHazards.push(clean(again.hazard));
  if (again.hazardChanges) {
    shownHazards = shownHazards.map((hz) => (hz.id !== again.hazardChanges.id ? hz
      : { ...hz, ...Object.fromEntries(again.hazardChanges.changes.map((c) => [c.field, c.new])) }));
  }
  const shown = { ...r, ...again.fields };
  const hazardBox = h('div', { class: 'hazard-box' }, shownHazards.map((hz) => hazardRow(app, hz)));
  const summary = h('div', { class: 'error-summary', role: 'alert', id: 'edit-errors' });
  const reviewButton = h('button', { type: 'button', id: 'inspected-today', onclick: () => {
    form.elements.assessed_at.value = today();
    form.elements.assessed_by.value = app.session.user?.name || app.session.user?.username || '';
    reviewNote.textContent = 'Review marked as done today. Save to send it; the server then sets the next review date.';
  } }, 'Inspected today');
  const reviewNote = h('p', { class: 'muted', role: 'status', id: 'review-note' });

  const check = (after) => {
    const problems = [];
    for (const [name] of FIELDS) {
      const p = checkField(app.checks, name, after[name] ?? null);
      if (p) problems.push({ el: controlFor(form, p.path), message: p.message });
    }
    const rows = [...hazardBox.querySelectorAll('fieldset.hazard-edit')].filter((fs) => !fs.querySelector('[data-field=remove]').checked);
    readHazards(hazardBox).forEach((hz, i) => {
      const p = checkItem(app.checks, 'hazards', i, hz);
      if (p) {
        const sub = p.path.split('.').pop();
        problems.push({ el: rows[i].querySelector(`[data-field="${sub}"]`) || rows[i].querySelector('select'), message: p.message });
      }
    });
    return problems;
  };

  const form = h('form', { class: 'edit', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(form);
    summary.replaceChildren();
    const after = { ...r };
    for (const [name, , kind] of FIELDS) after[name] = read(form, name, kind, r[name]);
    const problems = check(after);
    if (problems.length) {
      for (const p of problems) if (p.el) showError(p.el, p.message);
      summary.append(h('p', null, `Not saved: ${problems.length === 1 ? 'one field needs' : `${problems.length} fields need`} changing.`),
        h('ul', null, problems.map((p) => h('li', null, p.message))));
      problems.find((p) => p.el)?.el.focus();
      return;
    }
    const mutations = [];
    const upd = updateMutation(r, after, FIELDS.map(([name]) => name));
    if (upd) mutations.push(upd);
    mutations.push(...hazardMutations(r, beforeHazards, readHazards(hazardBox)));
    if (obs) {
      mutations.push({ kind: 'review_observation', premises_id: r.id, base_version: r.version || 0,
        observation_id: obs.id, status: 'accepted', old: obs.status || 'open' });
    }
    if (fixing) await app.resend(fixing.n, mutations);
    else if (mutations.length) await app.queue(mutations);
    app.go(obs ? '#/observations' : `#/p/${encodeURIComponent(id)}`);
  } },
  h('h1', null, `Edit ${r.name}`),
  h('p', { class: 'muted' }, 'Changes are saved on this device at once and sent at the next sync.'),
  fixing ? h('div', { class: 'notice warn', id: 'fixing' }, h('strong', null, 'Not saved — needs attention. '),
    `The server refused this change: ${again.message || 'no reason given'}. Your values are filled in again below; correct them and save to send again.`) : null,
  obs ? h('div', { class: 'notice info', id: 'accepting' }, h('strong', null, 'Accepting an observation: '),
    `${obs.note} (${obs.by || 'crew'}). Make the change it reports, then save: the observation is marked accepted with it.`) : null,
  summary,
  h('fieldset', { class: 'card' }, h('legend', null, 'Hazards'), hazardBox,
    h('button', { type: 'button', onclick: () => hazardBox.append(hazardRow(app, { id: newId('h'), type: 'asbestos', severity: 'medium' })) }, 'Add a hazard')),
  GROUPS.map(([title, key, items]) => h('fieldset', { class: 'card', id: `group-${key}` }, h('legend', null, title),
    key === 'risk' ? h('div', { class: 'actions' }, reviewButton, reviewNote) : null,
    items.map(([name, label, kind]) => input(app, name, label, kind, shown[name])),
    key === 'location' ? locationFields(app, () => form) : null)),
  h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary' }, fixing ? 'Save and send again' : 'Save changes'),
    h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}` }, 'Cancel')));
  if (fixing) {
    // The server's reason beside the field it names, and the local checks on what is shown.
    setTimeout(() => {
      const after = { ...r };
      for (const [name, , kind] of FIELDS) after[name] = read(form, name, kind, r[name]);
      const problems = check(after);
      for (const p of problems) if (p.el) showError(p.el, p.message);
      (problems.find((p) => p.el)?.el)?.focus();
    });
  }
  return { node: form, keep: true };
}
