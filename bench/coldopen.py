"""COLD: the PWA's offline cold open and typed search, before (a git rev) and after (this tree),
in alternating rounds on one synced profile each: quicker than P3 (one sync per PWA, then only
cold opens), and with a timeline of each cold open from its navigation start: the shell page,
the last module and the last JSON fetched (through the service worker), and the marks.

`.venv/bin/python -m bench.coldopen [--before main] [--rounds 9] [--premises 20000]`
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import browser, dataset, systems
from bench.procs import Server
from bench.report import median, percentile, table

# From the navigation start of the document: the shell page's response end, the last script
# and the last JSON's response end, DOMContentLoaded, and the app's marks.
TIMELINE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const end = (pred) => Math.max(0, ...res.filter(pred).map((r) => r.responseEnd));
  const mark = (n) => performance.getEntriesByName(n)[0]?.startTime ?? null;
  return { page: nav.responseEnd, dcl: nav.domContentLoadedEventEnd,
    modules: end((r) => r.name.endsWith('.js')), modules_n: res.filter((r) => r.name.endsWith('.js')).length,
    json: end((r) => r.name.endsWith('.json')), first_fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    list: mark('wb:list-rendered'), loaded: mark('wb:replica-loaded'),
    marks: performance.getEntriesByType('mark').map((m) => `${m.name} ${Math.round(m.startTime)}`).join(', ') };
}"""

FIGURES = (("shell page received", "page"), ("last module received", "modules"),
           ("vocab/checks received", "json"), ("DOMContentLoaded", "dcl"),
           ("first contentful paint", "first_fcp"),
           ("usable list (wb:list-rendered)", "list"), ("whole replica read", "loaded"))


def tree_at(rev: str) -> Path:
    """The server, sync and pwa folders as of `rev`, for a before whose shell page (rendered
    by the server) is the old one too."""
    out = Path(tempfile.mkdtemp(prefix="wb-cold-tree-"))
    archive = subprocess.run(["git", "archive", rev, "server", "sync", "pwa"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _synced(pw: Any, server: Any) -> Path:
    profile = Path(tempfile.mkdtemp(prefix="wb-cold-profile-"))
    ctx = browser._launch(pw, profile, server.base)
    ctx.set_default_timeout(120_000)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto("/")
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("button[type=submit]")
    page.wait_for_selector(browser.SYNCED)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # the first screen is saved a moment after the replica settles
    for _ in range(100):
        if page.evaluate("import('/pwa/db.js').then((db) => db.firstScreen())"
                         ".then((f) => Boolean(f.first))"):
            break
        page.wait_for_timeout(200)
    ctx.close()
    return profile


def _cold(pw: Any, profile: Path, base: str, qs: list[str]) -> dict[str, Any]:
    ctx = browser._launch(pw, profile, base, offline=True)
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto("/")
        page.wait_for_function(
            "() => performance.getEntriesByName('wb:replica-loaded').length > 0")
        out: dict[str, Any] = page.evaluate(TIMELINE)
        out["search"] = page.evaluate(browser.TYPE_QUERIES, qs) if qs else []
        return out
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(prog="python -m bench.coldopen")
    p.add_argument("--before", default="main", help="git rev (or a pwa/ folder) of the PWA before")
    p.add_argument("--after", default=None, help="a pwa/ folder for after (default: this tree's)")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--premises", type=int, default=20_000)
    p.add_argument("--no-search", action="store_true")
    p.add_argument("--whole-tree", action="store_true",
                   help="run the before server from the rev's server/ too (its shell page)")
    args = p.parse_args(argv)
    n = args.premises
    qs = [] if args.no_search else browser.queries(n)
    old = Path(args.before) if Path(args.before).is_dir() else browser.pwa_at(args.before)
    new = {"WATCHBOOK_PWA_DIR": args.after} if args.after else {}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with ExitStack() as stack, sync_playwright() as pw:
        before = systems.watchbook(dataset.working_copy(n, "cold-b").resolve(),
                                   "watchbook-cold-b", WATCHBOOK_PWA_DIR=str(old))
        if args.whole_tree:  # the same command, run in the old tree: its server package
            before = Server(before.name, before.argv, before.port, before.log, before.env,
                            cwd=tree_at(args.before), ready_path=before.ready_path)
        servers = {
            "before": before.start(),
            "after": systems.watchbook(dataset.working_copy(n, "cold-a"),
                                       "watchbook-cold-a", **new).start()}
        for s in servers.values():
            stack.callback(s.stop)
        profiles = {k: _synced(pw, s) for k, s in servers.items()}
        for prof in profiles.values():
            stack.callback(shutil.rmtree, prof, True)
        for _ in range(args.rounds):
            for k in ("before", "after"):
                runs[k].append(_cold(pw, profiles[k], servers[k].base, qs))
    rows = []
    for label, key in FIGURES:
        b = median([r[key] or 0 for r in runs["before"]])
        a = median([r[key] or 0 for r in runs["after"]])
        rows.append([label + ", ms", b, a, a / b if b else "-"])
    if qs:
        for q in (50, 95):
            b = median([percentile(r["search"], q) for r in runs["before"]])
            a = median([percentile(r["search"], q) for r in runs["after"]])
            rows.append([f"typed search p{q}, ms", b, a, a / b if b else "-"])
    print(table(f"Cold open from navigation start, offline, {n:,} premises, before "
                f"({args.before}) and after (medians of {args.rounds} alternating rounds)",
                ["figure", "before", "after", "after / before"], rows))
    print("marks (after, last round):", runs["after"][-1]["marks"])
    print("usable list, each round: before", [round(r["list"]) for r in runs["before"]],
          "after", [round(r["list"]) for r in runs["after"]])


if __name__ == "__main__":
    main()
