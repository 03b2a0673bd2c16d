"""The PWA installs, downloads the replica with a progress bar (resuming where it stopped), and
then works with no network: list, search, nearest and a premises page."""

from __future__ import annotations

import re

import pytest
from harness import new_device, sign_in, wait_synced

pytestmark = pytest.mark.browser


def test_first_visit_installs_worker_and_downloads_with_progress_resuming(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    pulls: list[str] = []

    def second_page_fails(route):  # the download breaks after its first page
        pulls.append(route.request.url)
        if len(pulls) == 2:
            route.abort()
        else:
            route.continue_()
    context.route(re.compile(r".*/api/sync/pull.*"), second_page_fails)
    page.goto("/")
    page.fill("#username", "supervisor")
    page.fill("#password", "supervisor")
    page.click("button[type=submit]")
    page.wait_for_selector("#freshness:has-text('last sync failed')")
    bar = page.locator("#sync-progress-bar")
    assert bar.get_attribute("value") == "50"
    assert int(bar.get_attribute("max")) >= 150  # premises (and any conflicts) in scope
    page.screenshot(path=artifacts / "sync-progress.png")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    context.unroute(re.compile(r".*/api/sync/pull.*"))
    page.goto("/#/sync")
    page.click("#sync-now")
    wait_synced(page)
    assert "cursor=&" not in pulls[-1] and not pulls[-1].endswith("cursor=")
    assert page.locator("#sync-progress").count() == 0
    page.goto("/#/")
    page.wait_for_selector("#count:has-text('150 premises')")
    context.close()


def test_offline_reload_search_nearest_and_premises_page(browser, server, artifacts):
    context = new_device(browser, server, geolocation={"latitude": 52.66, "longitude": 0.16},
                         permissions=["geolocation"])
    page = context.new_page()
    sign_in(page, "crew")
    record = page.evaluate(
        "import('/pwa/db.js').then(db => db.allPremises()).then(all => all.find(r => r.postcode"
        " && r.uprn && r.hazards.length && r.lat))")

    # The first screen of the list is kept for a cold open: the first 100 by name, of all.
    first = page.evaluate("""async () => {  // saved a moment after the replica settles
      const db = await import('/pwa/db.js');
      for (let i = 0; i < 100; i += 1) {
        const { first } = await db.firstScreen();
        if (first) return first;
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    }""")
    names = sorted(page.evaluate(
        "import('/pwa/db.js').then(db => db.allPremises()).then(a => a.map(r => [r.name, r.id]))"),
        key=lambda x: (x[0].lower(), x[1]))
    assert first["total"] == len(names) and len(first["items"]) == 100
    last = names[-1][0]  # not on the first screen: found once the whole replica is read

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#results li")
    assert page.locator("#freshness").inner_text().startswith("Data from")
    page.screenshot(path=artifacts / "list.png")

    for query in (record["postcode"], record["postcode"].replace(" ", "").lower(), record["uprn"],
                  record["name"], last):
        page.fill("#q", query)
        hit = record["name"] if query != last else last
        page.locator("#results li", has_text=hit).first.wait_for()
    page.fill("#q", "zzzz no such place")
    page.wait_for_selector("#count:has-text('0 premises')")
    assert page.locator("#results li").count() == 0

    page.goto("/#/nearest")
    page.fill("#postcode", record["postcode"])
    page.click("form.inline-form button")
    first = page.locator("#near-results li").first
    assert record["name"] in first.inner_text() and re.search(r"\d+ m", first.inner_text())
    page.click("text=Use my location")
    page.wait_for_selector("#near-status:has-text('your position')")

    page.goto(f"/#/p/{record['id']}")
    page.wait_for_selector("#h-hazards")
    # Hazards come first, before access and water.
    order = page.evaluate("[...document.querySelectorAll('article h2')].map(h => h.textContent)")
    assert order[0].startswith("Hazards") and order.index("Access") > 0
    assert page.locator(".hazard").count() == len(record["hazards"])
    page.screenshot(path=artifacts / "premises.png", full_page=True)
    context.close()
