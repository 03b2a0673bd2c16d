"""The sync engine's rules one behaviour at a time (sync/engine.py) over the memory store:
request checks, the seq rules of push, each mutation kind, conflicts and their resolution,
audit and authorship, and pull's cursor rules at their boundaries."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import msgspec
import pytest

from server.api.sync import REFUSAL_STATUS
from sync import engine, problems
from sync.protocol import (
    MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
    AddHazard,
    AddObservation,
    Attach,
    CreatePremises,
    Cursor,
    DeletePremises,
    Detach,
    FieldChange,
    Mutation,
    PullResponse,
    Receipt,
    RemoveHazard,
    ResolveConflict,
    ReviewObservation,
    Update,
    UpdateHazard,
    decode_cursor,
    encode_cursor,
    encoder,
    pull_response_decoder,
)
from sync.record import Attachment, Hazard, Observation, Premises
from sync.store import MemoryStore

INTERVALS = {1: 365, 2: 730, 3: 1095, 4: 1095}
CFG = engine.Config(review_interval_days=INTERVALS, max_push_mutations=4, pull_page_rows=100,
                    pull_page_bytes=10**6)
SAM = engine.Actor(1, "sam", "Sam", "supervisor", ("A01", "B02"), "d1")
OLA = engine.Actor(2, "ola", "Ola", "admin", ("A01",), "d2")
CAT = engine.Actor(3, "cat", "Cat", "crew", ("A01",), "d3")
SHA = "ab" * 32
SHA2 = "cd" * 32


def record(pid: str = "p1", station: str = "A01", **fields: Any) -> dict[str, Any]:
    return {"id": pid, "station": station, "name": "Mill", "version": 1, **fields}


def world(*docs: dict[str, Any]) -> MemoryStore:
    store = MemoryStore(["A01", "B02", "C03"])
    store.insert(list(docs) or [record()])
    return store


class Dev:
    """One device of `actor`: numbers its mutations 1, 2, 3 ... and pushes them."""

    def __init__(self, store: MemoryStore, actor: engine.Actor):
        self.store, self.actor, self.seq, self.clock = store, actor, 0, 0

    def make(self, cls: type[Any], **kw: Any) -> Any:
        self.seq += 1
        kw.setdefault("premises_id", "p1")
        kw.setdefault("base_version", 1)
        return cls(device_id=self.actor.device_id, seq=self.seq, client_time=f"c{self.seq}",
                   **kw)

    def push(self, *mutations: Mutation) -> Any:
        self.clock += 1
        now = f"2026-01-01T10:00:{self.clock:02d}Z"
        return self.store.write(
            lambda tx: engine.push(tx, self.actor, list(mutations), now, CFG))

    def send(self, cls: type[Any], **kw: Any) -> Receipt:
        [receipt] = self.push(self.make(cls, **kw)).receipts
        return receipt

    def update(self, *changes: tuple[str, Any, Any], **kw: Any) -> Receipt:
        return self.send(Update, changes=[FieldChange(*c) for c in changes], **kw)


def doc(store: MemoryStore, pid: str = "p1") -> dict[str, Any]:
    got = store.get(pid)
    assert got is not None
    return got


def conflict(store: MemoryStore, cid: str) -> dict[str, Any]:
    got = store.get_conflict(cid)
    assert got is not None
    return got


def attachment(aid: str = "a1", sha: str = SHA, **kw: Any) -> Attachment:
    return Attachment(id=aid, sha256=sha, kind=kw.pop("kind", "photo"),
                      content_type="image/jpeg", size=10, **kw)


# -- requests ---------------------------------------------------------------------------------

def body(*mutations: dict[str, Any], **extra: Any) -> bytes:
    return msgspec.json.encode({"mutations": list(mutations), **extra})


def raw(seq: int = 1, device: str = "d1", **kw: Any) -> dict[str, Any]:
    return {"kind": "delete", "device_id": device, "seq": seq, "premises_id": "p1", **kw}


def refusal(data: bytes) -> engine.Refused:
    with pytest.raises(engine.Refused) as info:
        engine.decode_push(data, SAM, CFG)
    return info.value


def test_a_push_of_exactly_the_limit_is_accepted_and_one_more_is_413() -> None:
    ok = engine.decode_push(body(*[raw(i) for i in range(1, 5)]), SAM, CFG)
    assert [m.seq for m in ok.mutations] == [1, 2, 3, 4]
    exc = refusal(body(*[raw(i) for i in range(1, 6)]))
    assert (REFUSAL_STATUS[exc.code], exc.code, exc.field, exc.extra) == (413, "too_many_mutations",
                                                            "mutations", {"limit": 4})
    assert str(exc) == exc.message
    assert exc.message == "a push holds at most 4 mutations; send 5 as several batches"


def test_bad_json_is_400_without_a_field() -> None:
    exc = refusal(b"{nope")
    assert (REFUSAL_STATUS[exc.code], exc.code, exc.field) == (400, "malformed_json", None)
    assert exc.message.startswith("request body is not valid JSON: ")


def test_a_wrong_type_is_422_naming_the_field_path() -> None:
    exc = refusal(body(raw(1), raw("two")))  # type: ignore[arg-type]
    assert (REFUSAL_STATUS[exc.code], exc.code, exc.field) == (422, "invalid", "mutations[1].seq")
    assert exc.message == "Expected `int`, got `str`"


def test_a_body_of_the_wrong_shape_is_422_without_a_field() -> None:
    exc = refusal(b"[]")
    assert (REFUSAL_STATUS[exc.code], exc.code, exc.field) == (422, "invalid", None)


def test_seq_zero_is_refused_naming_the_mutation_and_seq_one_is_accepted() -> None:
    exc = refusal(body(raw(1), raw(0)))
    assert (REFUSAL_STATUS[exc.code], exc.code, exc.field, exc.message) == (
        422, "invalid", "mutations[1].seq", "seq must be 1 or more")
    assert engine.decode_push(body(raw(1)), SAM, CFG).mutations[0].seq == 1


def test_a_mutation_of_another_device_is_refused_naming_it() -> None:
    exc = refusal(body(raw(1), raw(2, device="d9")))
    assert (REFUSAL_STATUS[exc.code], exc.code, exc.field, exc.message) == (
        422, "invalid", "mutations[1].device_id", "device_id is not the device of this token")


def test_protocol_versions_outside_the_spoken_range_are_refused() -> None:
    engine.check_protocol(None)
    engine.check_protocol(MIN_PROTOCOL_VERSION)
    engine.check_protocol(PROTOCOL_VERSION)
    with pytest.raises(engine.Refused) as old:
        engine.check_protocol(MIN_PROTOCOL_VERSION - 1)
    assert (REFUSAL_STATUS[old.value.code], old.value.code, old.value.field) == (426, "upgrade_required",
                                                                   "protocol")
    assert old.value.extra == {"supported": [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]}
    assert "update the app" in old.value.message
    with pytest.raises(engine.Refused) as new:
        engine.check_protocol(PROTOCOL_VERSION + 1)
    assert (REFUSAL_STATUS[new.value.code], new.value.code, new.value.field) == (400, "protocol_unsupported",
                                                                   "protocol")
    assert new.value.extra == {"supported": [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]}
    assert str(PROTOCOL_VERSION + 1) in new.value.message
    exc = refusal(body(raw(1), protocol=PROTOCOL_VERSION + 1))
    assert exc.code == "protocol_unsupported"


# -- push: sequence -----------------------------------------------------------------------

def test_a_batch_that_starts_with_a_retry_applies_the_rest() -> None:
    store = world()
    d = Dev(store, SAM)
    first = d.make(Update, changes=[FieldChange("name", "Mill", "A")])
    d.push(first)
    second = d.make(Update, base_version=2, changes=[FieldChange("rvp", "", "Gate")])
    resp = d.push(first, second)
    assert [(r.seq, r.status) for r in resp.receipts] == [(1, "applied"), (2, "applied")]
    assert (resp.next_seq, resp.gap) == (3, False)
    assert doc(store)["rvp"] == "Gate" and doc(store)["version"] == 3
    assert store.devices["d1"] == 2


def test_a_retry_returns_the_stored_receipt_and_changes_nothing() -> None:
    store = world()
    d = Dev(store, SAM)
    m = d.make(Update, changes=[FieldChange("name", "Mill", "A")])
    first = d.push(m).receipts
    again = d.push(m)
    assert again.receipts == first and again.next_seq == 2
    assert doc(store)["version"] == 2 and len(store.audit) == 1
    assert store.receipts[("d1", 1)] == first[0]


def test_a_retry_whose_receipt_expired_is_answered_rejected_and_changes_nothing() -> None:
    store = world()
    store.devices["d1"] = 3
    d = Dev(store, SAM)
    m = d.make(DeletePremises)
    resp = d.push(m)
    assert resp.receipts == [Receipt(seq=1, status="rejected", premises_id="p1",
                                     reason="invalid",
                                     message="this seq was applied; receipt expired")]
    assert resp.next_seq == 4 and not resp.gap
    assert doc(store)["version"] == 1 and store.audit == [] and ("d1", 1) not in store.receipts


def test_a_gap_stops_the_batch_and_applies_nothing_after_it() -> None:
    store = world()
    d = Dev(store, SAM)
    one = d.make(Update, changes=[FieldChange("name", "Mill", "A")])
    d.seq += 1
    three = d.make(Update, base_version=2, changes=[FieldChange("rvp", "", "Gate")])
    resp = d.push(one, three)
    assert [r.seq for r in resp.receipts] == [1] and resp.gap and resp.next_seq == 2
    assert doc(store).get("rvp", "") == "" and store.devices["d1"] == 1


def test_a_rejected_mutation_advances_the_sequence_and_its_receipt_is_stored() -> None:
    store = world()
    d = Dev(store, SAM)
    resp = d.push(d.make(DeletePremises, premises_id="nope"))
    assert resp.receipts == [Receipt(seq=1, status="rejected", premises_id="nope",
                                     reason="unknown_premises", message="no premises nope")]
    assert resp.next_seq == 2 and store.devices["d1"] == 1
    assert store.receipts[("d1", 1)] == resp.receipts[0]


# -- authorisation ----------------------------------------------------------------------------

def test_crew_may_not_edit_and_the_receipt_says_why() -> None:
    store = world()
    r = Dev(store, CAT).update(("name", "Mill", "A"))
    assert (r.status, r.reason, r.message) == ("rejected", "forbidden",
                                               "a crew may only add observations")
    assert doc(store)["version"] == 1


def test_a_record_outside_the_grounds_is_forbidden() -> None:
    store = world(record("p1", "C03"))
    r = Dev(store, SAM).update(("name", "Mill", "A"))
    assert (r.reason, r.message) == ("forbidden", "premises p1 is outside your grounds")


def test_moving_a_record_needs_an_existing_station_in_the_grounds() -> None:
    store = world()
    d = Dev(store, SAM)
    r = d.update(("station", "A01", "C03"))
    assert (r.reason, r.message) == ("forbidden", "station C03 is outside your grounds")
    store.stations.discard("B02")
    r = d.update(("station", "A01", "B02"))
    assert (r.reason, r.message) == ("invalid", "no station B02")
    assert doc(store)["station"] == "A01"


def test_an_open_conflict_follows_its_record_to_a_new_station() -> None:
    store = world(record(risk_notes="a"))
    d = Dev(store, SAM)
    d.update(("risk_notes", "a", "b"))
    [cid] = d.update(("risk_notes", "x", "y")).conflict_ids
    r = d.update(("station", "A01", "B02"), base_version=2)
    assert r.status == "applied" and doc(store)["station"] == "B02"
    assert conflict(store, cid)["station"] == "B02"


# -- update -----------------------------------------------------------------------------------

def test_a_field_a_device_may_not_change_is_rejected() -> None:
    store = world()
    r = Dev(store, SAM).update(("name", "Mill", "A"), ("version", 1, 9))
    assert (r.status, r.reason, r.message) == (
        "rejected", "invalid", "version is not a field a device may change")
    assert doc(store)["name"] == "Mill"


def test_an_update_onto_a_newer_version_is_merged_and_keeps_the_other_edit() -> None:
    store = world()
    d = Dev(store, SAM)
    assert d.update(("name", "Mill", "A")).status == "applied"
    r = d.update(("rvp", "", "Gate"))  # still base version 1
    assert (r.status, r.version, r.conflict_ids) == ("merged", 3, [])
    assert (doc(store)["name"], doc(store)["rvp"]) == ("A", "Gate")


def test_an_update_that_changes_nothing_writes_no_version() -> None:
    store = world()
    r = Dev(store, SAM).update(("name", "Old", "Mill"))
    assert (r.status, r.version) == ("applied", 1)
    assert doc(store)["version"] == 1
    [entry] = store.audit
    assert (entry["version"], entry["before"], entry["after"]) == (1, {}, {})


def test_an_invalid_result_is_rejected_naming_the_field() -> None:
    store = world()
    r = Dev(store, SAM).update(("name", "Mill", ""))
    assert (r.status, r.reason) == ("rejected", "invalid")
    assert r.message == "Name is required"  # plain words, naming the field (sync/problems.py)
    assert doc(store)["name"] == "Mill"


def test_next_review_due_follows_the_level_interval_of_the_config() -> None:
    store = world()
    d = Dev(store, SAM)
    d.update(("assessed_at", None, "2024-01-01"), ("risk_level", 4, 2))
    assert doc(store)["next_review_due"] == "2025-12-31"  # level 2: 730 days
    d.update(("risk_level", 2, 1), base_version=2)
    assert doc(store)["next_review_due"] == "2024-12-31"  # level 1: 365 days


def test_an_edit_under_an_open_conflict_clashes_even_when_old_matches() -> None:
    """Rule 5 through the engine: the open conflict's path is locked."""
    store = world(record(risk_notes="a"))
    d = Dev(store, SAM)
    d.update(("risk_notes", "a", "b"))
    [cid] = d.update(("risk_notes", "a", "c")).conflict_ids
    r = d.update(("risk_notes", "b", "d"), ("rvp", "", "Gate"), base_version=2)
    assert r.status == "conflict" and len(r.conflict_ids) == 1
    assert doc(store)["risk_notes"] == "b" and doc(store)["rvp"] == "Gate"
    assert conflict(store, r.conflict_ids[0])["client"] == "d"
    assert d.update(("risk_notes", "x", "b"), base_version=3).status == "applied"
    assert conflict(store, cid)["status"] == "open"


def test_a_conflict_holds_both_values_and_both_authors() -> None:
    store = world(record(risk_notes="a"))
    Dev(store, OLA).update(("risk_notes", "a", "ola's"))
    d = Dev(store, SAM)
    r = d.update(("risk_notes", "a", "sam's"), ("name", "Old", "Other"))
    assert (r.status, r.version, r.conflict_ids) == ("conflict", 2, ["d1-1-0", "d1-1-1"])
    c = conflict(store, "d1-1-0")
    assert c == {
        "id": "d1-1-0", "premises_id": "p1", "station": "A01", "path": "risk_notes",
        "base": "a", "server": "ola's", "client": "sam's",
        "server_author": {"user": "ola", "device": "d2", "at": "2026-01-01T10:00:01Z",
                          "client_time": "c1"},
        "client_author": {"user": "sam", "device": "d1", "at": "2026-01-01T10:00:01Z",
                          "client_time": "c1"},
        "mutation": None, "status": "open", "resolution": None, "resolved_value": None,
        "resolved_by": None, "created_at": "2026-01-01T10:00:01Z"}
    assert conflict(store, "d1-1-1")["path"] == "name"


def test_the_server_author_of_a_hazard_field_is_the_writer_of_the_hazard() -> None:
    store = world()
    Dev(store, OLA).send(AddHazard, hazard=Hazard(id="h1", type="lpg", location="Yard"))
    sam = Dev(store, SAM)
    sam.update(("name", "Mill", "Works"), base_version=2)  # the record's last updater: sam
    r = sam.send(UpdateHazard, hazard_id="h1", changes=[FieldChange("location", "Gate", "Roof")])
    c = conflict(store, r.conflict_ids[0])
    assert c["path"] == "hazards/h1/location"
    assert c["server_author"] == {"user": "ola", "device": "d2", "at": "2026-01-01T10:00:01Z",
                                  "client_time": "c1"}


def test_without_a_writer_the_server_author_is_the_last_updater() -> None:
    store = world(record(rvp="x", updated_by="imp", updated_at="2025-01-01"))
    r = Dev(store, SAM).update(("rvp", "y", "z"))
    assert conflict(store, r.conflict_ids[0])["server_author"] == {"user": "imp",
                                                                  "at": "2025-01-01"}
    store = world(record(rvp="x"))
    r = Dev(store, SAM).update(("rvp", "y", "z"))
    assert conflict(store, r.conflict_ids[0])["server_author"] is None
    store = world(record(rvp="x", updated_by="imp"))
    r = Dev(store, SAM).update(("rvp", "y", "z"))
    assert conflict(store, r.conflict_ids[0])["server_author"] == {"user": "imp"}


def test_every_applied_mutation_leaves_a_full_audit_entry() -> None:
    store = world(record(risk_notes="a"))
    d = Dev(store, SAM)
    d.update(("risk_notes", "a", "b"), ("name", "Mill", "Works"))
    r = d.update(("risk_notes", "a", "c"))
    first, second = store.audit
    assert first == {
        "premises_id": "p1", "kind": "update", "user": "sam", "device_id": "d1", "seq": 1,
        "replayed": False, "client_time": "c1", "server_time": "2026-01-01T10:00:01Z",
        "version": 2, "before": {"name": "Mill", "risk_notes": "a"},
        "after": {"name": "Works", "risk_notes": "b"}, "conflict_ids": [],
        "resolved_conflict": None}
    assert (second["seq"], second["version"], second["after"], second["conflict_ids"]) == (
        2, 2, {}, r.conflict_ids)
    assert store.writers["p1"]["risk_notes"] == {"user": "sam", "device": "d1",
                                                "at": "2026-01-01T10:00:01Z",
                                                "client_time": "c1"}


def test_each_write_sets_version_and_who_and_when() -> None:
    store = world()
    Dev(store, SAM).update(("name", "Mill", "A"))
    got = doc(store)
    assert (got["version"], got["updated_at"], got["updated_by"]) == (
        2, "2026-01-01T10:00:01Z", "sam")


def test_list_fields_clash_instead_of_merging() -> None:
    pump = {"kind": "hydrant", "location": "Gate", "notes": ""}
    tank = {"kind": "static_tank", "location": "Yard", "notes": ""}
    store = world(record(water_supplies=[pump], contacts=[{"name": "Al", "role": "",
                                                           "phone": ""}]))
    d = Dev(store, SAM)
    d.update(("water_supplies", [pump], [pump, tank]))
    r = d.update(("water_supplies", [pump], []),
                 ("contacts", [{"name": "Bo", "role": "", "phone": ""}], []))
    assert r.status == "conflict" and len(r.conflict_ids) == 2
    assert doc(store)["water_supplies"] == [pump, tank]
    assert len(doc(store)["contacts"]) == 1


# -- hazards and observations -----------------------------------------------------------------

def test_hazards_are_added_edited_and_removed() -> None:
    store = world()
    d = Dev(store, SAM)
    d.send(AddHazard, hazard=Hazard(id="h1", type="lpg"))
    r = d.send(UpdateHazard, hazard_id="h1", base_version=2,
               changes=[FieldChange("location", "", "Yard"), FieldChange("severity",
                                                                         "medium", "high")])
    assert r.status == "applied"
    assert doc(store)["hazards"][0] == {"id": "h1", "type": "lpg", "location": "Yard",
                                        "description": "", "severity": "high",
                                        "hazchem": "", "expires": None}
    assert d.send(RemoveHazard, hazard_id="h1", base_version=3).status == "applied"
    assert doc(store)["hazards"] == []


def test_removing_a_hazard_the_device_saw_differently_is_a_conflict() -> None:
    store = world(record(hazards=[{"id": "h1", "type": "lpg", "location": "Yard"}]))
    r = Dev(store, SAM).send(RemoveHazard, hazard_id="h1",
                             old=Hazard(id="h1", type="lpg", location="Gate"))
    assert r.status == "conflict" and len(doc(store)["hazards"]) == 1
    assert conflict(store, r.conflict_ids[0])["base"]["location"] == "Gate"


def test_an_update_of_an_unknown_hazard_or_a_non_hazard_field_is_rejected() -> None:
    store = world(record(hazards=[{"id": "h1", "type": "lpg"}]))
    d = Dev(store, SAM)
    r = d.send(UpdateHazard, hazard_id="h9", changes=[FieldChange("location", "", "x")])
    assert (r.reason, r.message) == ("unknown_hazard", "no hazard h9 on p1")
    r = d.send(UpdateHazard, hazard_id="h1", changes=[FieldChange("id", "h1", "h2")])
    assert (r.reason, r.message) == ("invalid", "id is not a hazard field")


def test_an_observation_is_opened_in_the_name_of_its_author_and_reviewed() -> None:
    store = world()
    crew = Dev(store, CAT)
    r = crew.send(AddObservation, observation=Observation(id="o1", category="access",
                                                          note="gate", status="accepted"))
    assert r.status == "applied"
    crew.send(AddObservation, base_version=2,
              observation=Observation(id="o2", category="water", note="dry", by="Someone"))
    o1, o2 = doc(store)["observations"]
    assert (o1["by"], o1["status"], o2["by"], o2["status"]) == ("Cat", "open", "Cat",
                                                                "open")
    d = Dev(store, SAM)
    assert d.send(ReviewObservation, observation_id="o1", status="accepted",
                  base_version=3).status == "applied"
    assert doc(store)["observations"][0]["status"] == "accepted"
    r = d.send(ReviewObservation, observation_id="o9", status="dismissed")
    assert (r.reason, r.message) == ("invalid", "no observation o9")


# -- attachments ------------------------------------------------------------------------------

def test_an_attachment_records_who_when_and_whether_the_blob_is_here() -> None:
    store = world()
    store.blobs.add(SHA)
    d = Dev(store, SAM)
    r = d.send(Attach, attachment=attachment("a1", caption="front"))
    d.send(Attach, base_version=2, attachment=attachment("a2", SHA2, kind="site_plan"))
    assert r.status == "applied"
    a1, a2 = doc(store)["attachments"]
    assert a1 == {"id": "a1", "sha256": SHA, "kind": "photo", "content_type": "image/jpeg",
                  "size": 10, "caption": "front", "observation_id": None, "available": True,
                  "by": "Sam", "at": "2026-01-01T10:00:01Z"}
    assert (a2["available"], a2["at"]) == (False, "2026-01-01T10:00:02Z")


def test_a_re_sent_attach_is_a_no_op_and_a_new_blob_under_the_same_id_clashes() -> None:
    store = world()
    d = Dev(store, SAM)
    d.send(Attach, attachment=attachment())
    r = d.send(Attach, base_version=2, attachment=attachment(caption="changed"))
    assert (r.status, r.version) == ("applied", 2) and doc(store)["version"] == 2
    r = d.send(Attach, base_version=2, attachment=attachment(sha=SHA2))
    assert r.status == "conflict" and doc(store)["attachments"][0]["sha256"] == SHA


def test_crew_may_attach_only_a_photo_of_an_existing_observation() -> None:
    store = world(record(observations=[{"id": "o1", "category": "access", "note": "n"}]))
    crew = Dev(store, CAT)
    message = "a crew may only attach photos to an observation"
    r = crew.send(Attach, attachment=attachment("a1", kind="floor_plan", observation_id="o1"))
    assert (r.reason, r.message) == ("forbidden", message)
    r = crew.send(Attach, attachment=attachment("a2"))
    assert (r.reason, r.message) == ("forbidden", message)
    r = crew.send(Attach, attachment=attachment("a3", observation_id="o9"))
    assert (r.reason, r.message) == ("invalid", "no observation o9")
    assert crew.send(Attach, attachment=attachment("a4", observation_id="o1")).status == \
        "applied"
    assert Dev(store, SAM).send(Attach, base_version=2,
                                attachment=attachment("a5", kind="site_plan")).status == \
        "applied"


def test_detach_drops_the_reference_unless_the_device_saw_another() -> None:
    store = world()
    d = Dev(store, SAM)
    d.send(Attach, attachment=attachment("a1"))
    d.send(Attach, base_version=2, attachment=attachment("a2", SHA2))
    r = d.send(Detach, attachment_id="a2", old=attachment("a2", SHA))
    assert r.status == "conflict"
    assert conflict(store, r.conflict_ids[0])["base"]["sha256"] == SHA
    assert d.send(Detach, attachment_id="a1", base_version=3).status == "applied"
    assert [a["id"] for a in doc(store)["attachments"]] == ["a2"]


# -- create and delete ------------------------------------------------------------------------

def test_create_makes_version_one_with_its_review_date_and_a_full_audit() -> None:
    store = world()
    new = Premises(id="p9", station="B02", name="New", assessed_at="2024-01-01", risk_level=3,
                   version=7, deleted=True)  # the server's to set, whatever the device sent
    r = Dev(store, SAM).send(CreatePremises, premises_id="p9", base_version=0, record=new)
    assert (r.status, r.version, r.conflict_ids) == ("applied", 1, [])
    got = doc(store, "p9")
    assert (got["version"], got["deleted"], got["next_review_due"], got["updated_by"]) == (
        1, False, "2026-12-31", "sam")
    [entry] = store.history("p9")
    assert entry["kind"] == "create" and entry["before"] == {} and entry["version"] == 1
    assert entry["conflict_ids"] == [] and entry["resolved_conflict"] is None
    assert entry["after"] == got


def test_create_is_refused_for_an_existing_id_a_wrong_id_or_a_station_out_of_reach() -> None:
    store = world()
    d = Dev(store, SAM)
    rec = Premises(id="p1", station="A01", name="X")
    r = d.send(CreatePremises, premises_id="p1", record=rec)
    assert (r.reason, r.message) == ("exists", "premises p1 already exists")
    r = d.send(CreatePremises, premises_id="p8", record=rec)
    assert (r.reason, r.message) == ("invalid", "record.id must equal premises_id")
    r = d.send(CreatePremises, premises_id="p7",
               record=Premises(id="p7", station="C03", name="X"))
    assert (r.reason, r.message) == ("forbidden", "station C03 is outside your grounds")
    assert store.get("p7") is None and store.get("p8") is None


def test_delete_tombstones_and_deleting_a_deleted_record_is_a_no_op() -> None:
    store = world()
    d = Dev(store, SAM)
    assert d.send(DeletePremises).status == "applied"
    assert (doc(store)["deleted"], doc(store)["version"]) == (True, 2)
    assert store.audit[0]["before"] == {"deleted": False}
    assert store.audit[0]["after"] == {"deleted": True}
    assert store.audit[0]["conflict_ids"] == []
    r = d.send(DeletePremises, base_version=2)
    assert (r.status, r.version) == ("applied", 2)
    assert doc(store)["version"] == 2 and len(store.audit) == 1


def test_delete_of_an_edited_record_is_a_conflict_holding_the_delete() -> None:
    store = world()
    Dev(store, OLA).update(("name", "Mill", "A"))
    d = Dev(store, SAM)
    m = d.make(DeletePremises)
    [r] = d.push(m).receipts
    assert (r.status, r.version) == ("conflict", 2) and not doc(store)["deleted"]
    c = conflict(store, r.conflict_ids[0])
    assert (c["path"], c["base"], c["server"], c["client"]) == ("deleted", False, False, True)
    assert c["mutation"] == msgspec.to_builtins(m)
    assert store.audit[-1]["conflict_ids"] == r.conflict_ids
    assert store.audit[-1]["version"] == 2


def test_an_edit_of_a_deleted_record_is_a_conflict_holding_the_edit() -> None:
    store = world(record(deleted=True, version=2))
    d = Dev(store, SAM)
    m = d.make(Update, changes=[FieldChange("name", "Mill", "A")])
    [r] = d.push(m).receipts
    assert (r.status, r.version) == ("conflict", 2)
    c = conflict(store, r.conflict_ids[0])
    assert (c["path"], c["base"], c["server"], c["client"]) == ("deleted", False, True, False)
    assert c["mutation"] == msgspec.to_builtins(m) and doc(store)["name"] == "Mill"


# -- resolving --------------------------------------------------------------------------------

def clash(store: MemoryStore) -> tuple[Dev, str]:
    """A risk_notes conflict on p1: server "server", client "client"."""
    Dev(store, OLA).update(("risk_notes", "", "server"))
    d = Dev(store, SAM)
    [cid] = d.update(("risk_notes", "", "client")).conflict_ids
    return d, cid


@pytest.mark.parametrize("choice, value, expected", [
    ("server", None, "server"), ("client", None, "client"), ("value", "both", "both")])
def test_resolving_a_field_conflict_stores_the_chosen_value(choice: str, value: Any,
                                                             expected: str) -> None:
    store = world()
    d, cid = clash(store)
    r = d.send(ResolveConflict, conflict_id=cid, choice=choice, value=value)
    assert (r.status, r.conflict_ids) == ("applied", [])
    assert doc(store)["risk_notes"] == expected
    assert r.version == doc(store)["version"] == (2 if choice == "server" else 3)
    c = conflict(store, cid)
    assert (c["status"], c["resolution"], c["resolved_value"]) == ("resolved", choice,
                                                                   expected)
    assert c["resolved_by"] == {"user": "sam", "device": "d1", "at": "2026-01-01T10:00:02Z",
                                "client_time": "c2"}
    entry = store.audit[-1]
    assert (entry["kind"], entry["resolved_conflict"], entry["conflict_ids"]) == (
        "resolve_conflict", cid, [])
    changed = {"risk_notes": "server"} if choice != "server" else {}
    assert (entry["before"], entry["after"]) == (
        changed, {"risk_notes": expected} if changed else {})


def test_resolving_with_a_value_records_the_value_chosen() -> None:
    store = world(record(hazards=[{"id": "h1", "type": "lpg", "location": "Yard"}]))
    Dev(store, OLA).send(UpdateHazard, hazard_id="h1",
                         changes=[FieldChange("location", "Yard", "Gate")])
    d = Dev(store, SAM)
    [cid] = d.send(RemoveHazard, hazard_id="h1",
                   old=Hazard(id="h1", type="lpg", location="Yard")).conflict_ids
    chosen = {"id": "h1", "type": "silo"}
    d.send(ResolveConflict, conflict_id=cid, choice="value", value=chosen, base_version=2)
    assert conflict(store, cid)["resolved_value"] == chosen
    assert doc(store)["hazards"][0]["type"] == "silo"


def test_a_record_stored_without_a_version_counts_as_version_zero() -> None:
    store = world({"id": "p1", "station": "A01", "name": "Mill"},
                  {"id": "p2", "station": "A01", "name": "Mill"})
    d = Dev(store, SAM)
    r = d.update(("name", "Old", "Mill"), base_version=0)
    assert (r.status, store.audit[-1]["version"]) == ("applied", 0)
    r = d.send(DeletePremises, premises_id="p2", base_version=0)
    assert (r.status, r.version) == ("applied", 1)


def test_an_audit_entry_names_the_top_level_field_a_path_changed() -> None:
    store = world(record(hazards=[{"id": "h1", "type": "lpg", "location": ""}]))
    Dev(store, SAM).send(UpdateHazard, hazard_id="h1",
                         changes=[FieldChange("location", "", "Yard")])
    [entry] = store.audit
    assert entry["before"] == entry["after"] == {}
    assert entry["items"] == [{"field": "hazards", "change": "changed", "id": "h1",
                               "before": {"location": ""}, "after": {"location": "Yard"},
                               "item": {"type": "lpg", "location": "Yard"}}]


def test_a_resolved_conflict_unlocks_its_path() -> None:
    store = world()
    d, cid = clash(store)
    d.send(ResolveConflict, conflict_id=cid, choice="server")
    assert d.update(("risk_notes", "server", "later"), base_version=2).status == "applied"


def test_resolving_is_refused_for_an_unknown_closed_or_mismatched_conflict() -> None:
    store = world(record(), record("p2"))
    d, cid = clash(store)
    r = d.send(ResolveConflict, conflict_id="zz", choice="server")
    assert (r.reason, r.message) == ("unknown_conflict", "no conflict zz on p1")
    r = d.send(ResolveConflict, premises_id="p2", conflict_id=cid, choice="server")
    assert (r.reason, r.message) == ("unknown_conflict", f"no conflict {cid} on p2")
    r = d.send(ResolveConflict, conflict_id=cid, choice="keep")
    assert (r.reason, r.message) == ("invalid", "choose keep or delete for a deleted-record "
                                                "conflict, server, client or value for any other")
    d.send(ResolveConflict, conflict_id=cid, choice="client")
    r = d.send(ResolveConflict, conflict_id=cid, choice="server")
    assert (r.reason, r.message) == ("conflict_closed", f"conflict {cid} is already resolved")
    assert doc(store)["risk_notes"] == "client"


def deleted_clash(store: MemoryStore) -> tuple[Dev, str]:
    """p1 deleted by Ola, then edited by Sam's device: a `deleted` conflict holding the edit."""
    Dev(store, OLA).send(DeletePremises)
    d = Dev(store, SAM)
    [cid] = d.update(("name", "Mill", "Kept"), ("rvp", "", "Gate")).conflict_ids
    return d, cid


def test_keeping_a_deleted_record_restores_it_and_replays_the_held_edit() -> None:
    store = world()
    d, cid = deleted_clash(store)
    r = d.send(ResolveConflict, conflict_id=cid, choice="keep", base_version=2)
    got = doc(store)
    assert (got["deleted"], got["name"], got["rvp"], got["version"]) == (False, "Kept",
                                                                         "Gate", 4)
    assert (r.status, r.version, r.conflict_ids) == ("applied", 4, [])
    c = conflict(store, cid)
    assert (c["resolution"], c["resolved_value"]) == ("keep", False)
    restore, replay = store.audit[-2:]
    assert (restore["kind"], restore["after"], restore["replayed"]) == (
        "resolve_conflict", {"deleted": False}, False)
    assert (replay["kind"], replay["replayed"], replay["user"], replay["version"]) == (
        "update", True, "sam", 4)
    assert store.writers["p1"]["name"]["client_time"] == "c1"  # the edit's author, replayed


def test_a_replayed_edit_that_clashes_makes_conflicts_named_for_the_replay() -> None:
    store = world()
    ola = Dev(store, OLA)
    ola.update(("rvp", "", "Yard"))
    ola.send(DeletePremises, base_version=2)
    d = Dev(store, SAM)
    [cid] = d.update(("rvp", "", "Gate")).conflict_ids
    r = d.send(ResolveConflict, conflict_id=cid, choice="keep", base_version=3)
    assert r.conflict_ids == ["d1-2-r-0"] and r.version == 4
    assert conflict(store, "d1-2-r-0")["client_author"]["client_time"] == "c1"


def test_a_held_edit_that_no_longer_fits_is_dropped_and_the_record_kept() -> None:
    store = world()
    Dev(store, OLA).send(DeletePremises)
    d = Dev(store, SAM)
    [cid] = d.send(UpdateHazard, hazard_id="h1",
                   changes=[FieldChange("location", "", "x")]).conflict_ids
    r = d.send(ResolveConflict, conflict_id=cid, choice="keep", base_version=2)
    assert (r.status, r.version) == ("applied", 3) and not doc(store)["deleted"]


@pytest.mark.parametrize("choice, deleted, version", [("keep", False, 2), ("delete", True, 3)])
def test_resolving_a_delete_conflict(choice: str, deleted: bool, version: int) -> None:
    store = world()
    Dev(store, OLA).update(("name", "Mill", "A"))
    d = Dev(store, SAM)
    [cid] = d.send(DeletePremises).conflict_ids
    r = d.send(ResolveConflict, conflict_id=cid, choice=choice, base_version=2)
    assert (r.status, r.version, r.conflict_ids) == ("applied", version, [])
    assert (doc(store)["deleted"], doc(store)["name"]) == (deleted, "A")
    assert conflict(store, cid)["resolved_value"] is deleted


def test_choosing_delete_for_an_edit_of_a_deleted_record_leaves_it_deleted() -> None:
    store = world()
    d, cid = deleted_clash(store)
    r = d.send(ResolveConflict, conflict_id=cid, choice="delete", base_version=2)
    assert (r.status, r.version) == ("applied", 2)
    assert doc(store)["deleted"] is True and doc(store)["name"] == "Mill"
    assert conflict(store, cid)["resolved_value"] is True


# -- pull -------------------------------------------------------------------------------------

def pull(store: MemoryStore, actor: engine.Actor = SAM, cursor: str = "",
         limit: int | None = None, cfg: engine.Config = CFG) -> PullResponse:
    return pull_response_decoder.decode(
        store.read(lambda r: engine.pull(r, actor, cursor, limit, cfg)))


def cursor_of(store: MemoryStore, seq: int, grounds: list[str]) -> str:
    return encode_cursor(Cursor(store.epoch_value, seq, grounds))


def ids(page: PullResponse) -> list[str]:
    return [c.record["id"] if hasattr(c, "record") else c.conflict.id for c in page.changes]


def test_a_first_pull_counts_the_scope_and_ends_at_the_top() -> None:
    store = world(record("p1"), record("p2", "B02"), record("p3", "C03"))
    page = pull(store)
    assert (ids(page), page.total, page.more, page.reset, page.left_scope) == (
        ["p1", "p2"], 2, False, False, [])
    cur = decode_cursor(page.cursor)
    assert cur == Cursor(store.epoch_value, 3, ["A01", "B02"])  # past p3, out of scope


def test_pages_follow_the_limit_and_the_server_cap() -> None:
    store = world(*[record(f"p{i}") for i in range(5)])
    small = engine.Config(pull_page_rows=3)
    page = pull(store, limit=2, cfg=small)
    assert (len(page.changes), page.more, decode_cursor(page.cursor).seq) == (2, True, 2)
    assert len(pull(store, limit=50, cfg=small).changes) == 3
    assert len(pull(store, limit=0, cfg=small).changes) == 3
    assert len(pull(store, limit=-4, cfg=small).changes) == 1
    later = pull(store, cursor=page.cursor, cfg=small)
    assert (ids(later), later.total, later.more) == (["p2", "p3", "p4"], None, False)


@pytest.mark.parametrize("seq, reset", [(2, True), (3, False), (5, False), (6, True)])
def test_a_cursor_resets_only_outside_the_horizon_and_the_top(seq: int, reset: bool) -> None:
    store = world(*[record(f"p{i}") for i in range(5)])
    store.horizon_value = 3
    page = pull(store, cursor=cursor_of(store, seq, ["A01", "B02"]))
    assert page.reset is reset
    assert len(page.changes) == (5 if reset else 5 - seq)


def test_a_cursor_of_another_epoch_or_garbage_resets() -> None:
    store = world()
    other = encode_cursor(Cursor("other", 1, ["A01", "B02"]))
    for cur in (other, "garbage!"):
        page = pull(store, cursor=cur)
        assert page.reset and ids(page) == ["p1"] and page.total == 1


def test_a_shrunk_scope_lists_what_left_and_a_grown_one_starts_again() -> None:
    store = world(record("p1"), record("p2", "B02"), record("p3", "C03"))
    wide = cursor_of(store, 3, ["A01", "B02", "C03"])
    page = pull(store, cursor=wide)
    assert (page.left_scope, page.reset, ids(page), page.total) == (["p3"], False, [], None)
    narrow = cursor_of(store, 3, ["A01"])
    page = pull(store, cursor=narrow)
    assert (ids(page), page.total, page.left_scope) == (["p1", "p2"], 2, [])


def test_a_restarted_pass_lists_no_record_as_left() -> None:
    store = world(record("p1"), record("p2"))
    Dev(store, SAM).update(("station", "A01", "B02"))  # p1 left Ola's A01 for good
    grown = cursor_of(store, store.seq, [])
    other = encode_cursor(Cursor("other", store.seq, ["A01"]))
    for cur in (grown, other):
        page = pull(store, actor=OLA, cursor=cur)
        assert ids(page) == ["p2"] and page.left_scope == []


def test_a_record_moved_away_after_the_cursor_is_listed_as_left() -> None:
    store = world(record("p1"))
    start = pull(store, actor=OLA).cursor
    assert decode_cursor(start).seq == 1
    Dev(store, SAM).update(("station", "A01", "B02"))
    assert pull(store, actor=OLA, cursor=start).left_scope == ["p1"]
    store = world(record("p1"), record("p2"))
    start = pull(store, actor=OLA).cursor
    Dev(store, SAM).update(("station", "A01", "B02"))
    page = pull(store, actor=OLA, cursor=start)
    assert (page.left_scope, ids(page)) == (["p1"], [])
    assert decode_cursor(page.cursor).seq == store.seq


def test_a_pass_from_the_start_runs_to_its_end_past_the_horizon() -> None:
    store = world(*[record(f"p{i}") for i in range(5)])
    Dev(store, SAM).send(DeletePremises, premises_id="p4")
    store.purge_tombstones(store.seq)
    small = engine.Config(pull_page_rows=2)
    page, got = pull(store, cfg=small), []
    while True:
        got += ids(page)
        assert not page.reset
        if not page.more:
            break
        page = pull(store, cursor=page.cursor, cfg=small)
    assert got == ["p0", "p1", "p2", "p3"]
    assert decode_cursor(page.cursor) == Cursor(store.epoch_value, store.seq, ["A01", "B02"],
                                                store.horizon_value)
    first = pull(store, cfg=small).cursor
    Dev(store, OLA).send(DeletePremises, premises_id="p3")
    store.purge_tombstones(store.seq)  # a purge during a pass restarts it
    assert pull(store, cursor=first, cfg=small).reset
    stale = cursor_of(store, 2, ["A01", "B02"])  # a pass that had ended before the purge
    assert pull(store, cursor=stale, cfg=small).reset


def test_pull_answers_the_bytes_the_engine_encoded() -> None:
    store = world()
    page = store.read(lambda r: engine.pull(r, SAM, "", None, CFG))
    assert page == encoder.encode(pull_response_decoder.decode(page))


def test_rule_6b_a_device_at_its_bound_of_open_conflicts_is_refused_more_in_plain_words(
        ) -> None:
    store = world(record(risk_notes="server", rvp="server", use="server"))
    small = dataclasses.replace(CFG, max_open_conflicts_per_device=1)
    ola = Dev(store, OLA)

    def push(*mutations: Mutation) -> list[Receipt]:
        return store.write(lambda tx: engine.push(tx, OLA, list(mutations), "T", small)).receipts

    [opened] = push(ola.make(Update, changes=[FieldChange("risk_notes", "", "a")]))
    assert opened.status == "conflict"
    refused, fine = push(ola.make(Update, changes=[FieldChange("rvp", "", "b")]),
                         ola.make(Update, changes=[FieldChange("name", "Mill", "Mill 2")]))
    assert (refused.status, refused.reason) == ("rejected", "too_many_conflicts")
    assert refused.message and "(at most 1 a device)" in refused.message
    assert doc(store)["rvp"] == "server" and fine.status == "applied"
    sam = Dev(store, SAM)  # another device is not held to Ola's
    assert sam.update(("use", "", "c")).status == "conflict"
    assert sam.send(ResolveConflict, conflict_id=opened.conflict_ids[0], choice="server",
                    base_version=doc(store)["version"]).status == "applied"
    [again] = push(ola.make(Update, changes=[FieldChange("rvp", "", "b")]))
    assert again.status == "conflict"  # resolved: room again


def test_rule_6d_a_premises_at_its_bound_of_open_observations_refuses_another_in_plain_words(
        ) -> None:
    store = world(record(observations=[
        {"id": "o1", "category": "access", "note": "Gate chained", "status": "open"},
        {"id": "o2", "category": "access", "note": "Old", "status": "accepted"}]))
    small = dataclasses.replace(CFG, max_open_observations=2)
    cat, sam = Dev(store, CAT), Dev(store, SAM)

    def push(dev: Dev, *mutations: Mutation) -> list[Receipt]:
        return store.write(lambda tx: engine.push(tx, dev.actor, list(mutations), "T",
                                                  small)).receipts

    def obs(dev: Dev, oid: str) -> Mutation:
        return cast(Mutation, dev.make(AddObservation, observation=Observation(
            id=oid, category="access", note="Key box moved")))
    [second] = push(cat, obs(cat, "o3"))  # the reviewed one does not count
    assert second.status in ("applied", "merged")
    refused, resent = push(cat, obs(cat, "o4"), obs(cat, "o3"))
    assert (refused.status, refused.reason) == ("rejected", "too_many_open_observations")
    assert refused.message == ("this premises already has 2 observations waiting for a "
                               "supervisor; ask one to review them")
    assert resent.status != "rejected"  # an add of one already there is not counted
    assert [o["id"] for o in doc(store)["observations"]] == ["o1", "o2", "o3"]
    assert problems.reason(refused.reason, refused.message).startswith(
        "This premises has too many observations waiting for review: this premises")
    [reviewed] = push(sam, sam.make(ReviewObservation, observation_id="o1", status="accepted"))
    assert reviewed.status in ("applied", "merged")
    [room] = push(cat, obs(cat, "o4"))  # one reviewed: room for one
    assert room.status in ("applied", "merged")
    [full] = push(cat, obs(cat, "o5"))
    assert full.reason == "too_many_open_observations"
