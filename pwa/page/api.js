// The transport: JSON over fetch to /api with the device token and the sync protocol version
// this client speaks (docs/sync-protocol.md; the server's range is sync/protocol.py's), sent on
// every call and in every push. Knows HTTP, not sync rules; the composition root (app.js) and
// the service worker hand `call` to the clients that need it. Imports nothing (see sw.js).

export const PROTOCOL = 1;
export const PROTOCOL_HEADER = 'Watchbook-Protocol';
// A pull answer's cursor and whether more follows, also in its headers (before its body).
export const CURSOR_HEADER = 'Watchbook-Cursor';
export const MORE_HEADER = 'Watchbook-More';

export class ApiError extends Error {
  constructor(status, body, offline = false) {
    const err = (body && body.error) || {};
    super(err.message || (offline ? 'offline' : `HTTP ${status}`));
    this.status = status;
    this.code = err.code || (offline ? 'offline' : 'http');
    this.field = err.field || null;
    this.wipe = Boolean(err.wipe);
    this.offline = offline;
    this.retryAfter = null;
  }
  get unauthorized() { return this.status === 401; }
  get revoked() { return this.status === 401 && this.code === 'device_revoked'; }
}

// `as: 'buffer'`: a successful response's body as an ArrayBuffer, not parsed, with how long its
// body took to arrive after its headers: {buffer, transferMs} (the pull worker parses it);
// `onHeaders(headers)` is called as soon as they arrive, before the body.
export async function call(path, { token, method = 'GET', body, timeout = 30000, headers: more = {},
  as = 'json', onHeaders = null } = {}) {
  const headers = { ...more, Accept: 'application/json', [PROTOCOL_HEADER]: String(PROTOCOL) };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal, cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, null, true);
  } finally {
    if (as !== 'buffer' || !res?.ok) clearTimeout(timer);
  }
  if (as === 'buffer' && res.ok) {
    onHeaders?.(res.headers);
    const t = performance.now();
    try {
      const buffer = await res.arrayBuffer();
      return { buffer, transferMs: performance.now() - t };
    } catch {
      throw new ApiError(0, null, true); // the link dropped mid-body
    } finally {
      clearTimeout(timer);
    }
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    const wait = Number(res.headers.get('Retry-After'));
    if (wait) err.retryAfter = wait;
    throw err;
  }
  return data;
}
