// Small shared view parts: hazard chips, pending marks, risk level, a field row.

import { h, hazardIcon } from '../dom.js';

export function hazardChip(app, type) {
  return h('span', { class: 'chip hazard-chip' }, hazardIcon(type), app.vocab.hazard_types[type] || type);
}

export function pendingMark(show = true) {
  return show ? h('span', { class: 'pending-mark' }, 'pending') : null;
}

export function riskLevel(level) {
  return h('span', { class: `level level-${level}` }, `Level ${level}`);
}

// A labelled value in a definition list; empty values are left out.
export function row(label, value, { pending = false, sensitive = false, multiline = false } = {}) {
  if (value === null || value === undefined || value === '') return null;
  return [
    h('dt', null, label, sensitive ? h('span', { class: 'sensitive' }, 'Sensitive') : null),
    h('dd', { class: multiline ? 'multiline' : null }, String(value), pendingMark(pending)),
  ];
}
