"""The one writer of premises records: every change to a stored record goes through `write`,
which sets it (sync/merge.py `changed`), bumps the version, stamps `updated_at`/`updated_by`,
validates every field and only then derives next_review_due, stores it in the transaction and appends its audit entry.

Callers: sync/engine.py (device and console mutations), server/transfer.py (imports) and
server/blobs.py (an attachment's blob arriving). Pure over a sync.store.Tx: time comes in on the
`Stamp`; must not know SQL, HTTP or who may write (the caller authorises).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sync import audit, merge
from sync.record import next_review_due, to_dict, validate
from sync.store import Doc, Tx


@dataclass(frozen=True)
class Stamp:
    """Who writes, when, and through what: stamped on the record and heading its audit entry.
    `kind` is a mutation kind (sync.protocol.kind_of), "import" or "attachment_available"."""

    kind: str
    user: str
    now: str
    device_id: str | None = None
    seq: int | None = None
    client_time: str | None = None
    replayed: bool = False  # a kept edit replayed when its delete conflict is resolved


def revise(current: Doc, changes: dict[str, Any], stamp: Stamp,
           intervals: dict[int, int] | None = None) -> Doc:
    """The next version of `current` with `changes` (path -> value) applied; raises
    msgspec.ValidationError naming the field when the result is not a valid record. Every
    field is validated by the record's own types before anything is derived from it."""
    doc = merge.changed(current, changes)
    doc["version"] = int(current.get("version", 0)) + 1
    doc["updated_at"], doc["updated_by"] = stamp.now, stamp.user
    record = validate(doc)
    if merge.derives(changes):
        record.next_review_due = next_review_due(record.assessed_at, record.risk_level,
                                                 intervals or {})
    return cast(Doc, to_dict(record))


def audit_entry(stamp: Stamp, before: Doc, after: Doc, paths: Iterable[str],
                conflict_ids: Sequence[str] = (), resolved: str | None = None) -> Doc:
    """The history entry of one change: the top-level fields `paths` touch, before and after,
    and list fields item by item (`items`, sync/audit.py), so its size follows the change."""
    tops = sorted({p.split("/", 1)[0] for p in paths})
    old, new, items = audit.split({k: merge.get_path(before, k) for k in tops} if before else {},
                                  {k: merge.get_path(after, k) for k in tops})
    return {
        "premises_id": after["id"], "kind": stamp.kind, "user": stamp.user,
        "device_id": stamp.device_id, "seq": stamp.seq, "replayed": stamp.replayed,
        "client_time": stamp.client_time, "server_time": stamp.now,
        "version": after.get("version", 0),
        "before": old, "after": new, **({"items": items} if items else {}),
        "conflict_ids": list(conflict_ids), "resolved_conflict": resolved}


def write(tx: Tx, stamp: Stamp, current: Doc, changes: dict[str, Any],
          intervals: dict[int, int] | None = None, *, conflict_ids: Sequence[str] = (),
          resolved: str | None = None, created: bool = False) -> Doc:
    """Store the next version of `current` (none when `changes` is empty: the record stays as
    it is) and its audit entry, which also names the conflicts the change raised
    (`conflict_ids`) or resolved. A created record (`created`) is audited whole, from nothing.
    Open conflicts follow their record to a new station. Returns the record as stored."""
    new = revise(current, changes, stamp, intervals) if changes else current
    if changes:
        tx.put_premises(new)
        if new["station"] != current.get("station", new["station"]):
            for conflict in tx.open_conflicts(new["id"]):
                tx.put_conflict({**conflict, "station": new["station"]})
    tx.add_audit(audit_entry(stamp, {} if created else current, new,
                             list(new) if created else changes, conflict_ids, resolved))
    return new


def insert(tx: Tx, doc: Doc, intervals: dict[int, int] | None = None,
           stamp: Stamp | None = None) -> Doc:
    """Store a record that arrives whole from outside (an import of a new record): kept as it
    comes, at version 1 or more, with its review date derived; with a `stamp`, audited whole,
    from nothing (a history entry for every imported new record)."""
    new = {**doc, "version": max(1, int(doc.get("version") or 0)),
           "next_review_due": next_review_due(doc.get("assessed_at"),
                                              int(doc.get("risk_level", 4)),
                                              intervals or {})}
    tx.put_premises(new)
    if stamp is not None:
        tx.add_audit(audit_entry(stamp, {}, new, list(new)))
    return new


def mark_available(tx: Tx, stamp: Stamp, premises_ids: Iterable[str], sha256: str) -> list[str]:
    """Set `available` on every attachment of blob `sha256` not yet marked, in the records
    `premises_ids` (those that reference it); returns the ids of the records changed."""
    changed = []
    for pid in premises_ids:
        doc = tx.premises(pid)
        if doc is None:
            continue
        paths = {f"attachments/{a['id']}/available": True for a in doc.get("attachments") or []
                 if a.get("sha256") == sha256 and not a.get("available")}
        if paths:
            write(tx, stamp, doc, paths)
            changed.append(pid)
    return changed
