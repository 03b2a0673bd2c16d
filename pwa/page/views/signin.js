// Sign-in and device enrolment (online, the first time); also re-sign-in after expiry.

import { h } from '../dom.js';

export function signinView(app) {
  const s = app.session;
  const pending = app.replica.pending().length;
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true,
    value: s.user?.username || s.lastUser || '' });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  // A human name for this device, shown to admins (Devices, retire/revoke): e.g. the appliance.
  const deviceName = h('input', { id: 'device-name', name: 'device_name', maxlength: 100,
    autocomplete: 'off', placeholder: 'e.g. Pump 1 WIS', value: s.lastDeviceName || '' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!navigator.onLine) { error.textContent = 'Signing in needs a connection. Try again at the station.'; return; }
    button.disabled = true;
    try {
      await app.signedIn(await s.signIn(user.value.trim(), pass.value, deviceName.value));
    } catch (err) {
      error.textContent = err.offline ? 'No connection to the server.' : err.message;
    } finally { button.disabled = false; }
  } },
  h('h1', null, s.expired ? (pending ? `Sign in to send ${pending} change${pending === 1 ? '' : 's'}` : 'Sign in again') : 'Sign in to Watchbook'),
  s.wiped ? h('p', { class: 'notice warn', role: 'alert' }, s.wiped) : null,
  s.evicted ? h('p', { class: 'notice warn', role: 'alert' },
    'The browser cleared the data this device had saved (storage was evicted). Sign in to download it again.') : null,
  s.expired ? h('p', null, 'Your sign-in has expired. Your changes are kept on this device until they are sent.') :
    h('p', null, 'The first sign-in on this device needs a connection. After that, Watchbook works offline.'),
  h('label', { for: 'username' }, 'Username'), user,
  h('label', { for: 'password' }, 'Password'), pass,
  s.expired ? null : h('label', { for: 'device-name' }, 'Name of this device (optional)'),
  s.expired ? null : deviceName,
  error, button);
  return { node: form };
}
