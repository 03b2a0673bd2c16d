"""The whole inspection, offline: a supervisor on site with no signal edits every section of a
record, marks the review done, accepts a crew observation into the record in one step,
dismisses another, and adds a premises found on site; back in signal everything reaches the
server with receipts. The console lists the same open observations."""

from __future__ import annotations

import datetime as dt
import secrets

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from harness import Server, new_device, pending, sign_in, wait_synced

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A server of its own: the inspection adds a premises, which other tests' counts exclude."""
    s = Server(tmp_path_factory.mktemp("inspection"), premises=120).start()
    yield s
    s.stop()


def violations(page) -> list[str]:
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
            for v in Axe().run(page).response["violations"]]


def crew_observes(server, notes: list[str]) -> tuple[str, list[str]]:
    """A crew device reports observations on one premises of its grounds; (premises id, ids)."""
    enrol = httpx.post(server.url + "/api/devices/enrol", json={
        "username": "crew", "password": "crew", "device_name": "Pump 1"}).json()
    token, device = enrol["token"], enrol["device_id"]
    docs = server.get("/api/premises?limit=50", token)
    items = docs["items"] if isinstance(docs, dict) else docs
    target = sorted(items, key=lambda d: d["id"])[5]
    doc = server.get(f"/api/premises/{target['id']}", token)
    ids = ["o" + secrets.token_hex(6) for _ in notes]
    mutations = [{"kind": "add_observation", "seq": i + 1, "device_id": device, "premises_id": doc["id"],
                  "base_version": doc["version"], "observation": {"id": oid, "category": "access", "note": note}}
                 for i, (oid, note) in enumerate(zip(ids, notes, strict=True))]
    r = httpx.post(server.url + "/api/sync/push", headers={"Authorization": f"Bearer {token}"},
                   json={"mutations": mutations, "protocol": 1})
    r.raise_for_status()
    assert {x["status"] for x in r.json()["receipts"]} <= {"applied", "merged"}
    return doc["id"], ids


def test_the_offline_inspection_reaches_the_server_with_receipts(browser, server, artifacts):
    pid, (moved, stale) = crew_observes(server, ["Key box moved to the left of the main door",
                                                 "Gate padlock looks new"])
    context = new_device(browser, server, permissions=["geolocation"],
                         geolocation={"latitude": 52.6661, "longitude": 0.1589})
    page = context.new_page()
    sign_in(page, "supervisor")
    before = page.evaluate(f"import('/pwa/db.js').then(db => db.allPremises()).then(a => a.find(r => r.id === '{pid}'))")

    context.set_offline(True)
    page.goto("/#/observations")
    page.wait_for_selector(f"[data-observation='{moved}']")
    page.screenshot(path=artifacts / "observations-inbox.png")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], f"inbox {scheme}"
    page.emulate_media(color_scheme="light")
    page.locator(f"[data-observation='{stale}']").locator("text=Dismiss").click()
    page.wait_for_selector(f"[data-observation='{stale}']", state="detached")
    page.locator(f"[data-observation='{moved}']").locator("text=Accept and update the record").click()
    page.wait_for_selector("#accepting")

    # Every section, as on site.
    page.fill("#f-address", "Unit 7, Rear Yard Road")
    page.click("#use-position")
    page.wait_for_selector("#position-status:has-text('Position filled in')")
    page.check("#f-harms-environment")
    page.click("#inspected-today")
    page.fill("#f-rvp", "Lay-by by the north gate")
    page.fill("#f-key_box", "Left of the main door, code held by control")
    page.click("text=Add a water supply")
    water = page.locator("[data-list=water_supplies] .list-item").last
    water.locator("[data-field=kind]").select_option("static_tank")
    water.locator("[data-field=location]").fill("Sprinkler tank behind unit 7")
    page.click("text=Add a contact")
    contact = page.locator("[data-list=contacts] .list-item").last
    contact.locator("[data-field=name]").fill("Sam Keyholder")
    contact.locator("[data-field=role]").fill("Site manager")
    contact.locator("[data-field=phone]").fill("01945 000111")
    page.fill("#f-alarm_panel", "Reception, left of the door")
    page.select_option("#f-evacuation_strategy", "phased")
    page.fill("#f-tactical_plan", "Approach from the north gate; tank supply behind unit 7.")
    page.fill("#f-risk_notes", "Inspected: key box moved, gas cage unchanged.")
    page.click("text=Add a hazard")
    hz = page.locator("fieldset.hazard-edit").last
    hz.locator("[data-field=type]").select_option("lpg")
    hz.locator("[data-field=location]").fill("Cage by the rear fence")
    page.screenshot(path=artifacts / "inspection-edit.png", full_page=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], f"edit {scheme}"
    page.emulate_media(color_scheme="light")
    page.click("text=Save changes")
    page.wait_for_selector("#observations-empty, #observations")
    assert page.locator(f"[data-observation='{moved}']").count() == 0

    # A premises found on site.
    page.goto("/#/new")
    page.wait_for_selector("#f-name")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], f"new premises {scheme}"
    page.emulate_media(color_scheme="light")
    page.click("text=Save new premises")
    assert page.locator(".field-error").first.inner_text() == "Name is required"
    page.fill("#f-name", "Fenland Grain Store (new on site)")
    page.fill("#f-postcode", "pe13 2rn")
    page.click("#use-position")
    page.wait_for_selector("#position-status:has-text('Position filled in')")
    page.click("text=Save new premises")
    page.wait_for_selector("h1:has-text('Fenland Grain Store (new on site)')")
    new_id = page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    assert pending(page) >= 5  # update, hazard, accept, dismiss, create

    context.set_offline(False)
    page.wait_for_function("() => document.querySelector('#pending-count').dataset.count === '0'", timeout=30000)
    wait_synced(page)
    page.goto("/#/sync")
    receipts = page.locator("#receipts").inner_text()
    assert "Not saved" not in receipts and receipts.count("Saved to server") >= 5

    token = server.enrol("admin")
    doc = server.get(f"/api/premises/{pid}", token)
    assert doc["address"] == "Unit 7, Rear Yard Road"
    assert (doc["lat"], doc["lon"]) == (52.6661, 0.1589)
    assert "environment" in doc["harms"]
    assert doc["rvp"] == "Lay-by by the north gate"
    assert doc["key_box"] == "Left of the main door, code held by control"
    assert {"kind": "static_tank", "location": "Sprinkler tank behind unit 7", "notes": ""} in doc["water_supplies"]
    assert {"name": "Sam Keyholder", "role": "Site manager", "phone": "01945 000111"} in doc["contacts"]
    assert doc["alarm_panel"] == "Reception, left of the door"
    assert doc["evacuation_strategy"] == "phased"
    assert doc["tactical_plan"] == "Approach from the north gate; tank supply behind unit 7."
    assert doc["risk_notes"] == "Inspected: key box moved, gas cage unchanged."
    assert any(h["type"] == "lpg" and h["location"] == "Cage by the rear fence" for h in doc["hazards"])
    today = dt.date.today().isoformat()
    assert doc["assessed_at"] == today and doc["assessed_by"] == "Demo Watch Manager"
    assert doc["next_review_due"] > today and doc["next_review_due"] != before["next_review_due"]
    status = {o["id"]: o["status"] for o in doc["observations"]}
    assert status[moved] == "accepted" and status[stale] == "dismissed"
    created = server.get(f"/api/premises/{new_id}", token)
    assert created["name"] == "Fenland Grain Store (new on site)"
    assert created["postcode"] == "PE13 2RN" and created["lat"] == 52.6661
    context.close()


def test_the_console_lists_open_observations_and_accepts_one(browser, server, artifacts):
    pid, (first, second) = crew_observes(server, ["Hydrant H12 painted over, hard to see",
                                                  "New fence blocks the side gate"])
    context = new_device(browser, server)
    page = context.new_page()
    page.goto(f"{server.url}/console/observations")
    page.fill("#username", "supervisor")
    page.fill("#password", "supervisor")
    page.click("button[type=submit]")
    page.wait_for_selector(f"#obs-{first}")
    assert "New fence blocks the side gate" in page.locator(f"#obs-{second}").inner_text()
    page.screenshot(path=artifacts / "console-observations.png", full_page=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], f"console inbox {scheme}"
    page.emulate_media(color_scheme="light")
    page.locator(f"#obs-{first} button[value=accepted]").click()
    page.wait_for_selector(f"#obs-{first}", state="detached")
    page.locator(f"#obs-{second} button[value=accepted_edit]").click()
    page.wait_for_url(f"**/console/premises/{pid}/edit")
    doc = server.get(f"/api/premises/{pid}", server.enrol("admin"))
    status = {o["id"]: o["status"] for o in doc["observations"]}
    assert status[first] == "accepted" and status[second] == "accepted"
    context.close()
