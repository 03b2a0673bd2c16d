"""Sync when the app is closed: edits queued offline leave when the signal returns even with no
page of the app open, because the service worker's Background Sync pushes the outbox itself
(with the page's push code, under the page's lock); a device revoked as lost clears itself
there too, with no page open."""

from __future__ import annotations

import pytest
from harness import new_device, pending, sign_in, wait_until

pytestmark = pytest.mark.browser


def fire_background_sync(context, blank, server) -> None:
    """Fire the service worker's `watchbook-sync` event from `blank`, a page of another origin
    only to talk to the browser (DevTools protocol), so no page of the app is open."""
    cdp = context.new_cdp_session(blank)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    def ours() -> list[dict]:
        return [r for r in registrations if r["scopeURL"].startswith(server.url) and not r["isDeleted"]]
    for _ in range(300):  # the registration event arrives when the browser gets to it
        if ours():
            break
        blank.wait_for_timeout(100)
    reg = ours()[0]
    assert [p.url for p in context.pages] == ["about:blank"]
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": server.url, "registrationId": reg["registrationId"],
                                                 "tag": "watchbook-sync", "lastChance": False})


def test_edits_are_sent_by_the_service_worker_with_the_app_closed(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    pid = page.evaluate("import('/pwa/db.js').then(db => db.allPremises())"
                        ".then(all => all.sort((a, b) => a.id.localeCompare(b.id))[21].id)")
    note = "Sent by the service worker: the app was closed."

    context.set_offline(True)
    page.goto(f"/#/p/{pid}/edit")
    page.fill("#f-risk_notes", note)
    page.fill("#f-rvp", "Lay-by on the B1101")
    page.click("text=Save changes")
    page.wait_for_selector("#risk-notes")
    assert pending(page) == 1
    page.close()  # no page of the app open from here on

    blank = context.new_page()
    context.set_offline(False)
    fire_background_sync(context, blank, server)
    token = server.enrol("admin")
    for _ in range(600):
        doc = server.get(f"/api/premises/{pid}", token)
        if doc["risk_notes"] == note:
            break
        blank.wait_for_timeout(100)
    assert doc["risk_notes"] == note and doc["rvp"] == "Lay-by on the B1101"
    assert doc["updated_by"] == "supervisor"
    assert [p.url for p in context.pages] == ["about:blank"]  # still no app page open

    # The receipt is on the device: the app, opened offline, shows the edit saved.
    context.set_offline(True)
    app = context.new_page()
    app.goto(f"/#/p/{pid}")
    app.wait_for_selector(".receipt-saved")
    assert pending(app) == 0
    app.screenshot(path=artifacts / "background-sync-receipt.png")
    context.close()


def test_a_device_revoked_as_lost_is_wiped_by_the_service_worker_with_the_app_closed(
        browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    device = page.evaluate("import('/pwa/db.js').then(db => db.getMeta('device_id'))")
    pid = page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a[0].id)")
    context.set_offline(True)
    page.goto(f"/#/p/{pid}/observe")
    page.fill("#obs-note", "Left in the cab when the device was lost")
    page.click("text=Save observation")
    page.wait_for_selector("text=Left in the cab when the device was lost")
    assert pending(page) == 1
    page.close()

    admin = browser.new_context(base_url=server.url)
    console = admin.new_page()
    console.goto("/console/signin")
    console.fill("#username", "admin")
    console.fill("#password", "admin")
    console.click("button[type=submit]")
    console.goto("/console/admin/devices")
    console.click(f"a[href$='/admin/devices/{device}/revoke']")
    console.click("button:has-text('Revoke and wipe')")
    console.wait_for_selector(f"tr:has-text('{device}') >> text=Revoked")
    admin.close()

    blank = context.new_page()
    context.set_offline(False)
    fire_background_sync(context, blank, server)
    # Read the device's IndexedDB from a page of the origin that does not run the app.
    probe = context.new_page()
    probe.goto("/healthz")
    wait_until(probe, "import('/pwa/db.js').then(db => db.getMeta('token')).then(t => t === undefined)")
    assert probe.evaluate("import('/pwa/db.js').then(db => db.countPremises())") == 0
    assert probe.evaluate("import('/pwa/db.js').then(db => db.outbox())") == []
    probe.close()
    app = context.new_page()  # opened later, the app says why it holds nothing
    app.goto("/")
    app.wait_for_selector("text=This device was revoked by an administrator")
    assert app.locator("text=storage was evicted").count() == 0
    app.screenshot(path=artifacts / "revoked-wiped-by-service-worker.png")
    context.close()
