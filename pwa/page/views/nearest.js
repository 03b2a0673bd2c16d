// Premises nearest a position: from geolocation when allowed, else a typed postcode looked up
// among the local premises' postcodes (works offline).

import { h, replace } from '../dom.js';
import { formatDistance, locatePostcode, nearest } from '../geo.js';
import { resultItem } from './list.js';

export function nearestView(app) {
  const status = h('p', { class: 'count', role: 'status', 'aria-live': 'polite', id: 'near-status' });
  const results = h('ol', { class: 'results', id: 'near-results' });
  const postcode = h('input', { id: 'postcode', autocomplete: 'postal-code', value: app.state.nearPostcode || '',
    placeholder: 'e.g. AB1 2CD' });

  function show(lat, lon, label) {
    app.state.near = { lat, lon, label };
    const found = nearest(app.replica.all(), lat, lon, 50);
    replace(status, found.length ? `${found.length} nearest to ${label}` : 'No premises with a location on this device.');
    replace(results, found.map(({ record, distance }) =>
      resultItem(app, record, h('span', { class: 'distance' }, formatDistance(distance)))));
  }

  const locate = h('button', { type: 'button', class: 'primary', onclick: () => {
    if (!navigator.geolocation) { replace(status, 'This device cannot give a position. Type a postcode.'); return; }
    replace(status, 'Finding your position…');
    navigator.geolocation.getCurrentPosition(
      (p) => show(p.coords.latitude, p.coords.longitude, 'your position'),
      () => replace(status, 'Position not available. Type a postcode instead.'),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  } }, 'Use my location');

  const form = h('form', { class: 'inline-form', onsubmit: (e) => {
    e.preventDefault();
    app.state.nearPostcode = postcode.value;
    const spot = locatePostcode(postcode.value, app.replica.all());
    if (!spot) { replace(status, `Postcode ${postcode.value.toUpperCase()} is not known on this device.`); replace(results); return; }
    show(spot.lat, spot.lon, spot.matched === 'postcode' ? postcode.value.toUpperCase()
      : `the ${postcode.value.toUpperCase()} area`);
  } }, h('label', { for: 'postcode' }, 'Or a postcode'), postcode, h('button', { type: 'submit' }, 'Find nearest'));

  if (app.state.near) show(app.state.near.lat, app.state.near.lon, app.state.near.label);
  const node = h('section', { class: 'nearest' }, h('h1', null, 'Nearest premises'),
    h('div', { class: 'near-controls' }, locate, form), status, results);
  return { node, refresh: () => app.state.near && show(app.state.near.lat, app.state.near.lon, app.state.near.label) };
}
