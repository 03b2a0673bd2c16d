"""The partner view in a real browser with JavaScript off: a police user signs in, searches
a share, opens a premises (shared fields only, its age plain) and its print sheet, is kept
out of the console, and the owning admin reads the access log."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import FAST_ENV, ROOT

from server import clock

pytestmark = pytest.mark.browser
PASSWORD = "a long partner password"


def _watchbook(server: Any, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "server.cli", *args, "--db", str(server.db)],
                   cwd=ROOT, env={**os.environ, **FAST_ENV}, check=True, capture_output=True)


def _shared_record(db: Path) -> tuple[str, dict[str, Any]]:
    """A station and one of its level 1–2 premises that holds a key box code."""
    with sqlite3.connect(db) as conn:
        for station, doc in conn.execute(
                "SELECT station, doc FROM premises WHERE deleted = 0 AND risk_level <= 2 "
                "ORDER BY id"):
            record = json.loads(doc)
            if record.get("key_box") and record.get("hazards"):
                return station, record
    raise AssertionError("the demo data has no level 1–2 premises with a key box")


def _sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/console/signin")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_a_police_user_reads_a_share_without_javascript_and_the_admin_sees_it(
        browser: Any, server: Any, artifacts: Path) -> None:
    station, record = _shared_record(server.db)
    _watchbook(server, "partner", "add", "Essex Police", "--kind", "police")
    _watchbook(server, "partner", "user-add", "pc.jones", "--organisation", "Essex Police",
               "--name", "PC Jo Jones", "--password", PASSWORD)
    _watchbook(server, "share", "add", "--partner", "Essex Police", "--purpose",
               "Police attending with crews", "--expires", clock.today(30),
               "--stations", station, "--levels", "1,2")
    with sqlite3.connect(server.db) as conn:  # earlier tests on this server made shares too
        [share_id] = conn.execute("SELECT max(id) FROM shares").fetchone()

    context = browser.new_context(base_url=server.url, java_script_enabled=False,
                                  viewport={"width": 1366, "height": 768})
    page = context.new_page()
    _sign_in(page, "pc.jones", PASSWORD)
    page.wait_for_url("**/console/partner/")
    share_link = page.locator("table.data a", has_text=f"share {share_id}")
    assert "Police attending with crews" in page.content()
    page.screenshot(path=artifacts / "partner-home.png", full_page=True)

    share_link.click()
    page.wait_for_selector("#results")
    word = record["name"].split()[0]
    page.fill("#q", word)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector(f"#results a:has-text({json.dumps(record['name'])})")
    page.screenshot(path=artifacts / "partner-search.png", full_page=True)

    page.click(f"#results a:has-text({json.dumps(record['name'])})")
    page.wait_for_selector("#record-age")
    assert "Record last updated" in page.locator("#record-age").inner_text()
    assert page.locator("#assessed-age").inner_text().startswith(("Last inspected",
                                                                  "Never inspected"))
    assert page.locator("#content-age").inner_text().startswith("Shared details")
    assert page.get_by_role("heading", name="Hazards").is_visible()
    html = page.content()
    assert record["key_box"] not in html and "Key box" not in html
    assert not page.get_by_role("link", name="Edit details").count()
    page.screenshot(path=artifacts / "partner-premises.png", full_page=True)

    page.get_by_role("link", name="Print sheet").click()
    page.wait_for_selector(".print-stamp")
    page.emulate_media(media="print")
    assert "not to be passed on" in page.locator(".print-stamp").inner_text()
    assert record["key_box"] not in page.content()
    page.screenshot(path=artifacts / "partner-print.png", full_page=True)
    page.emulate_media(media="screen")

    page.goto("/console/dashboard")
    page.wait_for_selector("#error-title")
    assert "not part of the partner view" in page.locator("#error-title").inner_text()
    context.close()

    admin = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    apage = admin.new_page()
    _sign_in(apage, "admin", "admin")
    apage.wait_for_url("**/console/**")
    apage.goto("/console/shares")
    apage.get_by_role("link", name=f"Share {share_id}", exact=True).click()
    apage.wait_for_selector("#log-title")
    log = apage.locator("table").last.inner_text()
    assert "pc.jones" in log and "view" in log and "print" in log and record["name"] in log
    apage.screenshot(path=artifacts / "partner-access-log.png", full_page=True)
    admin.close()


def test_a_police_contribution_is_accepted_by_a_supervisor_into_a_hazard(
        browser: Any, server: Any, artifacts: Path) -> None:
    with sqlite3.connect(server.db) as conn:
        station = conn.execute("SELECT station FROM users WHERE username = 'supervisor'"
                               ).fetchone()[0]
        pid, doc = conn.execute("SELECT id, doc FROM premises WHERE deleted = 0 AND station = ? "
                                "AND risk_level <= 2 ORDER BY id LIMIT 1", (station,)).fetchone()
    name = json.loads(doc)["name"]
    _watchbook(server, "partner", "add", "Norfolk Police", "--kind", "police")
    _watchbook(server, "partner", "user-add", "pc.smith", "--organisation", "Norfolk Police",
               "--name", "PC Sam Smith", "--password", PASSWORD)
    _watchbook(server, "share", "add", "--partner", "Norfolk Police", "--purpose",
               "Warnings both ways", "--expires", clock.today(30), "--stations", station,
               "--contribute")
    note = "Suspected cannabis grow on the first floor: doors reinforced, electrics bypassed"

    police = browser.new_context(base_url=server.url, java_script_enabled=False,
                                 viewport={"width": 1366, "height": 768})
    page = police.new_page()
    _sign_in(page, "pc.smith", PASSWORD)
    page.wait_for_url("**/console/partner/")
    page.locator("table.data a").first.click()  # Norfolk Police has this one share
    page.wait_for_selector("#results")
    page.fill("#q", name)
    page.click("form[role=search] button[type=submit]")
    page.locator("#results a", has_text=name).first.click()
    page.wait_for_selector("#contribute-title")
    page.select_option("#c-category", "hazard")
    page.fill("#c-note", note)
    page.get_by_role("button", name="Send to").click()
    page.wait_for_selector(".flash-ok")
    assert "a supervisor will accept it" in page.locator(".flash-ok").inner_text()
    page.screenshot(path=artifacts / "partner-contribution-sent.png", full_page=True)
    police.close()

    console = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    cpage = console.new_page()
    _sign_in(cpage, "supervisor", "supervisor")
    cpage.wait_for_url("**/console/**")
    cpage.goto("/console/observations")
    row = cpage.locator("tr", has_text=note)
    row.wait_for()
    assert "PC Sam Smith, Norfolk Police (partner)" in row.inner_text()
    cpage.screenshot(path=artifacts / "partner-contribution-inbox.png", full_page=True)
    row.get_by_role("button", name="Accept and edit the record").click()
    cpage.wait_for_url(f"**/console/premises/{pid}/edit")
    cpage.goto(f"/console/premises/{pid}/hazards")
    cpage.select_option("#hz-type", "blocked_access")
    cpage.select_option("#hz-severity", "high")
    cpage.fill("#hz-location", "First floor")
    cpage.fill("#hz-description", "Police report (Norfolk Police): " + note)
    cpage.get_by_role("button", name="Add hazard").click()
    cpage.goto(f"/console/premises/{pid}")
    hazard = cpage.locator("#hazards tr", has_text="First floor")
    hazard.wait_for()
    assert "Blocked or restricted access" in hazard.inner_text()
    cpage.screenshot(path=artifacts / "partner-contribution-hazard.png", full_page=True)
    console.close()
