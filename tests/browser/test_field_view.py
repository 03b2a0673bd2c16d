"""What a crew sees at an incident: old data never looks fresh (offline state and the data's age
on every screen, with a faked clock), the premises summary on one 1366×768 screen, a field under
conflict marked on a crew device until it is resolved, every match of the list reachable, the
Sync page following the sync, expired temporary hazards shown as expired, and the print sheet
from the app (offline) and from the console."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import httpx
import pytest
from harness import ROOT, new_device, sign_in, wait_synced, wait_until
from test_accessibility import violations

pytestmark = pytest.mark.browser
DAY = 24 * 3600 * 1000

# A record for the summary: several hazards, an RVP, a key box, water, and people at risk.
PICK_FULL = """() => import('/pwa/db.js').then(db => db.allPremises()).then(all => all
  .filter(r => (r.hazards || []).length >= 3 && r.rvp && r.key_box && (r.water_supplies || []).length && r.access_points)
  .sort((a, b) => b.hazards.length - a.hazards.length || a.id.localeCompare(b.id))[0])"""


def both_themes_clean(page) -> list[str]:
    """axe's violations in the day theme then the night theme (each named by its theme)."""
    found = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found += [f"{scheme}: {v}" for v in violations(page)]
    page.emulate_media(color_scheme="light")
    return found


def push(server, token: str, *mutations: dict) -> list[dict]:
    device = token[3:].split("_", 1)[0]
    body = {"mutations": [{"device_id": device, "seq": i + 1, "client_time": "2026-12-01T09:00:00Z",
                           **m} for i, m in enumerate(mutations)]}
    r = httpx.post(server.url + "/api/sync/push", json=body, headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return list(r.json()["receipts"])


def inside_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366


def test_offline_eight_day_old_data_is_shown_as_such_on_the_list_and_the_premises_page(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    assert page.locator("#offline-state").count() == 0
    assert page.get_attribute("#freshness", "data-age") == "fresh"
    record = page.evaluate(PICK_FULL)

    # A day and a half later, online: amber.
    now = page.evaluate("Date.now()")
    page.clock.set_fixed_time(dt.datetime.fromtimestamp((now + 1.5 * DAY) / 1000, dt.UTC))
    context.route("**/api/sync/**", lambda route: route.abort())  # the sync does not succeed
    page.reload()
    page.wait_for_selector("#freshness[data-age='stale']")
    assert page.get_attribute("#data-age", "data-age") == "stale"

    # Eight days later, with no signal: offline, and red on every screen.
    page.clock.set_fixed_time(dt.datetime.fromtimestamp((now + 8 * DAY) / 1000, dt.UTC))
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#results li")
    assert page.locator("#offline-state").inner_text().strip().lower() == "offline"
    assert page.get_attribute("#data-age", "data-age") == "old"
    assert page.locator("#data-age").inner_text() == "Data 8 days old"
    freshness = page.locator("#freshness")
    assert freshness.get_attribute("data-age") == "old"
    assert freshness.inner_text().startswith("Data from 8 days ago — may be out of date")
    assert "offline" in freshness.inner_text()
    page.screenshot(path=artifacts / "list-offline-8-days.png")

    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#summary")
    assert page.locator("#offline-state").is_visible()
    stamp = page.locator("#summary-age")
    assert "age-old" in stamp.get_attribute("class")
    assert stamp.inner_text().startswith("Data from 8 days ago — may be out of date")
    assert inside_viewport(page, "#summary-age")
    page.screenshot(path=artifacts / "premises-offline-8-days.png")
    context.close()


def test_the_premises_summary_fits_one_chromebook_screen(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = page.evaluate(PICK_FULL)
    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#summary")
    assert page.evaluate("() => window.scrollY") == 0
    level = page.locator(".premises-head .level").inner_text()
    assert level == f"Level {record['risk_level']} — " + {1: "highest risk", 2: "high risk", 3: "moderate risk",
                                                            4: "lowest risk"}[record["risk_level"]]
    for part in ("#summary-hazards", "#summary-rvp", "#summary-keybox", "#summary-water",
                 "#summary-access", "#summary-people", "#summary-evacuation", "nav.jump"):
        assert inside_viewport(page, part), f"{part} is not on the first screen"
    assert record["rvp"] in page.locator("#summary-rvp").inner_text()
    assert record["key_box"] in page.locator("#summary-keybox").inner_text()
    # Every hazard in force is an icon on the first screen, each kind with its own drawing.
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    live = {h["type"] for h in record["hazards"] if not (h.get("expires") and h["expires"] < today)}
    icons = page.locator("#summary-hazards li")
    shown = {icons.nth(i).get_attribute("data-type") for i in range(icons.count())}
    assert shown == live if len(live) <= 8 else (len(shown) == 8 and shown < live)
    for i in range(icons.count()):
        assert inside_viewport(page, f"#summary-hazards li >> nth={i}")
    drawings = page.evaluate("""() => import('/pwa/page/icons.js').then(({ hazardIcon }) =>
      ['flammable_liquids', 'compressed_gases', 'explosives'].map((t) => hazardIcon(t).innerHTML))""")
    assert len(set(drawings)) == 3
    # A jump link moves to the full section and leaves the route alone.
    page.click("nav.jump >> text=Water")
    assert page.evaluate("() => location.hash") == f"#/p/{record['id']}"
    assert page.evaluate("() => document.activeElement.id") == "h-water"
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "premises-summary.png")
    context.close()


def test_a_crew_device_marks_a_field_under_conflict_until_it_is_resolved(browser, server, artifacts):
    first, pump = server.enrol("supervisor"), httpx.post(server.url + "/api/devices/enrol", json={
        "username": "supervisor", "password": "supervisor", "device_name": "Pump 1 WIS"}).json()["token"]
    crew = new_device(browser, server)
    page = crew.new_page()
    sign_in(page, "crew")
    record = page.evaluate(PICK_FULL)
    base = {"premises_id": record["id"], "base_version": record["version"], "kind": "update"}
    [ok] = push(server, first, {**base, "changes": [{"field": "rvp", "old": record["rvp"], "new": "North gate"}]})
    [clash] = push(server, pump, {**base, "changes": [{"field": "rvp", "old": record["rvp"], "new": "South gate"}]})
    assert ok["status"] == "applied" and clash["status"] == "conflict"

    page.goto("/#/sync")
    page.click("#sync-now")
    wait_synced(page)
    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#summary-rvp .conflict-mark")
    assert "being resolved: two edits differ" in page.locator("#summary-rvp").inner_text()
    assert page.locator("#h-access ~ dl .conflict-mark").count() == 1
    assert page.locator("#summary-keybox .conflict-mark").count() == 0
    page.screenshot(path=artifacts / "crew-field-under-conflict.png")
    assert both_themes_clean(page) == [], "premises page with a field under conflict"

    # The supervisor's conflict screen names both devices and times.
    sup = new_device(browser, server)
    spage = sup.new_page()
    sign_in(spage, "supervisor")
    spage.goto("/#/conflicts")
    card = spage.locator(f".conflict:has-text('{record['name']}')").first
    text = card.inner_text()
    assert "on Pump 1 WIS" in text and "on test" in text
    spage.screenshot(path=artifacts / "conflict-devices.png", full_page=True)
    assert both_themes_clean(spage) == [], "conflicts naming devices"
    sup.close()

    [done] = push(server, pump, {"kind": "resolve_conflict", "premises_id": record["id"], "base_version": 0,
                                 "conflict_id": clash["conflict_ids"][0], "choice": "server", "seq": 2})
    assert done["status"] in ("applied", "merged"), done
    page.goto("/#/sync")
    page.click("#sync-now")
    # The click starts a sync a moment later: wait for the resolution to reach the replica.
    wait_until(page, """id => import('/pwa/db.js').then(db => db.snapshot())
      .then(s => s.conflicts.every(c => c.id !== id || c.status !== 'open'))""", clash["conflict_ids"][0])
    wait_synced(page)
    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#summary-rvp")
    assert page.locator(".conflict-mark").count() == 0
    assert "North gate" in page.locator("#summary-rvp").inner_text()
    crew.close()


def test_the_sync_page_opened_directly_follows_the_sync_to_its_end(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    page.goto("/#/sync")
    page.reload()
    page.wait_for_selector("#sync-now:not([disabled]):has-text('Sync now')", timeout=30000)
    page.wait_for_function("() => document.querySelector('.device .card')?.innerText"
                           ".includes('Last successful sync')", timeout=30000)
    page.click("#sync-now")
    page.wait_for_selector("#sync-now:not([disabled]):has-text('Sync now')", timeout=30000)
    context.close()


def test_the_list_shows_every_match_page_by_page(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "admin")  # every station's premises
    total = page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a.length)")
    assert total > 200
    page.goto("/#/")
    page.wait_for_selector(f"#count:has-text('Showing 1–100 of {total} premises')")
    page.click("#show-more")
    page.wait_for_selector(f"#count:has-text('Showing 1–200 of {total} premises')")
    assert page.evaluate("() => document.activeElement.closest('li') === document.querySelectorAll('#results li')[100]")
    page.click("#show-more")
    page.wait_for_selector(f"#count:text-is('{total} premises')")
    assert page.locator("#results li").count() == total
    assert page.locator("#show-more").count() == 0
    page.fill("#q", "a")  # a new search starts at its first page again; "Show all" goes to the end
    page.wait_for_selector("#count:has-text('Showing 1–100')")
    matches = int(page.locator("#count").inner_text().split(" of ")[1].split()[0])
    page.click("#show-all")
    page.wait_for_selector(f"#count:text-is('{matches} premises')")
    assert page.locator("#results li").count() == matches
    context.close()


def test_an_expired_temporary_hazard_shows_as_expired_and_flagged_for_review(browser, server, artifacts):
    token = server.enrol("supervisor")
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    record = page.evaluate("""() => import('/pwa/db.js').then(db => db.allPremises()).then(all => all
      .filter(r => (r.hazards || []).every(h => !h.expires)).sort((a, b) => b.id.localeCompare(a.id))[0])""")
    [r] = push(server, token, {"kind": "add_hazard", "premises_id": record["id"], "base_version": record["version"],
                               "hazard": {"id": "hzexp", "type": "scaffolding", "expires": "2026-11-16",
                                          "location": "East elevation"}})
    assert r["status"] in ("applied", "merged"), r
    page.clock.set_fixed_time(dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC))
    page.goto("/#/sync")
    page.click("#sync-now")
    wait_synced(page)
    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#expired-banner")
    assert "Scaffolding, 16 Nov 2026" in page.locator("#expired-banner").inner_text()
    assert page.locator("#summary-hazards li[data-type='scaffolding']").count() == 0
    assert "1 temporary hazard expired — flagged for review" in page.locator("#summary-expired").inner_text()
    item = page.locator("li.hazard[data-hazard='hzexp']")
    assert "Expired" in item.inner_text() and "expired on 16 Nov 2026" in item.inner_text()
    assert "Temporary, until" not in item.inner_text()
    page.screenshot(path=artifacts / "hazard-expired.png", full_page=True)
    context.close()


def test_a_large_photo_shows_as_a_thumbnail_without_sideways_scroll(browser, server, artifacts):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (1600, 1200), (200, 60, 40)).save(buf, "JPEG")
    photo = buf.getvalue()
    sha = hashlib.sha256(photo).hexdigest()
    token = server.enrol("supervisor")
    httpx.put(f"{server.url}/api/blobs/{sha}", content=photo,
              headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}).raise_for_status()
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    record = page.evaluate("""() => import('/pwa/db.js').then(db => db.allPremises()).then(all => all
      .filter(r => !(r.attachments || []).length).sort((a, b) => a.id.localeCompare(b.id))[3])""")
    [r] = push(server, token, {"kind": "attach", "premises_id": record["id"], "base_version": record["version"],
                               "attachment": {"id": "bigphoto", "sha256": sha, "kind": "photo",
                                              "content_type": "image/jpeg", "size": len(photo),
                                              "caption": "Rear yard from the gate"}})
    assert r["status"] in ("applied", "merged"), r
    thumbs: list[str] = []
    page.on("request", lambda req: thumbs.append(req.url) if req.url.endswith("/thumb") else None)
    page.goto("/#/sync")
    page.click("#sync-now")
    wait_synced(page)
    page.goto(f"/#/p/{record['id']}")
    # Thumbnails load lazily: scroll them into view on every poll (a sync landing meanwhile
    # renders the page anew) until one has loaded.
    page.wait_for_function("""() => { document.querySelector('#attachments')?.scrollIntoView();
      return document.querySelector('#attachments img')?.naturalWidth > 0; }""",
                           timeout=30000, polling=250)
    assert any(sha in u for u in thumbs) or page.evaluate(
        f"import('/pwa/db.js').then(db => db.getFile('{sha}')).then(f => Boolean(f))")
    box = page.locator("#attachments img").bounding_box()
    assert box["width"] <= 400
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=artifacts / "attachments-grid.png")
    assert both_themes_clean(page) == [], "attachments grid"
    page.click("#attachments a")
    page.wait_for_function("() => document.getElementById('viewer-image')?.naturalWidth === 1600",
                           timeout=30000)
    stage = page.locator("#viewer-stage").bounding_box()
    assert stage["height"] >= 768 * 0.55 and stage["y"] + stage["height"] <= 768
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=artifacts / "plan-viewer.png")
    assert both_themes_clean(page) == [], "plan viewer"
    context.close()


def test_the_print_sheet_from_the_app_offline_and_from_the_console(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = page.evaluate(PICK_FULL)
    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#summary")
    assert not page.locator("#print-stamp").is_visible()
    page.emulate_media(media="print")
    stamp = page.locator("#print-stamp")
    assert stamp.is_visible()
    version = page.get_attribute("article.premises", "data-version")
    assert f"Record version {version}" in stamp.inner_text()
    for hidden in ("#bar", "#notices", "#print-sheet", "nav.jump"):
        assert not page.locator(hidden).is_visible(), hidden
    assert page.locator("#summary-keybox").is_visible()
    page.screenshot(path=artifacts / "print-sheet-app.png", full_page=True)
    page.pdf(path=str(artifacts / "print-sheet-app.pdf"))
    context.close()

    console = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    cpage = console.new_page()
    cpage.goto("/console/signin")
    cpage.fill("#username", "supervisor")
    cpage.fill("#password", "supervisor")
    cpage.click("button[type=submit]")
    cpage.wait_for_url("**/console/**")
    cpage.goto(f"/console/premises/{record['id']}")
    cpage.emulate_media(media="print")
    cstamp = cpage.locator("#print-stamp")
    assert cstamp.is_visible()
    assert f"record version {version}" in cstamp.inner_text()
    assert not cpage.locator("header.top").is_visible()
    cpage.screenshot(path=artifacts / "print-sheet-console.png", full_page=True)
    console.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_new_screens_have_no_axe_violations(browser, server, scheme, artifacts: Path):
    context = new_device(browser, server, color_scheme=scheme)
    page = context.new_page()
    sign_in(page, "crew")
    record = page.evaluate(PICK_FULL)
    now = page.evaluate("Date.now()")
    page.clock.set_fixed_time(dt.datetime.fromtimestamp((now + 8 * DAY) / 1000, dt.UTC))
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#results li")
    assert violations(page) == [], "list, offline and old"
    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#summary")
    assert violations(page) == [], "premises summary, offline and old"
    page.screenshot(path=artifacts / f"premises-summary-{scheme}.png")
    page.goto("/#/sync")
    page.wait_for_selector("#sync-now")
    assert violations(page) == [], "sync page, offline"
    context.close()


def test_the_app_expires_hazards_by_the_same_rule_as_the_server(browser, server):
    """pwa/page/hazards.js against tests/cases/hazard_expiry.json, as tests/test_record.py holds
    sync/record.py to it: the app and the API never disagree on whether a hazard is current."""
    cases = json.loads((ROOT / "tests" / "cases" / "hazard_expiry.json").read_text())["cases"]
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    got = page.evaluate("""async (cases) => {
      const { hazardExpired } = await import('/pwa/page/hazards.js');
      return cases.map((c) => hazardExpired(c.hazard, c.today));
    }""", cases)
    assert got == [c["expired"] for c in cases]
    context.close()
