"""Attachments in the PWA: a photo attached offline survives a reload and reaches the server
(blob and reference) once online; a cached floor plan opens offline on another device of the
same station; a risk-note edit queued after a large photo is not held up by it."""

from __future__ import annotations

import hashlib
import io
import time

import httpx
import pytest
from harness import new_device, pending, sign_in, wait_until
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def png(size: tuple[int, int], colour: tuple[int, int, int] | None = None) -> bytes:
    """A plain colour, or noise (a large photo that does not compress away) without one."""
    img = Image.new("RGB", size, colour) if colour else Image.effect_noise(size, 64).convert("RGB")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def home_record(page):
    """A record of the signed-in user's own station, the first by id."""
    return page.evaluate(
        "Promise.all([import('/pwa/db.js').then(db => db.allPremises()),"
        " import('/pwa/db.js').then(db => db.getMeta('user'))]).then(([all, user]) =>"
        " all.filter(r => !user || !user.station || r.station === user.station)"
        ".sort((a, b) => a.id.localeCompare(b.id))[0])")


def server_record(server, token: str, pid: str) -> dict:
    return httpx.get(f"{server.url}/api/premises/{pid}",
                     headers={"Authorization": f"Bearer {token}"}).json()


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_a_photo_attached_offline_survives_a_reload_and_uploads_online(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = home_record(page)
    token = server.enrol("supervisor")

    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}")
    page.set_input_files("#attach-file", files=[{
        "name": "door.png", "mimeType": "image/png", "buffer": png((2400, 1200))}])
    page.fill("#attach-caption", "Side door")
    page.click(".attach-form button[type=submit]")
    page.wait_for_selector("#attachments li:has-text('Side door'):has-text('uploading')")
    page.wait_for_selector("#pending-count[data-count='1']")  # queued before the reload
    page.reload()
    page.wait_for_selector("#attachments li:has-text('Side door')")
    queued = page.evaluate("import('/pwa/db.js').then(db => db.uploads())"
                           ".then(u => u.map(x => [x.sha256, x.size, x.content_type]))")
    [(sha, size, ctype)] = queued
    assert ctype == "image/jpeg" and size < 1_000_000   # shrunk and re-encoded before queueing
    page.screenshot(path=artifacts / "attachment-pending.png", full_page=True)

    context.set_offline(False)  # the `online` event starts a sync, then the upload

    def arrived() -> bool:
        atts = server_record(server, token, record["id"]).get("attachments", [])
        return any(a["sha256"] == sha and a["available"] and a["caption"] == "Side door"
                   for a in atts)
    wait_for(arrived, timeout=45)
    blob = httpx.get(f"{server.url}/api/blobs/{sha}", headers={"Authorization": f"Bearer {token}"})
    assert hashlib.sha256(blob.content).hexdigest() == sha
    assert page.evaluate("import('/pwa/db.js').then(db => db.uploads()).then(u => u.length)") == 0
    context.close()


def test_a_cached_floor_plan_opens_offline_on_another_device_of_the_station(browser, server,
                                                                             artifacts):
    first = new_device(browser, server)
    page = first.new_page()
    sign_in(page, "crew")
    record = home_record(page)
    first.close()

    plan = png((300, 200), (30, 90, 200))
    sha = hashlib.sha256(plan).hexdigest()
    token = server.enrol("supervisor")
    auth = {"Authorization": f"Bearer {token}"}
    httpx.put(f"{server.url}/api/blobs/{sha}", content=plan,
              headers={**auth, "Content-Type": "image/png"}).raise_for_status()
    device = token[3:].split("_", 1)[0]
    r = httpx.post(f"{server.url}/api/sync/push", headers=auth, json={"mutations": [{
        "kind": "attach", "device_id": device, "seq": 1, "premises_id": record["id"],
        "base_version": record["version"], "attachment": {
            "id": "plan1", "sha256": sha, "kind": "floor_plan", "content_type": "image/png",
            "size": len(plan), "caption": "Ground floor"}}]})
    assert r.json()["receipts"][0]["status"] in ("applied", "merged"), r.text

    second = new_device(browser, server)
    page = second.new_page()
    sign_in(page, "crew")
    wait_until(page, "sha => import('/pwa/db.js').then(db => db.getFile(sha)).then(f => Boolean(f))", sha)
    second.set_offline(True)
    page.reload()
    page.goto(f"/#/p/{record['id']}/a/plan1")
    page.wait_for_function("() => document.getElementById('viewer-image')?.naturalWidth === 300")
    before = float(page.get_attribute("#viewer-stage", "data-scale"))
    page.click("#zoom-in")
    assert float(page.get_attribute("#viewer-stage", "data-scale")) > before
    page.screenshot(path=artifacts / "floor-plan-offline.png")
    second.close()


def test_a_risk_note_queued_after_a_large_photo_reaches_the_server_first(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = home_record(page)
    token = server.enrol("supervisor")
    held: list = []
    context.route("**/api/blobs/**", lambda route: held.append(route))  # the upload hangs

    page.goto(f"/#/p/{record['id']}")
    page.set_input_files("#attach-file", files=[{
        "name": "big.png", "mimeType": "image/png", "buffer": png((3000, 2000))}])
    page.click(".attach-form button[type=submit]")
    page.wait_for_selector("#attachments li:has-text('uploading')")
    [sha] = page.evaluate("import('/pwa/db.js').then(db => db.uploads()).then(u => u.map(x => x.sha256))")
    page.goto(f"/#/p/{record['id']}/edit")
    page.fill("#f-risk_notes", "Note written after the photo.")
    page.click("text=Save changes")

    wait_for(lambda: server_record(server, token, record["id"])["risk_notes"]
             == "Note written after the photo.", timeout=45)
    assert held, "the photo upload had started (and is still in flight)"
    [photo] = [a for a in server_record(server, token, record["id"])["attachments"]
               if a["sha256"] == sha]
    assert photo["available"] is False  # referenced, shown as uploading, the note not held up
    context.close()


def test_signing_out_offline_counts_photos_waiting_to_upload(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = home_record(page)
    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}")
    page.set_input_files("#attach-file", files=[{
        "name": "gate.png", "mimeType": "image/png", "buffer": png((300, 200), (200, 40, 40))}])
    page.click(".attach-form button[type=submit]")
    page.wait_for_selector("#pending-count[data-count='1']")
    page.goto("/#/sync")
    page.click("#sign-out")
    page.wait_for_selector("dialog[open]:has-text('1 change and 1 photo or plan could not be sent')")
    page.click("dialog >> text=Stay signed in")
    assert page.evaluate("import('/pwa/db.js').then(db => db.uploads()).then(u => u.length)") == 1
    context.close()


def test_signing_out_while_a_photo_is_still_being_queued_counts_its_change(browser, server):
    """Sign out pressed while the photo is stored but its change not yet queued (the outbox is
    busy: another tab or the service worker settling receipts): the dialog waits for the change
    and counts it, never "1 photo" alone with the change arriving after."""
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = home_record(page)
    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}")
    page.evaluate("""() => new Promise((held) => navigator.locks.request('watchbook-outbox',
        () => { held(); return new Promise((release) => { window.releaseOutbox = release; }); }))""")
    page.set_input_files("#attach-file", files=[{
        "name": "gate.png", "mimeType": "image/png", "buffer": png((300, 200), (40, 40, 200))}])
    page.click(".attach-form button[type=submit]")
    wait_until(page, "import('/pwa/db.js').then(db => db.uploads()).then(u => u.length === 1)")
    assert pending(page) == 0  # the photo is stored, its change is still waiting for the outbox
    page.click("#nav a[href='#/sync']")
    page.click("#sign-out")
    page.evaluate("window.releaseOutbox()")
    page.wait_for_selector("dialog[open]:has-text('1 change and 1 photo or plan could not be sent')")
    page.click("dialog >> text=Stay signed in")
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "1")
    context.close()
