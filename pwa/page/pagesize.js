// How many rows to ask for in the next pull page (the protocol's `limit`), from how fast the
// last page's body arrived: a page whose transfer is cut by a drop costs at most about
// TARGET_MS of transfer, and a fast link gets large pages (fewer round trips). Pure: no
// network, no clock; the sync client measures and passes the figures in.

export const TARGET_MS = 2000; // the transfer a drop may throw away
export const FIRST_ROWS = 250; // before anything is measured: about 1 s at 400 kbit/s with zstd
export const MIN_ROWS = 50;
export const MAX_ROWS = 5000;  // the server caps it further (WATCHBOOK_PULL_PAGE_ROWS)
export const GROWTH = 4;       // at most this many times the last limit, per page

// `limit`: what the last page asked for; `rows`: what it carried; `transferMs`: from its
// headers to the end of its body. Returns the next page's limit.
export function nextLimit(limit, { rows, transferMs }) {
  if (!(rows > 0) || !(transferMs >= 0)) return limit; // nothing learnt
  const fit = Math.floor((rows / Math.max(transferMs, 1)) * TARGET_MS);
  return Math.max(MIN_ROWS, Math.min(MAX_ROWS, fit, limit * GROWTH));
}
