"""What a history (audit) entry records of one change, so its size follows the change, not the
record: plain fields before and after; list fields (LIST_FIELDS) item by item, each item added
(whole), removed (whole) or changed (its id or place, and only the fields that changed), or,
written as it was (a conflict resolved to the value it had), one "unchanged" mark.

Items with an `id` (hazards, observations, attachments) are matched by id; items without one
(water supplies, contacts) by place: the equal items at both ends are left out, and those between
are paired in order, the rest added or removed. Pure: no I/O, no clock; sync/writer.py calls it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from sync.record import Attachment, Contact, Hazard, Observation, WaterSupply

Doc = dict[str, Any]

LIST_FIELDS: frozenset[str] = frozenset({"hazards", "observations", "attachments",
                                         "water_supplies", "contacts"})
NO_ID_FIELDS: frozenset[str] = frozenset({"water_supplies", "contacts"})
# What names an item in a sentence ("Hazard changed: Acetylene cylinders"), kept with a
# changed item so the history can say which one without the whole item.
NAMING_FIELDS: dict[str, tuple[str, ...]] = {
    "hazards": ("type", "location"), "observations": ("category",),
    "attachments": ("kind", "caption"), "water_supplies": ("kind", "location"),
    "contacts": ("name",)}


def _defaults(item: type[msgspec.Struct]) -> Doc:
    return {f.name: f.default for f in msgspec.structs.fields(item)
            if f.default is not msgspec.NODEFAULT}


# An item stored before a field existed reads as that field's default: not a change.
DEFAULTS: dict[str, Doc] = {
    "hazards": _defaults(Hazard), "observations": _defaults(Observation),
    "attachments": _defaults(Attachment), "water_supplies": _defaults(WaterSupply),
    "contacts": _defaults(Contact)}


def _changed(field: str, key: dict[str, Any], old: Doc, new: Doc) -> Doc | None:
    old, new = {**DEFAULTS[field], **old}, {**DEFAULTS[field], **new}
    names = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    if not names:
        return None
    return {"field": field, "change": "changed", **key,
            "before": {k: old.get(k) for k in names}, "after": {k: new.get(k) for k in names},
            "item": {k: new[k] for k in NAMING_FIELDS.get(field, ()) if new.get(k)}}


def _by_id(field: str, old: list[Doc], new: list[Doc]) -> list[Doc]:
    before = {i["id"]: i for i in old}
    after = {i["id"]: i for i in new}
    out: list[Doc] = [{"field": field, "change": "removed", "id": k, "before": v}
                      for k, v in before.items() if k not in after]
    for k, v in after.items():
        if k not in before:
            out.append({"field": field, "change": "added", "id": k, "after": v})
        elif (c := _changed(field, {"id": k}, before[k], v)) is not None:
            out.append(c)
    return out


def _by_place(field: str, old: list[Doc], new: list[Doc]) -> list[Doc]:
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    mid_old, mid_new = old[start:len(old) - end], new[start:len(new) - end]
    out: list[Doc] = []
    for i in range(max(len(mid_old), len(mid_new))):
        if i >= len(mid_new):
            out.append({"field": field, "change": "removed", "index": start + i,
                        "before": mid_old[i]})
        elif i >= len(mid_old):
            out.append({"field": field, "change": "added", "index": start + i,
                        "after": mid_new[i]})
        elif (c := _changed(field, {"index": start + i}, mid_old[i], mid_new[i])) is not None:
            out.append(c)
    return out


def item_changes(field: str, old: list[Doc] | None, new: list[Doc] | None) -> list[Doc]:
    """The items of list field `field` added, removed or changed from `old` to `new`."""
    old, new = list(old or []), list(new or [])
    if field in NO_ID_FIELDS:
        return _by_place(field, old, new)
    return _by_id(field, old, new)


def split(before: Doc, after: Doc) -> tuple[Doc, Doc, list[Doc]]:
    """(before, after, items) of an entry from the touched fields' values before and after:
    fields outside LIST_FIELDS as they are, those inside as item changes. An empty `before`
    (a record created) is audited whole."""
    if not before:
        return {}, after, []
    plain = [k for k in after if k not in LIST_FIELDS]
    items = [c for k in after if k in LIST_FIELDS  # a list written as it was: "unchanged"
             for c in item_changes(k, before.get(k), after.get(k))
             or [{"field": k, "change": "unchanged"}]]
    return {k: before.get(k) for k in plain}, {k: after[k] for k in plain}, items


def rewrite(entry: Doc) -> Doc | None:
    """An entry written before items (whole lists before and after) in the item form; None
    when it has nothing to rewrite (schema migration 14 applies it to every stored entry)."""
    before, after = entry.get("before") or {}, entry.get("after") or {}
    lists = [k for k in after if k in LIST_FIELDS]
    if not before or not lists or "items" in entry:
        return None
    old, new, items = split({k: before.get(k) for k in after},
                            {k: after.get(k) for k in after})
    return {**entry, "before": old, "after": new, **({"items": items} if items else {})}
