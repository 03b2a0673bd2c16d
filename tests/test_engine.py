"""The sync engine's rules (sync/engine.py's header), over the in-memory store: refusals before
anything runs, sequence numbers, retries, gaps, and pull cursors, resets and pages."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from sync import engine
from sync.protocol import (
    AddHazard,
    CreatePremises,
    Cursor,
    FieldChange,
    Mutation,
    PullResponse,
    ResolveConflict,
    ReviewObservation,
    Update,
    UpdateHazard,
    decode_cursor,
    encode_cursor,
    pull_response_decoder,
)
from sync.record import Hazard, Premises, to_dict
from sync.store import MemoryStore

CFG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095},
                    max_push_mutations=3, pull_page_rows=2)
SAM = engine.Actor(1, "sam", "Sam", "supervisor", ("A01",), "d1")
BOTH = engine.Actor(2, "ola", "Ola", "supervisor", ("A01", "B02"), "d2")


def doc(pid: str, station: str = "A01") -> dict[str, Any]:
    return {"id": pid, "station": station, "name": f"Premises {pid}", "version": 1}


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore(["A01", "B02"])
    s.insert([doc("p1"), doc("p2"), doc("p3", "B02")])
    return s


def note(seq: int, text: str, pid: str = "p1", device: str = "d1") -> Update:
    return Update(device_id=device, seq=seq, premises_id=pid, base_version=1,
                  changes=[FieldChange("risk_notes", "", text)])


def push(store: MemoryStore, mutations: list[Mutation], actor: engine.Actor = SAM
         ) -> engine.PushResponse:
    return store.write(lambda tx: engine.push(tx, actor, mutations, "2026-01-01T00:00:00Z", CFG))


def pull(store: MemoryStore, cursor: str = "", actor: engine.Actor = SAM,
         limit: int | None = None) -> PullResponse:
    return pull_response_decoder.decode(
        store.read(lambda r: engine.pull(r, actor, cursor, limit, CFG)))


def body(*mutations: dict[str, Any]) -> bytes:
    return msgspec.json.encode({"mutations": list(mutations)})


def raw_note(seq: Any, device: str = "d1") -> dict[str, Any]:
    return {"kind": "update", "device_id": device, "seq": seq, "premises_id": "p1",
            "changes": [{"field": "risk_notes", "old": "", "new": "x"}]}


# -- Rules 1 and 2: refused before anything runs ----------------------------------------------

def test_an_old_protocol_needs_an_upgrade_and_a_newer_one_is_unsupported() -> None:
    engine.check_protocol(None)
    engine.check_protocol(engine.PROTOCOL_VERSION)
    with pytest.raises(engine.Refused) as old:
        engine.check_protocol(engine.MIN_PROTOCOL_VERSION - 1)
    with pytest.raises(engine.Refused) as new:
        engine.check_protocol(engine.PROTOCOL_VERSION + 1)
    assert (old.value.code, new.value.code) == ("upgrade_required", "protocol_unsupported")
    assert old.value.field == "protocol" and old.value.extra["supported"] == [
        engine.MIN_PROTOCOL_VERSION, engine.PROTOCOL_VERSION]


@pytest.mark.parametrize(("raw", "code", "field"), [
    (b"{", "malformed_json", None),
    (body(raw_note("x")), "invalid", "mutations[0].seq"),
    (body(raw_note(0)), "invalid", "mutations[0].seq"),
    (body(raw_note(1, device="someone-else")), "invalid", "mutations[0].device_id"),
    (body(*(raw_note(i) for i in range(1, 5))), "too_many_mutations", "mutations"),
])
def test_a_bad_push_body_is_refused_with_a_code_naming_the_field(
        raw: bytes, code: str, field: str | None) -> None:
    with pytest.raises(engine.Refused) as refused:
        engine.decode_push(raw, SAM, CFG)
    assert (refused.value.code, refused.value.field) == (code, field)


# -- Rules 3 to 6: sequence numbers, retries, gaps ---------------------------------------------

def test_the_next_seqs_apply_in_order_and_advance_the_device(store: MemoryStore) -> None:
    res = push(store, [note(1, "a"), note(2, "b", "p2")])
    assert [(r.seq, r.status) for r in res.receipts] == [(1, "applied"), (2, "applied")]
    assert (res.next_seq, res.gap) == (3, False)
    assert store.devices["d1"] == 2


def test_a_rejected_mutation_advances_the_sequence_too(store: MemoryStore) -> None:
    res = push(store, [note(1, "a", "nowhere")])
    assert [(r.status, r.reason) for r in res.receipts] == [("rejected", "unknown_premises")]
    assert res.next_seq == 2


def test_a_retried_seq_returns_its_stored_receipt_and_changes_nothing(
        store: MemoryStore) -> None:
    first = push(store, [note(1, "first")])
    audited = len(store.audit)
    again = push(store, [note(1, "something else")])
    assert again.receipts == first.receipts and again.next_seq == 2
    record = store.get("p1")
    assert record is not None and record["risk_notes"] == "first" and record["version"] == 2
    assert len(store.audit) == audited


def test_a_retried_seq_whose_receipt_is_gone_is_rejected_and_changes_nothing(
        store: MemoryStore) -> None:
    push(store, [note(1, "first")])
    del store.receipts[("d1", 1)]
    [receipt] = push(store, [note(1, "again")]).receipts
    assert (receipt.status, receipt.reason) == ("rejected", "invalid")
    record = store.get("p1")
    assert record is not None and record["risk_notes"] == "first"


def test_a_gap_stops_the_batch_keeps_what_ran_and_says_where_to_resume(
        store: MemoryStore) -> None:
    res = push(store, [note(1, "kept"), note(3, "skipped ahead", "p2"), note(4, "later", "p2")])
    assert [r.seq for r in res.receipts] == [1]
    assert (res.gap, res.next_seq) == (True, 2)
    p1, p2 = store.get("p1"), store.get("p2")
    assert p1 is not None and p1["risk_notes"] == "kept"
    assert p2 is not None and "risk_notes" not in p2


def test_a_new_premises_is_created_at_version_1_and_a_second_create_is_refused(
        store: MemoryStore) -> None:
    record = Premises(id="p9", station="A01", name="New premises")
    make = CreatePremises(device_id="d1", seq=1, premises_id="p9", record=to_dict(record))
    again = CreatePremises(device_id="d1", seq=2, premises_id="p9", record=to_dict(record))
    first, second = push(store, [make, again]).receipts
    assert (first.status, first.version) == ("applied", 1)
    assert (second.status, second.reason) == ("rejected", "exists")


def test_mutations_that_cannot_apply_are_rejected_naming_why(store: MemoryStore) -> None:
    far = engine.Actor(3, "kim", "Kim", "supervisor", ("A01", "Z99"), "d3")
    base = {"device_id": "d3", "premises_id": "p1", "base_version": 1}
    hazard = Hazard(id="h1", type="asbestos")
    cases: list[tuple[Mutation, str]] = [
        (Update(**base, changes=[FieldChange("version", 1, 9)]), "invalid"),
        (Update(**base, changes=[FieldChange("risk_level", 4, 9)]), "invalid"),
        (Update(**base, changes=[FieldChange("station", "A01", "Z99")]), "invalid"),
        (UpdateHazard(**base, hazard_id="h9", changes=[FieldChange("type", "a", "b")]),
         "unknown_hazard"),
        (AddHazard(**base, hazard=hazard), "applied"),
        (UpdateHazard(**base, hazard_id="h1", changes=[FieldChange("colour", "", "red")]),
         "invalid"),
        (ReviewObservation(**base, observation_id="o9", status="accepted"), "invalid"),
        (ResolveConflict(**base, conflict_id="nope", choice="server"), "unknown_conflict"),
        (CreatePremises(device_id="d3", premises_id="p8",
                        record=to_dict(Premises(id="p7", station="A01", name="x"))), "invalid"),
        (CreatePremises(device_id="d3", premises_id="p8",
                        record=to_dict(Premises(id="p8", station="Z99", name="x"))), "invalid"),
    ]
    mutations = [msgspec.structs.replace(m, seq=i) for i, (m, _) in enumerate(cases, 1)]
    receipts = push(store, mutations, actor=far).receipts
    assert [r.reason or r.status for r in receipts] == [want for _, want in cases]
    record = store.get("p1")
    assert record is not None and record["version"] == 2  # only the hazard was added


# -- Rules 7 to 11: pull ----------------------------------------------------------------------

def test_a_first_pull_counts_the_scope_and_pages_it(store: MemoryStore) -> None:
    first = pull(store, limit=1)
    assert (first.total, len(first.changes), first.more, first.reset) == (2, 1, True, False)
    rest = pull(store, first.cursor)
    assert (rest.total, len(rest.changes), rest.more) == (None, 1, False)
    ids = {c.record["id"] for c in first.changes + rest.changes}  # type: ignore[union-attr]
    assert ids == {"p1", "p2"}


def test_an_unusable_cursor_restarts_the_scope_with_reset(store: MemoryStore) -> None:
    epoch = store.epoch_value
    store.insert([{**doc("gone"), "deleted": True}])
    purged_at = store.seq
    store.purge_tombstones(purged_at)
    for cursor in ("garbage!", encode_cursor(Cursor("another-epoch", 1, ["A01"])),
                   encode_cursor(Cursor(epoch, store.seq + 5, ["A01"])),
                   encode_cursor(Cursor(epoch, purged_at - 1, ["A01"]))):
        page = pull(store, cursor)
        assert page.reset and page.total == 2, cursor


def test_shrunk_grounds_list_what_left_and_grown_grounds_restart(store: MemoryStore) -> None:
    wide = pull(store, actor=BOTH).cursor
    while (page := pull(store, wide, actor=BOTH)).changes:
        wide = page.cursor
    shrunk = pull(store, wide, actor=SAM)
    assert shrunk.left_scope == ["p3"] and not shrunk.reset and shrunk.changes == []
    narrow = pull(store, shrunk.cursor, actor=SAM).cursor
    grown = pull(store, narrow, actor=BOTH)
    assert (grown.reset, grown.total) == (False, 3)


def test_a_record_moved_out_of_the_grounds_is_listed_as_left(store: MemoryStore) -> None:
    cursor = pull(store, "", limit=10).cursor
    move = Update(device_id="d2", seq=1, premises_id="p1", base_version=1,
                  changes=[FieldChange("station", "A01", "B02")])
    assert push(store, [move], actor=BOTH).receipts[0].status == "applied"
    page = pull(store, cursor)
    assert page.left_scope == ["p1"] and page.changes == []


def test_the_last_page_cursor_moves_past_changes_outside_the_grounds(
        store: MemoryStore) -> None:
    cursor = pull(store, "", limit=10).cursor
    push(store, [note(1, "elsewhere", "p3", device="d2")], actor=BOTH)
    page = pull(store, cursor)
    assert page.changes == [] and not page.more
    moved = decode_cursor(page.cursor)
    assert moved is not None and moved.seq == store.seq
