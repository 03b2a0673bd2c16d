// Positions: great-circle distance and a postcode's position from the local premises (no
// network: a typed postcode is found among the replica's full or outward postcodes).

export function distanceM(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180;
  const a = Math.sin((lat2 - lat1) * r / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin((lon2 - lon1) * r / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(a));
}

export function formatDistance(m) {
  if (m < 1000) return `${Math.round(m / 10) * 10} m`;
  return `${(m / 1000).toFixed(m < 10000 ? 1 : 0)} km`;
}

export function normalisePostcode(text) { return String(text || '').toUpperCase().replace(/\s+/g, ''); }
function outward(pc) { return pc.length > 3 ? pc.slice(0, -3) : pc; }

// {lat, lon, matched: 'postcode'|'outward'} for a typed postcode, or null.
export function locatePostcode(text, records) {
  const want = normalisePostcode(text);
  if (!want) return null;
  const full = [], out = [];
  const wantOut = want.length >= 5 ? outward(want) : want;
  for (const r of records) {
    if (r.lat == null || r.lon == null || !r.postcode) continue;
    const pc = normalisePostcode(r.postcode);
    if (pc === want) full.push(r);
    else if (outward(pc) === wantOut) out.push(r);
  }
  const pick = full.length ? full : out;
  if (!pick.length) return null;
  const lat = pick.reduce((s, r) => s + r.lat, 0) / pick.length;
  const lon = pick.reduce((s, r) => s + r.lon, 0) / pick.length;
  return { lat, lon, matched: full.length ? 'postcode' : 'outward' };
}

export function nearest(records, lat, lon, limit = 50) {
  return records.filter((r) => r.lat != null && r.lon != null)
    .map((r) => ({ record: r, distance: distanceM(lat, lon, r.lat, r.lon) }))
    .sort((a, b) => a.distance - b.distance).slice(0, limit);
}
