"""The browser-test harness: the real server (uvicorn in a subprocess over a demo database)
and helpers that drive a device (a browser context) through sign-in and sync.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FAST_ENV = {"WATCHBOOK_ARGON2_TIME_COST": "1", "WATCHBOOK_PULL_PAGE_ROWS": "50",
            "WATCHBOOK_ARGON2_MEMORY_COST": "8", "WATCHBOOK_ARGON2_PARALLELISM": "1",
            "WATCHBOOK_SECRET_KEY": "browser-tests"}
PREMISES = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One uvicorn process over a demo database; `restart()` keeps the port (the origin, so
    the browser's service worker and IndexedDB), e.g. to deploy a changed pwa/ copy."""

    def __init__(self, workdir: Path, premises: int = PREMISES):
        self.workdir, self.port = workdir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "watchbook.db"
        self.pwa_dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        env = {**os.environ, **FAST_ENV}
        subprocess.run([sys.executable, str(Path(__file__).with_name("seed.py")), str(self.db), str(premises)],
                       cwd=ROOT, env=env, check=True)

    def start(self) -> Server:
        env = {**os.environ, **FAST_ENV, "WATCHBOOK_DB": str(self.db)}
        if self.pwa_dir:
            env["WATCHBOOK_PWA_DIR"] = str(self.pwa_dir)
        self.log = open(self.workdir / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start: " + (self.workdir / "server.log").read_text())

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
            self.log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def enrol(self, username: str, password: str | None = None) -> str:
        r = httpx.post(self.url + "/api/devices/enrol", json={
            "username": username, "password": password or username, "device_name": "test"})
        r.raise_for_status()
        return str(r.json()["token"])

    def get(self, path: str, token: str) -> Any:
        r = httpx.get(self.url + path, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return r.json()


OPEN_CONTEXTS: list[Any] = []  # for the screenshots taken when a test fails (conftest.py)


def new_device(browser: Any, server: Server, **options: Any) -> Any:
    """A fresh browser profile (one device) at the Chromebook size, on the server's origin."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768},
                                  locale="en-GB", timezone_id="Europe/London",
                                  **options)
    context.set_default_timeout(30000)
    OPEN_CONTEXTS.append(context)
    context.on("close", lambda c: OPEN_CONTEXTS.remove(c) if c in OPEN_CONTEXTS else None)  # a ceiling for waits on state, generous for a loaded CI machine
    return context


def sign_in(page: Any, username: str, password: str | None = None) -> None:
    """Sign in and enrol; waits for the service worker and the first full sync."""
    page.goto("/")
    page.fill("#username", username)
    page.fill("#password", password or username)
    page.click("button[type=submit]")
    wait_synced(page)
    # the worker installs (caching the app shell) in the background: slow on a loaded machine
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=45000)


def wait_synced(page: Any, timeout: float = 45000) -> None:
    page.wait_for_selector("#freshness:has-text('Data from'):not(:has-text('syncing now'))",
                           timeout=timeout)


def wait_until(page: Any, condition: str, arg: Any = None, timeout: float = 30.0) -> Any:
    """Poll an async page condition until it is truthy. `wait_for_function` cannot: it takes
    the Promise an async condition returns as truthy at once, and returns before it settles."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(condition, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:.0f} s: {condition.strip()[:200]}")
        page.wait_for_timeout(200)


def console_page(browser: Any, server: Server, username: str, **options: Any) -> Any:
    """A console page signed in as `username` (password = username), at 1366×768."""
    page = browser.new_context(base_url=server.url, **{"viewport": {"width": 1366, "height": 768},
                                                       **options}).new_page()
    page.goto("/console/signin")
    page.fill("#username", username)
    page.fill("#password", username)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")
    return page


def issue_submission_link(page: Any, premises_id: str, mark: dict[str, str] | None = None) -> str:
    """On a console page: mark the premises high-rise first (`mark`: form field -> value),
    then issue its responsible person's submission link; returns the link."""
    if mark:
        page.goto(f"/console/premises/{premises_id}/high-rise")
        for field, value in mark.items():
            page.fill(f"#hr-{field}", value)
        page.click("button[value=save]")
        page.wait_for_selector("text=Marked as a high-rise residential building.")
    page.goto(f"/console/premises/{premises_id}/high-rise")
    page.click("text=Issue a submission link")
    url = page.get_attribute("#link-open", "href")
    assert url and "/portal/" in url
    return str(url)


def pending(page: Any) -> int:
    return int(page.get_attribute("#pending-count", "data-count") or 0)


def copy_pwa(dest: Path) -> Path:
    shutil.copytree(ROOT / "pwa", dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest
