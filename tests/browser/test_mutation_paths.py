"""pwa/page/edits.js gives each case in tests/cases/mutation_paths.json the changes and record
after that sync/paths.py gives it (tests/test_paths.py): the two clients cannot drift apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import new_device

pytestmark = pytest.mark.browser
CASES = json.loads((Path(__file__).parents[1] / "cases" / "mutation_paths.json").read_text())["cases"]


def test_the_browser_client_changes_the_paths_each_case_states(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    got = page.evaluate("""async (cases) => {
      const edits = await import('/pwa/page/edits.js');
      return cases.map((c) => {
        const changes = edits.changedPaths(c.mutation, c.before, c.conflict);
        return { paths: changes.map((x) => [x.path, x.old, x.new]),
          after: edits.applyChanges(c.before, changes) };
      });
    }""", CASES)
    for case, out in zip(CASES, got, strict=True):
        assert out == {"paths": case["paths"], "after": case["after"]}, case["name"]
    context.close()


def test_the_overlay_marks_what_is_pending_and_leaves_the_server_copy_alone(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    case = next(c for c in CASES if c["mutation"]["kind"] == "update_hazard")
    out = page.evaluate("""async (c) => {
      const edits = await import('/pwa/page/edits.js');
      const before = JSON.stringify(c.before);
      const r = edits.overlay(c.before, [{ mutation: c.mutation }]);
      return { pending: [...r._pending], marked: r.hazards.map((x) => Boolean(x._pending)),
        untouched: JSON.stringify(c.before) === before };
    }""", case)
    assert out == {"pending": ["hazards"], "marked": [True], "untouched": True}
    context.close()
