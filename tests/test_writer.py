"""The one writer of premises (sync/writer.py) over the in-memory store: versions, stamps,
review dates, audit entries, conflicts following their record, attachments becoming available."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from sync import writer
from sync.store import MemoryStore, Tx

NOW = "2025-06-02T10:00:00Z"
IMPORT = writer.Stamp(kind="import", user="admin", now=NOW)
INTERVALS = {1: 100, 2: 200, 3: 300, 4: 400}
SHA_A, SHA_B = "a" * 64, "b" * 64


def attachment(aid: str, sha: str, available: bool = False) -> dict[str, Any]:
    return {"id": aid, "sha256": sha, "kind": "photo", "content_type": "image/png", "size": 10,
            "available": available}


def store(**fields: Any) -> MemoryStore:
    s = MemoryStore(stations=("A01", "B02"))
    s.insert([{"id": "p1", "station": "A01", "name": "Mill", "version": 3, "risk_level": 2,
               "assessed_at": "2024-01-01", "next_review_due": "2099-01-01", **fields}])
    return s


def current(tx: Tx) -> dict[str, Any]:
    doc = tx.premises("p1")
    assert doc is not None
    return doc


def test_a_write_bumps_the_version_stamps_the_record_and_audits_the_fields_it_changed() -> None:
    s = store()
    new = s.write(lambda tx: writer.write(tx, IMPORT, current(tx), {"name": "Old Mill"}))
    assert s.get("p1") == new
    assert (new["name"], new["version"], new["updated_at"], new["updated_by"]) == (
        "Old Mill", 4, NOW, "admin")
    [entry] = s.history("p1")
    assert entry == {"premises_id": "p1", "kind": "import", "user": "admin", "device_id": None,
                     "seq": None, "replayed": False, "client_time": None, "server_time": NOW,
                     "version": 4, "before": {"name": "Mill"}, "after": {"name": "Old Mill"},
                     "conflict_ids": [], "resolved_conflict": None}


def test_a_write_that_changes_the_assessment_recomputes_the_review_date() -> None:
    s = store()
    new = s.write(lambda tx: writer.write(tx, IMPORT, current(tx), {"risk_level": 1},
                                          INTERVALS))
    assert new["next_review_due"] == "2024-04-10"  # 2024-01-01 + 100 days (level 1)


def test_a_write_of_no_changes_keeps_the_record_and_audits_the_conflicts_it_raised() -> None:
    s = store()
    before = s.get("p1")
    kept = s.write(lambda tx: writer.write(tx, IMPORT, current(tx), {},
                                           conflict_ids=["d1-1-0"]))
    assert kept == before and s.get("p1") == before
    [entry] = s.history("p1")
    assert (entry["version"], entry["before"], entry["conflict_ids"]) == (3, {}, ["d1-1-0"])


def test_a_write_that_would_make_an_invalid_record_raises_naming_the_field_and_writes_nothing(
        ) -> None:
    s = store()
    before = s.get("p1")
    with pytest.raises(msgspec.ValidationError, match="risk_level"):
        s.write(lambda tx: writer.write(tx, IMPORT, current(tx), {"risk_level": 9}))
    assert s.get("p1") == before and s.history("p1") == []


def test_open_conflicts_follow_their_record_to_a_new_station() -> None:
    s = store()

    def open_conflict(tx: Tx) -> None:
        tx.put_conflict({"id": "c1", "premises_id": "p1", "station": "A01", "path": "name",
                         "status": "open", "created_at": NOW})
    s.write(open_conflict)
    s.write(lambda tx: writer.write(tx, IMPORT, current(tx), {"station": "B02"}))
    conflict = s.get_conflict("c1")
    assert conflict is not None and conflict["station"] == "B02"
    assert s.read(lambda r: r.left(0, s.seq, ["A01"])) == ["p1"]  # it left A01's scope


def test_a_created_record_is_audited_whole_from_nothing() -> None:
    s = MemoryStore(stations=("A01",))
    doc = {"id": "p9", "station": "A01", "name": "New", "version": 0, "risk_level": 4,
           "assessed_at": "2024-01-01"}
    new = s.write(lambda tx: writer.write(tx, IMPORT, doc, {"assessed_at": "2024-01-01"},
                                          INTERVALS, created=True))
    [entry] = s.history("p9")
    assert new["version"] == 1 and new["next_review_due"] == "2025-02-04"
    assert entry["before"] == {} and entry["after"]["name"] == "New"
    assert set(entry["after"]) == set(new)


def test_an_inserted_record_keeps_its_version_and_gets_its_review_date_without_audit() -> None:
    s = MemoryStore(stations=("A01",))
    doc = {"id": "p9", "station": "A01", "name": "New", "version": 5, "risk_level": 3,
           "assessed_at": "2024-01-01"}
    s.write(lambda tx: writer.insert(tx, doc, INTERVALS))
    stored = s.get("p9")
    assert stored is not None
    assert (stored["version"], stored["next_review_due"]) == (5, "2024-10-27")
    assert "updated_at" not in stored and s.history("p9") == []


def test_mark_available_sets_only_the_blobs_own_attachments_and_stamps_the_change() -> None:
    s = store(attachments=[attachment("a1", SHA_A), attachment("a2", SHA_B),
                           attachment("a3", SHA_A)])
    stamp = writer.Stamp(kind="attachment_available", user="crew", now=NOW, device_id="d7")
    assert s.write(lambda tx: writer.mark_available(tx, stamp, ["p1", "gone"], SHA_A)) == ["p1"]
    doc = s.get("p1")
    assert doc is not None
    assert [a["available"] for a in doc["attachments"]] == [True, False, True]
    assert (doc["version"], doc["updated_at"], doc["updated_by"]) == (4, NOW, "crew")
    [entry] = s.history("p1")
    assert (entry["kind"], entry["user"], entry["device_id"]) == (
        "attachment_available", "crew", "d7")
    assert [(i["field"], i["id"], i["after"]) for i in entry["items"]] == [
        ("attachments", "a1", {"available": True}), ("attachments", "a3", {"available": True})]
    # already available: a second arrival of the same blob changes nothing
    assert s.write(lambda tx: writer.mark_available(tx, stamp, ["p1"], SHA_A)) == []
    assert s.get("p1") == doc
