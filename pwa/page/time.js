// How old things are, in words a crew reads at a glance. Dates are ISO strings.

export function today() { return new Date().toISOString().slice(0, 10); }

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'} ago`;
  const hrs = Math.round(m / 60);
  if (hrs < 24) return `${hrs} hour${hrs === 1 ? '' : 's'} ago`;
  const d = Math.round(hrs / 24);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

export function longDate(iso) {
  if (!iso) return '';
  return new Date(iso.length === 10 ? iso + 'T12:00:00Z' : iso)
    .toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

export function isOverdue(due) { return Boolean(due) && due < today(); }
