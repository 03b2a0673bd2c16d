"""MAIN: the page's main thread during a fresh device's initial sync, from a Chrome trace
(CDP Tracing, category `toplevel`): every task on the page's renderer main thread from the
sign-in click to synced, with its wall time and its thread (CPU) time. On a machine shared by
other jobs a task's wall time includes the time its thread waited for a core; its CPU time
does not, so both are reported beside the 50 ms limit. One traced sync per PWA (tracing slows
the sync itself: the sync's time comes from bench/browser.py's untraced rounds).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import dataset, systems
from bench.browser import CHROMIUM, SYNC_SEEN, _launch, wait_synced
from bench.report import table

LIMIT_MS = 50.0


@dataclass
class Tasks:
    wall_ms: list[float]  # each main-thread task, sign-in click to synced
    cpu_ms: list[float]   # the same tasks' thread time
    worker_cpu_ms: float = 0.0  # the page's dedicated workers (the pull worker), all tasks

    @property
    def longest_wall(self) -> float:
        return max(self.wall_ms, default=0.0)

    @property
    def longest_cpu(self) -> float:
        return max(self.cpu_ms, default=0.0)

    @property
    def over(self) -> int:
        return sum(1 for w in self.wall_ms if w > LIMIT_MS)

    @property
    def over_cpu(self) -> int:
        return sum(1 for c in self.cpu_ms if c > LIMIT_MS)

    @property
    def busy_cpu(self) -> float:
        return sum(self.cpu_ms)


def main_thread_tasks(events: list[dict[str, Any]], start_us: float, end_us: float) -> Tasks:
    """The top-level tasks of the busiest renderer main thread between two trace times."""
    mains = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M"
             and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    by: dict[tuple[int, int], list[dict[str, Any]]] = {m: [] for m in mains}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if (e.get("ph") == "X" and e.get("name") == "ThreadControllerImpl::RunTask"
                and key in by and start_us <= e["ts"] <= end_us):
            by[key].append(e)  # type: ignore[index]
    tasks = max(by.values(), key=lambda t: sum(e.get("tdur", 0) for e in t), default=[])
    workers = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M"
               and e.get("name") == "thread_name"
               and e["args"].get("name") == "DedicatedWorker thread"}
    worker_us = sum(e.get("tdur", 0) for e in events
                    if e.get("ph") == "X" and e.get("name") == "ThreadControllerImpl::RunTask"
                    and (e.get("pid"), e.get("tid")) in workers and start_us <= e["ts"] <= end_us)
    return Tasks([e.get("dur", 0) / 1000 for e in tasks], [e.get("tdur", 0) / 1000 for e in tasks],
                 worker_us / 1000)


def _traced(pw: Any, server: Any) -> Tasks:
    profile = Path(tempfile.mkdtemp(prefix="wb-bench-main-"))
    try:
        ctx = _launch(pw, profile, server.base)
        ctx.set_default_timeout(120_000)
        ctx.add_init_script(SYNC_SEEN)
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto("/")
        page.fill("#username", "admin")
        page.fill("#password", "admin")
        cdp = ctx.new_cdp_session(page)
        events: list[dict[str, Any]] = []
        complete: list[bool] = []
        cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
        cdp.on("Tracing.tracingComplete", lambda e: complete.append(True))
        cdp.send("Tracing.start", {"traceConfig": {
            "includedCategories": ["toplevel", "blink.user_timing"]},
            "transferMode": "ReportEvents"})
        # Marks around the sync: performance marks are trace events, on the trace's clock.
        page.evaluate("performance.mark('wb:bench-click')")
        page.click("button[type=submit]")
        wait_synced(page)
        page.evaluate("performance.mark('wb:bench-synced')")
        cdp.send("Tracing.end")
        deadline = time.monotonic() + 60
        while not complete and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        cdp.detach()
        ctx.close()
        at = {e["name"]: e["ts"] for e in events if e.get("name", "").startswith("wb:bench-")}
        return main_thread_tasks(events, at["wb:bench-click"], at["wb:bench-synced"])
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def run(n: int, pwa_dir: Path | None = None) -> Tasks | None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        return None
    env = {"WATCHBOOK_PWA_DIR": str(pwa_dir)} if pwa_dir else {}
    server = systems.watchbook(dataset.working_copy(n, "main"), "watchbook-main", **env).start()
    try:
        with sync_playwright() as pw:
            return _traced(pw, server)
    finally:
        server.stop()


def report(n: int, before: Tasks | None, after: Tasks | None, rev: str) -> str:
    if before is None or after is None:
        return f"MAIN skipped: {CHROMIUM} is missing\n"
    rows = []
    for name, get, limit in (
            ("longest task, wall, ms", lambda t: t.longest_wall, f"<= {LIMIT_MS:.0f}"),
            ("longest task, CPU (thread time), ms", lambda t: t.longest_cpu,
             f"<= {LIMIT_MS:.0f}"),
            ("tasks over 50 ms wall", lambda t: float(t.over), "0"),
            ("tasks over 50 ms CPU", lambda t: float(t.over_cpu), "0"),
            ("main-thread CPU, all tasks, ms", lambda t: t.busy_cpu, "-"),
            ("pull worker CPU, all tasks, ms", lambda t: t.worker_cpu_ms, "-")):
        rows.append([name, get(before), get(after), limit])
    return table(f"MAIN the page's main thread during a fresh sync of {n:,} premises, sign-in "
                 f"click to synced (one traced sync each; before = PWA at {rev})",
                 ["figure", "before", "after", "limit"], rows)
