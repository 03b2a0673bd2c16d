"""Two devices edit the same free-text note offline; the clash becomes a conflict that a
supervisor resolves in the browser, and both devices end up showing the resolved value."""

from __future__ import annotations

import pytest
from harness import new_device, pending, sign_in, wait_synced

pytestmark = pytest.mark.browser


def edit_notes(page, pid: str, text: str) -> None:
    page.goto(f"/#/p/{pid}/edit")
    page.fill("#f-risk_notes", text)
    page.click("text=Save changes")
    page.wait_for_selector(f"#risk-notes:has-text('{text}')")


def sync_now(page) -> None:
    page.goto("/#/sync")
    page.click("#sync-now")
    wait_synced(page)


def test_conflicting_offline_edits_are_resolved_by_a_supervisor(browser, server, artifacts):
    one, two = new_device(browser, server), new_device(browser, server)
    a, b = one.new_page(), two.new_page()
    sign_in(a, "supervisor")
    sign_in(b, "admin")
    pid = a.evaluate("import('/pwa/db.js').then(db => db.allPremises())"
                     ".then(all => all.sort((x, y) => x.id.localeCompare(y.id))[7].id)")

    one.set_offline(True)
    two.set_offline(True)
    edit_notes(a, pid, "Supervisor: basement flooded in winter")
    edit_notes(b, pid, "Admin: basement plant room sealed")
    assert pending(a) == 1 and pending(b) == 1

    one.set_offline(False)
    a.wait_for_selector(".receipt-saved")
    two.set_offline(False)
    b.wait_for_selector(".receipt-conflict")
    assert pending(b) == 0

    sync_now(a)
    a.wait_for_selector("#conflict-count:has-text('1 conflict')")
    a.goto("/#/conflicts")
    card = a.locator(".conflict").first
    assert "Supervisor: basement flooded" in card.inner_text()
    assert "Admin: basement plant room sealed" in card.inner_text()
    a.screenshot(path=artifacts / "conflict.png", full_page=True)
    # An empty combination would erase both edits: refused, saying so, and nothing queued.
    card.locator("textarea").fill("")
    card.locator("text=Save combined value").click()
    assert "The combined value is empty: saving it would erase risk notes" in card.inner_text()
    assert pending(a) == 0 and a.locator(".conflict").count() == 1
    resolved = "Basement floods in winter; plant room sealed"
    card.locator("textarea").fill(resolved)
    card.locator("text=Save combined value").click()
    a.wait_for_selector("text=No open conflicts.")
    wait_synced(a)
    a.wait_for_function("() => document.querySelector('#pending-count').dataset.count === '0'")

    sync_now(b)
    for page in (a, b):
        page.goto(f"/#/p/{pid}")
        page.wait_for_selector(f"#risk-notes:has-text('{resolved}')")
    assert server.get(f"/api/premises/{pid}", server.enrol("admin"))["risk_notes"] == resolved
    one.close()
    two.close()
