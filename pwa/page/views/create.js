// A new premises found on site (supervisors, offline): station, name, address, postcode, use,
// risk level and position, checked like any edit (page/check.js) and queued as one `create`.
// The record shows at once from the queued mutation; the rest is filled in on the edit form.

import { checkField } from '../check.js';
import { h } from '../dom.js';
import { newId } from '../edits.js';
import { field, locationFields } from './fields.js';

const TEXT = [['name', 'Name'], ['address', 'Address'], ['postcode', 'Postcode'], ['use', 'Use / occupancy']];

export function newPremisesView(app) {
  if (!app.session.canEdit) {
    return { node: h('section', { class: 'card' }, h('h1', null, 'New premises'), h('p', null, 'Only supervisors can add premises.')) };
  }
  const grounds = app.session.user?.grounds || [];
  const home = app.session.user?.station;
  const errors = h('div', { class: 'error-summary', role: 'alert', id: 'new-errors' });
  const form = h('form', { class: 'edit', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    form.querySelectorAll('.field-error').forEach((x) => x.remove());
    form.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
    errors.replaceChildren();
    const v = (name) => form.elements[name].value.trim();
    const num = (name) => (v(name) === '' ? null : Number(v(name)));
    const id = newId('p');
    const record = { id, station: form.elements.station.value, name: v('name'), address: v('address'),
      postcode: v('postcode').toUpperCase(), use: v('use'), risk_level: Number(form.elements.risk_level.value),
      lat: num('lat'), lon: num('lon') };
    const problems = Object.keys(record).map((f) => [f, checkField(app.checks, f, record[f])]).filter(([, p]) => p);
    if (problems.length) {
      for (const [f, p] of problems) {
        const el = form.elements[f];
        el.closest('.field').append(h('p', { class: 'field-error', id: `err-${f}` }, p.message));
        el.setAttribute('aria-invalid', 'true');
        el.setAttribute('aria-describedby', `err-${f}`);
      }
      errors.append(h('p', null, 'Not saved: correct the fields marked below.'));
      form.elements[problems[0][0]].focus();
      return;
    }
    await app.queue([{ kind: 'create', premises_id: id, base_version: 0, record }]);
    app.go(`#/p/${encodeURIComponent(id)}`);
  } },
  h('h1', null, 'New premises'),
  h('p', { class: 'muted' }, 'A premises found on site that is not on the list. It is saved on this device at once and sent at the next sync; add hazards, access and water on its edit page.'),
  errors,
  h('fieldset', { class: 'card' }, h('legend', null, 'The premises'),
    field('f-station', 'Station', h('select', { id: 'f-station', name: 'station', value: home && grounds.includes(home) ? home : grounds[0] },
      grounds.map((s) => h('option', { value: s }, s)))),
    TEXT.map(([name, label]) => field(`f-${name}`, label, h('input', { id: `f-${name}`, name, type: 'text' }))),
    field('f-risk_level', 'Risk level (1 highest – 4)', h('select', { id: 'f-risk_level', name: 'risk_level', value: '4' },
      [1, 2, 3, 4].map((n) => h('option', { value: String(n) }, `Level ${n}`))))),
  h('fieldset', { class: 'card' }, h('legend', null, 'Location'),
    field('f-lat', 'Latitude', h('input', { id: 'f-lat', name: 'lat', type: 'text', inputmode: 'decimal' })),
    field('f-lon', 'Longitude', h('input', { id: 'f-lon', name: 'lon', type: 'text', inputmode: 'decimal' })),
    locationFields(app, () => form)),
  h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary' }, 'Save new premises'),
    h('a', { class: 'button', href: '#/' }, 'Cancel')));
  return { node: form, keep: true };
}
