// Who is signed in on this device: enrolment (online, once), the device token in IndexedDB,
// expiry (401 keeps the outbox), revoke-and-wipe, sign-out (also after a retire order, see
// sync.js), storage persistence and eviction.
// The transport is passed in; a re-enrolled device's queued edits are renumbered by outbox.js.

import * as db from '../db.js';
import * as outbox from './outbox.js';

const MARKER = 'watchbook.replica'; // localStorage: "this browser held a replica"
// localStorage: the name this device was given at sign-in ("Pump 1 WIS"); it names the hardware,
// not the person, so it outlives a wipe and is offered at the next sign-in (shift handover).
const DEVICE_NAME = 'watchbook.device_name';

export class Session extends EventTarget {
  // `transport(path, {method, body})`: the API's JSON, or throws ApiError (page/api.js call).
  constructor(transport) {
    super();
    this.call = transport;
    this.token = null; this.user = null; this.deviceId = null;
    this.expired = false; this.evicted = false; this.wiped = '';
    this.persisted = null;
  }

  get signedIn() { return Boolean(this.token && this.user); }
  get canEdit() { return ['supervisor', 'admin'].includes(this.user?.role); }
  emit() { this.dispatchEvent(new Event('change')); }

  async load() {
    const m = await db.getMetas(['token', 'user', 'device_id', 'expired', 'wiped']);
    Object.assign(this, { token: m.token || null, user: m.user || null,
      deviceId: m.device_id || null, expired: Boolean(m.expired) });
    // Cleared by the service worker (a revoke's wipe order with the app closed): say why.
    if (m.wiped && !this.token) { this.wiped = m.wiped; localStorage.removeItem(MARKER); }
    // IndexedDB empty but this browser held a replica: the browser evicted it. Say so.
    const marker = localStorage.getItem(MARKER);
    this.evicted = Boolean(marker) && !this.token;
    this.lastUser = marker ? JSON.parse(marker).username : '';
    this.lastDeviceName = localStorage.getItem(DEVICE_NAME) || '';
    this.persisted = await navigator.storage?.persisted?.().catch(() => null) ?? null;
  }

  // Enrol this device with username and password (online). A re-sign-in after expiry must be
  // the same person, so the queued edits keep their author.
  async signIn(username, password, deviceName = '') {
    if (this.user && this.expired && username !== this.user.username) {
      throw new Error(`Changes waiting here belong to ${this.user.username}; sign in as them.`);
    }
    const chosen = deviceName.trim().slice(0, 100);
    // dd/mm/yyyy by hand: the first toLocaleDateString loads the locale's data, ~15 ms of the click
    const d = new Date();
    const today = [d.getDate(), d.getMonth() + 1].map((x) => String(x).padStart(2, '0')).join('/') + `/${d.getFullYear()}`;
    const name = chosen || `${navigator.userAgentData?.platform || 'Browser'} of ${username} (${today})`;
    const res = await this.call('/devices/enrol', { method: 'POST',
      // Signing in again on this device keeps its id, so queued edits keep their numbers and the
      // server can still recognise any it already applied (a lost response is never applied twice).
      body: { username, password, device_name: name.slice(0, 100),
        device_id: this.deviceId && this.user?.username === username ? this.deviceId : undefined } });
    const reenrol = this.expired && this.deviceId && this.deviceId !== res.device_id;
    const meta = { token: res.token, user: res.user, device_id: res.device_id, expired: undefined,
      wiped: undefined };
    if (!this.user || this.user.username !== res.user.username) meta.next_seq = 1;
    if (reenrol) meta.next_seq = 1; // a new device: the server counts its seq from 1 again
    await db.setMeta(meta);
    Object.assign(this, { token: res.token, user: res.user, deviceId: res.device_id,
      expired: false, evicted: false, wiped: '' });
    if (reenrol) await outbox.renumber(1, res.device_id);
    localStorage.setItem(MARKER, JSON.stringify({ username: res.user.username }));
    if (chosen) { localStorage.setItem(DEVICE_NAME, chosen); this.lastDeviceName = chosen; }
    await this.persist();
    this.emit();
    return res.user;
  }

  // The user and the settings served with them (data-age thresholds, cache size), after a sync.
  async refreshUser() {
    if (!this.token || this.expired) return;
    const user = await this.call('/me', { token: this.token });
    if (!this.token || user.username !== this.user?.username) return;
    this.user = user;
    await db.setMeta({ user });
  }

  async persist() {
    try {
      this.persisted = (await navigator.storage?.persisted?.()) || (await navigator.storage?.persist?.()) || false;
    } catch { this.persisted = false; }
  }

  // The server refused the token. Revoked with wipe: clear everything. Otherwise keep the
  // replica and the outbox and ask the person to sign in again.
  async rejected(err) {
    if (err.revoked && err.wipe) return this.wipe('This device was revoked by an administrator; its data has been removed.');
    await db.setMeta({ expired: true });
    this.expired = true;
    this.emit();
    return null;
  }

  async wipe(reason = '') {
    await db.wipe();
    localStorage.removeItem(MARKER);
    Object.assign(this, { token: null, user: null, deviceId: null, expired: false, wiped: reason,
      evicted: false });
    this.emit();
  }
}
