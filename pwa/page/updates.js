// The page's side of the service worker (pwa/sw.js, at /sw.js): registration, noticing a
// waiting update, and applying it only when the new worker agrees the outbox is readable by it
// (it answers 'update-blocked' otherwise).

export async function registerWorker({ onWaiting, onBlocked }) {
  if (!('serviceWorker' in navigator)) return null;
  const reg = await navigator.serviceWorker.register('/sw.js', { type: 'module', updateViaCache: 'none' });
  const watch = (worker) => {
    if (!worker) return;
    worker.addEventListener('statechange', () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) onWaiting(reg);
    });
  };
  if (reg.waiting && navigator.serviceWorker.controller) onWaiting(reg);
  watch(reg.installing);
  reg.addEventListener('updatefound', () => watch(reg.installing));
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data?.type === 'update-blocked') onBlocked(e.data);
  });
  return reg;
}

export function applyUpdate(reg) {
  if (!reg?.waiting) return;
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!reloading) { reloading = true; location.reload(); }
  });
  reg.waiting.postMessage({ type: 'activate-if-safe' });
}
