"""Merge rules: how a client's change meets the server's current record. Pure and deterministic:
no clock, no ids, no I/O; the engine passes everything in.

Every change names a path (a field `risk_notes`, a hazard `hazards/h1`, a hazard field
`hazards/h1/location`, an observation `observations/o1` or its `observations/o1/status`) with
the value the client saw (`old`) and the value it wants (`new`). Against the server value:
  Rule 1  server == old              -> apply new (only the client changed it).
  Rule 2  server == new              -> nothing to do (both sides made the same change).
  Rule 3  old, server, new differ    -> a clash: a conflict holds base (old), server and client.
  Rule 4  list-of-choice fields (`harms`) merge as sets: the client's additions and removals
          apply to the server's set. Free text (record.FREE_TEXT_FIELDS) is never merged: Rule 3.
  Rule 5  a path under an open conflict keeps the server value: any change to it other than
          to the server value is a new clash, even when server == old.
  Rule 6  clashing and non-clashing paths are independent: the non-clashing ones still apply.
  Rule 7  an edit of a deleted record, or a delete of a record edited since the client's base
          version (current version > base version), is a clash on path `deleted`.
Status of a mutation: `applied` (base version was current), `merged` (applied onto a newer
version with no clash), `conflict` (at least one clash).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from sync.record import FREE_TEXT_FIELDS, Premises, next_review_due

SET_FIELDS: frozenset[str] = frozenset({"harms"})

FIELD_DEFAULTS: dict[str, Any] = {
    f.name: (f.default if f.default is not msgspec.NODEFAULT else
             f.default_factory() if f.default_factory is not msgspec.NODEFAULT else None)
    for f in msgspec.structs.fields(Premises)
}


@dataclass(frozen=True)
class Clash:
    path: str
    base: Any
    server: Any
    client: Any


@dataclass
class Outcome:
    """What to write (`apply`: path -> new value) and what clashed."""

    apply: dict[str, Any] = field(default_factory=dict)
    clashes: list[Clash] = field(default_factory=list)


def _split(path: str) -> tuple[str, str | None, str | None]:
    parts = path.split("/", 2)
    return parts[0], (parts[1] if len(parts) > 1 else None), (parts[2] if len(parts) > 2 else None)


def get_path(doc: dict[str, Any], path: str) -> Any:
    """The value at `path`; a missing field reads as its record default, a missing list item
    (or a field of one) as None."""
    top, item_id, sub = _split(path)
    if item_id is None:
        return doc.get(top, FIELD_DEFAULTS.get(top))
    for item in doc.get(top) or []:
        if item.get("id") == item_id:
            return item if sub is None else item.get(sub)
    return None


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` in place; a list item set to None is removed, a new one is appended."""
    top, item_id, sub = _split(path)
    if item_id is None:
        doc[top] = value
        return
    items = list(doc.get(top) or [])
    for i, item in enumerate(items):
        if item.get("id") == item_id:
            if sub is not None:
                items[i] = {**item, sub: value}
            elif value is None:
                del items[i]
            else:
                items[i] = value
            break
    else:
        if sub is None and value is not None:
            items.append(value)
    doc[top] = items


def merge_set(old: list[Any], server: list[Any], new: list[Any]) -> list[Any]:
    """Rule 4: the server's set with the client's additions and removals, in a stable order."""
    added = [x for x in new if x not in old]
    removed = [x for x in old if x not in new]
    out = [x for x in server if x not in removed]
    return out + [x for x in added if x not in out]


def merge(current: dict[str, Any], changes: list[tuple[str, Any, Any]],
          locked: frozenset[str] | set[str] = frozenset()) -> Outcome:
    """Apply Rules 1-6 to (path, old, new) changes against the current record."""
    out = Outcome()
    for path, old, new in changes:
        server = get_path(current, path)
        if new == server:
            continue                                        # Rule 2 (and Rule 5's allowance)
        if path in locked:
            out.clashes.append(Clash(path, old, server, new))  # Rule 5
        elif server == old:
            out.apply[path] = new                            # Rule 1
        elif (path in SET_FIELDS and path not in FREE_TEXT_FIELDS and isinstance(old, list)
              and isinstance(server, list) and isinstance(new, list)):
            merged = merge_set(old, server, new)             # Rule 4
            if merged != server:
                out.apply[path] = merged
        else:
            out.clashes.append(Clash(path, old, server, new))  # Rule 3
    return out


def delete_clashes(current_version: int, base_version: int) -> bool:
    """Rule 7: a delete clashes when the record changed after the version the client saw."""
    return current_version > base_version


_encode = msgspec.json.Encoder().encode


def _json_copy(value: Any) -> Any:
    return msgspec.json.decode(_encode(value))


def apply(doc: dict[str, Any], changes: dict[str, Any], intervals: dict[int, int]
          ) -> dict[str, Any]:
    """A new record with `changes` set and derived fields (next_review_due) recomputed; the
    values must be valid already (sync/writer.py validates `changed` before deriving)."""
    out = changed(doc, changes)
    if derives(changes):
        out["next_review_due"] = next_review_due(
            get_path(out, "assessed_at"), int(get_path(out, "risk_level")), intervals)
    return out


def derives(changes: dict[str, Any]) -> bool:
    """Whether `changes` touch what next_review_due is derived from."""
    return "assessed_at" in changes or "risk_level" in changes


def changed(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A new record with `changes` set, nothing derived, nothing validated.

    `doc` is left as it was. Only the top-level fields a change touches are copied (deep, by a
    JSON round trip: records are JSON); the rest are shared with `doc`, which nobody mutates.
    A deep copy of the whole record was most of a push's CPU once busy records held dozens of
    hazards and observations.
    """
    out = dict(doc)
    for top in {path.split("/", 1)[0] for path in changes}:
        if isinstance(out.get(top), dict | list):
            out[top] = _json_copy(out[top])
    for path, value in changes.items():
        set_path(out, path, value)
    return out


def status(base_version: int, current_version: int, outcome: Outcome) -> str:
    if outcome.clashes:
        return "conflict"
    return "applied" if base_version >= current_version else "merged"
