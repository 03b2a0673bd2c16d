// How old the data on this device is, and how loudly to say so: the server's thresholds
// (WATCHBOOK_DATA_STALE_HOURS, WATCHBOOK_DATA_OLD_DAYS, learnt with the user from /api/me).
// Pure: the last good sync, the clock and the thresholds are passed in.

export const DEFAULTS = { staleHours: 24, oldDays: 7 };

export function thresholds(user) {
  return { staleHours: user?.data_stale_hours || DEFAULTS.staleHours,
    oldDays: user?.data_old_days || DEFAULTS.oldDays };
}

// 'none' (never synced), 'fresh', 'stale' (amber) or 'old' (red).
export function ageLevel(lastOk, now, { staleHours, oldDays } = DEFAULTS) {
  if (!lastOk) return 'none';
  const hours = (now - Date.parse(lastOk)) / 3600e3;
  if (hours >= oldDays * 24) return 'old';
  if (hours >= staleHours) return 'stale';
  return 'fresh';
}
