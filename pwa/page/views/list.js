// The premises list for the station grounds, searched as you type (offline, in memory), a page
// of 100 at a time with "Show more" until every match is shown. On a cold open it shows the
// cached first screen until the whole replica is read.

import { h, replace } from '../dom.js';
import { splitHazards } from '../hazards.js';
import { isOverdue, today } from '../time.js';
import { hazardChip, pendingMark, riskLevel } from './parts.js';
import { sharedChip } from './shared.js';

const PAGE = 100;

export function resultItem(app, r, extra = null) {
  const { live, expired } = splitHazards(r.hazards, today());
  const types = [...new Set(live.map((x) => x.type))];
  return h('li', null, h('a', { class: 'result', href: `#/p/${encodeURIComponent(r.id)}` },
    h('span', { class: 'result-head' }, h('strong', { class: 'result-name' }, r.name),
      extra, riskLevel(r.risk_level), sharedChip(r), pendingMark(Boolean(r._pending && r._pending.size)),
      isOverdue(r.next_review_due) ? h('span', { class: 'chip overdue' }, 'Review overdue') : null,
      expired.length ? h('span', { class: 'chip overdue' }, 'Hazard expired: review') : null),
    h('span', { class: 'result-address' }, [r.address, r.postcode].filter(Boolean).join(', '),
      r.uprn ? ` · UPRN ${r.uprn}` : ''),
    types.length ? h('span', { class: 'chips' }, types.slice(0, 4).map((t) => hazardChip(app, t)),
      types.length > 4 ? h('span', { class: 'chip' }, `+${types.length - 4} more`) : null) : null));
}

export function listView(app) {
  const results = h('ol', { class: 'results', id: 'results' });
  const count = h('p', { class: 'count', id: 'count', role: 'status', 'aria-live': 'polite' });
  const input = h('input', { type: 'search', id: 'q', autocomplete: 'off', spellcheck: 'false',
    value: app.state.query || '', 'aria-describedby': 'count',
    placeholder: 'Name, address, postcode or UPRN', oninput: () => { app.state.query = input.value; app.state.shown = PAGE; update(); } });
  const more = h('div', { class: 'actions more', id: 'more' });

  function update() {
    const { replica } = app;
    if (!replica.loaded) { // a cold open: the cached first screen until every record is read
      const first = replica.first;
      if (input.value.trim() || !first?.items.length) {
        replace(count, input.value.trim() ? 'Loading premises for search…' : 'Loading premises…');
        replace(results);
        return;
      }
      show(first.total, first.items);
      return;
    }
    if (!replica.size) {
      replace(count, app.sync.state.downloading ? 'Downloading premises…' : 'No premises on this device yet.');
      replace(results);
      return;
    }
    const { total, items } = replica.index.search(input.value, app.state.shown || PAGE);
    show(total, items, true);
  }

  // `all`: the whole replica is searched, so "Show more" can go on to every match.
  function show(total, items, all = false) {
    replace(count, total > items.length ? `Showing 1–${items.length} of ${total} premises` : `${total} premises`);
    draw(items);
    const left = total - items.length;
    replace(more, all && left > 0 ? [
      h('button', { type: 'button', id: 'show-more', onclick: () => grow(items.length, PAGE) },
        `Show ${Math.min(PAGE, left)} more`),
      left > PAGE ? h('button', { type: 'button', id: 'show-all', onclick: () => grow(items.length, left) }, `Show all ${total}`) : null,
    ] : []);
    if (items.length) performance.mark('wb:list-rendered');
  }

  // The rows of `items`, in order. A record drawn last time keeps its row (typing on, a refresh
  // after a sync): records are never changed in place, a changed one is a new object, so it
  // gets a new row; the chips that depend on the date are drawn again on a new day. A row
  // already in its place is not moved (its layout and any focus in it are kept).
  let rows = new Map(), day = null;
  function draw(items) {
    if (day !== today()) { rows = new Map(); day = today(); }
    const next = new Map();
    items.forEach((r, i) => {
      const li = rows.get(r) || resultItem(app, r);
      next.set(r, li);
      const at = results.children[i];
      if (at !== li) results.insertBefore(li, at || null);
    });
    while (results.children.length > items.length) results.lastElementChild.remove();
    rows = next;
  }

  // Show `n` more and move focus to the first of them (keyboard and screen reader users).
  function grow(before, n) {
    app.state.shown = before + n;
    update();
    results.children[before]?.querySelector('a')?.focus();
  }
  update();
  const grounds = app.session.user?.grounds?.join(', ');
  const node = h('section', { class: 'list' },
    h('h1', null, 'Premises', grounds ? h('span', { class: 'sub' }, ` · grounds ${grounds}`) : null),
    h('div', { class: 'search' }, h('label', { for: 'q' }, 'Search premises'), input),
    count, results, more);
  return { node, refresh: update, focus: input };
}
