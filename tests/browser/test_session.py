"""Sign-in state on the device: an expired token (401) keeps the outbox and asks to sign in
again; a revoke-and-wipe answer clears the device; signing out clears it after sending."""

from __future__ import annotations

import re
import sqlite3

import pytest
from harness import new_device, pending, sign_in, wait_synced

pytestmark = pytest.mark.browser
SYNC = re.compile(r".*/api/sync/.*")


def expired(route) -> None:
    route.fulfill(status=401, content_type="application/json",
                  body='{"error":{"code":"unauthorized","message":"unknown device token","field":null}}')


def observe(page, pid: str, note: str) -> None:
    page.goto(f"/#/p/{pid}/observe")
    page.fill("#obs-note", note)
    page.click("text=Save observation")
    page.wait_for_selector(f"text={note}")


def first_id(page) -> str:
    return page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a[0].id)")


def test_expired_token_keeps_pending_edits_until_signed_in_again(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    pid = first_id(page)
    device = page.evaluate("import('/pwa/db.js').then(db => db.getMeta('device_id'))")
    context.route(SYNC, expired)
    observe(page, pid, "Gate chain replaced")
    observe(page, pid, "Hydrant cover missing")
    page.wait_for_selector("#expired-notice:has-text('Sign in to send 2 changes')")
    assert pending(page) == 2
    page.reload()  # still kept after a reload
    page.wait_for_selector("#expired-notice:has-text('Sign in to send 2 changes')")

    context.unroute(SYNC)
    page.click("#expired-notice a")
    page.fill("#password", "crew")
    page.click("button[type=submit]")
    page.wait_for_function("() => document.querySelector('#pending-count')?.dataset.count === '0'")
    doc = server.get(f"/api/premises/{pid}", server.enrol("admin"))
    assert {"Gate chain replaced", "Hydrant cover missing"} <= {o["note"] for o in doc["observations"]}
    # Signing in again kept the device's identity, so its edits kept their sequence numbers.
    assert page.evaluate("import('/pwa/db.js').then(db => db.getMeta('device_id'))") == device
    context.close()


def test_a_sign_in_expiring_while_a_form_is_filled_keeps_what_was_typed(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    pid = first_id(page)
    context.route(SYNC, expired)
    page.goto(f"/#/p/{pid}/observe")
    page.fill("#obs-note", "Half-typed: side gate")
    page.evaluate("dispatchEvent(new Event('online'))")  # a sync starts and meets the 401
    page.wait_for_selector("#expired-notice")
    assert page.input_value("#obs-note") == "Half-typed: side gate"
    page.click("text=Save observation")
    page.wait_for_selector("text=Half-typed: side gate")
    page.wait_for_selector("#expired-notice:has-text('Sign in to send 1 change')")
    context.close()


def test_revoke_and_wipe_clears_the_device(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    device = page.evaluate("import('/pwa/db.js').then(db => db.getMeta('device_id'))")
    with sqlite3.connect(server.db) as conn:
        conn.execute("UPDATE devices SET revoked_at = '2026-01-01T00:00:00Z', wipe = 1 WHERE id = ?",
                     (device,))
    page.goto("/#/sync")
    page.click("#sync-now")
    page.wait_for_selector("text=This device was revoked")
    assert page.evaluate("import('/pwa/db.js').then(db => db.countPremises())") == 0
    assert page.evaluate("import('/pwa/db.js').then(db => db.getMeta('token'))") is None
    page.reload()
    page.wait_for_selector("#username")
    context.close()


def test_sign_out_sends_pending_edits_then_clears_the_replica(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    pid = first_id(page)
    context.set_offline(True)
    observe(page, pid, "Signage faded")
    page.goto("/#/sync")
    page.click("#sign-out")  # cannot send while offline: asks first
    page.wait_for_selector("dialog[open]:has-text('1 change could not be sent')")
    page.click("dialog >> text=Stay signed in")
    assert pending(page) == 1

    context.set_offline(False)
    wait_synced(page)
    page.click("#sign-out")
    page.wait_for_selector("text=Signed out.")
    assert page.evaluate("import('/pwa/db.js').then(db => db.countPremises())") == 0
    doc = server.get(f"/api/premises/{pid}", server.enrol("admin"))
    assert "Signage faded" in {o["note"] for o in doc["observations"]}
    context.close()


def test_evicted_storage_is_reported_not_shown_as_an_empty_list(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    page.evaluate("""() => new Promise((resolve, reject) => {
        const req = indexedDB.deleteDatabase('watchbook');  // what an eviction leaves behind
        req.onsuccess = resolve; req.onerror = reject; })""")
    page.reload()
    page.wait_for_selector("text=The browser cleared the data this device had saved")
    context.close()
