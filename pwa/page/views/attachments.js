// Attachments on a premises page (photos, floor and site plans; "uploading" until the server
// has the file), the form that takes or picks a photo, and the plan viewer (zoom and pan,
// works offline from the device's cache).

import { h, replace } from '../dom.js';
import { prepare } from '../attachments.js';

const KINDS = { photo: 'Photo', floor_plan: 'Floor plan', site_plan: 'Site plan' };

function attachMutation(record, attachment) {
  return { kind: 'attach', premises_id: record.id, base_version: record.version || 0, attachment };
}

// A tile's picture: the thumbnail (or the local bytes, scaled down by CSS), a PDF label, or
// why there is none yet.
function preview(app, r, a) {
  const pdf = a.content_type === 'application/pdf';
  const box = h('span', { class: 'attachment-thumb', 'data-sha': a.sha256 },
    pdf ? h('span', { class: 'pdf' }, 'PDF') : a._pending || !a.available ? 'Uploading…' : 'Not on this device');
  if (!pdf) {
    app.files.thumb(a).then((url) => {
      if (url) replace(box, h('img', { src: url, alt: '', loading: 'lazy', decoding: 'async' }));
    }).catch(() => {});
  }
  return box;
}

export function attachmentsSection(app, r) {
  const items = (r.attachments || []).map((a) => h('li', { class: 'attachment' },
    h('a', { href: `#/p/${encodeURIComponent(r.id)}/a/${encodeURIComponent(a.id)}`, class: 'attachment-link' },
      preview(app, r, a),
      h('span', { class: 'attachment-label' },
        h('strong', null, KINDS[a.kind] || a.kind),
        (a._pending || !a.available) ? h('span', { class: 'pending-mark' }, 'uploading') : null,
        a.caption ? h('span', { class: 'attachment-caption' }, a.caption) : null))));
  return h('section', { class: 'card', 'aria-labelledby': 'h-attachments' },
    h('h2', { id: 'h-attachments', tabindex: -1 }, 'Attachments'),
    items.length ? h('ul', { class: 'attachments plain', id: 'attachments' }, items)
      : h('p', { class: 'muted' }, 'No floor plans, site plans or photos.'),
    app.session.canEdit ? attachForm(app, r) : null);
}

// Take or pick a photo (or a plan); it is shrunk and queued, and the record references it at
// once. The file is sent in the background.
export function attachForm(app, r, { observationId = null, after = null } = {}) {
  const file = h('input', { id: 'attach-file', type: 'file', accept: 'image/*,application/pdf',
    capture: 'environment' });
  const kind = observationId ? null : h('select', { id: 'attach-kind' },
    Object.entries(KINDS).map(([v, t]) => h('option', { value: v }, t)));
  const caption = h('input', { id: 'attach-caption', type: 'text', maxlength: 200 });
  const status = h('p', { class: 'muted', role: 'status', id: 'attach-status' });
  const form = h('form', { class: 'attach-form', onsubmit: async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    status.textContent = 'Preparing…';
    try {
      await app.work(async () => {
        const attachment = await prepare(chosen, { kind: kind ? kind.value : 'photo',
          caption: caption.value.trim(), observationId, station: r.station });
        await app.queue([attachMutation(r, attachment)]);
      });
      app.files.upload();
      status.textContent = 'Attached; it will upload when online.';
      form.reset();
      if (after) after();
    } catch (err) {
      status.textContent = `Could not attach: ${err.message || err}`;
    }
  } },
  h('div', { class: 'field' }, h('label', { for: 'attach-file' }, observationId ? 'Photo (optional)' : 'Photo or plan'), file),
  kind ? h('div', { class: 'field' }, h('label', { for: 'attach-kind' }, 'Kind'), kind) : null,
  h('div', { class: 'field' }, h('label', { for: 'attach-caption' }, 'Caption'), caption),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Attach')), status);
  return form;
}

// The plan viewer: wheel or buttons to zoom, drag to pan.
export function viewerView(app, { id, aid }) {
  const r = app.replica.get(id);
  const a = r && (r.attachments || []).find((x) => x.id === aid);
  if (!a) return { node: h('p', null, 'This attachment is not on this device.') };
  const state = { scale: 1, x: 0, y: 0 };
  const img = h('img', { id: 'viewer-image', alt: a.caption || KINDS[a.kind] || a.kind, draggable: 'false' });
  const stage = h('div', { class: 'viewer-stage', id: 'viewer-stage', tabindex: 0 }, img);
  const status = h('p', { class: 'muted', id: 'viewer-status', role: 'status' }, 'Loading…');
  // The stage fills the screen below the controls (app.css .viewer-stage); "Full screen" gives it the whole display.
  Object.assign(img.style, { transformOrigin: '0 0', maxWidth: 'none' });
  const draw = () => { img.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`; stage.dataset.scale = String(state.scale); };
  const zoom = (factor, cx = stage.clientWidth / 2, cy = stage.clientHeight / 2) => {
    const next = Math.min(16, Math.max(0.1, state.scale * factor));
    state.x = cx - (cx - state.x) * (next / state.scale);
    state.y = cy - (cy - state.y) * (next / state.scale);
    state.scale = next; draw();
  };
  const fit = () => {
    if (!img.naturalWidth) return;
    state.scale = Math.min(1, stage.clientWidth / img.naturalWidth, stage.clientHeight / img.naturalHeight);
    state.x = 0; state.y = 0; draw();
  };
  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    const box = stage.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - box.left, e.clientY - box.top);
  }, { passive: false });
  let drag = null;
  stage.addEventListener('pointerdown', (e) => { drag = { x: e.clientX - state.x, y: e.clientY - state.y }; stage.setPointerCapture(e.pointerId); });
  stage.addEventListener('pointermove', (e) => { if (drag) { state.x = e.clientX - drag.x; state.y = e.clientY - drag.y; draw(); } });
  stage.addEventListener('pointerup', () => { drag = null; });
  stage.addEventListener('keydown', (e) => {
    const step = 40;
    if (e.key === '+' || e.key === '=') zoom(1.2); else if (e.key === '-') zoom(1 / 1.2);
    else if (e.key === 'ArrowLeft') state.x += step; else if (e.key === 'ArrowRight') state.x -= step;
    else if (e.key === 'ArrowUp') state.y += step; else if (e.key === 'ArrowDown') state.y -= step;
    else return;
    e.preventDefault(); draw();
  });
  img.addEventListener('load', fit);
  // The stage takes the rest of the screen below the controls.
  const size = () => {
    if (!stage.isConnected) { removeEventListener('resize', size); return; }
    if (document.fullscreenElement === stage) return;
    stage.style.height = `${Math.max(288, innerHeight - stage.getBoundingClientRect().top - window.scrollY - 12)}px`;
    fit();
  };
  addEventListener('resize', size);
  requestAnimationFrame(size);
  app.files.url(a, r.station).then((url) => {
    if (!url) { status.textContent = a.available ? 'Not on this device; connect to fetch it.' : 'Still uploading from the device that took it.'; return; }
    if (a.content_type === 'application/pdf') {
      replace(stage, h('a', { href: url, target: '_blank', rel: 'noopener', id: 'viewer-pdf' }, 'Open the PDF'));
    } else img.src = url;
    status.textContent = '';
  }).catch((err) => { status.textContent = `Could not open it: ${err.message || err}`; });
  const node = h('article', { class: 'viewer' },
    h('h1', null, `${KINDS[a.kind] || a.kind}: ${r.name}`),
    a.caption ? h('p', null, a.caption) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'zoom-in', onclick: () => zoom(1.25) }, 'Zoom in'),
      h('button', { type: 'button', id: 'zoom-out', onclick: () => zoom(0.8) }, 'Zoom out'),
      h('button', { type: 'button', id: 'zoom-fit', onclick: fit }, 'Fit'),
      h('button', { type: 'button', id: 'zoom-actual', onclick: () => { state.scale = 1; state.x = 0; state.y = 0; draw(); } }, 'Actual size'),
      stage.requestFullscreen ? h('button', { type: 'button', id: 'full-screen',
        onclick: () => stage.requestFullscreen().then(() => setTimeout(fit, 100)).catch(() => {}) }, 'Full screen') : null,
      h('a', { class: 'button', href: `#/p/${encodeURIComponent(id)}` }, 'Back to the premises')),
    status, stage);
  return { node, keep: true };
}
