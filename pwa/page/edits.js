// Edits as protocol mutations, the table of the paths each mutation changes, and the local
// overlay. Pure: no IndexedDB, no network. An edit becomes per-field mutations carrying the old
// and new value and the base version (docs/sync-protocol.md); `changedPaths` is the JavaScript
// twin of sync/paths.py (tests/cases/mutation_paths.json holds both to the same cases); the
// overlay shows queued mutations on top of the server copy.

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

// -- the table of mutation paths (sync/paths.py) ---------------------------------------------

function split(path) {
  const [top, id, ...rest] = path.split('/');
  return [top, id, rest.length ? rest.join('/') : undefined];
}

// The value at `path` (`risk_notes`, `hazards/h1`, `hazards/h1/location`); a missing list item
// or field of one reads as null.
export function getPath(doc, path) {
  const [top, id, sub] = split(path);
  if (id === undefined) return doc[top] ?? null;
  const item = (doc[top] || []).find((x) => x.id === id);
  if (!item) return null;
  return sub === undefined ? item : item[sub] ?? null;
}

// Set `path` on `doc` (whose lists and items are never mutated, only replaced): a list item set
// to null is removed, a new one appended (sync/merge.py set_path).
export function setPath(doc, path, value) {
  const [top, id, sub] = split(path);
  if (id === undefined) { doc[top] = value; return; }
  const items = [...(doc[top] || [])];
  const i = items.findIndex((x) => x.id === id);
  if (i >= 0) {
    if (sub !== undefined) items[i] = { ...items[i], [sub]: value };
    else if (value == null) items.splice(i, 1);
    else items[i] = value;
  } else if (sub === undefined && value != null) items.push(value);
  doc[top] = items;
}

const pair = (path, old, value) => ({ path, old: old ?? null, new: value ?? null });
const seen = (sent, record, path) => (sent != null ? sent : getPath(record, path));

// The {path, old, new} changes mutation `m` makes to `record`; a resolution's come from its
// `conflict` (none without it); attaching the blob already attached under that id changes nothing.
export function changedPaths(m, record, conflict) {
  switch (m.kind) {
    case 'update': return m.changes.map((c) => pair(c.field, c.old, c.new));
    case 'add_hazard': return [pair(`hazards/${m.hazard.id}`, null, m.hazard)];
    case 'remove_hazard': {
      const path = `hazards/${m.hazard_id}`;
      return [pair(path, seen(m.old, record, path), null)];
    }
    case 'update_hazard': return m.changes.map((c) => pair(`hazards/${m.hazard_id}/${c.field}`, c.old, c.new));
    case 'add_observation': return [pair(`observations/${m.observation.id}`, null, m.observation)];
    case 'review_observation': {
      const path = `observations/${m.observation_id}/status`;
      return [pair(path, seen(m.old, record, path), m.status)];
    }
    case 'attach': {
      const path = `attachments/${m.attachment.id}`;
      if (getPath(record, path)?.sha256 === m.attachment.sha256) return [];
      return [pair(path, null, m.attachment)];
    }
    case 'detach': {
      const path = `attachments/${m.attachment_id}`;
      return [pair(path, seen(m.old, record, path), null)];
    }
    case 'create': return Object.entries(m.record).map(([f, v]) => pair(f, null, v));
    case 'delete': return [pair('deleted', Boolean(record.deleted), true)];
    case 'restore': return [pair('deleted', Boolean(record.deleted), false)];
    case 'resolve_conflict': return resolution(m, record, conflict);
    default: throw new Error(`no paths for ${m.kind}`);
  }
}

function resolution(m, record, conflict) {
  if (!conflict) return [];
  const deleted = Boolean(record.deleted);
  if (m.choice === 'client') return [pair(conflict.path, conflict.server, conflict.client)];
  if (m.choice === 'value') return [pair(conflict.path, conflict.server, m.value)];
  if (m.choice === 'delete' && !deleted) return [pair('deleted', false, true)];
  if (m.choice === 'keep' && deleted) return [pair('deleted', true, false)];
  return []; // 'server': the record already holds the server value
}

// A copy of `record` with each change's new value set at its path.
export function applyChanges(record, changes) {
  const out = { ...record };
  for (const c of changes) setPath(out, c.path, c.new);
  return out;
}

// The record as this device sees it: the server copy with still-pending mutations applied;
// `_pending` names the fields that are waiting to be sent, and a changed list item carries
// `_pending: true`. `conflicts`: id -> conflict, for queued resolutions.
export function overlay(record, entries, conflicts = new Map()) {
  if (!entries || !entries.length) return record;
  const r = { ...record, _pending: new Set() };
  for (const entry of entries) {
    const m = entry.mutation;
    for (const c of changedPaths(m, r, conflicts.get(m.conflict_id))) {
      setPath(r, c.path, c.new);
      const [top, id] = split(c.path);
      r._pending.add(top);
      const items = id === undefined ? null : r[top]; // a fresh copy: setPath replaced it
      const i = items ? items.findIndex((x) => x.id === id) : -1;
      if (i >= 0) items[i] = { ...items[i], _pending: true };
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
