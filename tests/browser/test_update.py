"""A new deploy of the shell (a changed file in pwa/) shows "A new version is ready — reload";
the update never takes over while the outbox holds entries it could not read, and the outbox
survives the update and a reload."""

from __future__ import annotations

import re

import pytest
from harness import Server, copy_pwa, new_device, pending, sign_in

pytestmark = pytest.mark.browser
PUSH = re.compile(r".*/api/sync/push.*")


@pytest.fixture
def deploy(tmp_path):
    s = Server(tmp_path, premises=60)
    s.pwa_dir = copy_pwa(tmp_path / "pwa")
    s.start()
    yield s
    s.stop()


def test_new_version_prompts_and_keeps_the_outbox(browser, deploy):
    context = new_device(browser, deploy)
    page = context.new_page()
    sign_in(page, "crew")
    old = page.get_attribute("html", "data-version")
    context.route(PUSH, lambda route: route.abort())  # keep the edit in the outbox
    pid = page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a[0].id)")
    page.goto(f"/#/p/{pid}/observe")
    page.fill("#obs-note", "Written before the update")
    page.click("text=Save observation")
    page.wait_for_selector("text=Written before the update")
    assert pending(page) == 1

    with open(deploy.pwa_dir / "app.css", "a") as css:  # the deploy: one changed file
        css.write("\n/* release 2 */\n")
    deploy.restart()
    page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
    page.wait_for_selector("#update-notice:has-text('A new version is ready — reload')")

    # An outbox entry in a schema the new version cannot read blocks the update.
    page.evaluate("""() => import('/pwa/db.js').then(db => db.addOutbox([{schema: 99,
        mutation: {kind: 'add_observation', premises_id: 'x', seq: 999, device_id: 'x',
        observation: {id: 'o1', category: 'other', note: 'old format'}}}]))""")
    page.click("#update-reload")
    page.wait_for_selector("#update-notice:has-text('once the changes made by this version are sent')")
    assert page.get_attribute("html", "data-version") == old
    page.evaluate("""() => import('/pwa/db.js').then(async db => db.deleteOutbox(
        (await db.outbox()).filter(e => e.schema === 99).map(e => e.n)))""")

    page.click("#update-reload")
    page.wait_for_function(f"() => document.documentElement.dataset.version !== '{old}'"
                           " && document.documentElement.dataset.ready === 'true'")
    assert pending(page) == 1
    assert page.evaluate("() => caches.keys()") == [f"watchbook-shell-{page.get_attribute('html', 'data-version')}"]
    page.reload()
    page.wait_for_selector("#pending-count")
    assert pending(page) == 1

    context.unroute(PUSH)
    page.goto("/#/sync")
    page.click("#sync-now")
    page.wait_for_selector(".receipt-saved")
    doc = deploy.get(f"/api/premises/{pid}", deploy.enrol("admin"))
    assert "Written before the update" in {o["note"] for o in doc["observations"]}
    context.close()
