// A record another service shares with this device, read-only (docs/sync-protocol.md,
// read-only shared records): its mark ("Shared by <service> — read only") and how old its
// risk information is, from the dates the server sent (they do not go stale offline).
// Views show shared records without Edit or Add observation.

import { h } from '../dom.js';
import { longDate } from '../time.js';

export function isShared(r) { return Boolean(r && r.shared && r.shared.read_only); }

export function sharedBy(r) { return r.shared.service || 'another service'; }

export function sharedChip(r) {
  return isShared(r) ? h('span', { class: 'chip shared-chip' }, `Shared by ${sharedBy(r)}`) : null;
}

export function sharedBanner(r) {
  if (!isShared(r)) return null;
  const age = r.shared.age || {};
  return h('div', { class: 'banner shared', role: 'note', id: 'shared-mark' },
    h('p', null, h('strong', null, `Shared by ${sharedBy(r)} — read only`)),
    h('p', { id: 'shared-age' }, age.assessed_at ? `Last inspected ${longDate(age.assessed_at)}`
      : 'Never inspected: no risk assessment is recorded',
    ' · ', age.content_changed_at ? `shared details last changed ${longDate(age.content_changed_at)}`
      : 'shared details: no change in the history kept'),
    h('p', { class: 'muted small' }, `Changes to it are made by ${sharedBy(r)}; only the fields they share are on this device.`));
}

export function readOnlyNotice(r) {
  return h('section', { class: 'card' }, h('h1', null, 'Read only'),
    h('p', null, `${r.name || 'This premises'} is shared by ${sharedBy(r)}: it cannot be changed on this device. Tell ${sharedBy(r)} what needs changing.`),
    h('a', { href: `#/p/${encodeURIComponent(r.id)}` }, 'Back to the premises'));
}
