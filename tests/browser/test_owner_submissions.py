"""A building's responsible person uploads a floor plan through the portal with JavaScript off
(a wrong file first: every problem shown at once), a supervisor accepts it from the console's
submissions inbox, and a crew device shows the plan among the premises' attachments after its
next sync; then the same for external wall information, whose risk the crew sees at the top."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from harness import console_page, issue_submission_link, new_device, sign_in, wait_until
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser

HAS_PLAN = """(id) => import('/pwa/db.js').then(db => db.allPremises())
  .then(all => all.some(r => r.id === id && (r.attachments || []).some(
    a => a.id.startsWith('bs') && a.kind === 'floor_plan' && a.available)))"""


HAS_WALL = """(id) => import('/pwa/db.js').then(db => db.allPremises())
  .then(all => all.some(r => r.id === id && r.high_rise && r.high_rise.external_wall))"""


def plan_png() -> bytes:
    """A small drawn floor plan: walls, a stair core and a label."""
    img = Image.new("RGB", (800, 560), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, 780, 540), outline="black", width=6)
    draw.rectangle((340, 200, 460, 360), outline="black", width=4)   # stair core
    draw.line((20, 280, 340, 280), fill="black", width=3)
    draw.line((460, 280, 780, 280), fill="black", width=3)
    draw.text((360, 270), "STAIRS", fill="red")
    draw.text((40, 40), "FLOOR 2 - dry riser outlet at stair", fill="blue")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_a_floor_plan_sent_without_javascript_reaches_a_crew_device_once_accepted(
        browser: Any, server: Any, artifacts: Path) -> None:
    crew = new_device(browser, server).new_page()
    sign_in(crew, "crew")
    record = crew.evaluate("() => import('/pwa/db.js').then(db => db.allPremises())"
                           ".then(all => all.sort((a, b) => a.id.localeCompare(b.id))[1])")

    page = console_page(browser, server, "supervisor")
    console = page.context
    url = issue_submission_link(page, record["id"], {"storeys": "11",
                                                     "responsible_person": "Priya Shah"})

    portal = browser.new_context(base_url=server.url, java_script_enabled=False,
                                 viewport={"width": 1366, "height": 768}).new_page()
    portal.goto(url)
    portal.click("text=Plans and external walls")
    portal.click("text=Send a floor plan")
    portal.select_option("#f-floor-choice", "Floor 2")
    portal.set_input_files("#f-file", files=[{"name": "floor-2.pdf", "mimeType": "application/pdf",
                                              "buffer": b"PK\x03\x04 a zip, not a plan"}])
    portal.fill("#f-submitted_by", "")
    portal.click("button:has-text('Send the floor plan')")
    summary = portal.locator("#error-summary")
    summary.wait_for()
    assert "floor-2.pdf is not a PDF, PNG or JPEG file" in summary.inner_text()
    assert "Give your name" in summary.inner_text()
    portal.screenshot(path=artifacts / "owner-submissions-portal-errors.png", full_page=True)

    portal.set_input_files("#f-file", files=[{"name": "floor-2.png", "mimeType": "image/png",
                                              "buffer": plan_png()}])
    portal.fill("#f-submitted_by", "Priya Shah")
    portal.click("button:has-text('Send the floor plan')")
    portal.locator("#sent").wait_for()
    assert "Waiting for review" in portal.locator("table").first.inner_text()
    portal.screenshot(path=artifacts / "owner-submissions-portal-sent.png", full_page=True)

    page.click("nav.primary >> text=Owners' submissions")
    page.click("table a:has-text('Floor plan: Floor 2')")
    page.locator("text=Accept version 1").wait_for()
    page.screenshot(path=artifacts / "owner-submissions-console-review.png", full_page=True)
    page.click("text=Accept version 1")
    page.wait_for_selector("text=is on the record")

    crew.goto("/#/sync")
    crew.click("#sync-now")
    wait_until(crew, HAS_PLAN, record["id"])
    crew.goto(f"/#/p/{record['id']}")
    caption = crew.locator("#attachments .attachment-caption", has_text="Floor 2 (version 1, from the responsible person)")
    caption.wait_for()
    crew.locator("#attachments .attachment-thumb img").first.wait_for()
    crew.locator("#h-attachments").scroll_into_view_if_needed()
    crew.screenshot(path=artifacts / "owner-submissions-crew-attachments.png")

    # External wall information: sent, accepted, shown to the crew at the top of the record.
    portal.click("text=Send external wall information")
    portal.fill("#f-design_materials", "ACM cladding panels on floors 3 to 11.")
    portal.check("#f-risk-high")
    portal.fill("#f-mitigation", "Waking watch until the panels are replaced.")
    portal.check("#f-material_change-no")
    portal.click("button:has-text('Send the external wall information')")
    portal.locator("#sent").wait_for()
    page.click("nav.primary >> text=Owners' submissions")
    page.click("table a:has-text('External wall information')")
    page.click("text=Accept version 1")
    page.wait_for_selector("text=is on the record")
    crew.goto("/#/sync")
    crew.click("#sync-now")
    wait_until(crew, HAS_WALL, record["id"])
    crew.goto(f"/#/p/{record['id']}")
    banner = crew.locator(".external-wall")
    banner.wait_for()
    assert banner.inner_text().startswith("External walls: high risk (from the responsible "
                                          "person): ACM cladding panels")
    crew.screenshot(path=artifacts / "owner-submissions-crew-wall.png")
    console.close()
    portal.context.close()
