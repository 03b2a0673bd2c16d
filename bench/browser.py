"""P3, the PWA in headless Chromium (Playwright): a fresh device's initial sync of every
premises into IndexedDB, offline search latency over typed queries, and an offline cold open
(a new browser process on the same profile) to a usable list. Also IndexedDB usage (P4).

Drives the PWA through its DOM (#username, #freshness, #q, #count, #results), reads the
replica through pwa/db.js, and times the page by its performance marks: wb:sync-page-stored
(each pull page committed), wb:initial-sync-done, wb:list-rendered, wb:replica-loaded.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import dataset, systems
from bench.report import median, percentile, table, verdict

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SYNCED = "#freshness:has-text('Data from'):not(:has-text('syncing now'))"
QUERIES = 200

# The sync as the page saw it, on the page's clock: the sign-in button's click event, and the
# first moment the freshness line says "Data from ..." with no sync running (a MutationObserver,
# so within the mutation's task, not at the next poll). Playwright's wait_for_selector polls
# every 100 to 500 ms once a wait runs past a second, so a wall clock stopped by it runs up to
# half a second late; SHOWN waits on these instead, polling every animation frame.
SYNC_SEEN = """self.__wbClick = null; self.__wbSynced = null;
addEventListener('click', (e) => {
  if (self.__wbClick === null && e.target.closest?.('button[type=submit]')) self.__wbClick = e.timeStamp;
}, true);
new MutationObserver(() => {
  if (self.__wbClick === null || self.__wbSynced !== null) return;
  const text = document.getElementById('freshness')?.textContent || '';
  if (text.includes('Data from') && !text.includes('syncing now')) self.__wbSynced = performance.now();
}).observe(document, { subtree: true, childList: true, characterData: true });"""
SHOWN = "() => self.__wbSynced !== null"


def wait_synced(page: Any) -> float:
    """Wait (every animation frame) until the page shows it is synced; the page's own time
    from the sign-in click to then, in seconds."""
    page.wait_for_function(SHOWN, polling="raf")
    return float(page.evaluate("(self.__wbSynced - self.__wbClick) / 1000"))

# Long tasks on the page's main thread, from the start of each document.
LONG_TASKS = """self.__wbLong = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) self.__wbLong.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });"""

# The marks of the initial sync, and the longest main-thread task from the sign-in click
# (`from`, the page's clock) to synced (now): a task that started before it and ran into it
# counts too.
SYNC_MARKS = """(from) => {
  const at = (name) => performance.getEntriesByName(name).map((e) => e.startTime);
  const stored = at('wb:sync-page-stored');
  const done = at('wb:initial-sync-done')[0] ?? null;
  const gaps = stored.slice(1).map((t, i) => t - stored[i]);
  const longest = Math.max(0, ...self.__wbLong.filter(([t, d]) => t + d >= from).map(([, d]) => d));
  const over = self.__wbLong.filter(([t, d]) => t + d >= from && d > 50).length;
  return { stored, done, gap: Math.max(0, ...gaps), longest, over };
}"""

# Types each query into the search box and times the handler plus layout of the results.
TYPE_QUERIES = """async (queries) => {
  const input = document.getElementById('q');
  const times = [];
  for (const q of queries) {
    await new Promise((r) => setTimeout(r, 0));
    const t = performance.now();
    input.value = q;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    void document.getElementById('results').offsetHeight;
    times.push(performance.now() - t);
  }
  return times;
}"""


# The search function alone (no DOM), over an index built from IndexedDB; and the parts of a
# cold open: reading every record from IndexedDB, building the search index.
PARTS = """async (queries) => {
  const db = await import('/pwa/db.js');
  const { SearchIndex } = await import('/pwa/page/search.js');
  let t = performance.now();
  const records = await db.allPremises();
  const read = performance.now() - t;
  t = performance.now();
  const index = new SearchIndex(records);
  const build = performance.now() - t;
  const times = [];
  for (const q of queries) {
    t = performance.now();
    index.search(q, 100);
    times.push(performance.now() - t);
  }
  return { read, build, times };
}"""


@dataclass
class Round:
    sync_s: float           # sign-in click to synced shown, on the page's clock
    wall_s: float           # the same as Playwright saw it (wall clock, polling every frame)
    server_cpu: float
    records: int
    search_ms: list[float]
    cold_open_ms: float
    idb_bytes: int
    network_s: float        # the pull requests, request start to response end, summed
    idb_read_ms: float      # every record out of IndexedDB (getAll)
    index_build_ms: float   # SearchIndex over them
    search_only_ms: list[float]
    pages_s: float          # first pull page stored to the last (wb:sync-page-stored)
    page_gap_ms: float      # longest wait between two stored pages (progress bar updates)
    long_task_ms: float     # longest main-thread task, sign-in click to synced (wall)
    long_tasks: int         # main-thread tasks over 50 ms in that time
    loaded_ms: float        # cold open to the whole replica read (wb:replica-loaded)
    seen_ms: float          # cold open to Playwright seeing `#results li`, then performance.now()


def queries(n: int, count: int = QUERIES, seed: int = 5) -> list[str]:
    """What a crew member types: name words and their prefixes, postcodes, street words."""
    rng = random.Random(seed)
    with sqlite3.connect(dataset.premises_db(n)) as conn:
        rows = conn.execute("SELECT name, address, postcode FROM premises").fetchall()
    out: list[str] = []
    while len(out) < count:
        name, address, postcode = rng.choice(rows)
        word = rng.choice(name.split())
        street = (address.split(",")[0].split() or [""])[-1]
        out += [word[:3], word, postcode.split(" ")[0], f"{word} {street}"[:24]]
    return [q.lower() for q in out[:count]]


def _launch(pw: Any, profile: Path, base: str, offline: bool = False) -> Any:
    return pw.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=ARGS, headless=True, base_url=base,
        viewport={"width": 1366, "height": 768}, locale="en-GB", offline=offline)


def _round(pw: Any, server: Any, qs: list[str]) -> Round:
    profile = Path(tempfile.mkdtemp(prefix="wb-bench-profile-"))
    try:
        ctx = _launch(pw, profile, server.base)
        ctx.add_init_script(LONG_TASKS)
        ctx.add_init_script(SYNC_SEEN)
        ctx.set_default_timeout(120_000)
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        pulls: list[float] = []
        page.on("requestfinished", lambda req: pulls.append(req.timing["responseEnd"])
                if "/api/sync/pull" in req.url else None)
        page.goto("/")
        page.fill("#username", "admin")
        page.fill("#password", "admin")
        clicked = page.evaluate("performance.now()")
        c0, t0 = server.cpu(), time.perf_counter()
        page.click("button[type=submit]")
        sync_s = wait_synced(page)
        wall_s, cpu = time.perf_counter() - t0, server.cpu() - c0
        marks = page.evaluate(SYNC_MARKS, clicked)
        records = int(page.evaluate(
            "import('/pwa/db.js').then(db => db.allPremises()).then(a => a.length)"))
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        idb = int(page.evaluate("navigator.storage.estimate().then(e => e.usage)"))
        ctx.set_offline(True)
        page.goto("/#/")
        page.wait_for_selector("#results li")
        search = [float(x) for x in page.evaluate(TYPE_QUERIES, qs)]
        parts = page.evaluate(PARTS, qs)
        ctx.close()

        ctx = _launch(pw, profile, server.base, offline=True)  # a new browser process
        ctx.set_default_timeout(30_000)
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto("/")
        page.wait_for_selector("#results li")
        seen = float(page.evaluate("performance.now()"))  # how P3 timed it before the marks
        page.wait_for_function("() => performance.getEntriesByName('wb:replica-loaded').length > 0")
        # Since this navigation started: the first list of premises on screen (the cached first
        # screen), and every record read (search covers them all).
        cold, loaded = page.evaluate("""['wb:list-rendered', 'wb:replica-loaded']
            .map((n) => performance.getEntriesByName(n)[0].startTime)""")
        ctx.close()
        stored = marks["stored"]
        return Round(sync_s, wall_s, cpu, records, search, float(cold), idb, sum(pulls) / 1000,
                     float(parts["read"]), float(parts["build"]),
                     [float(x) for x in parts["times"]],
                     (stored[-1] - stored[0]) / 1000 if stored else 0.0,
                     float(marks["gap"]), float(marks["longest"]), int(marks["over"]),
                     float(loaded), seen)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def pwa_at(rev: str) -> Path:
    """The PWA as of git revision `rev`, exported to a temporary folder (WATCHBOOK_PWA_DIR), for
    a before/after run against the same server."""
    import subprocess

    out = Path(tempfile.mkdtemp(prefix="wb-bench-pwa-"))
    archive = subprocess.run(["git", "archive", rev, "pwa"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "pwa"


def run(n: int, rounds: int = 3, pwa_dir: Path | None = None) -> list[Round]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        return []
    qs = queries(n)
    env = {"WATCHBOOK_PWA_DIR": str(pwa_dir)} if pwa_dir else {}
    server = systems.watchbook(dataset.working_copy(n, "p3"), "watchbook-p3", **env).start()
    try:
        with sync_playwright() as pw:
            return [_round(pw, server, qs) for _ in range(rounds)]
    finally:
        server.stop()


def compare(before: list[Round], after: list[Round], rev: str) -> str:
    """P3 before (the PWA at `rev`) and after (this tree), interleaved rounds of one run."""
    if not before or not after:
        return ""
    rows = []
    for name, get, limit in (
            ("initial sync, sign-in click to synced shown (page clock), s", lambda r: r.sync_s,
             "<= 1.5"),
            ("  the same, wall clock as Playwright sees it, s", lambda r: r.wall_s, "-"),
            ("longest main-thread task, sign-in click to synced (wall), ms",
             lambda r: r.long_task_ms, "<= 50"),
            ("main-thread tasks over 50 ms (wall) in that time", lambda r: r.long_tasks, "0"),
            ("first pull page stored to the last, s", lambda r: r.pages_s, "-"),
            ("offline search p95, ms", lambda r: percentile(r.search_ms, 95), "<= 20"),
            ("offline cold open to a usable list, ms", lambda r: r.cold_open_ms, "180 today"),
            ("offline cold open to the whole replica read, ms", lambda r: r.loaded_ms, "-")):
        b, a = median([get(r) for r in before]), median([get(r) for r in after])
        rows.append([name, b, a, a / b if b else "-", limit])
    return table(f"P3 before ({rev}) and after, {after[0].records:,} premises "
                 f"(medians of {len(after)} alternating rounds)",
                 ["figure", "before", "after", "after / before", "limit"], rows)


def report(rounds: list[Round]) -> str:
    if not rounds:
        return f"P3 skipped: {CHROMIUM} is missing (apt-get install chromium)\n"
    n = rounds[0].records
    sync = median([r.sync_s for r in rounds])
    cold = median([r.cold_open_ms for r in rounds])
    p50 = median([percentile(r.search_ms, 50) for r in rounds])
    p95 = median([percentile(r.search_ms, 95) for r in rounds])
    cpu = median([r.server_cpu for r in rounds])
    idb = median([r.idb_bytes for r in rounds]) / 2**20
    longest = median([r.long_task_ms for r in rounds])
    return table(f"P3 the PWA in headless Chromium, {n:,} premises (medians of {len(rounds)})",
                 ["figure", "value", "target", ""], [
        ["initial sync into IndexedDB, s (sign-in click to synced shown, page clock)", sync,
         "< 3", verdict(sync < 3)],
        ["  the same against issue 17's target, s", sync, "<= 1.5", verdict(sync <= 1.5)],
        ["  the same, wall clock as Playwright sees it (polling every frame), s",
         median([r.wall_s for r in rounds]), "-", "-"],
        ["server CPU during that sync, s", cpu, "-", "-"],
        [f"offline search p50 over {QUERIES} typed queries, ms", p50, "-", "-"],
        [f"offline search p95 over {QUERIES} typed queries, ms", p95, "< 30", verdict(p95 < 30)],
        ["offline cold open to a usable list, ms", cold, "< 1000", verdict(cold < 1000)],
        ["IndexedDB usage (P4), MB", idb, "-", "-"],
        ["  sync: pull requests (network + server, summed; they overlap the stores), s",
         median([r.network_s for r in rounds]), "-", "-"],
        ["  sync: first pull page stored to the last, s",
         median([r.pages_s for r in rounds]), "-", "-"],
        ["  sync: longest wait between two stored pages (progress), ms",
         median([r.page_gap_ms for r in rounds]), "-", "-"],
        ["  sync: longest main-thread task, sign-in click to synced (wall), ms", longest,
         "<= 50", verdict(longest <= 50)],
        ["  search function alone p95 (no DOM), ms",
         median([percentile(r.search_only_ms, 95) for r in rounds]), "-", "-"],
        ["  cold open: #results li seen by Playwright (P3's method before the marks), ms",
         median([r.seen_ms for r in rounds]), "-", "-"],
        ["  cold open: whole replica read, search covers every record, ms",
         median([r.loaded_ms for r in rounds]), "-", "-"],
        ["  read every record from IndexedDB (db.allPremises()), ms",
         median([r.idb_read_ms for r in rounds]), "-", "-"],
        ["  build the search index over them, ms",
         median([r.index_build_ms for r in rounds]), "-", "-"],
    ])
