// A crew observation ("key box moved"): a short note and a category, queued like any edit.

import { h } from '../dom.js';
import { prepare } from '../attachments.js';
import { observationMutation } from '../edits.js';
import { isShared, readOnlyNotice } from './shared.js';

const LABELS = { access: 'Access', hazard: 'Hazard', water: 'Water', contact: 'Contact', building_works: 'Building works', other: 'Other' };

export function observeView(app, { id }) {
  const r = app.replica.get(id);
  if (!r) return { node: h('p', null, 'This premises is not on this device.') };
  if (isShared(r)) return { node: readOnlyNotice(r) };
  const note = h('textarea', { id: 'obs-note', rows: 4, maxlength: 2000, required: true });
  const photo = h('input', { id: 'obs-photo', type: 'file', accept: 'image/*', capture: 'environment' });
  const category = h('select', { id: 'obs-category' }, app.vocab.categories.map((c) => h('option', { value: c }, LABELS[c] || c)));
  const form = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    if (!note.value.trim()) return;
    const obs = observationMutation(r, { category: category.value, note: note.value.trim(), by: app.session.user?.name });
    const mutations = [obs];
    await app.work(async () => {
      if (photo.files[0]) {  // a photo of what was seen: shrunk and queued, sent in the background
        const attachment = await prepare(photo.files[0], { kind: 'photo', observationId: obs.observation.id, station: r.station });
        mutations.push({ kind: 'attach', premises_id: r.id, base_version: r.version || 0, attachment });
      }
      await app.queue(mutations);
    });
    if (mutations.length > 1) app.files.upload();
    app.go(`#/p/${encodeURIComponent(id)}`);
  } },
  h('h1', null, `Observation: ${r.name}`),
  h('p', { class: 'muted' }, 'A supervisor reviews observations and updates the record.'),
  h('div', { class: 'field' }, h('label', { for: 'obs-category' }, 'Category'), category),
  h('div', { class: 'field' }, h('label', { for: 'obs-note' }, 'What did you see?'), note),
  h('div', { class: 'field' }, h('label', { for: 'obs-photo' }, 'Photo (optional)'), photo),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save observation'),
    h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}` }, 'Cancel')));
  return { node: form, keep: true };
}
