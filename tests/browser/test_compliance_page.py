"""A supervisor reads the compliance page of the demo's high-rise buildings without
JavaScript: the lift fault with its age, the overdue and problem box checks, and the
reminders, which download as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_a_supervisor_reads_the_compliance_page_and_downloads_the_reminders(
        browser: Any, server: Any, artifacts: Path) -> None:
    context = browser.new_context(base_url=server.url, java_script_enabled=False,
                                  viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.goto("/console/signin")
    page.fill("#username", "supervisor")
    page.fill("#password", "supervisor")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")
    page.click("nav >> text=High-rise")
    page.wait_for_selector("h1:has-text('Compliance: high-rise residential buildings')")
    assert page.locator("#compliance-buildings tbody tr").count() == 5
    faults = page.locator("#compliance-faults tbody tr")
    assert faults.count() == 2
    assert "Firefighting lift" in faults.nth(1).inner_text() or \
        "Firefighting lift" in faults.nth(0).inner_text()
    assert page.locator("#compliance-faults >> text=For review").count() == 1
    boxes = page.locator("#compliance-boxes li").all_inner_texts()
    assert sum("Overdue" in b for b in boxes) == 1 and sum("Problems" in b for b in boxes) == 1
    page.screenshot(path=artifacts / "compliance-page.png", full_page=True)

    page.select_option("#c-station", "MAR")
    page.click("button:has-text('Show')")
    page.wait_for_url("**station=MAR")
    shown = page.locator("#compliance-buildings tbody tr").count()
    assert 0 < shown < 5
    with page.expect_download() as download:
        page.click("text=Download reminders (CSV)")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == shown and {r["station"] for r in rows} == {"MAR"}
    assert all(r["responsible_person"] and "none received" in r["remind_about"] for r in rows)
    context.close()
