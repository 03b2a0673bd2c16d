"""pwa/page/outbox.js: two tabs queueing and renumbering at once never hand out the same seq,
and pruning keeps every pending edit while dropping the oldest receipts."""

from __future__ import annotations

import pytest
from harness import new_device

pytestmark = pytest.mark.browser
OUTBOX = "const outbox = await import('/pwa/page/outbox.js'); const db = await import('/pwa/db.js');"


def test_two_tabs_queueing_and_renumbering_at_once_never_share_a_seq(browser, server):
    context = new_device(browser, server)
    one, two = context.new_page(), context.new_page()
    for page in (one, two):
        page.goto("/")
    queue = f"""async (device) => {{ {OUTBOX}
      const m = (i) => ({{ kind: 'update', premises_id: 'p-' + i, base_version: 0,
        changes: [{{ field: 'risk_notes', old: '', new: device + i }}] }});
      await Promise.all(Array.from({{ length: 10 }}, (_, i) => outbox.enqueue(device, [m(i), m(i + 10)])));
    }}"""
    one.evaluate(f"(device) => {{ window.queued = ({queue})(device); }}", "d1")  # not awaited
    two.evaluate(queue, "d1")
    one.evaluate("() => window.queued")
    one.evaluate(f"""async () => {{ {OUTBOX}
      await Promise.all([outbox.renumber(5, 'd2'), outbox.enqueue('d2', [{{ kind: 'update',
        premises_id: 'p-x', base_version: 0, changes: [{{ field: 'risk_notes', old: '', new: 'x' }}] }}])]);
    }}""")
    out = one.evaluate(f"""async () => {{ {OUTBOX}
      const waiting = await outbox.pending();
      return {{ seqs: waiting.map((e) => e.mutation.seq), devices: [...new Set(waiting.map((e) => e.mutation.device_id))],
        next: await db.getMeta('next_seq') }};
    }}""")
    # renumbered from 5 for d2 before or after the last enqueue, never beside it
    assert out == {"seqs": list(range(5, 46)), "devices": ["d2"], "next": 46}
    context.close()


def test_pruning_keeps_pending_edits_and_the_latest_receipts(browser, server):
    context = new_device(browser, server)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate(f"""async () => {{ {OUTBOX}
      const m = (i) => ({{ kind: 'update', premises_id: 'q-' + i, base_version: 0,
        changes: [{{ field: 'risk_notes', old: '', new: String(i) }}] }});
      await outbox.enqueue('d1', Array.from({{ length: 6 }}, (_, i) => m(i)));
      const sent = (await outbox.pending()).slice(0, 4);
      const settled = await outbox.settle(sent, sent.map((e) => ({{ seq: e.mutation.seq, status: 'applied', premises_id: e.mutation.premises_id }})));
      await outbox.prune(2);
      const all = await outbox.entries();
      return {{ settled, kept: all.map((e) => [e.mutation.seq, e.status]) }};
    }}""")
    assert out == {"settled": 4, "kept": [[3, "saved"], [4, "saved"], [5, "pending"], [6, "pending"]]}
    context.close()
