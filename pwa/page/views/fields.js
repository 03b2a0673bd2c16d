// Form pieces the edit and new-premises forms share: a labelled field, an editor for a list of
// small records (water supplies, contacts), "Use my position" for the location pair. DOM only;
// checking is page/check.js's, queueing the views'.

import { h } from '../dom.js';

export function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

// A list of items, each a row of inputs (`columns`: [key, label, options | type]), with add and
// remove. Read back with readList; rows are found by `data-list`.
export function listEditor(name, itemLabel, items, columns, blank) {
  const box = h('div', { class: 'list-items' });
  const addRow = (item) => {
    const n = box.children.length;
    const base = `f-${name}-${Date.now().toString(36)}${n}`;
    const row = h('fieldset', { class: 'list-item' },
      h('legend', null, `${itemLabel} ${n + 1}`),
      columns.map(([key, label, extra]) => {
        const id = `${base}-${key}`;
        const control = Array.isArray(extra)
          ? h('select', { id, 'data-field': key, value: item[key] || extra[0][0] }, extra.map(([k, l]) => h('option', { value: k }, l)))
          : h('input', { id, 'data-field': key, type: extra || 'text', value: item[key] || '' });
        return field(id, label, control);
      }),
      h('button', { type: 'button', class: 'link', onclick: () => { row.remove(); renumber(); } }, `Remove ${itemLabel.toLowerCase()} ${n + 1}`));
    box.append(row);
  };
  const renumber = () => [...box.children].forEach((row, i) => {
    row.querySelector('legend').textContent = `${itemLabel} ${i + 1}`;
    row.querySelector('button').textContent = `Remove ${itemLabel.toLowerCase()} ${i + 1}`;
  });
  items.forEach(addRow);
  return h('div', { class: 'field list', 'data-list': name, id: `f-${name}` }, box,
    h('button', { type: 'button', onclick: () => addRow({ ...blank }) }, `Add a ${itemLabel.toLowerCase()}`));
}

export function readList(form, name) {
  return [...form.querySelectorAll(`[data-list="${name}"] .list-item`)].map((row) => {
    const item = {};
    let typed = false; // a row with every text box empty is no item (an added row left blank)
    row.querySelectorAll('[data-field]').forEach((el) => {
      item[el.dataset.field] = el.value.trim();
      if (el.tagName !== 'SELECT' && el.value.trim()) typed = true;
    });
    return typed ? item : null;
  }).filter(Boolean);
}

// "Use my position": fills #f-lat and #f-lon of the form from the device's position.
export function locationFields(app, getForm) {
  const status = h('p', { class: 'muted', role: 'status', id: 'position-status' });
  const use = () => {
    if (!navigator.geolocation) { status.textContent = 'This device cannot tell its position.'; return; }
    status.textContent = 'Finding your position…';
    navigator.geolocation.getCurrentPosition((pos) => {
      const form = getForm();
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      form.elements.lon.value = pos.coords.longitude.toFixed(6);
      status.textContent = `Position filled in (accurate to about ${Math.round(pos.coords.accuracy)} m). Save to keep it.`;
    }, (err) => { status.textContent = `No position: ${err.message || 'permission refused'}.`; },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  };
  return h('div', { class: 'actions' }, h('button', { type: 'button', id: 'use-position', onclick: use }, 'Use my position'), status);
}
