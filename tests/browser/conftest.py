"""Browser fixtures: one demo server for the session, Debian's Chromium through Playwright.

Without /usr/bin/chromium the browser tests are skipped, except in CI (CI=true) where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import ARGS, ARTIFACTS, CHROMIUM, OPEN_CONTEXTS, Server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"{CHROMIUM} is missing and CI=true: the browser tests must run "
                                "(install Chromium: apt-get install chromium)")
    skip = pytest.mark.skip(reason="install Chromium: sudo apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("server")).start()
    yield s
    s.stop()


# Module scope: while Playwright's sync API is active it holds a running event loop on this
# thread, which would break the async tests that run after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS




@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing browser test leaves a screenshot of every page it had open, to see why."""
    report = yield
    if report.when == "call" and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
        contexts = list(OPEN_CONTEXTS) + [c for c in getattr(browser, "contexts", [])
                                          if c not in OPEN_CONTEXTS]
        for c, context in enumerate(contexts):
            for p, page in enumerate(context.pages):
                try:
                    page.screenshot(path=ARTIFACTS / f"FAILED-{item.name}-{c}-{p}.png", full_page=True)
                except Exception:  # a crashed page: the traceback says enough
                    pass
    OPEN_CONTEXTS.clear()
    return report
