"""Changing your own password in the app: Sync and device → Change password, online; the
device stays signed in and the new password is the one that works."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from harness import new_device, sign_in

pytestmark = pytest.mark.browser
CLI = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]


def test_a_crew_member_changes_their_password_in_the_app(browser, server):
    station = server.get("/api/me", server.enrol("crew"))["station"]
    subprocess.run([*CLI, "user", "add", "kim", "--name", "Kim Crew", "--role", "crew",
                    "--station", station, "--password", "first pass 123",
                    "--db", str(server.db)], check=True, capture_output=True)
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "kim", "first pass 123")
    page.goto("/#/sync")
    page.click("#change-password")
    page.fill("#current-password", "first pass 123")
    page.fill("#new-password", "abc")
    page.fill("#new-password-again", "abc")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#password-error:has-text('at least 8 characters')")
    page.fill("#new-password", "kettle on the hob 7")
    page.fill("#new-password-again", "kettle on the hob 7")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#password-changed")
    still = page.evaluate("import('/pwa/db.js').then(db => db.getMeta('token')).then(t => "
                          "fetch('/api/me', {headers: {Authorization: 'Bearer ' + t}}))"
                          ".then(r => r.status)")
    assert still == 200  # the device's token still works
    enrol = server.url + "/api/devices/enrol"
    assert httpx.post(enrol, json={"username": "kim", "password": "first pass 123"}
                      ).status_code == 401
    assert httpx.post(enrol, json={"username": "kim", "password": "kettle on the hob 7"}
                      ).status_code == 201
    context.close()
