"""Edits made offline: a supervisor's edit and a crew observation wait in the outbox, show at
once marked pending, and reach the server when the device is back online."""

from __future__ import annotations

import pytest
from harness import new_device, pending, sign_in

pytestmark = pytest.mark.browser


def pick(page, index: int = 0):
    return page.evaluate(
        f"import('/pwa/db.js').then(db => db.allPremises()).then(all => all.sort((a, b) =>"
        f" a.id.localeCompare(b.id))[{index}])")


def test_offline_edit_is_pending_then_saved_on_the_server(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = pick(page, 3)

    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}/edit")
    page.fill("#f-risk_notes", "Offline note: gas cylinders moved to the rear yard.")
    page.fill("#f-rvp", "Car park at the north gate")
    page.click("text=Add a hazard")
    new_hazard = page.locator("fieldset.hazard-edit").last
    new_hazard.locator("[data-field=type]").select_option("bess")
    new_hazard.locator("[data-field=severity]").select_option("high")
    new_hazard.locator("[data-field=location]").fill("Container by the east fence")
    page.screenshot(path=artifacts / "edit-form.png", full_page=True)
    page.click("text=Save changes")
    page.wait_for_selector("#risk-notes:has-text('rear yard')")
    assert pending(page) == 2  # one update (two fields) and one add_hazard
    assert page.locator("#risk-notes .pending-mark").count() == 1
    assert page.locator(".hazard", has_text="Container by the east fence").locator(".pending-mark").count() == 1
    assert page.locator(".receipt-pending").count() == 2

    context.set_offline(False)
    page.wait_for_selector(".receipt-saved >> nth=1", timeout=20000)
    assert pending(page) == 0
    assert page.locator("#risk-notes .pending-mark").count() == 0

    token = server.enrol("admin")
    doc = server.get(f"/api/premises/{record['id']}", token)
    assert doc["risk_notes"] == "Offline note: gas cylinders moved to the rear yard."
    assert doc["rvp"] == "Car park at the north gate"
    assert doc["version"] > record["version"]
    assert any(h["type"] == "bess" and h["severity"] == "high"
               and h["location"] == "Container by the east fence" for h in doc["hazards"])
    context.close()


def test_crew_observation_is_queued_and_sent(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    record = pick(page, 5)
    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}/observe")
    page.select_option("#obs-category", "access")
    page.fill("#obs-note", "Key box moved to the left of the main door")
    page.click("text=Save observation")
    page.wait_for_selector("text=Key box moved to the left of the main door")
    assert pending(page) == 1
    context.set_offline(False)
    page.wait_for_selector(".receipt-saved", timeout=20000)
    doc = server.get(f"/api/premises/{record['id']}", server.enrol("admin"))
    assert any(o["note"] == "Key box moved to the left of the main door" for o in doc["observations"])
    context.close()


def test_supervisor_finds_by_postcode_offline_edits_notes_and_the_console_shows_it(
        browser, server):
    """The newcomer's story: offline, find a premises by postcode, edit its risk notes; back
    online the edit is on the server and on the console's premises page and history."""
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = pick(page, 7)
    note = "Checked on site: PV isolator moved to the plant room."

    context.set_offline(True)
    page.goto("/#/")
    page.fill("#q", record["postcode"].replace(" ", "").lower())
    page.locator("#results li", has_text=record["name"]).first.click()
    page.wait_for_selector("#h-hazards")
    page.goto(f"/#/p/{record['id']}/edit")
    page.fill("#f-risk_notes", note)
    page.click("text=Save changes")
    page.wait_for_selector(f"#risk-notes:has-text('{note}')")
    assert pending(page) == 1

    context.set_offline(False)
    page.wait_for_selector(".receipt-saved", timeout=20000)

    console = context.new_page()
    console.goto(f"{server.url}/console/premises/{record['id']}")
    console.fill("#username", "supervisor")
    console.fill("#password", "supervisor")
    console.click("button[type=submit]")
    console.wait_for_selector(f"text={note}")
    console.goto(f"{server.url}/console/premises/{record['id']}/history")
    history = console.locator("main").inner_text()
    assert note in history and "supervisor" in history
    context.close()
