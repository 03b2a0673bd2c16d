// Edits as protocol mutations, and their local overlay. Pure: no IndexedDB, no network.
// An edit becomes per-field mutations carrying the old and new value and the base version
// (docs/sync-protocol.md); the overlay shows queued mutations on top of the server copy.

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function newId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// `update` for the record's changed fields, one old/new pair each.
export function updateMutation(before, after, fields) {
  const changes = fields.filter((f) => !same(before[f], after[f]))
    .map((f) => ({ field: f, old: before[f] ?? null, new: after[f] ?? null }));
  if (!changes.length) return null;
  return { kind: 'update', premises_id: before.id, base_version: before.version || 0, changes };
}

// Hazard mutations: added, removed and changed hazards between two lists.
export function hazardMutations(record, beforeList, afterList) {
  const base = { premises_id: record.id, base_version: record.version || 0 };
  const before = new Map(beforeList.map((x) => [x.id, x]));
  const after = new Map(afterList.map((x) => [x.id, x]));
  const out = [];
  for (const [id, hz] of after) {
    const old = before.get(id);
    if (!old) { out.push({ kind: 'add_hazard', ...base, hazard: hz }); continue; }
    const changes = Object.keys({ ...old, ...hz }).filter((f) => f !== 'id' && !same(old[f], hz[f]))
      .map((f) => ({ field: f, old: old[f] ?? null, new: hz[f] ?? null }));
    if (changes.length) out.push({ kind: 'update_hazard', ...base, hazard_id: id, changes });
  }
  for (const [id, old] of before) {
    if (!after.has(id)) out.push({ kind: 'remove_hazard', ...base, hazard_id: id, old });
  }
  return out;
}

export function observationMutation(record, { category, note, by }) {
  return {
    kind: 'add_observation', premises_id: record.id, base_version: record.version || 0,
    observation: { id: newId('o'), category, note, by: by || '', at: new Date().toISOString(), status: 'open' },
  };
}

export function resolveMutation(conflict, choice, value) {
  const m = { kind: 'resolve_conflict', premises_id: conflict.premises_id, base_version: 0,
    conflict_id: conflict.id, choice };
  if (choice === 'value') m.value = value;
  return m;
}

// The record as this device sees it: the server copy with still-pending mutations applied;
// `_pending` names the fields that are waiting to be sent.
export function overlay(record, entries) {
  if (!entries || !entries.length) return record;
  const r = { ...record, hazards: [...(record.hazards || [])],
    observations: [...(record.observations || [])],
    attachments: [...(record.attachments || [])], _pending: new Set() };
  for (const entry of entries) {
    const m = entry.mutation;
    if (m.kind === 'update') {
      for (const c of m.changes) { r[c.field] = c.new; r._pending.add(c.field); }
    } else if (m.kind === 'add_hazard') {
      r.hazards = [...r.hazards.filter((x) => x.id !== m.hazard.id), { ...m.hazard, _pending: true }];
      r._pending.add('hazards');
    } else if (m.kind === 'remove_hazard') {
      r.hazards = r.hazards.filter((x) => x.id !== m.hazard_id);
      r._pending.add('hazards');
    } else if (m.kind === 'update_hazard') {
      r.hazards = r.hazards.map((x) => {
        if (x.id !== m.hazard_id) return x;
        const y = { ...x, _pending: true };
        for (const c of m.changes) y[c.field] = c.new;
        return y;
      });
      r._pending.add('hazards');
    } else if (m.kind === 'add_observation') {
      r.observations = [...r.observations, { ...m.observation, _pending: true }];
      r._pending.add('observations');
    } else if (m.kind === 'attach') {
      r.attachments = [...r.attachments.filter((x) => x.id !== m.attachment.id), { ...m.attachment, _pending: true }];
      r._pending.add('attachments');
    } else if (m.kind === 'detach') {
      r.attachments = r.attachments.filter((x) => x.id !== m.attachment_id);
      r._pending.add('attachments');
    } else if (m.kind === 'resolve_conflict' && entry.path && !entry.path.includes('/')) {
      // entry.path/value are local notes on the entry; the wire mutation stays as specified.
      r[entry.path] = entry.value; r._pending.add(entry.path);
    }
  }
  return r;
}

// What a receipt means to the person who made the edit.
export function describe(entry) {
  const m = entry.mutation;
  switch (m.kind) {
    case 'update': return 'Changed ' + m.changes.map((c) => c.field.replace(/_/g, ' ')).join(', ');
    case 'add_hazard': return 'Added hazard';
    case 'remove_hazard': return 'Removed hazard';
    case 'update_hazard': return 'Changed hazard';
    case 'add_observation': return `Observation: ${m.observation.note.slice(0, 60)}`;
    case 'resolve_conflict': return 'Resolved conflict';
    case 'attach': return `Attached ${m.attachment.kind.replace(/_/g, ' ')}${m.attachment.caption ? `: ${m.attachment.caption.slice(0, 60)}` : ''}`;
    case 'detach': return 'Removed attachment';
    default: return m.kind;
  }
}
