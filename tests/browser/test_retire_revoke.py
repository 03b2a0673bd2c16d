"""Retire vs revoke (issue 12 §1), as an admin and a crew would see them: a crew device queues
an observation offline, the admin retires it through the console's confirmation page, the
device comes back online, sends the observation and ends signed out with no premises data; a
second device, revoked as lost, is wiped."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from harness import new_device, pending, sign_in, wait_synced

pytestmark = pytest.mark.browser
DEVICE_ID = "import('/pwa/db.js').then(db => db.getMeta('device_id'))"
PREMISES_COUNT = "import('/pwa/db.js').then(db => db.countPremises())"


def admin_console(browser, server, **options):
    context = new_device(browser, server, **options)
    page = context.new_page()
    page.goto("/console/signin")
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("button[type=submit]")
    page.wait_for_selector("nav")
    return context, page


def first_id(page) -> str:
    return page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a[0].id)")


def test_a_retired_device_sends_its_observation_then_signs_out_and_a_revoked_one_is_wiped(
        browser, server, artifacts):
    crew = new_device(browser, server)
    device_page = crew.new_page()
    sign_in(device_page, "crew")
    device = device_page.evaluate(DEVICE_ID)
    pid = first_id(device_page)
    crew.set_offline(True)
    device_page.goto(f"/#/p/{pid}/observe")
    device_page.fill("#obs-note", "Handover: side gate now padlocked")
    device_page.click("text=Save observation")
    device_page.wait_for_selector("text=Handover: side gate now padlocked")
    assert pending(device_page) == 1

    console, admin = admin_console(browser, server)
    admin.goto("/console/admin/devices")
    admin.click(f"a[href$='/admin/devices/{device}/retire']")
    admin.wait_for_selector("h1:has-text('Retire')")
    assert "(crew, crew" in admin.inner_text(".device-facts")  # the user: username, role
    assert admin.inner_text(".last-sync") not in ("", "Never")
    assert admin.inner_text(".pending-count") == "0 at its last sync"  # its last report, online
    admin.screenshot(path=artifacts / "retire-1-confirmation.png", full_page=True)
    admin.click("button:has-text('Retire')")
    admin.wait_for_selector("text=Retiring")
    admin.screenshot(path=artifacts / "retire-2-devices-retiring.png", full_page=True)

    crew.set_offline(False)
    device_page.evaluate("dispatchEvent(new Event('online'))")
    device_page.wait_for_selector("text=An administrator retired this device")
    device_page.screenshot(path=artifacts / "retire-3-device-signed-out.png", full_page=True)
    assert device_page.evaluate(PREMISES_COUNT) == 0
    assert device_page.evaluate("import('/pwa/db.js').then(db => db.getMeta('token'))") is None
    assert device_page.evaluate("import('/pwa/db.js').then(db => db.outbox())") == []
    doc = server.get(f"/api/premises/{pid}", server.enrol("admin"))
    notes = [o["note"] for o in doc["observations"]]
    assert notes.count("Handover: side gate now padlocked") == 1
    admin.goto("/console/admin/devices")
    row = admin.locator("tr", has_text=device)
    assert "Revoked" in row.inner_text()

    lost = new_device(browser, server)
    lost_page = lost.new_page()
    lost_page.goto("/")
    lost_page.fill("#username", "crew")
    lost_page.fill("#password", "crew")
    lost_page.fill("#device-name", "Pump 2 WIS")  # a human name, given at enrolment
    lost_page.click("button[type=submit]")
    wait_synced(lost_page)
    lost_device = lost_page.evaluate(DEVICE_ID)
    admin.goto("/console/admin/devices")
    admin.click(f"a[href$='/admin/devices/{lost_device}/revoke']")
    admin.wait_for_selector("h1:has-text('Revoke Pump 2 WIS as lost?')")
    admin.screenshot(path=artifacts / "revoke-1-confirmation.png", full_page=True)
    admin.click("button:has-text('Revoke and wipe')")
    admin.wait_for_selector(f"tr:has-text('{lost_device}') >> text=Revoked")
    lost_page.goto("/#/sync")
    lost_page.click("#sync-now")
    lost_page.wait_for_selector("text=This device was revoked")
    lost_page.screenshot(path=artifacts / "revoke-2-device-wiped.png", full_page=True)
    assert lost_page.evaluate(PREMISES_COUNT) == 0
    assert lost_page.input_value("#device-name") == "Pump 2 WIS"  # offered again after the wipe
    for c in (crew, console, lost):
        c.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_devices_page_and_both_confirmations_have_no_axe_violations(browser, server, scheme):
    device = server.enrol("crew")[3:].split("_", 1)[0]
    context, page = admin_console(browser, server, color_scheme=scheme)
    for path in ("/console/admin/devices", f"/console/admin/devices/{device}/retire",
                 f"/console/admin/devices/{device}/revoke"):
        page.goto(path)
        page.wait_for_selector("main h1")
        result = Axe().run(page)
        assert [v["id"] for v in result.response["violations"]] == [], path
    context.close()
