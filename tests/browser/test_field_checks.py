"""Nothing a person did vanishes unseen: the app checks an edit before saving, with the server's
limits and words, beside the field; an edit the server still refuses stays on the record as
"Not saved — needs attention", counted in the header, until the person fixes and resends it or
discards it, and the valid changes saved with it come back for re-editing."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from harness import new_device, pending, sign_in, wait_synced

pytestmark = pytest.mark.browser
LONG_PLAN = "Ventilate from the roof hatch. " * 2200  # 66,000 characters: over the 20,000 limit


def pick(page, index: int):
    return page.evaluate(
        f"import('/pwa/db.js').then(db => db.allPremises()).then(all => all.sort((a, b) =>"
        f" a.id.localeCompare(b.id))[{index}])")


def violations(page) -> list[str]:
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
            for v in Axe().run(page).response["violations"]]


def test_an_invalid_offline_edit_is_refused_with_the_message_beside_the_field(browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = pick(page, 11)
    context.set_offline(True)
    page.goto(f"/#/p/{record['id']}/edit")
    page.fill("#f-postcode", "ZZ9")
    page.eval_on_selector("#f-tactical_plan", "(el, v) => { el.value = v; }", LONG_PLAN)
    page.fill("#f-risk_notes", "Roof hatch key in the key box.")
    page.click("text=Save changes")

    plan_error = page.locator("#group-tactics .field-error")
    assert plan_error.inner_text() == (
        f"Tactical plan is too long: {len(LONG_PLAN):,} characters, at most 20,000")
    assert page.locator("#group-identity .field-error").inner_text() == (
        "Postcode is not in the right form: use a UK postcode in capitals, such as AB1 2CD")
    assert page.evaluate("document.activeElement.id") == "f-postcode"  # the first problem
    assert page.get_attribute("#f-tactical_plan", "aria-invalid") == "true"
    assert pending(page) == 0
    page.locator("#f-tactical_plan").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "edit-refused-beside-field.png")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme

    page.fill("#f-postcode", record["postcode"])
    page.fill("#f-tactical_plan", "Ventilate from the roof hatch.")
    page.click("text=Save changes")
    page.wait_for_selector("#h-hazards")
    assert pending(page) == 1
    context.set_offline(False)
    page.wait_for_selector(".receipt-saved", timeout=20000)
    doc = server.get(f"/api/premises/{record['id']}", server.enrol("admin"))
    assert doc["tactical_plan"] == "Ventilate from the roof hatch."
    assert doc["risk_notes"] == "Roof hatch key in the key box."
    context.close()


def queue_unchecked(page, mutation: dict) -> None:
    """Queue a mutation as an app version without these checks would have, then show it."""
    page.evaluate("""async (m) => {
        const db = await import('/pwa/db.js');
        const outbox = await import('/pwa/page/outbox.js');
        await outbox.enqueue(await db.getMeta('device_id'), [m]);
    }""", mutation)
    page.reload()
    page.wait_for_selector("#pending-count")


def test_a_server_rejected_edit_is_kept_as_needing_attention_and_resent_after_a_fix(
        browser, server, artifacts):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = pick(page, 12)
    pid = record["id"]
    context.set_offline(True)
    queue_unchecked(page, {"kind": "update", "premises_id": pid, "base_version": record["version"],
                           "changes": [{"field": "tactical_plan", "old": record["tactical_plan"], "new": LONG_PLAN},
                                       {"field": "risk_notes", "old": record["risk_notes"],
                                        "new": "Cylinders moved to the rear yard."}]})
    assert pending(page) == 1
    context.set_offline(False)
    page.goto(f"/#/p/{pid}")
    page.wait_for_selector("#needs-attention", timeout=20000)
    block = page.locator("#needs-attention")
    assert "Not saved — needs attention" in block.inner_text()
    assert (f"Tactical plan is too long: {len(LONG_PLAN):,} characters, at most 20,000"
            in block.inner_text())
    assert pending(page) == 0
    assert page.locator("#attention-count").inner_text() == "1 not saved"
    page.screenshot(path=artifacts / "needs-attention.png")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme
    page.emulate_media(color_scheme="light")
    token = server.enrol("admin")
    assert server.get(f"/api/premises/{pid}", token)["risk_notes"] == record["risk_notes"]

    page.click("#needs-attention a:has-text('Fix and send again')")
    page.wait_for_selector("#fixing")
    assert page.input_value("#f-risk_notes") == "Cylinders moved to the rear yard."  # not lost
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'f-tactical_plan'")
    assert "at most 20,000" in page.locator("#group-tactics .field-error").inner_text()
    page.screenshot(path=artifacts / "needs-attention-fix.png")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], f"fix form {scheme}"
    page.emulate_media(color_scheme="light")
    page.fill("#f-tactical_plan", "Ventilate from the roof hatch; cylinders at the rear.")
    page.click("text=Save and send again")
    page.wait_for_selector(".receipt-saved >> text=Changed tactical plan", timeout=20000)
    wait_synced(page)
    assert page.locator("#needs-attention").count() == 0
    assert page.locator("#attention-count").count() == 0
    doc = server.get(f"/api/premises/{pid}", token)
    assert doc["tactical_plan"] == "Ventilate from the roof hatch; cylinders at the rear."
    assert doc["risk_notes"] == "Cylinders moved to the rear yard."
    page.goto("/#/sync")
    assert "Not saved — sent again after a fix" in page.locator("#receipts").inner_text()
    context.close()


def test_a_refused_edit_is_discarded_only_when_the_person_confirms(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "supervisor")
    record = pick(page, 13)
    queue_unchecked(page, {"kind": "update", "premises_id": record["id"], "base_version": record["version"],
                           "changes": [{"field": "risk_score", "old": record["risk_score"], "new": 250}]})
    page.goto("/#/sync")
    page.wait_for_selector("#needs-attention", timeout=20000)
    assert "Risk score is too high: 250, at most 100" in page.locator("#needs-attention").inner_text()
    page.click("#needs-attention button:has-text('Discard this change')")
    page.click("#dialog >> text=Keep it")
    assert page.locator("#needs-attention").count() == 1
    page.click("#needs-attention button:has-text('Discard this change')")
    page.click("#dialog >> text=Discard the change")
    page.wait_for_selector("#needs-attention", state="detached")
    assert "Not saved — discarded" in page.locator("#receipts").inner_text()
    assert page.locator("#attention-count").count() == 0
    context.close()
