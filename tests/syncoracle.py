"""The model test's oracle: the sync server as docs/sync-protocol.md describes it, written again
in the plainest way, so the model test can say what every receipt, record, conflict and audit
entry must be. Shares no code with sync/engine.py or sync/merge.py (it uses only the wire and
record types); a difference between the two is a bug in one of them.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import msgspec

from sync import problems
from sync.protocol import Mutation, PushRequest, PushResponse, Receipt
from sync.record import (
    EDITABLE_FIELDS,
    Attachment,
    Contact,
    Hazard,
    Observation,
    Premises,
    WaterSupply,
    to_dict,
)

Doc = dict[str, Any]
DEFAULTS: Doc = to_dict(Premises(id="x", station="x", name="x"))
HAZARD_FIELDS = {f.name for f in msgspec.structs.fields(Hazard)} - {"id"}


class Rejected(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


def get(doc: Doc, path: str) -> Any:
    parts = path.split("/", 2)
    if len(parts) == 1:
        return doc[path] if path in doc else copy.deepcopy(DEFAULTS.get(path))
    item = next((x for x in doc.get(parts[0]) or [] if x["id"] == parts[1]), None)
    return item if item is None or len(parts) == 2 else item.get(parts[2])


def put(doc: Doc, path: str, value: Any) -> None:
    parts = path.split("/", 2)
    if len(parts) == 1:
        doc[path] = value
        return
    items = [dict(x) for x in doc.get(parts[0]) or []]
    at = [i for i, x in enumerate(items) if x["id"] == parts[1]]
    if len(parts) == 3:
        for i in at:
            items[i][parts[2]] = value
    elif at and value is None:
        del items[at[0]]
    elif at:
        items[at[0]] = value
    elif value is not None:
        items.append(value)
    doc[parts[0]] = items


# The history records list fields item by item (docs/sync-protocol.md, Server guarantees).
LISTS = {"hazards", "observations", "attachments", "water_supplies", "contacts"}
NAMES = {"hazards": ["type", "location"], "observations": ["category"],
         "attachments": ["kind", "caption"], "water_supplies": ["kind", "location"],
         "contacts": ["name"]}


ITEMS = {"hazards": Hazard, "observations": Observation, "attachments": Attachment,
         "water_supplies": WaterSupply, "contacts": Contact}


def changed_item(field: str, key: Doc, old: Doc, new: Doc) -> list[Doc]:
    blank = {f.name: f.default for f in msgspec.structs.fields(ITEMS[field])
             if f.default is not msgspec.NODEFAULT}  # a field an item was stored without
    old, new = {**blank, **old}, {**blank, **new}
    names = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if not names:
        return []
    return [{"field": field, "change": "changed", **key,
             "before": {k: old.get(k) for k in names}, "after": {k: new.get(k) for k in names},
             "item": {k: new[k] for k in NAMES[field] if new.get(k)}}]


def items(field: str, old: list[Doc], new: list[Doc]) -> list[Doc]:
    """Items with ids matched by id; water supplies and contacts by place, between the equal
    items at both ends."""
    out: list[Doc] = []
    if field in ("water_supplies", "contacts"):
        a, b = list(old), list(new)
        lead = 0
        while a[lead:lead + 1] and a[lead:lead + 1] == b[lead:lead + 1]:
            lead += 1
        a, b = a[lead:], b[lead:]
        while a and b and a[-1] == b[-1]:
            a, b = a[:-1], b[:-1]
        for n in range(max(len(a), len(b))):
            if n >= len(b):
                out.append({"field": field, "change": "removed", "index": lead + n,
                            "before": a[n]})
            elif n >= len(a):
                out.append({"field": field, "change": "added", "index": lead + n,
                            "after": b[n]})
            else:
                out += changed_item(field, {"index": lead + n}, a[n], b[n])
        return out
    olds = {x["id"]: x for x in old}
    news = {x["id"]: x for x in new}
    out += [{"field": field, "change": "removed", "id": i, "before": x}
            for i, x in olds.items() if i not in news]
    for i, x in news.items():
        if i in olds:
            out += changed_item(field, {"id": i}, olds[i], x)
        else:
            out.append({"field": field, "change": "added", "id": i, "after": x})
    return out


class Oracle:
    """Expected server state, advanced one push at a time in the order the server got them."""

    def __init__(self, seed: list[Doc], stations: set[str], intervals: dict[int, int],
                 max_push: int, max_conflicts: int = 100, max_open_per_device: int = 500,
                 max_open_observations: int = 200):
        self.premises: dict[str, Doc] = {d["id"]: copy.deepcopy(d) for d in seed}
        self.conflicts: dict[str, Doc] = {}
        self.writers: dict[tuple[str, str], Doc] = {}
        self.last: dict[str, int] = {}
        self.acked: dict[str, int] = {}  # what each device holds every receipt up to (4a)
        self.forgotten: set[tuple[str, int]] = set()  # receipts housekeeping removed
        self.receipts: dict[tuple[str, int], Receipt] = {}
        self.audit: list[Doc] = []
        self.stations, self.intervals, self.max_push = stations, intervals, max_push
        self.purged: set[str] = set()
        self.max_conflicts = max_conflicts  # conflicts one push may open (engine Rule 6a)
        self.max_open_per_device = max_open_per_device  # ... one device may have open (6b)
        self.device_left = max_open_per_device  # what the pushing device may still open
        self.max_open_observations = max_open_observations  # ... one premises may hold (6d)

    # -- requests ---------------------------------------------------------------------------
    def push(self, actor: Any, body: bytes, now: str) -> tuple[int, PushResponse | None]:
        """The status and response a push must get."""
        request = msgspec.json.decode(body, type=PushRequest)
        if len(request.mutations) > self.max_push:
            return 413, None
        device = actor.device_id
        receipts: list[Receipt] = []
        gap = False
        budget = self.max_conflicts
        opened = sum(1 for cid, c in self.conflicts.items()  # as at the start of the push
                     if cid.startswith(device + "-") and c["status"] == "open")
        self.device_left = self.max_open_per_device - opened
        for m in request.mutations:
            last = self.last.get(device, 0)
            if m.seq <= last:  # its receipt, or, housekeeping having forgotten it, the answer
                receipts.append(self.receipts.get((device, m.seq)) or Receipt(  # that says so
                    seq=m.seq, status="rejected", premises_id=m.premises_id, reason="invalid",
                    message="this seq was applied; receipt expired"))
                continue
            if m.seq > last + 1:
                gap = True
                break
            receipt = self.apply(actor, m, now, budget)
            budget -= len(receipt.conflict_ids)
            self.device_left -= len(receipt.conflict_ids)
            self.receipts[(device, m.seq)] = receipt
            self.last[device] = m.seq
            receipts.append(receipt)
        if request.mutations:  # the device holds every receipt below the oldest it sends
            self.acked[device] = min(min(m.seq for m in request.mutations) - 1,
                                     self.last.get(device, 0))
        return 200, PushResponse(receipts=receipts, next_seq=self.last.get(device, 0) + 1,
                                 gap=gap)

    def purge(self) -> None:
        """Tombstones are forgotten (every one: the purge reaches the newest change)."""
        for pid in [p for p, d in self.premises.items() if d.get("deleted")]:
            del self.premises[pid]
            self.purged.add(pid)

    def housekeep(self, now: str, before: str, written_before: str) -> None:
        """`watchbook housekeeping` as docs/operations.md says, at `now`: observations reviewed
        before `before` leave their live records (a version and a history entry each, by
        "watchbook", records in id order), receipts each device holds are forgotten, and so are
        last-writer rows older than `written_before`, but for records with an open conflict and
        for observations still there."""
        for pid in sorted(self.premises):
            doc = self.premises[pid]
            if doc.get("deleted"):
                continue
            old = doc.get("observations") or []
            gone = [o["id"] for o in old if o.get("status") in ("accepted", "dismissed") and (
                self.writers.get((pid, f"observations/{o['id']}/status"), {}).get("at")
                or o.get("at") or "") < before]
            if not gone:
                continue
            new = {**copy.deepcopy(doc), "observations": [o for o in old if o["id"] not in gone],
                   "version": doc.get("version", 0) + 1, "updated_at": now,
                   "updated_by": "watchbook"}
            new = to_dict(msgspec.convert(new, Premises))
            self.premises[pid] = new
            self.audit.append({
                "premises_id": pid, "kind": "housekeeping", "user": "watchbook",
                "device_id": None, "seq": None, "replayed": False, "client_time": None,
                "server_time": now, "version": new["version"], "before": {}, "after": {},
                "items": items("observations", old, new["observations"]), "conflict_ids": [],
                "resolved_conflict": None})
        held = {(d, q): r for (d, q), r in self.receipts.items() if q > self.acked.get(d, 0)}
        self.forgotten |= set(self.receipts) - set(held)
        self.receipts = held
        disputed = {c["premises_id"] for c in self.conflicts.values() if c["status"] == "open"}

        def kept(pid: str, path: str, author: Doc) -> bool:
            if pid not in self.premises:
                return False
            if path.startswith("observations/"):
                return get(self.premises[pid], "/".join(path.split("/")[:2])) is not None
            return pid in disputed or author.get("at", "") >= written_before
        self.writers = {k: a for k, a in self.writers.items() if kept(*k, a)}

    # -- one mutation -----------------------------------------------------------------------
    def apply(self, actor: Any, m: Mutation, now: str, budget: int | None = None) -> Receipt:
        try:
            step = Step(self, actor, m, now)
            step.budget = budget
            return step.run()
        except Rejected as r:
            return Receipt(seq=m.seq, status="rejected", premises_id=m.premises_id,
                           reason=r.reason, message=r.message)  # type: ignore[arg-type]


class Step:
    def __init__(self, o: Oracle, actor: Any, m: Mutation, now: str,
                 author: Doc | None = None, prefix: str | None = None):
        self.o, self.actor, self.m, self.now = o, actor, m, now
        self.kind = str(type(m).__struct_config__.tag)
        self.author = author or {"user": actor.username, "device": actor.device_id, "at": now,
                                 "client_time": m.client_time}
        self.prefix = prefix or f"{m.device_id}-{m.seq}"
        self.replayed = prefix is not None
        self.editor = actor.role in ("supervisor", "admin")
        self.budget: int | None = None  # conflicts it may open; None: any (a replay)

    def run(self) -> Receipt:
        m, pid = self.m, self.m.premises_id
        owner = (getattr(self.actor, "read_only", None) or {}).get(pid)
        if owner is not None:  # shared by another service or followed: never changed here
            raise Rejected("forbidden", f"This premises is shared with you read only by "
                           f"{owner}: it cannot be changed here. Tell {owner} what needs "
                           "changing.")
        if not self.editor and self.kind not in ("add_observation", "attach"):
            raise Rejected("forbidden", f"a {self.actor.role} may only add observations")
        if self.kind == "create":
            return self.create()
        current = self.o.premises.get(pid)
        if current is None:
            raise Rejected("unknown_premises", f"no premises {pid}")
        if current["station"] not in self.actor.grounds:
            raise Rejected("forbidden", f"premises {pid} is outside your grounds")
        if self.kind == "resolve_conflict":
            return self.resolve(current)
        if self.kind == "delete":
            if get(current, "deleted"):
                return self.receipt("applied", current, [])
            if current.get("version", 0) > m.base_version:
                return self.clash_deleted(current, server=False, client=True)
            new = self.write(current, {"deleted": True})
            self.log(current, new, ["deleted"], [])
            return self.receipt("applied", new, [])
        if get(current, "deleted"):
            return self.clash_deleted(current, server=True, client=False)
        return self.edit(current)

    def edit(self, current: Doc) -> Receipt:
        locked = {c["path"] for c in self.o.conflicts.values()
                  if c["premises_id"] == current["id"] and c["status"] == "open"}
        applied: dict[str, Any] = {}
        clashes: list[tuple[str, Any, Any, Any]] = []
        for path, old, new in self.changes(current):
            server = get(current, path)
            if new == server:
                continue
            if path in locked:
                clashes.append((path, old, server, new))
            elif old == server:
                applied[path] = new
            elif path == "harms" and all(isinstance(v, list) for v in (old, server, new)):
                result = [x for x in server if x in new or x not in old]
                result += [x for x in new if x not in old and x not in result]
                if result != server:
                    applied[path] = result
            else:
                clashes.append((path, old, server, new))
        self.within_budget(len(clashes))
        new_doc = self.write(current, applied) if applied else current
        ids = self.open_conflicts(new_doc, clashes, None)
        self.log(current, new_doc, list(applied), ids)
        status = ("conflict" if clashes else
                  "applied" if self.m.base_version >= current.get("version", 0) else "merged")
        return self.receipt(status, new_doc, ids)

    def changes(self, current: Doc) -> list[tuple[str, Any, Any]]:
        m: Any = self.m
        k = self.kind
        if k == "update":
            for c in m.changes:
                if c.field not in EDITABLE_FIELDS:
                    raise Rejected("invalid", f"{c.field} is not a field a device may change")
            return [(c.field, c.old, c.new) for c in m.changes]
        if k == "add_hazard":
            return [(f"hazards/{m.hazard.id}", None, msgspec.to_builtins(m.hazard))]
        if k == "remove_hazard":
            path = f"hazards/{m.hazard_id}"
            old = get(current, path) if m.old is None else msgspec.to_builtins(m.old)
            return [(path, old, None)]
        if k == "update_hazard":
            if get(current, f"hazards/{m.hazard_id}") is None:
                raise Rejected("unknown_hazard", f"no hazard {m.hazard_id} on {m.premises_id}")
            for c in m.changes:
                if c.field not in HAZARD_FIELDS:
                    raise Rejected("invalid", f"{c.field} is not a hazard field")
            return [(f"hazards/{m.hazard_id}/{c.field}", c.old, c.new) for c in m.changes]
        if k == "add_observation":
            waiting = sum(1 for o in current.get("observations") or []
                          if o.get("status", "open") == "open")
            if (get(current, f"observations/{m.observation.id}") is None
                    and waiting >= self.o.max_open_observations):
                raise Rejected("too_many_open_observations",
                               f"this premises already has {waiting} observations waiting for "
                               "a supervisor; ask one to review them")
            obs = {**msgspec.to_builtins(m.observation), "status": "open",
                   "by": self.actor.name, "at": self.now}
            return [(f"observations/{m.observation.id}", None, obs)]
        if k == "review_observation":
            if get(current, f"observations/{m.observation_id}") is None:
                raise Rejected("invalid", f"no observation {m.observation_id}")
            path = f"observations/{m.observation_id}/status"
            return [(path, m.old if m.old is not None else get(current, path), m.status)]
        if k == "attach":
            a = m.attachment
            if not self.editor and (a.kind != "photo" or a.observation_id is None):
                raise Rejected("forbidden", f"a {self.actor.role} may only attach photos to "
                               "an observation")
            if a.observation_id is not None and get(
                    current, f"observations/{a.observation_id}") is None:
                raise Rejected("invalid", f"no observation {a.observation_id}")
            there = get(current, f"attachments/{a.id}")
            if there is not None and there["sha256"] == a.sha256:
                return []
            att = {**msgspec.to_builtins(a), "available": False, "by": self.actor.name,
                   "at": self.now}
            return [(f"attachments/{a.id}", None, att)]
        assert k == "detach", k
        path = f"attachments/{m.attachment_id}"
        return [(path, get(current, path) if m.old is None else msgspec.to_builtins(m.old),
                 None)]

    def create(self) -> Receipt:
        m: Any = self.m
        if m.premises_id in self.o.premises:
            raise Rejected("exists", f"premises {m.premises_id} already exists")
        try:  # the engine checks a created record when it applies it
            record = msgspec.convert(m.record, Premises)
        except msgspec.ValidationError as exc:
            raise Rejected("invalid", problems.explain(str(exc), m.record)[1]) from None
        if record.id != m.premises_id:
            raise Rejected("invalid", "record.id must equal premises_id")
        station = record.station
        if station not in self.actor.grounds:
            raise Rejected("forbidden", f"station {station} is outside your grounds")
        if station not in self.o.stations:
            raise Rejected("invalid", f"no station {station}")
        doc = {**to_dict(record), "version": 0, "deleted": False}
        for obs in doc["observations"]:  # who and when are the server's; new ones are open
            obs.update(by=self.actor.name, at=self.now, status="open")
        for att in doc["attachments"]:
            att.update(available=False, by=self.actor.name, at=self.now)
        new = self.write(doc, {"assessed_at": doc["assessed_at"]})
        self.o.audit.append(self.entry({}, new, sorted(new), []))
        return self.receipt("applied", new, [])

    def resolve(self, current: Doc) -> Receipt:
        m: Any = self.m
        c = self.o.conflicts.get(m.conflict_id)
        if c is None or c["premises_id"] != m.premises_id:
            raise Rejected("unknown_conflict", f"no conflict {m.conflict_id} on {m.premises_id}")
        if c["status"] != "open":
            raise Rejected("conflict_closed", f"conflict {m.conflict_id} is already resolved")
        if (c["path"] == "deleted") != (m.choice in ("keep", "delete")):
            raise Rejected("invalid", "choose keep or delete for a deleted-record conflict, "
                           "server, client or value for any other")
        deleted = bool(get(current, "deleted"))
        changes: dict[str, Any] = {
            "client": {c["path"]: c["client"]}, "value": {c["path"]: m.value},
            "delete": {} if deleted else {"deleted": True},
            "keep": {"deleted": False} if deleted else {}, "server": {}}[m.choice]
        new = self.write(current, changes) if changes else current
        self.o.conflicts[c["id"]] = {
            **c, "status": "resolved", "resolution": m.choice,
            "resolved_value": changes[c["path"]] if c["path"] in changes else get(new, c["path"]),
            "resolved_by": self.author}
        self.log(current, new, list(changes), [], resolved=c["id"])
        ids: list[str] = []
        held = c["mutation"]
        if m.choice == "keep" and held and held["kind"] != "delete":
            replay = msgspec.convert(held, Mutation)  # type: ignore[arg-type]
            inner = Step(self.o, self.actor, replay, self.now, author=dict(c["client_author"]),
                         prefix=f"{self.prefix}-r")
            try:
                ids = inner.edit(new).conflict_ids
            except Rejected:
                pass
            new = self.o.premises[m.premises_id]
        return self.receipt("applied", new, ids)

    # -- shared -----------------------------------------------------------------------------
    def write(self, current: Doc, changes: dict[str, Any]) -> Doc:
        doc = copy.deepcopy(current)
        for path, value in changes.items():
            put(doc, path, copy.deepcopy(value))
        doc.update(version=current.get("version", 0) + 1, updated_at=self.now,
                   updated_by=self.actor.username)
        try:  # the whole record first: nothing is derived from a value that is not valid
            doc = to_dict(msgspec.convert(doc, Premises))
        except msgspec.ValidationError as exc:  # worded as the spec says (sync/problems.py)
            raise Rejected("invalid", problems.explain(str(exc), doc)[1]) from None
        if "assessed_at" in changes or "risk_level" in changes:
            assessed, level = doc["assessed_at"], doc["risk_level"]
            doc["next_review_due"] = (dt.date.fromisoformat(assessed) + dt.timedelta(
                days=self.o.intervals[level])).isoformat() if assessed else None
        self.o.premises[doc["id"]] = doc
        for path in changes:
            self.o.writers[(doc["id"], path)] = self.author
        return doc

    def within_budget(self, n: int) -> None:
        if self.budget is not None and n > self.budget:
            raise Rejected("too_many_conflicts",
                           f"this change would open {n} conflicts and this push may open only "
                           f"{max(self.budget, 0)} more (at most {self.o.max_conflicts} a push); "
                           "sync again and redo it on the record as it is now")
        if self.budget is not None and n and n > self.o.device_left:
            raise Rejected("too_many_conflicts",
                           f"this device already has {self.o.max_open_per_device - self.o.device_left}"
                           f" conflicts waiting for a supervisor (at most "
                           f"{self.o.max_open_per_device} a device) and this change would open "
                           f"{n} more; ask for them to be resolved, then redo it on the record "
                           "as it is now")

    def clash_deleted(self, current: Doc, server: bool, client: bool) -> Receipt:
        self.within_budget(1)
        ids = self.open_conflicts(current, [("deleted", False, server, client)],
                                  msgspec.to_builtins(self.m))
        self.log(current, current, [], ids)
        return self.receipt("conflict", current, ids)

    def open_conflicts(self, doc: Doc, clashes: list[tuple[str, Any, Any, Any]],
                       mutation: Doc | None) -> list[str]:
        ids = []
        for i, (path, base, server, client) in enumerate(clashes):
            cid = f"{self.prefix}-{i}"
            self.o.conflicts[cid] = {
                "id": cid, "premises_id": doc["id"], "station": doc["station"], "path": path,
                "base": base, "server": server, "client": client,
                "server_author": self.server_author(doc, path), "client_author": self.author,
                "mutation": mutation, "status": "open", "resolution": None,
                "resolved_value": None, "resolved_by": None, "created_at": self.now}
            ids.append(cid)
        return ids

    def server_author(self, doc: Doc, path: str) -> Doc | None:
        parts = path.split("/")
        for n in range(len(parts), 0, -1):
            found = self.o.writers.get((doc["id"], "/".join(parts[:n])))
            if found:
                return found
        if doc.get("updated_by"):
            return {"user": doc["updated_by"], **({"at": doc["updated_at"]}
                                                  if doc.get("updated_at") else {})}
        return None

    def log(self, before: Doc, after: Doc, paths: list[str], ids: list[str],
            resolved: str | None = None) -> None:
        tops = sorted({p.split("/")[0] for p in paths})
        self.o.audit.append(self.entry(before, after, tops, ids, resolved))

    def entry(self, before: Doc, after: Doc, tops: list[str], ids: list[str],
              resolved: str | None = None) -> Doc:
        lists = [k for k in tops if k in LISTS] if before else []
        tops = [k for k in tops if k not in lists]
        changed = [i for k in lists for i in items(k, get(before, k), get(after, k))
                   or [{"field": k, "change": "unchanged"}]]
        return {"premises_id": self.m.premises_id, "kind": self.kind,
                "user": self.actor.username, "device_id": self.m.device_id, "seq": self.m.seq,
                "replayed": self.replayed, "client_time": self.m.client_time,
                "server_time": self.now, "version": after.get("version", 0),
                "before": {k: get(before, k) for k in tops} if before else {},
                "after": {k: get(after, k) for k in tops},
                **({"items": changed} if changed else {}), "conflict_ids": ids, "resolved_conflict": resolved}

    def receipt(self, status: str, doc: Doc, ids: list[str]) -> Receipt:
        return Receipt(seq=self.m.seq, status=status, premises_id=self.m.premises_id,  # type: ignore[arg-type]
                       version=doc.get("version"), conflict_ids=ids)
