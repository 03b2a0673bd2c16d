// The transport: JSON over fetch to /api with the device token. Knows HTTP, not sync rules;
// the composition root (app.js) hands `call` to the clients that need it.

import { PROTOCOL, PROTOCOL_HEADER } from './protocol.js';

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

export async function call(path, { token, method = 'GET', body, timeout = 30000 } = {}) {
  const headers = { Accept: 'application/json', [PROTOCOL_HEADER]: String(PROTOCOL) };
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
    clearTimeout(timer);
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
