// Small shared view parts: hazard chips, pending and conflict marks, risk level (with its
// meaning), a field row.

import { h, hazardIcon } from '../dom.js';

export const LEVEL_MEANING = { 1: 'highest risk', 2: 'high risk', 3: 'moderate risk', 4: 'lowest risk' };

export function hazardChip(app, type) {
  return h('span', { class: 'chip hazard-chip' }, hazardIcon(type), app.vocab.hazard_types[type] || type);
}

export function pendingMark(show = true) {
  return show ? h('span', { class: 'pending-mark' }, 'pending') : null;
}

// A field under an open conflict: the record shows the server value until a supervisor chooses.
export function conflictMark(show = true) {
  return show ? h('span', { class: 'conflict-mark', title: 'A supervisor is choosing between two edits' },
    'being resolved: two edits differ') : null;
}

export function riskLevel(level, { meaning = false } = {}) {
  return h('span', { class: `level level-${level}` },
    meaning && LEVEL_MEANING[level] ? `Level ${level} — ${LEVEL_MEANING[level]}` : `Level ${level}`);
}

// A labelled value in a definition list; empty values are left out.
export function row(label, value, { pending = false, conflict = false, sensitive = false, multiline = false } = {}) {
  if (value === null || value === undefined || value === '') return null;
  return [
    h('dt', null, label, sensitive ? h('span', { class: 'sensitive' }, 'Sensitive') : null),
    h('dd', { class: multiline ? 'multiline' : null }, String(value), pendingMark(pending), conflictMark(conflict)),
  ];
}
