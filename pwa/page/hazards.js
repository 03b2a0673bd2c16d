// When a temporary hazard has expired: the twin of sync/record.py hazard_expired (held to it by
// tests/cases/hazard_expiry.json). After its `expires` date, the day itself still in force.
// Pure: `today` (an ISO date) is passed in.

export function hazardExpired(hazard, today) {
  return typeof hazard?.expires === 'string' && hazard.expires !== '' && hazard.expires < today;
}

// Hazards split into those in force and those expired (shown as expired, flagged for review).
export function splitHazards(hazards, today) {
  const live = [], expired = [];
  for (const hz of hazards || []) (hazardExpired(hz, today) ? expired : live).push(hz);
  return { live, expired };
}
