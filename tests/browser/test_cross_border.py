"""Cross-border devices in a real browser: a neighbouring fire service's crew signs in to the
app, and the premises the owning service shares with that service are on the device — only
the share's fields, marked "Shared by … — read only" with the information's age, with no Edit
or Add observation — and stay readable offline."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import FAST_ENV, ROOT, new_device, sign_in

from server import clock

pytestmark = pytest.mark.browser
PASSWORD = "a long neighbour password"
OWNER = "Norfolk Fire and Rescue"


def _watchbook(server: Any, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "server.cli", *args, "--db", str(server.db)],
                   cwd=ROOT, env={**os.environ, **FAST_ENV}, check=True, capture_output=True)


def _border_station(db: Path) -> tuple[str, dict[str, Any], int]:
    """A station, one of its level 1–2 premises holding a key box code, and how many level
    1–2 premises the station has."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE organisations SET name = ? WHERE id = 1", (OWNER,))
        for station, doc in conn.execute(
                "SELECT station, doc FROM premises WHERE deleted = 0 AND risk_level <= 2 "
                "ORDER BY id"):
            record = json.loads(doc)
            if record.get("key_box") and record.get("hazards"):
                count = conn.execute("SELECT count(*) FROM premises WHERE deleted = 0 AND "
                                     "risk_level <= 2 AND station = ?", (station,)).fetchone()
                return station, record, int(count[0])
    raise AssertionError("the demo data has no level 1–2 premises with a key box")


def test_a_neighbour_crew_device_reads_a_shared_record_read_only_offline(
        browser: Any, server: Any, artifacts: Path) -> None:
    station, record, count = _border_station(server.db)
    _watchbook(server, "partner", "add", "Suffolk Fire and Rescue", "--kind", "fire")
    _watchbook(server, "partner", "user-add", "sfrs.crew", "--organisation",
               "Suffolk Fire and Rescue", "--name", "Sam Suffolk", "--role", "crew",
               "--password", PASSWORD)
    _watchbook(server, "share", "add", "--partner", "Suffolk Fire and Rescue", "--purpose",
               "Cross-border attendance", "--expires", clock.today(30), "--stations", station,
               "--levels", "1,2")

    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "sfrs.crew", PASSWORD)
    page.wait_for_selector(f"#count:has-text('{count} premises')")
    assert page.locator("#results .shared-chip").count() == min(count, 100)
    assert f"Shared by {OWNER}" in page.locator("#results li").first.inner_text()

    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}")
    page.reload()
    page.wait_for_selector("#shared-mark")
    mark = page.locator("#shared-mark").inner_text()
    assert f"Shared by {OWNER} — read only" in mark
    assert page.locator("#shared-age").inner_text().startswith(("Last inspected",
                                                                "Never inspected"))
    assert record["name"] in page.locator("h1").inner_text()
    assert page.locator(".actions a", has_text="Edit").count() == 0
    assert page.locator(".actions a", has_text="Add observation").count() == 0
    assert page.locator("#summary-keybox dd").inner_text() == "Not shared"
    assert record["key_box"] not in page.content()
    assert page.locator("#h-observations").count() == 0
    assert page.locator("nav.jump a", has_text="Observations").count() == 0
    page.screenshot(path=artifacts / "cross-border-shared.png")

    page.goto(f"/#/p/{record['id']}/observe")
    page.wait_for_selector("h1:has-text('Read only')")
    assert OWNER in page.locator("main").inner_text()
    assert page.locator("#obs-note").count() == 0
    context.close()
