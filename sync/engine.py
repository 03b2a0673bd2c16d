"""The sync engine: push (apply a device's mutations in sequence, once each) and pull (a page of
changes in the device's scope after its cursor).

Synchronous code over a store transaction (`store.Tx`) or snapshot (`store.Reader`): the caller
runs a whole push inside one write transaction. Knows no HTTP and no SQL; time comes in as
`now`; merge rules live in sync/merge.py.

Requests, before anything runs (`Refused` with a `RefusalCode`; the HTTP layer picks statuses):
  Rule 1  a protocol older than MIN_PROTOCOL_VERSION is `upgrade_required`, newer than
          PROTOCOL_VERSION `protocol_unsupported` (so is one that is not a whole number);
          none stated is the current one.
  Rule 2  a body that is not JSON is `malformed_json`; one that is not a PushRequest, a
          mutation with a `seq` below 1 or another device's `device_id` is `invalid`, naming
          the field; more than `max_push_mutations` is `too_many_mutations`. Nothing is stored.
Sequence numbers (push), per device; the store keeps `last` (the last seq applied) and every
receipt, written in the same transaction as the mutation's effects:
  Rule 3  seq == last + 1: the mutation runs (applied, merged, conflict or rejected), its
          receipt is stored and `last` advances. A rejected mutation advances `last` too.
  Rule 4  seq <= last: a retry. Its stored receipt is returned and nothing changes (a receipt
          gone from the store comes back as rejected `invalid`, still changing nothing).
  Rule 4a a push's lowest seq, less one (at most `last`), is the device's acknowledged seq:
          it holds every receipt up to it (it sends its outbox from the oldest unanswered
          mutation), so housekeeping may forget those. Each push sets it anew: a stale request
          arriving late only lowers it.
  Rule 5  seq > last + 1: a gap. That mutation and every later one in the batch are left
          unread; the response says `gap` and `next_seq` (= last + 1), where the device resends
          from (renumbering its outbox from there if it lost the history between).
  Rule 6  a push is one transaction: a batch cut short by a gap keeps what ran before it.
  Rule 6a a push opens at most `max_conflicts_per_push` conflicts: a mutation that would open
          more than are left is rejected `too_many_conflicts` before it writes anything (its
          seq is used, Rule 3); later mutations that clash less, or not at all, still run.
          The console is a device too (`console-<user id>`), its seqs given inside the write.
  Rule 6b a device keeps at most `max_open_conflicts_per_device` conflicts open: those its
          pushes opened (ids `<device>-<seq>-…`) that nobody has resolved yet, counted as at
          the start of the push. A mutation that would go beyond is rejected
          `too_many_conflicts` like Rule 6a, saying that the device's conflicts must be
          resolved first; it opens again as they are resolved.
  Rule 6c a mutation on a record the actor holds read-only (`Actor.read_only`: shared by
          another service, or followed from another server) is rejected `forbidden`, naming
          the service that owns it; nothing is written (its seq is used, Rule 3).
  Rule 6d a premises holds at most `max_open_observations` open (unreviewed) observations: an
          `add_observation` of a new one beyond it is rejected `too_many_open_observations`
          (its seq is used, Rule 3), saying that a supervisor must review them first; so a busy
          record, and every write and pull page carrying it, stays bounded (reviewed ones leave
          it after retention, server/housekeeping.py).
Pull, over the server's change sequence (one number per write, shared by records and
conflicts):
  Rule 7  an empty cursor starts the scope from the beginning, with `total`.
  Rule 8  a reset: a cursor that is malformed, of another epoch (a restored or replaced
          database), behind the tombstone horizon or ahead of the server restarts the scope
          from the beginning with `reset` set; the device drops what the new scope lacks.
  Rule 9  grounds changed since the cursor: records of stations that left are listed once in
          `left_scope`; stations added restart the scope from the beginning (with `total`).
  Rule 10 a record that moved out of the grounds after the cursor is listed in `left_scope`.
  Rule 11 a page holds at most `pull_page_rows` items (or the caller's smaller `limit`) and
          about `pull_page_bytes`; `more` says another page follows. The last page's cursor is
          the server's latest sequence, so changes outside the scope are never read again.
Retries are safe everywhere: a push resent (same seqs) is Rule 4, a pull resent with the same
cursor returns the same changes or later ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import msgspec

from sync import merge, paths, problems, writer
from sync.protocol import (
    MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
    AddHazard,
    AddObservation,
    Attach,
    Author,
    CreatePremises,
    Cursor,
    DeletePremises,
    Detach,
    Mutation,
    PullTail,
    PushRequest,
    PushResponse,
    Receipt,
    RemoveHazard,
    ResolveConflict,
    RestorePremises,
    ReviewObservation,
    Update,
    UpdateHazard,
    decode_cursor,
    encode_cursor,
    encode_pull,
    kind_of,
    push_request_decoder,
)
from sync.record import EDITABLE_FIELDS, Hazard, to_dict, validate
from sync.roles import EDITORS
from sync.store import Doc, Reader, Tx
from sync.validation import problem_of

HAZARD_FIELDS = frozenset(f.name for f in msgspec.structs.fields(Hazard)) - {"id"}


@dataclass(frozen=True)
class Actor:
    """Who is syncing: the user, role, station grounds in scope, and the device."""

    user_id: int
    username: str
    name: str
    role: str
    grounds: tuple[str, ...]
    device_id: str
    device_name: str = ""  # shown beside the user where an edit is named (conflicts)
    # records this device holds read-only, by id: the name of the service that owns each
    read_only: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def can_edit(self) -> bool:
        return self.role in EDITORS


@dataclass(frozen=True)
class Config:
    review_interval_days: dict[int, int] = field(default_factory=dict)
    max_push_mutations: int = 500
    max_conflicts_per_push: int = 100
    max_open_conflicts_per_device: int = 500
    max_open_observations: int = 200  # open observations one premises may hold (Rule 6d)
    pull_page_rows: int = 1000
    pull_page_bytes: int = 2 * 1024 * 1024


RefusalCode = Literal["malformed_json", "invalid", "too_many_mutations", "upgrade_required",
                      "protocol_unsupported"]


class Refused(Exception):
    """A whole request refused before anything ran (Rules 1 and 2): a code, the field."""

    def __init__(self, code: RefusalCode, message: str, field: str | None = None,
                 **extra: Any):
        super().__init__(message)
        self.code, self.message, self.field, self.extra = code, message, field, extra


class _Reject(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


# -- requests ---------------------------------------------------------------------------------

SUPPORTED_PROTOCOLS = [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]  # `supported` in refusals; never mutated


def check_protocol(version: int | None) -> None:
    if version is None:
        return
    if version < MIN_PROTOCOL_VERSION:
        raise Refused("upgrade_required",
                      f"sync protocol {version} is too old; this server speaks "
                      f"{MIN_PROTOCOL_VERSION}..{PROTOCOL_VERSION}: update the app",
                      "protocol", supported=SUPPORTED_PROTOCOLS)
    if version > PROTOCOL_VERSION:
        raise Refused("protocol_unsupported",
                      f"sync protocol {version} is newer than this server "
                      f"({PROTOCOL_VERSION})", "protocol",
                      supported=SUPPORTED_PROTOCOLS)


def decode_push(body: bytes, actor: Actor, cfg: Config) -> PushRequest:
    """Decode and check a push body (Rules 1 and 2); raises Refused."""
    try:
        req = push_request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        found = problem_of(exc)
        if found.path == "protocol":  # Rule 1: a protocol that is not a number is unsupported
            raise Refused("protocol_unsupported", "protocol must be a whole number",
                          "protocol", supported=SUPPORTED_PROTOCOLS) from None
        raise Refused("invalid", found.message, found.path) from None
    except msgspec.DecodeError as exc:
        raise Refused("malformed_json", f"request body is not valid JSON: {exc}") from None
    check_protocol(req.protocol)
    if len(req.mutations) > cfg.max_push_mutations:
        raise Refused("too_many_mutations",
                      f"a push holds at most {cfg.max_push_mutations} mutations; "
                      f"send {len(req.mutations)} as several batches", "mutations",
                      limit=cfg.max_push_mutations)
    for i, m in enumerate(req.mutations):
        if m.seq < 1:
            raise Refused("invalid", "seq must be 1 or more", f"mutations[{i}].seq")
        if m.device_id != actor.device_id:
            raise Refused("invalid", "device_id is not the device of this token",
                          f"mutations[{i}].device_id")
    return req


# -- push -------------------------------------------------------------------------------------

@dataclass
class _Budget:
    """The conflicts a push may still open: Rule 6a (this push) and Rule 6b (this device, its
    open conflicts counted from the store once, when the push first clashes)."""

    push: int
    device: int | None = None

    def check(self, tx: Tx, device_id: str, cfg: Config, n: int) -> None:
        if n > self.push:
            raise _Reject("too_many_conflicts",
                          f"this change would open {n} conflicts and this push may open only "
                          f"{max(self.push, 0)} more (at most {cfg.max_conflicts_per_push} a "
                          "push); sync again and redo it on the record as it is now")
        if self.device is None:
            self.device = cfg.max_open_conflicts_per_device - tx.open_conflicts_by(device_id)
        if n > self.device:
            raise _Reject("too_many_conflicts",
                          f"this device already has {cfg.max_open_conflicts_per_device - self.device}"
                          f" conflicts waiting for a supervisor (at most "
                          f"{cfg.max_open_conflicts_per_device} a device) and this change would "
                          f"open {n} more; ask for them to be resolved, then redo it on the "
                          "record as it is now")

    def spend(self, n: int) -> None:
        self.push -= n
        if self.device is not None:
            self.device -= n


def push(tx: Tx, actor: Actor, mutations: Sequence[Mutation], now: str, cfg: Config
         ) -> PushResponse:
    """Apply mutations in seq order: a seen seq returns its stored receipt and changes nothing,
    the next seq applies, a seq beyond the next stops the batch (`gap`)."""
    device = actor.device_id
    last = tx.last_seq(device)
    receipts: list[Receipt] = []
    gap = False
    budget = _Budget(cfg.max_conflicts_per_push)  # conflicts it may still open (Rules 6a, 6b)
    for m in mutations:
        if m.seq <= last:
            stored = next((r for r in receipts if r.seq == m.seq), None) or tx.receipt(
                device, m.seq)  # a seq twice in one batch: its receipt is not flushed yet
            receipts.append(stored or Receipt(seq=m.seq, status="rejected",
                                              premises_id=m.premises_id, reason="invalid",
                                              message="this seq was applied; receipt expired"))
            continue
        if m.seq != last + 1:
            gap = True
            break
        receipt = apply_mutation(tx, actor, m, now, cfg, budget)
        budget.spend(len(receipt.conflict_ids))
        tx.put_receipt(device, receipt)
        receipts.append(receipt)
        last = m.seq
    tx.set_last_seq(device, last)
    if mutations:  # Rule 4a: a device sends its outbox from its oldest unanswered mutation
        tx.set_acked(device, min(min(m.seq for m in mutations) - 1, last))
    return PushResponse(receipts=receipts, next_seq=last + 1, gap=gap)


def apply_mutation(tx: Tx, actor: Actor, m: Mutation, now: str, cfg: Config,
                   conflict_budget: _Budget | None = None) -> Receipt:
    """One mutation: authorise, merge, write; any refusal is a rejected receipt. It may open
    at most `conflict_budget` conflicts (None: any number)."""
    try:
        return _Apply(tx, actor, m, now, cfg, conflict_budget).run()
    except _Reject as rej:
        return Receipt(seq=m.seq, status="rejected", premises_id=m.premises_id,
                       reason=rej.reason, message=rej.message)  # type: ignore[arg-type]


class _Apply:
    def __init__(self, tx: Tx, actor: Actor, m: Mutation, now: str, cfg: Config,
                 conflict_budget: _Budget | None = None):
        self.tx, self.actor, self.m, self.now, self.cfg = tx, actor, m, now, cfg
        self.conflict_budget = conflict_budget
        self.author = {"user": actor.username, "device": actor.device_id, "at": now,
                       "client_time": m.client_time}
        if actor.device_name:
            self.author["device_name"] = actor.device_name
        self.id_prefix = f"{m.device_id}-{m.seq}"
        self.replayed = False  # a kept edit replayed when its delete conflict is resolved

    def run(self) -> Receipt:
        m, actor = self.m, self.actor
        owner = actor.read_only.get(m.premises_id)
        if owner is not None:  # Rule 6c
            raise _Reject("forbidden", f"This premises is shared with you read only by {owner}: "
                          f"it cannot be changed here. Tell {owner} what needs changing.")
        if not actor.can_edit and not isinstance(m, (AddObservation, Attach)):
            raise _Reject("forbidden", f"a {actor.role} may only add observations")
        if isinstance(m, CreatePremises):
            return self.create(m)
        current = self.tx.premises(m.premises_id)
        if current is None:
            raise _Reject("unknown_premises", f"no premises {m.premises_id}")
        if current["station"] not in actor.grounds:
            raise _Reject("forbidden", f"premises {m.premises_id} is outside your grounds")
        if isinstance(m, ResolveConflict):
            return self.resolve(m, current)
        if isinstance(m, DeletePremises):
            return self.delete(m, current)
        if isinstance(m, RestorePremises):
            return self.restore(current)
        if current.get("deleted"):
            return self.conflicts(current, [merge.Clash("deleted", False, True, False)],
                                  mutation=msgspec.to_builtins(m))
        return self.edit(m, current)

    # -- kinds -----------------------------------------------------------------------------
    def edit(self, m: Mutation, current: Doc) -> Receipt:
        changes = self.changes(m, current)
        locked = {c["path"] for c in self.tx.open_conflicts(current["id"])}
        outcome = merge.merge(current, changes, locked)
        ids = self.conflict_ids(outcome.clashes)
        new = self.write(current, outcome.apply, ids)
        self.new_conflicts(new, outcome.clashes, None)
        return self.receipt(merge.status(m.base_version, current.get("version", 0), outcome),
                            new, ids)

    def changes(self, m: Mutation, current: Doc) -> list[tuple[str, Any, Any]]:
        """The mutation's (path, old, new) from the one table (sync/paths.py), once this actor
        may make them; new observations and attachments get what only the server knows."""
        if isinstance(m, Update):
            for c in m.changes:
                if c.field not in EDITABLE_FIELDS:
                    raise _Reject("invalid", f"{c.field} is not a field a device may change")
        elif isinstance(m, UpdateHazard):
            if merge.get_path(current, f"hazards/{m.hazard_id}") is None:
                raise _Reject("unknown_hazard", f"no hazard {m.hazard_id} on {m.premises_id}")
            for c in m.changes:
                if c.field not in HAZARD_FIELDS:
                    raise _Reject("invalid", f"{c.field} is not a hazard field")
        elif isinstance(m, ReviewObservation):
            if merge.get_path(current, f"observations/{m.observation_id}") is None:
                raise _Reject("invalid", f"no observation {m.observation_id}")
        elif isinstance(m, Attach):
            self.check_attach(m, current)
        elif isinstance(m, AddObservation):
            self.check_open_observations(m, current)
        elif not isinstance(m, (AddHazard, RemoveHazard, Detach)):
            raise _Reject("invalid", f"unsupported mutation {type(m).__name__}")
        out = paths.changes(m, current)
        for _, _, new in out:
            if isinstance(m, AddObservation):
                self.stamp_observation(new)
            elif isinstance(m, Attach):
                self.stamp_attachment(new)
        return out

    def stamp_observation(self, obs: Doc) -> None:
        """Who made it and when are the server's to say, and a new observation is open: a
        client's `by`, `at` or `status` is never kept."""
        obs.update(by=self.actor.name, at=self.now, status="open")

    def stamp_attachment(self, att: Doc) -> None:
        """Whether the blob is here, who attached it and when: the server's, never a client's."""
        att.update(available=self.tx.blob_available(att["sha256"]), by=self.actor.name,
                   at=self.now)

    def check_open_observations(self, m: AddObservation, current: Doc) -> None:
        """Rule 6d: a new observation only while the record holds fewer than the bound open."""
        limit = self.cfg.max_open_observations
        if merge.get_path(current, f"observations/{m.observation.id}") is not None:
            return  # already there (a re-sent add): the merge says what it comes to
        waiting = sum(1 for o in current.get("observations") or []
                      if o.get("status", "open") == "open")
        if waiting >= limit:
            raise _Reject("too_many_open_observations",
                          f"this premises already has {waiting} observations waiting for a "
                          "supervisor; ask one to review them")

    def check_attach(self, m: Attach, current: Doc) -> None:
        """Crews may attach only a photo of their observation; `available` is the server's."""
        a = m.attachment
        if not self.actor.can_edit:
            if a.kind != "photo" or a.observation_id is None:
                raise _Reject("forbidden", f"a {self.actor.role} may only attach photos to "
                                           "an observation")
        if a.observation_id is not None and merge.get_path(
                current, f"observations/{a.observation_id}") is None:
            raise _Reject("invalid", f"no observation {a.observation_id}")

    def create(self, m: CreatePremises) -> Receipt:
        if self.tx.premises(m.premises_id) is not None:
            raise _Reject("exists", f"premises {m.premises_id} already exists")
        try:  # the record is checked here, not on decode: a bad value rejects this one only
            record = validate(m.record)
        except msgspec.ValidationError as exc:
            raise _Reject("invalid", problems.explain(str(exc), m.record)[1]) from None
        if record.id != m.premises_id:
            raise _Reject("invalid", "record.id must equal premises_id")
        self.check_station(record.station)
        doc = cast(Doc, to_dict(record))
        doc.update(version=0, deleted=False)
        for obs in doc.get("observations") or []:
            self.stamp_observation(obs)
        for att in doc.get("attachments") or []:
            self.stamp_attachment(att)
        new = self.write(doc, {"assessed_at": doc.get("assessed_at")}, created=True)
        return self.receipt("applied", new, [])

    def delete(self, m: DeletePremises, current: Doc) -> Receipt:
        if current.get("deleted"):
            return self.receipt("applied", current, [])
        if merge.delete_clashes(current.get("version", 0), m.base_version):
            return self.conflicts(current, [merge.Clash("deleted", False, False, True)],
                                  mutation=msgspec.to_builtins(m))
        new = self.write(current, {"deleted": True})
        return self.receipt("applied", new, [])

    def restore(self, current: Doc) -> Receipt:
        """A tombstone comes back as it was deleted, at its station (which must still take
        premises); a live record is left alone."""
        if not current.get("deleted"):
            return self.receipt("applied", current, [])
        self.check_station(current["station"])
        new = self.write(current, {"deleted": False})
        return self.receipt("applied", new, [])

    def resolve(self, m: ResolveConflict, current: Doc) -> Receipt:
        conflict = self.tx.conflict(m.conflict_id)
        if conflict is None or conflict["premises_id"] != m.premises_id:
            raise _Reject("unknown_conflict", f"no conflict {m.conflict_id} on {m.premises_id}")
        if conflict["status"] != "open":
            raise _Reject("conflict_closed", f"conflict {m.conflict_id} is already resolved")
        path = conflict["path"]
        deletion = path == "deleted"
        if deletion != (m.choice in ("keep", "delete")):
            raise _Reject("invalid", "choose keep or delete for a deleted-record conflict, "
                          "server, client or value for any other")
        changes = {p: new for p, _, new in paths.changes(m, current, conflict)}
        new = self.write(current, changes, resolved=m.conflict_id)
        self.tx.put_conflict({**conflict, "status": "resolved", "resolution": m.choice,
                              "resolved_value": changes.get(path, merge.get_path(new, path)),
                              "resolved_by": self.author})
        ids: list[str] = []
        if m.choice == "keep" and conflict.get("mutation"):
            replay = msgspec.convert(conflict["mutation"], Mutation)
            if not isinstance(replay, DeletePremises):
                inner = _Apply(self.tx, self.actor, replay, self.now, self.cfg)
                inner.author = dict(conflict["client_author"])
                inner.id_prefix, inner.replayed = f"{self.id_prefix}-r", True
                try:
                    ids = inner.edit(replay, new).conflict_ids
                except _Reject:
                    pass  # the kept edit no longer fits; the record stays as restored
                new = self.tx.premises(m.premises_id) or new
        return self.receipt("applied", new, ids)

    # -- shared steps ----------------------------------------------------------------------
    def check_station(self, station: str) -> None:
        if station not in self.actor.grounds:
            raise _Reject("forbidden", f"station {station} is outside your grounds")
        if not self.tx.station_exists(station):
            raise _Reject("invalid", f"no station {station}")

    def write(self, current: Doc, changes: dict[str, Any], conflict_ids: Sequence[str] = (),
              resolved: str | None = None, created: bool = False) -> Doc:
        """Store the change and its audit entry through the one writer (sync/writer.py);
        with no `changes` only the audit entry. Records who last wrote each changed path."""
        if "station" in changes:
            self.check_station(changes["station"])
        stamp = writer.Stamp(kind=kind_of(self.m), user=self.actor.username, now=self.now,
                             device_id=self.m.device_id, seq=self.m.seq,
                             client_time=self.m.client_time, replayed=self.replayed)
        try:
            doc = writer.write(self.tx, stamp, current, changes, self.cfg.review_interval_days,
                               conflict_ids=conflict_ids, resolved=resolved, created=created)
        except msgspec.ValidationError as exc:  # in plain words, naming the field
            attempted = paths.applied(current, [(p, None, v) for p, v in changes.items()])
            raise _Reject("invalid", problems.explain(str(exc), attempted)[1]) from None
        for path in changes:
            self.tx.set_writer(doc["id"], path, self.author)
        return doc

    def conflicts(self, current: Doc, clashes: list[merge.Clash],
                  mutation: dict[str, Any] | None) -> Receipt:
        ids = self.conflict_ids(clashes)
        self.write(current, {}, ids)
        self.new_conflicts(current, clashes, mutation)
        return self.receipt("conflict", current, ids)

    def conflict_ids(self, clashes: list[merge.Clash]) -> list[str]:
        """The ids of the conflicts `clashes` open; called before anything is written, it
        refuses the mutation when they are more than the push or the device may still open
        (Rules 6a and 6b)."""
        if self.conflict_budget is not None and clashes:
            self.conflict_budget.check(self.tx, self.m.device_id, self.cfg, len(clashes))
        return [f"{self.id_prefix}-{i}" for i in range(len(clashes))]

    def new_conflicts(self, doc: Doc, clashes: list[merge.Clash],
                      mutation: dict[str, Any] | None) -> list[str]:
        ids = self.conflict_ids(clashes)
        for cid, clash in zip(ids, clashes, strict=True):
            server_author = self.server_author(doc, clash.path)
            self.tx.put_conflict({
                "id": cid, "premises_id": doc["id"], "station": doc["station"],
                "path": clash.path, "base": clash.base, "server": clash.server,
                "client": clash.client, "server_author": server_author,
                "client_author": self.author, "mutation": mutation, "status": "open",
                "resolution": None, "resolved_value": None, "resolved_by": None,
                "created_at": self.now})
        return ids

    def server_author(self, doc: Doc, path: str) -> Doc | None:
        probe = path
        while probe:
            found = self.tx.writer(doc["id"], probe)
            if found:
                return found
            probe = probe.rpartition("/")[0]
        if doc.get("updated_by"):
            return cast(Doc, msgspec.to_builtins(
                Author(user=doc["updated_by"], at=doc.get("updated_at", ""))))
        return None

    def receipt(self, status: str, doc: Doc, ids: list[str]) -> Receipt:
        return Receipt(seq=self.m.seq, status=status, premises_id=self.m.premises_id,  # type: ignore[arg-type]
                       version=doc.get("version"), conflict_ids=ids)


# -- pull -------------------------------------------------------------------------------------

def pull(reader: Reader, actor: Actor, cursor: str, limit: int | None, cfg: Config) -> bytes:
    """One page of changes in the actor's scope after `cursor`, as PullResponse JSON bytes.

    An unknown cursor (other epoch, malformed, behind the tombstone horizon, ahead of the
    server) restarts the scope with `reset`. A cursor issued for other grounds lists the
    records that left scope and, if grounds were added, restarts from the beginning.
    """
    grounds = sorted(actor.grounds)
    cur = decode_cursor(cursor)
    reset, after, left = False, 0, []  # type: bool, int, list[str]
    if cursor and (cur is None or cur.epoch != reader.epoch() or cur.seq > reader.max_seq()
                   or cur.seq < reader.horizon() > cur.horizon):  # purged since it was issued
        reset = True
    elif cur is not None:
        after = cur.seq
        if cur.grounds != grounds:
            gone = sorted(set(cur.grounds) - set(grounds))
            if gone:
                left = reader.ids_in_stations(gone)
            if set(grounds) - set(cur.grounds):
                after = 0
    rows = max(1, min(limit or cfg.pull_page_rows, cfg.pull_page_rows))
    total = reader.count_scope(grounds) if after == 0 else None
    items, more = reader.changes(after, grounds, rows, cfg.pull_page_bytes)
    top = items[-1][0] if items else after
    if not more:
        top = max(top, reader.max_seq())
    if cur is not None and not reset and after > 0:
        left += [x for x in reader.left(after, top, grounds) if x not in left]
    tail = PullTail(cursor=encode_cursor(Cursor(reader.epoch(), top, grounds, reader.horizon())),
                    more=more,
                    reset=reset, total=total, left_scope=left)
    return encode_pull(items, tail)
