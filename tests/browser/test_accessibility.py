"""The main screens have no axe-core violations in the day and night themes, and reflow
without sideways scrolling at 200% zoom (the Chromebook's 1366×768 at half the CSS pixels)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from harness import new_device, sign_in

pytestmark = pytest.mark.browser
SCREENS = ["/#/", "/#/p/{id}", "/#/p/{id}/edit", "/#/p/{id}/observe", "/#/nearest",
           "/#/observations", "/#/new", "/#/conflicts", "/#/sync"]


def violations(page) -> list[str]:
    result = Axe().run(page)
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
            for v in result.response["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_screens_have_no_axe_violations(browser, server, scheme, artifacts):
    context = new_device(browser, server, color_scheme=scheme)
    page = context.new_page()
    page.goto("/")
    page.wait_for_selector("#username")
    assert violations(page) == [], "sign-in"
    sign_in(page, "supervisor")
    pid = page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a[0].id)")
    for screen in SCREENS:
        page.goto(screen.format(id=pid))
        page.wait_for_selector("main h1")
        assert violations(page) == [], screen
    page.goto(f"/#/p/{pid}")
    page.wait_for_selector("#h-hazards")
    page.screenshot(path=artifacts / f"premises-{scheme}.png")
    context.close()


def test_screens_reflow_at_200_percent_zoom(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    page.set_viewport_size({"width": 683, "height": 384})
    pid = page.evaluate("import('/pwa/db.js').then(db => db.allPremises()).then(a => a[0].id)")
    for screen in SCREENS:
        page.goto(screen.format(id=pid))
        page.wait_for_selector("main h1")
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 683, f"{screen} scrolls sideways ({wide}px)"
    page.goto(f"/#/p/{pid}")
    page.screenshot(path=artifacts / "premises-200pc.png")
    context.close()


def test_console_history_and_a_form_with_every_problem_have_no_axe_violations(browser, server, artifacts):
    """The console's new screens: a premises history in local time with items added and
    removed, and a form sent with several mistakes (the summary linking to each field)."""
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/console/signin")
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")
    page.goto("/console/premises")
    page.click("table a[href*='/console/premises/']")
    page.wait_for_selector("main h1")
    page.goto(page.url.split("?")[0].rstrip("/") + "/history")
    page.wait_for_selector("main h1")
    assert violations(page) == [], "history"
    page.goto("/console/admin/stations")
    page.fill("#st-code", "no good!")
    page.fill("#st-lat", "91")
    page.click("text=Add station")
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "3 problems" in summary.inner_text()
    page.click(".error-summary a[href='#st-name']")
    assert page.evaluate("location.hash") == "#st-name"
    page.screenshot(path=artifacts / "console-form-every-problem.png", full_page=True)
    assert violations(page) == [], "a form with every problem shown"
    context.close()
