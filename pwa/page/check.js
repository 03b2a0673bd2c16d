// Checks a record's fields before they are saved, with the server's own limits and words: the
// JSON Schema of sync/record.py's msgspec types and sync/problems.py's labels and templates,
// served as /pwa/checks.json. Pure: no DOM, no storage. A small interpreter of the schema
// keywords msgspec emits (type, anyOf, enum, $ref, min/maxLength, pattern, minimum/maximum,
// items, properties, required): a schema library that compiles to code (Ajv) needs
// `new Function`, which the shell's Content-Security-Policy forbids.

const codepoints = (s) => [...s].length;

// The readable name of a path such as `tactical_plan` or `hazards[0].location`.
export function label(checks, path) {
  const m = /^(\w+)(?:\[(\d+)\](?:\.(\w+))?)?/.exec(path);
  if (!m) return 'The record';
  const [, top, index, sub] = m;
  const items = checks.items[top];
  if (items && index !== undefined) {
    const head = `${items.item} ${Number(index) + 1}`;
    return sub ? `${head} (${items.fields[sub] || sub.replace(/_/g, ' ')})` : head;
  }
  return checks.labels[top] || top.replace(/_/g, ' ');
}

function number(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return v.toLocaleString('en-GB', { maximumFractionDigits: 6 });
  return v == null ? '' : String(v);
}

// One problem as a sentence (sync/problems.py `sentence`).
export function sentence(checks, { kind, path, limit, actual, detail = '' }) {
  const field = path.replace(/\[\d+\]/g, '').split('.').pop();
  if (kind === 'too_short' && limit === 1) kind = 'required';
  const values = { label: label(checks, path), limit: number(limit), actual: number(actual),
    hint: checks.hints[field] || 'the form shown', detail };
  return checks.templates[kind].replace(/\{(\w+)\}/g, (_, k) => values[k]);
}

function defOf(checks, ref) { return checks.schema.$defs[ref.split('/').pop()]; }

// The first problem of `value` against `schema` at `path`, or null.
function problem(checks, schema, value, path) {
  if (schema.$ref) return problem(checks, defOf(checks, schema.$ref), value, path);
  if (schema.anyOf) {
    if (value === null && schema.anyOf.some((s) => s.type === 'null')) return null;
    let first = null;
    for (const s of schema.anyOf.filter((x) => x.type !== 'null')) {
      const p = problem(checks, s, value, path);
      if (!p) return null;
      first = first || p;
    }
    return first || { kind: 'required', path };
  }
  if (schema.enum) return schema.enum.includes(value) ? null : { kind: 'choice', path, actual: value };
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return { kind: 'text', path };
      const n = codepoints(value);
      if (schema.maxLength != null && n > schema.maxLength) return { kind: 'too_long', path, limit: schema.maxLength, actual: n };
      if (schema.minLength != null && n < schema.minLength) return { kind: 'too_short', path, limit: schema.minLength, actual: n };
      if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) return { kind: 'format', path };
      return null;
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return { kind: 'number', path };
      if (schema.type === 'integer' && !Number.isInteger(value)) return { kind: 'whole', path };
      if (schema.maximum != null && value > schema.maximum) return { kind: 'too_high', path, limit: schema.maximum, actual: value };
      if (schema.minimum != null && value < schema.minimum) return { kind: 'too_low', path, limit: schema.minimum, actual: value };
      return null;
    }
    case 'boolean': return typeof value === 'boolean' ? null : { kind: 'other', path, detail: 'must be yes or no' };
    case 'array': {
      if (!Array.isArray(value)) return { kind: 'other', path, detail: 'must be a list' };
      for (let i = 0; i < value.length; i += 1) {
        const p = problem(checks, schema.items || {}, value[i], `${path}[${i}]`);
        if (p) return p;
      }
      return null;
    }
    case 'object': {
      if (!value || typeof value !== 'object') return { kind: 'other', path, detail: 'is missing' };
      for (const name of schema.required || []) {
        if (value[name] === undefined) return { kind: 'required', path: `${path}.${name}` };
      }
      for (const [name, sub] of Object.entries(schema.properties || {})) {
        if (value[name] === undefined) continue;
        const p = problem(checks, sub, value[name], `${path}.${name}`);
        if (p) return p;
      }
      return null;
    }
    default: return null;
  }
}

// The problem with one record field's value, as {path, message}, or null.
export function checkField(checks, field, value) {
  const root = defOf(checks, checks.schema.$ref);
  const schema = root.properties[field];
  if (!schema) return null;
  const p = problem(checks, schema, value, field);
  return p && { path: p.path, message: sentence(checks, p) };
}

// The problem with one hazard (a list item of the record), as {path, message}, or null.
export function checkItem(checks, list, index, value) {
  const root = defOf(checks, checks.schema.$ref);
  const p = problem(checks, root.properties[list].items, value, `${list}[${index}]`);
  return p && { path: p.path, message: sentence(checks, p) };
}

// Every problem of `fields` of `doc`, one per field, in the order given.
export function checkFields(checks, doc, fields) {
  return fields.map((f) => ({ field: f, problem: checkField(checks, f, doc[f] ?? null) }))
    .filter((x) => x.problem).map(({ field, problem: p }) => ({ field, ...p }));
}

// A rejected receipt in words (sync/problems.py `reason`): an invalid change's message is already
// the plain sentence; other reasons get their meaning first.
export function reasonText(checks, receipt) {
  const code = receipt?.reason || '';
  const message = receipt?.message || '';
  if (code === 'invalid' && message) return message;
  const head = checks.reasons[code] || 'The server did not accept this change';
  return message ? `${head}: ${message}` : head;
}
