"""SLOW: the PWA's initial sync through Chromium's network emulation (CDP
Network.emulateNetworkConditions) at a slow and a middling link, with and without five 3-second
drops (emulated offline): time from the sign-in click to synced (the page's clock), bytes
received, bytes received for nothing (pull responses cut by a drop, or fetched again), and the
link-limited floors beside each: the useful bytes at line rate plus one round trip per request
(requests one after another), and the useful bytes at line rate alone (every round trip hidden
behind a body, as asking for the next page on this one's headers can nearly do).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from bench import dataset, systems
from bench.browser import CHROMIUM, SYNC_SEEN, SYNCED, _launch, wait_synced
from bench.report import table

LINKS = (("400 kbit/s, 400 ms", 400_000, 400), ("1.6 Mbit/s, 300 ms", 1_600_000, 300))
DROPS, DROP_S = 5, 3.0


@dataclass
class Run:
    premises: int
    link: str
    drops: int
    seconds: float
    bytes: int
    wasted: int   # bytes of pull responses thrown away: cut mid-body, or fetched again
    cut: int      # of which cut mid-body (loadingFailed after some body arrived)
    requests: int
    floor_s: float  # useful bytes at line rate plus one round trip per request
    line_s: float   # useful bytes at line rate alone


def _conditions(bps: int, rtt_ms: int, offline: bool = False) -> dict[str, Any]:
    return {"offline": offline, "latency": rtt_ms, "downloadThroughput": bps / 8,
            "uploadThroughput": bps / 8}


def _one(pw: Any, server: Any, n: int, link: tuple[str, int, int], drops: int) -> Run:
    name, bps, rtt = link
    profile = Path(tempfile.mkdtemp(prefix="wb-bench-slow-"))
    try:
        ctx = _launch(pw, profile, server.base)
        ctx.set_default_timeout(600_000)
        ctx.add_init_script(SYNC_SEEN)
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto("/")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        cdp = ctx.new_cdp_session(page)
        urls: dict[str, str] = {}
        got: dict[str, int] = {}
        done: dict[str, int] = {}
        failed: set[str] = set()
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.dataReceived", lambda e: got.__setitem__(
            e["requestId"], got.get(e["requestId"], 0) + int(e.get("encodedDataLength", 0))))
        cdp.on("Network.loadingFinished", lambda e: done.__setitem__(
            e["requestId"], int(e.get("encodedDataLength", 0))))
        cdp.on("Network.loadingFailed", lambda e: failed.add(e["requestId"]))
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", _conditions(bps, rtt))
        page.fill("#username", "admin")
        page.fill("#password", "admin")
        # Drops spread over the time the link alone would take (about 200 bytes a premises).
        expect = n * 200 * 8 / bps + 2
        t0 = time.perf_counter()
        page.click("button[type=submit]")
        for i in range(drops):
            wait = t0 + expect * (i + 1) / (drops + 1) - time.perf_counter()
            if wait > 0:
                try:
                    page.wait_for_selector(SYNCED, timeout=wait * 1000)
                    break
                except Exception:  # noqa: BLE001 - Playwright's TimeoutError: still syncing
                    pass
            cdp.send("Network.emulateNetworkConditions", _conditions(bps, rtt, offline=True))
            page.wait_for_timeout(DROP_S * 1000)
            cdp.send("Network.emulateNetworkConditions", _conditions(bps, rtt))
        seconds = wait_synced(page)  # the page's clock, click to synced shown
        api = [r for r, u in urls.items() if "/api/" in u]
        total = sum(done.get(r, got.get(r, 0)) for r in api)
        # A pull response cut by a drop, or fetched again later: its bytes bought nothing.
        # Chromium's emulated offline fails requests that start while offline and lets a body
        # already arriving finish (seen in the CDP events): `cut` counts what it did cut.
        cut = sum(got.get(r, 0) for r in api if r in failed)
        wasted = cut
        pulls = [r for r in api if "/api/sync/pull" in urls[r] and r in done]
        last: dict[str, str] = {}
        for r in pulls:
            cursor = parse_qs(urlparse(urls[r]).query).get("cursor", [""])[0]
            if cursor in last:
                wasted += done[last[cursor]]
            last[cursor] = r
        finished = [r for r in api if r in done]
        line = (total - wasted) * 8 / bps
        floor = line + len(finished) * rtt / 1000
        cdp.detach()
        ctx.close()
        return Run(n, name, drops if seconds > 0 else 0, seconds, total, wasted, cut,
                   len(finished), floor, line)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def run(sizes: tuple[int, ...] = (2000, 20_000)) -> list[Run]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        return []
    out = []
    for n in sizes:  # built before Playwright's event loop runs (the builder uses asyncio)
        dataset.premises_db(n)
    with sync_playwright() as pw:
        for n in sizes:
            server = systems.watchbook(dataset.working_copy(n, "slow"), "watchbook-slow").start()
            try:
                for link in LINKS:
                    for drops in (0, DROPS):
                        out.append(_one(pw, server, n, link, drops))
            finally:
                server.stop()
    return out


def report(runs: list[Run]) -> str:
    if not runs:
        return f"SLOW skipped: {CHROMIUM} is missing\n"
    rows = []
    for r in runs:
        floor = r.floor_s + (DROP_S * r.drops)
        line = r.line_s + (DROP_S * r.drops)
        rows.append([f"{r.premises:,}", r.link, r.drops, r.seconds, floor,
                     r.seconds / floor, line, r.seconds / line, r.bytes / 1e6, r.wasted / 1e6,
                     r.cut / 1e6, r.requests])
    return table("SLOW the PWA's initial sync through Chromium network emulation (time: the "
                 "page's clock, sign-in click to synced shown)",
                 ["premises", "link", "3 s drops", "time s", "floor s (useful bytes / rate "
                  "+ RTTs + drops)", "time / floor", "line s (useful bytes / rate + drops, "
                  "round trips all overlapped)", "time / line", "MB received", "MB thrown away "
                  "(downloaded twice)", "of which cut mid-body", "requests"], rows)
