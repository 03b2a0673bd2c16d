// Attachments on the device: shrink a photo before it is queued, hash it, keep it in the upload
// queue (IndexedDB `uploads`, apart from the edit outbox) and send it when online with retries
// and backoff; cache the home station's attachments for offline use under a size cap (least
// recently viewed evicted first) and fetch others on demand. No UI here.

import * as db from '../db.js';
import { ApiError } from './api.js';

export const MAX_PX = 1600;           // longest side of a photo as queued
export const DEFAULT_CACHE_BYTES = 200 * 1024 * 1024; // WATCHBOOK_ATTACHMENT_CACHE_BYTES default
const MAX_BACKOFF_MS = 5 * 60 * 1000;
const RESIZABLE = ['image/jpeg', 'image/png', 'image/webp'];

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// A photo redrawn upright at most MAX_PX on its longest side as JPEG; the redraw drops EXIF
// (and its GPS position). A PDF is kept as it is.
export async function shrink(file, maxPx = MAX_PX) {
  if (!RESIZABLE.includes(file.type)) return file;
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, maxPx / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close?.();
  return new Promise((resolve, reject) => canvas.toBlob(
    (b) => (b ? resolve(b) : reject(new Error('could not encode the photo'))), 'image/jpeg', 0.85));
}

// Shrink, hash and queue a file; returns the attachment for an `attach` mutation.
export async function prepare(file, { kind, caption = '', observationId = null, station }) {
  const blob = await shrink(file);
  const sha256 = await sha256Hex(blob);
  const type = blob.type || file.type;
  await db.putUpload({ sha256, blob, content_type: type, size: blob.size, station,
    created_at: new Date().toISOString(), tries: 0, next_at: 0 });
  const attachment = { id: newAttachmentId(), sha256, kind, content_type: type, size: blob.size, caption };
  if (observationId) attachment.observation_id = observationId;
  return attachment;
}

function newAttachmentId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return 'a' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function send(path, token, init = {}) {
  let res;
  try {
    res = await fetch(`/api${path}`, { ...init, cache: 'no-store', credentials: 'omit',
      headers: { ...(init.headers || {}), Authorization: `Bearer ${token}` } });
  } catch {
    throw new ApiError(0, null, true);
  }
  if (!res.ok && res.status !== 304) {
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    throw new ApiError(res.status, body);
  }
  return res;
}

export class Attachments extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.running = null;
    this.urls = new Map(); // sha256 -> object URL for this page
  }

  // The server's WATCHBOOK_ATTACHMENT_CACHE_BYTES, learnt at sign-in (older sign-ins: the default).
  get cap() { return this.session.user?.attachment_cache_bytes || DEFAULT_CACHE_BYTES; }

  start() {
    addEventListener('online', () => this.upload());
    setInterval(() => this.upload(), 60 * 1000);
    return this.upload();
  }

  // Send every due upload, oldest first; one at a time so edits and pulls are not starved.
  upload() {
    if (!this.running) this.running = this.uploadAll().finally(() => { this.running = null; });
    return this.running;
  }

  async uploadAll() {
    if (!this.session.token || !navigator.onLine) return;
    const queue = (await db.uploads()).sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (const u of queue) {
      if (u.next_at > Date.now()) continue;
      try {
        const known = await fetch(`/api/blobs/${u.sha256}`, { method: 'HEAD', cache: 'no-store',
          headers: { Authorization: `Bearer ${this.session.token}` } }).then((r) => r.ok, () => false);
        if (!known) {
          await send(`/blobs/${u.sha256}`, this.session.token, { method: 'PUT', body: u.blob,
            headers: { 'Content-Type': u.content_type } });
        }
        await db.uploaded(u.sha256, { sha256: u.sha256, blob: u.blob, content_type: u.content_type,
          size: u.size, station: u.station, viewed_at: Date.now() });
        this.dispatchEvent(new CustomEvent('uploaded', { detail: u.sha256 }));
      } catch (err) {
        const tries = (u.tries || 0) + 1;
        const refused = err.status >= 400 && err.status < 500 && err.status !== 429;
        const cap = refused ? 60 * 60 * 1000 : Math.min(MAX_BACKOFF_MS, 2000 * 2 ** tries);
        await db.putUpload({ ...u, tries, next_at: Date.now() + cap / 2 + Math.random() * cap / 2,
          error: err.message || String(err) });
        if (err.offline) return;
      }
    }
    await this.evict();
  }

  async pending() { return (await db.uploads()).map((u) => u.sha256); }

  // Keep the home station's available attachments on the device (within the cap).
  async cacheStation(records) {
    const station = this.session.user?.station;
    if (!station || !this.session.token || !navigator.onLine) return;
    const have = new Set((await db.fileIndex()).map((f) => f.sha256));
    for (const r of records) {
      if (r.station !== station) continue;
      for (const a of r.attachments || []) {
        if (!a.available || have.has(a.sha256)) continue;
        try {
          await this.fetchInto(a, station, 0);
          have.add(a.sha256);
        } catch (err) {
          if (err.offline) return;
        }
      }
    }
    await this.evict();
  }

  async fetchInto(a, station, viewedAt) {
    const res = await send(`/blobs/${a.sha256}`, this.session.token);
    const blob = await res.blob();
    await db.putFile({ sha256: a.sha256, blob, content_type: a.content_type, size: blob.size,
      station, viewed_at: viewedAt });
    return blob;
  }

  // Least recently viewed first until the cache fits its cap.
  async evict() {
    const files = (await db.fileIndex()).sort((a, b) => (a.viewed_at || 0) - (b.viewed_at || 0));
    let total = files.reduce((n, f) => n + (f.size || 0), 0);
    const out = [];
    for (const f of files) {
      if (total <= this.cap) break;
      out.push(f.sha256);
      total -= f.size || 0;
    }
    if (out.length) await db.putFile(null, out);
  }

  // An object URL for an attachment: from the upload queue, the cache, or (online) the server.
  async url(a, station) {
    if (this.urls.has(a.sha256)) {
      this.touch(a.sha256);
      return this.urls.get(a.sha256);
    }
    let blob = (await db.getUpload(a.sha256))?.blob;
    if (!blob) {
      const file = await db.getFile(a.sha256);
      if (file) {
        blob = file.blob;
        this.touch(a.sha256);
      }
    }
    if (!blob && a.available && navigator.onLine && this.session.token) {
      blob = await this.fetchInto(a, station, Date.now());
      await this.evict();
    }
    if (!blob) return null;
    const url = URL.createObjectURL(blob);
    this.urls.set(a.sha256, url);
    return url;
  }

  // An object URL for a small picture of an image attachment: its bytes if this device holds
  // them (offline too), else the server's thumbnail (/api/blobs/{sha}/thumb), kept for the page.
  async thumb(a) {
    if (a.content_type === 'application/pdf') return null;
    const key = `${a.sha256}-thumb`;
    if (this.urls.has(key)) return this.urls.get(key);
    if (this.urls.has(a.sha256)) return this.urls.get(a.sha256);
    const local = (await db.getUpload(a.sha256))?.blob || (await db.getFile(a.sha256))?.blob;
    let blob = local;
    if (!blob && a.available && navigator.onLine && this.session.token) {
      blob = await (await send(`/blobs/${a.sha256}/thumb`, this.session.token)).blob();
    }
    if (!blob) return null;
    const url = URL.createObjectURL(blob);
    this.urls.set(local ? a.sha256 : key, url);
    return url;
  }

  async touch(sha256) {
    const file = await db.getFile(sha256);
    if (file) await db.putFile({ ...file, viewed_at: Date.now() });
  }
}
