"""A building's responsible person reports a dry riser out of order through the portal (no
account, no JavaScript) with the link a supervisor issued in the console, and a crew device
shows it prominently on the premises page after its next sync, offline too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import console_page, issue_submission_link, new_device, sign_in, wait_until

pytestmark = pytest.mark.browser

HAS_FAULT = """(id) => import('/pwa/db.js').then(db => db.allPremises())
  .then(all => all.some(r => r.id === id && (r.equipment_faults || []).length > 0))"""


def test_a_fault_reported_through_the_portal_reaches_a_crew_device(
        browser: Any, server: Any, artifacts: Path) -> None:
    crew = new_device(browser, server).new_page()
    sign_in(crew, "crew")
    record = crew.evaluate("() => import('/pwa/db.js').then(db => db.allPremises())"
                           ".then(all => all.sort((a, b) => a.id.localeCompare(b.id))[0])")

    page = console_page(browser, server, "supervisor")
    console = page.context
    url = issue_submission_link(page, record["id"], {"storeys": "11",
                                                     "responsible_person": "Priya Shah"})

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


LIFT_DOWN = """() => import('/pwa/db.js').then(db => db.allPremises()).then(all => all.find(r =>
  (r.equipment_faults || []).some(f => f.kind === 'firefighting_lift')) || null)"""
BOX_AND_NO_FAULT = """(id) => import('/pwa/db.js').then(db => db.allPremises()).then(all =>
  all.some(r => r.id === id && r.information_box && !(r.equipment_faults || []).length))"""


def test_a_box_check_with_problems_shows_on_a_crew_device_and_a_repair_clears_the_fault(
        browser: Any, server: Any, artifacts: Path) -> None:
    crew = new_device(browser, server).new_page()
    sign_in(crew, "crew")
    building = wait_until(crew, LIFT_DOWN)  # the demo's high-rise building with a lift fault
    ref = next(f["id"] for f in building["equipment_faults"] if f["kind"] == "firefighting_lift")

    page = console_page(browser, server, "supervisor")
    console = page.context
    url = issue_submission_link(page, building["id"])

    portal = browser.new_context(base_url=server.url, java_script_enabled=False,
                                 viewport={"width": 1366, "height": 900}).new_page()
    portal.goto(url)
    portal.fill("#b-checked_on", "2026-11-30")
    portal.check("#b-outcome-problems")
    portal.fill("#b-problems", "Box lock broken; plans inside are water damaged.")
    portal.click("text=Record the check")
    portal.wait_for_selector("text=the information-box check is recorded")
    assert "Box lock broken" in portal.locator("#box-last").inner_text()
    portal.locator("#box").screenshot(path=artifacts / "owner-portal-box-check.png")
    portal.goto(f"{url}/faults/{ref}")
    portal.fill("#r-note", "Lift engineer replaced the door controller.")
    portal.click("button:has-text('Report it repaired')")
    portal.wait_for_selector("#status:has-text('Repaired')")

    crew.goto("/#/sync")
    crew.click("#sync-now")
    wait_until(crew, BOX_AND_NO_FAULT, building["id"])
    crew.context.set_offline(True)
    crew.goto(f"/#/p/{building['id']}")
    box = crew.locator(".information-box")
    box.wait_for()
    assert box.inner_text() == ("Information box: problems found at the check on 30 Nov 2026: "
                                "Box lock broken; plans inside are water damaged.")
    assert crew.locator(".equipment-fault").count() == 0  # the repair cleared the banner
    crew.screenshot(path=artifacts / "owner-portal-crew-box-check.png")
    console.close()
    portal.context.close()
