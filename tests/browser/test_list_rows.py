"""The premises list draws only the rows in view (content-visibility) yet every row is in the
accessibility tree and reachable by keyboard with its focus ring whole; typing on keeps the rows
of premises still shown, and a row whose record changed is drawn again."""

from __future__ import annotations

import pytest
from harness import new_device, sign_in

pytestmark = pytest.mark.browser


def test_rows_off_screen_skip_layout_yet_screen_readers_and_the_keyboard_reach_them(
        browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "admin")  # every station's premises: a full first page of 100 rows
    page.goto("/#/")
    page.wait_for_selector("#count:has-text('Showing 1–100 of')")
    last = page.locator("#results > li").nth(99)
    name = last.locator(".result-name").inner_text()
    # The last row is off screen: its contents are not laid out until it nears the screen...
    assert page.evaluate("""() => {
      const a = document.querySelectorAll('#results > li')[99].querySelector('a');
      return !a.checkVisibility({ contentVisibilityAuto: true }) && a.checkVisibility();
    }""")
    # ...and still in the accessibility tree, as a link named after the premises.
    cdp = context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    links = [n.get("name", {}).get("value", "") for n in nodes
             if n.get("role", {}).get("value") == "link" and not n.get("ignored")]
    assert any(link.startswith(name) for link in links), name

    # Tab from the row before: the last row comes into view with its focus ring not clipped.
    page.locator("#results > li a").nth(98).focus()
    page.keyboard.press("Tab")
    ring = page.evaluate("""() => {
      const a = document.activeElement, li = a.closest('li');
      const s = getComputedStyle(a), grow = parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth);
      const r = a.getBoundingClientRect(), box = li.getBoundingClientRect();
      return { index: [...li.parentNode.children].indexOf(li), width: parseFloat(s.outlineWidth),
        inside: r.left - grow >= box.left && r.right + grow <= box.right
          && r.top - grow >= box.top && r.bottom + grow <= box.bottom + 1,
        shown: a.checkVisibility({ contentVisibilityAuto: true }) };
    }""")
    assert ring == {"index": 99, "width": ring["width"], "inside": True, "shown": True}
    assert ring["width"] >= 2
    context.close()


def test_typing_on_keeps_the_rows_still_shown_and_a_saved_edit_redraws_its_row(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    page.goto("/#/")
    page.wait_for_selector("#count:has-text('Showing 1–100 of')")
    first = page.locator("#results > li").first  # first by name: in every search that finds it
    name = first.locator(".result-name").inner_text()
    pid = first.locator("a").get_attribute("href").removeprefix("#/p/")
    first.evaluate("(li) => { li.dataset.drawnAt = 'before the search'; }")
    page.fill("#q", name)  # a handful of matches instead of a page of 100: the row is kept
    page.wait_for_selector("#count:not(:has-text('Showing'))")
    kept = page.locator("#results > li[data-drawn-at]")
    assert kept.count() == 1 and kept.locator(".result-name").inner_text() == name

    # An edit made offline marks the row pending; once it is saved the row is drawn anew.
    context.set_offline(True)
    page.goto(f"/#/p/{pid}/edit")
    page.fill("#f-rvp", "North gate, by the hydrant")
    page.click("text=Save changes")
    page.wait_for_selector("#summary-rvp:has-text('North gate')")
    page.goto("/#/")
    page.fill("#q", name)
    row = page.locator("#results > li", has=page.locator(f'a[href="#/p/{pid}"]'))
    row.locator(".pending-mark").wait_for()
    context.set_offline(False)  # the outbox is sent; the list redraws in place
    row.locator(".pending-mark").wait_for(state="detached", timeout=20000)
    assert row.count() == 1
    context.close()
