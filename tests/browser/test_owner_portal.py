"""A building's responsible person reports a dry riser out of order through the portal (no
account, no JavaScript) with the link a supervisor issued in the console, and a crew device
shows it prominently on the premises page after its next sync, offline too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import new_device, sign_in, wait_until

pytestmark = pytest.mark.browser

HAS_FAULT = """(id) => import('/pwa/db.js').then(db => db.allPremises())
  .then(all => all.some(r => r.id === id && (r.equipment_faults || []).length > 0))"""


def test_a_fault_reported_through_the_portal_reaches_a_crew_device(
        browser: Any, server: Any, artifacts: Path) -> None:
    crew = new_device(browser, server).new_page()
    sign_in(crew, "crew")
    record = crew.evaluate("() => import('/pwa/db.js').then(db => db.allPremises())"
                           ".then(all => all.sort((a, b) => a.id.localeCompare(b.id))[0])")

    console = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    page = console.new_page()
    page.goto("/console/signin")
    page.fill("#username", "supervisor")
    page.fill("#password", "supervisor")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")
    page.goto(f"/console/premises/{record['id']}/high-rise")
    page.fill("#hr-storeys", "11")
    page.fill("#hr-responsible_person", "Priya Shah")
    page.click("button[value=save]")
    page.wait_for_selector("text=Marked as a high-rise residential building.")
    page.goto(f"/console/premises/{record['id']}/high-rise")
    page.click("text=Issue a submission link")
    url = page.get_attribute("#link-open", "href")
    assert url and "/portal/" in url

    portal = browser.new_context(base_url=server.url, java_script_enabled=False,
                                 viewport={"width": 1366, "height": 768}).new_page()
    portal.goto(url)
    portal.check("#f-kind-dry_riser")
    portal.fill("#f-description", "Inlet valve seized on the ground floor.")
    portal.fill("#f-since", "2026-11-28")
    assert portal.input_value("#f-reported_by") == "Priya Shah"
    portal.click("text=Report the fault")
    reference = portal.locator("#reference")
    reference.wait_for()
    ref = reference.inner_text()
    assert ref.startswith("F-")
    portal.screenshot(path=artifacts / "owner-portal-reported.png", full_page=True)

    crew.goto("/#/sync")
    crew.click("#sync-now")
    wait_until(crew, HAS_FAULT, record["id"])
    crew.context.set_offline(True)
    crew.goto(f"/#/p/{record['id']}")
    banner = crew.locator(".equipment-fault")
    banner.wait_for()
    text = banner.inner_text()
    assert text.startswith("Dry riser out of order since 28 Nov 2026")
    assert f"reported by Priya Shah, reference {ref}" in text
    crew.screenshot(path=artifacts / "owner-portal-crew-premises.png")
    console.close()
    portal.context.close()
