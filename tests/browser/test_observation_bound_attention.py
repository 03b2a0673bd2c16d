"""A premises holds only so many open observations (WATCHBOOK_MAX_OPEN_OBSERVATIONS, engine Rule
6d): a crew's observation beyond it is not lost unseen; the app keeps it as "Not saved — needs
attention" with the server's reason in plain words, counted in the header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Server, new_device, pending, sign_in, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, where a premises may hold 2 open observations."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WATCHBOOK_MAX_OPEN_OBSERVATIONS", "2")
        s = Server(tmp_path_factory.mktemp("bound"), premises=60).start()
    yield s
    s.stop()


def test_an_observation_beyond_the_premises_bound_needs_attention_with_the_reason(
        browser, server: Server) -> None:
    context = new_device(browser, server)
    page = context.new_page()
    sign_in(page, "crew")
    record = page.evaluate("""import('/pwa/db.js').then(db => db.allPremises()).then(all => all
        .filter(r => !(r.observations || []).some(o => o.status === 'open'))
        .sort((a, b) => a.id.localeCompare(b.id))[0])""")
    pid = record["id"]
    page.evaluate("""async ([pid, version]) => {
        const db = await import('/pwa/db.js');
        const outbox = await import('/pwa/page/outbox.js');
        await outbox.enqueue(await db.getMeta('device_id'), ['o-1', 'o-2', 'o-3'].map((id) => ({
          kind: 'add_observation', premises_id: pid, base_version: version,
          observation: { id, category: 'access', note: `Key box moved (${id})` } })));
    }""", [pid, record["version"]])
    page.reload()
    page.goto(f"/#/p/{pid}")
    page.wait_for_selector("#needs-attention", timeout=20000)
    wait_until(page, "() => document.querySelector('#pending-count') === null || "
               "document.querySelector('#pending-count').dataset.count === '0'")
    block = page.locator("#needs-attention").inner_text()
    assert "Not saved — needs attention" in block
    assert ("This premises has too many observations waiting for review: this premises already "
            "has 2 observations waiting for a supervisor; ask one to review them") in block
    assert page.locator("#attention-count").inner_text() == "1 not saved"
    assert pending(page) == 0
    token = server.enrol("supervisor")
    held = [o["id"] for o in server.get(f"/api/premises/{pid}", token)["observations"]]
    assert "o-1" in held and "o-2" in held and "o-3" not in held
    context.close()
