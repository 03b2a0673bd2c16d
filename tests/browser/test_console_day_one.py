"""Day one in the console, in Chromium: from a database `watchbook init` made (one admin,
nothing else), the admin follows the getting-started list: adds three stations, a
supervisor and a crew member with extra grounds, imports 20,000 premises watching the job's
progress bar, and sees every problem of a bad file listed with nothing written. Screenshots
go to test-artifacts/console-day-one-*.png."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import FAST_ENV, Server, free_port, new_device

pytestmark = pytest.mark.browser
CLI = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]
STATIONS = (("WIS", "Wisbech"), ("MAR", "March"), ("CHA", "Chatteris"))
ROWS = 20_000
LONG = 120_000  # ms: a 20,000-row job on a busy two-core machine


class EmptyServer(Server):
    """The real server over a database made by `watchbook init` only."""

    def __init__(self, workdir: Path):
        self.workdir, self.port = workdir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "watchbook.db"
        self.pwa_dir = None
        self.proc = None
        subprocess.run([*CLI, "init", "--username", "ada", "--name", "Ada Admin",
                        "--db", str(self.db)], check=True, capture_output=True,
                       env={**os.environ, **FAST_ENV, "WATCHBOOK_ADMIN_PASSWORD": "first-admin-pw"})


@pytest.fixture
def empty_server(tmp_path: Path):
    server = EmptyServer(tmp_path).start()
    yield server
    server.stop()


def big_csv(path: Path) -> Path:
    lines = ["id,station,name,address,postcode,risk_level,assessed_at"]
    for i in range(ROWS):
        assessed = f"2025-{i % 12 + 1:02d}-15" if i % 4 else ""
        lines.append(f"p{i:05d},{STATIONS[i % 3][0]},Premises {i},{i} High Street,"
                     f"pe{i % 90 + 10} {i % 10}zz,{i % 4 + 1},{assessed}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_admin_sets_up_a_service_and_imports_20000_premises_in_the_console(
        browser, empty_server, artifacts, tmp_path):
    context = new_device(browser, empty_server)
    page = context.new_page()
    page.goto("/console/signin")
    page.fill("#username", "ada")
    page.fill("#password", "first-admin-pw")
    page.click("button[type=submit]")
    page.wait_for_selector("#setup-title")
    page.screenshot(path=artifacts / "console-day-one-1-getting-started.png", full_page=True)

    page.click("text=Add your stations")
    for code, name in STATIONS:
        page.fill("#st-code", code)
        page.fill("#st-name", name)
        page.click("button:has-text('Add station')")
        page.wait_for_selector(f"text=Added station {code} {name}.")
    page.screenshot(path=artifacts / "console-day-one-2-stations.png", full_page=True)

    page.click("nav.primary >> text=Users")
    for username, name, role, station in (("sm1", "Sam Supervisor", "supervisor", "WIS"),
                                          ("cm1", "Casey Crew", "crew", "MAR")):
        page.fill("#new-username", username)
        page.fill("#new-name", name)
        page.select_option("#new-role", role)
        page.select_option("#new-station", station)
        page.fill("#new-password", f"{username}-password")
        page.click("button:has-text('Add user')")
        page.wait_for_selector(f"text=Added {name} ({username}).")
    page.click("a:text-is('cm1')")
    page.check("input[name=grounds][value=CHA]")
    page.click("form:has(input[name=grounds]) button[type=submit]")
    page.wait_for_selector("text=also covering CHA")
    page.screenshot(path=artifacts / "console-day-one-3-crew-grounds.png", full_page=True)

    page.click("nav.primary >> text=Import")
    page.set_input_files("#import-file", str(big_csv(tmp_path / "premises.csv")))
    page.click("button:has-text('Check the file')")
    page.wait_for_selector("[data-status=ready]", timeout=LONG)
    assert page.inner_text("#preview-created") == "20,000"
    page.screenshot(path=artifacts / "console-day-one-4-preview.png", full_page=True)
    page.click("button:has-text('Import 20,000 premises')")
    bar = page.wait_for_selector("#job-progress[data-phase=writing]", timeout=LONG)
    assert bar.get_attribute("max") == str(ROWS)
    page.screenshot(path=artifacts / "console-day-one-5-progress.png", full_page=True)
    page.wait_for_selector("[data-status=done]", timeout=LONG)
    assert "20,000 premises created or changed" in page.inner_text("#job-result")
    page.screenshot(path=artifacts / "console-day-one-6-done.png", full_page=True)

    bad = tmp_path / "more.csv"
    bad.write_text("id,station,name,postcode,risk_level,assessed_at\n"
                   "p00000,WIS,Renamed but the file is bad,PE13 1AA,2,2025-01-01\n"
                   "b1,XXX,,PE13 1AA,9,2025-01-01\n"
                   "b2,MAR,Bad date and level,NOPE,0,1 May 2025\n")
    page.click("nav.primary >> text=Import")
    page.set_input_files("#import-file", str(bad))
    page.click("button:has-text('Check the file')")
    page.wait_for_selector("[data-status=invalid]", timeout=LONG)
    problems = page.locator("#problems li").all_inner_texts()
    assert problems == [
        "line 3, field name: Name is required",
        "line 3, field risk_level: Risk level is too high: 9, at most 4",
        "line 3, field station: unknown station code 'XXX'",
        "line 4, field postcode: Postcode is not in the right form: use a UK postcode in "
        "capitals, such as AB1 2CD",
        "line 4, field risk_level: Risk level is too low: 0, at least 1",
        "line 4, field assessed_at: Date assessed is not in the right form: use a date such "
        "as 2026-12-01"]
    assert "6 problems in 2 rows" in page.inner_text("#problem-summary")
    page.screenshot(path=artifacts / "console-day-one-7-problems.png", full_page=True)
    page.goto("/console/premises/p00000")
    page.wait_for_selector("h1:has-text('Premises 0')")  # nothing of the bad file written
    context.close()
