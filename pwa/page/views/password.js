// Change my password (online): POST /api/me/password with the current and the new one. The
// device keeps its token; the server applies the one policy and names the field it refuses.

import { h } from '../dom.js';

export function passwordView(app) {
  const s = app.session;
  const error = h('p', { class: 'error', role: 'alert', id: 'password-error' });
  const field = (id, label, auto) => [h('label', { for: id }, label),
    h('input', { id, name: id, type: 'password', autocomplete: auto, required: true })];
  const [currentLabel, current] = field('current-password', 'Current password', 'current-password');
  const [nextLabel, next] = field('new-password', 'New password (at least 8 characters)', 'new-password');
  const [againLabel, again] = field('new-password-again', 'New password again', 'new-password');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Change password');
  const form = h('form', { class: 'card signin', id: 'password-form', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (next.value !== again.value) { error.textContent = 'The two new passwords differ.'; return; }
    if (!navigator.onLine) { error.textContent = 'Changing the password needs a connection.'; return; }
    button.disabled = true;
    try {
      await s.call('/me/password', { token: s.token, method: 'POST',
        body: { current_password: current.value, new_password: next.value } });
      if (s.user) s.user.must_change_password = false;
      form.replaceChildren(h('h1', null, 'Password changed'),
        h('p', { role: 'status', id: 'password-changed' },
          'Use the new password from now on. This device stays signed in.'),
        h('a', { class: 'button', href: '#/sync' }, 'Back to sync and device'));
    } catch (err) {
      error.textContent = err.offline ? 'No connection to the server.' : err.message;
    } finally { button.disabled = false; }
  } },
  h('h1', null, 'Change your password'),
  s.user?.must_change_password ? h('p', { class: 'notice warn', role: 'alert' },
    'An admin reset your password: choose a new one before syncing again.') : null,
  currentLabel, current, nextLabel, next, againLabel, again, error, button);
  return { node: form, keep: true };
}
