"""The reference sync client: outbox, local replica, cursor and receipts over a pluggable async
transport `(method, path, headers, body) -> (status, headers, body)`.

Executable documentation of the client obligations in docs/sync-protocol.md: number mutations
1, 2, 3 ..., keep them until a receipt arrives, retry with jittered back-off, restart on reset,
never drop a record that holds pending edits or open conflicts, keep refused edits until the
person deals with them, and honour a retire order (8a). No sockets, no server code.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import msgspec

from sync import merge, paths
from sync.protocol import (
    OLDEST_PENDING_HEADER,
    PENDING_HEADER,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    AddHazard,
    AddObservation,
    ConflictChange,
    CreatePremises,
    DeletePremises,
    FieldChange,
    Mutation,
    PremisesChange,
    PushRequest,
    Receipt,
    RemoveHazard,
    ResolveConflict,
    ReviewObservation,
    Update,
    UpdateHazard,
    encoder,
    pull_response_decoder,
    push_response_decoder,
)
from sync.record import Hazard, Observation, Premises

Headers = dict[str, str]
Transport = Callable[[str, str, Headers, bytes], Awaitable[tuple[int, Headers, bytes]]]
Doc = dict[str, Any]


class TransportError(Exception):
    """The request or its answer was lost (no connection, timeout, reset)."""


class SyncError(Exception):
    def __init__(self, status: int, body: bytes):
        super().__init__(f"sync refused with {status}: {body[:300]!r}")
        self.status, self.body = status, body


class SyncUnavailable(Exception):
    """The server could not be reached after every retry; the outbox is kept."""


class DeviceRevoked(Exception):
    """The server revoked this device; local data has been wiped if it asked."""


class _RetireOrder(msgspec.Struct):
    """The top-level `retire` key a retiring device's push and pull answers carry."""

    retire: bool = False


_retire_decoder = msgspec.json.Decoder(_RetireOrder)


class SyncClient:
    def __init__(self, transport: Transport, token: str, device_id: str, *,
                 batch_size: int = 100, page_limit: int | None = None, max_attempts: int = 6,
                 base_delay: float = 0.25, max_delay: float = 30.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rng: random.Random | None = None, clock: Callable[[], str] = lambda: ""):
        self.transport, self.token, self.device_id = transport, token, device_id
        self.batch_size, self.page_limit, self.max_attempts = batch_size, page_limit, max_attempts
        self.base_delay, self.max_delay, self.sleep = base_delay, max_delay, sleep
        self.rng, self.clock = rng or random.Random(), clock
        self.replica: dict[str, Doc] = {}        # records as the server last sent them
        self.conflicts: dict[str, Doc] = {}
        self.outbox: list[Mutation] = []         # sent or not, kept until a receipt arrives
        self.receipts: dict[int, Receipt] = {}
        self.cursor = ""
        self.next_seq = 1
        self.total: int | None = None            # progress: `received` of `total`
        self.received = 0
        self._resync: set[str] | None = None     # ids seen since a reset, until its last page
        self.refused: dict[int, Receipt] = {}    # rejected edits the person has not dealt with
        self.retiring = False                    # an answer said `retire` (obligation 8a)
        self.retired = False                     # acknowledged, signed out and cleared

    # -- reading ----------------------------------------------------------------------------
    def view(self, premises_id: str) -> Doc | None:
        """The record as the user should see it: the replica plus pending edits."""
        doc = copy.deepcopy(self.replica.get(premises_id))
        for m in self.outbox:
            if m.premises_id != premises_id or (doc is None and not isinstance(m, CreatePremises)):
                continue
            base = doc or {}
            conflict = self.conflicts.get(m.conflict_id) if isinstance(m, ResolveConflict) else None
            doc = paths.applied(base, paths.changes(m, base, conflict))
        return doc

    def pending(self, premises_id: str) -> bool:
        return any(m.premises_id == premises_id for m in self.outbox)

    def open_conflicts(self, premises_id: str | None = None) -> list[Doc]:
        return [c for c in self.conflicts.values() if c["status"] == "open"
                and (premises_id is None or c["premises_id"] == premises_id)]

    # -- local edits (each becomes one mutation in the outbox) -------------------------------
    def update(self, premises_id: str, **fields: Any) -> Mutation:
        view = self._require(premises_id)
        return self._enqueue(Update(
            premises_id=premises_id, base_version=self._base(premises_id),
            changes=[FieldChange(f, merge.get_path(view, f), v) for f, v in fields.items()]))

    def add_hazard(self, premises_id: str, hazard: Doc) -> Mutation:
        self._require(premises_id)
        return self._enqueue(AddHazard(premises_id=premises_id, base_version=self._base(
            premises_id), hazard=msgspec.convert(hazard, Hazard)))

    def remove_hazard(self, premises_id: str, hazard_id: str) -> Mutation:
        old = merge.get_path(self._require(premises_id), f"hazards/{hazard_id}")
        return self._enqueue(RemoveHazard(
            premises_id=premises_id, base_version=self._base(premises_id), hazard_id=hazard_id,
            old=msgspec.convert(old, Hazard) if old else None))

    def update_hazard(self, premises_id: str, hazard_id: str, **fields: Any) -> Mutation:
        view = self._require(premises_id)
        return self._enqueue(UpdateHazard(
            premises_id=premises_id, base_version=self._base(premises_id), hazard_id=hazard_id,
            changes=[FieldChange(f, merge.get_path(view, f"hazards/{hazard_id}/{f}"), v)
                     for f, v in fields.items()]))

    def create(self, record: Doc) -> Mutation:
        return self._enqueue(CreatePremises(premises_id=record["id"],
                                            record=msgspec.to_builtins(msgspec.convert(record, Premises))))

    def delete(self, premises_id: str) -> Mutation:
        self._require(premises_id)
        return self._enqueue(DeletePremises(premises_id=premises_id,
                                            base_version=self._base(premises_id)))

    def add_observation(self, premises_id: str, observation: Doc) -> Mutation:
        self._require(premises_id)
        return self._enqueue(AddObservation(
            premises_id=premises_id, base_version=self._base(premises_id),
            observation=msgspec.convert(observation, Observation)))

    def review_observation(self, premises_id: str, observation_id: str, status: str
                           ) -> Mutation:
        return self._enqueue(ReviewObservation(
            premises_id=premises_id, base_version=self._base(premises_id),
            observation_id=observation_id, status=status))  # type: ignore[arg-type]

    def resolve(self, conflict_id: str, choice: str, value: Any = None) -> Mutation:
        conflict = self.conflicts[conflict_id]
        return self._enqueue(ResolveConflict(
            premises_id=conflict["premises_id"], base_version=self._base(
                conflict["premises_id"]), conflict_id=conflict_id, choice=choice,  # type: ignore[arg-type]
            value=value))

    def _require(self, premises_id: str) -> Doc:
        view = self.view(premises_id)
        if view is None:
            raise KeyError(premises_id)
        return view

    def _base(self, premises_id: str) -> int:
        return int((self.replica.get(premises_id) or {}).get("version", 0))

    def _enqueue(self, m: Mutation) -> Mutation:
        m = msgspec.structs.replace(m, device_id=self.device_id, seq=self.next_seq,
                                    client_time=self.clock())
        self.next_seq += 1
        self.outbox.append(m)
        return m

    def discard(self, seq: int) -> None:
        """The person dealt with a refused edit (gave it up, or queued its fix as a new edit)."""
        self.refused.pop(seq, None)

    def unsent(self) -> str:
        """What keeps a retiring device from clearing itself, in plain words ('' for nothing)."""
        parts = [f"{n} {what}{'' if n == 1 else 's'}" for n, what in (
            (len(self.outbox), "change not yet sent"),
            (len(self.refused), "change the server refused, to fix or discard")) if n]
        return " and ".join(parts)

    # -- sync -------------------------------------------------------------------------------
    async def sync(self) -> None:
        await self.push()
        await self.pull()
        if self.retiring:
            await self.retire()

    async def retire(self) -> bool:
        """Obligation 8a: once nothing is unsent, acknowledge the retire order and clear
        everything; with anything unsent, keep it all (`unsent()` says why). True if cleared."""
        if self.retired:
            return True
        if not self.retiring or self.unsent():
            return False
        await self._request("POST", "/api/sync/retired", b"")
        self.wipe()
        self.retiring, self.retired, self.token = False, True, ""
        return True

    async def push(self) -> list[Receipt]:
        """Send the outbox in batches until every mutation has a receipt."""
        got: list[Receipt] = []
        while self.outbox:
            batch = self.outbox[:self.batch_size]
            body = await self._request("POST", "/api/sync/push", encoder.encode(
                PushRequest(mutations=batch, protocol=PROTOCOL_VERSION)))
            resp = push_response_decoder.decode(body)
            self.retiring = self.retiring or _retire_decoder.decode(body).retire
            for r in resp.receipts:
                self.receipts[r.seq] = r
                if r.status == "rejected":
                    self.refused[r.seq] = r
            got += resp.receipts
            done = {r.seq for r in resp.receipts}
            self.outbox = [m for m in self.outbox if m.seq not in done]
            if resp.gap and self.outbox and self.outbox[0].seq > resp.next_seq:
                self._renumber(resp.next_seq)  # the server lost seqs it never applied
            elif not resp.receipts:
                raise SyncError(409, body)
        return got

    def _renumber(self, first: int) -> None:
        self.outbox = [msgspec.structs.replace(m, seq=first + i)
                       for i, m in enumerate(self.outbox)]
        self.next_seq = first + len(self.outbox)

    async def pull(self) -> None:
        """Pull pages until the server says no more follow."""
        while True:
            query = {"cursor": self.cursor}
            if self.page_limit:
                query["limit"] = str(self.page_limit)
            body = await self._request("GET", "/api/sync/pull?" + urlencode(query), b"")
            page = pull_response_decoder.decode(body)
            self.retiring = self.retiring or _retire_decoder.decode(body).retire
            if page.reset:
                self._resync = set()
            if page.total is not None:
                self.total, self.received = page.total, 0
            for premises_id in page.left_scope:
                self._forget(premises_id)
            for change in page.changes:
                if isinstance(change, PremisesChange):
                    self.replica[change.record["id"]] = change.record
                    if self._resync is not None:
                        self._resync.add(change.record["id"])
                elif isinstance(change, ConflictChange):
                    self.conflicts[change.conflict.id] = msgspec.to_builtins(change.conflict)
                    if self._resync is not None:
                        self._resync.add(change.conflict.premises_id)
            self.received += len(page.changes)
            self.cursor = page.cursor
            if not page.more:
                break
        if self._resync is not None:
            for premises_id in set(self.replica) - self._resync:
                self._forget(premises_id)
            self._resync = None

    def _forget(self, premises_id: str) -> None:
        """Drop a record that left scope, unless it holds pending edits or open conflicts."""
        if self.pending(premises_id) or self.open_conflicts(premises_id):
            return
        self.replica.pop(premises_id, None)
        for cid in [c for c, d in self.conflicts.items() if d["premises_id"] == premises_id]:
            del self.conflicts[cid]

    def wipe(self) -> None:
        self.replica.clear()
        self.conflicts.clear()
        self.outbox.clear()
        self.receipts.clear()
        self.refused.clear()
        self.cursor = ""

    async def _request(self, method: str, path: str, body: bytes) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION),
                   PENDING_HEADER: str(len(self.outbox))}
        if self.outbox:
            headers[OLDEST_PENDING_HEADER] = min(m.client_time for m in self.outbox)
        if body:
            headers["Content-Type"] = "application/json"
        for attempt in range(self.max_attempts):
            try:
                status, resp_headers, resp = await self.transport(method, path, headers, body)
            except (TimeoutError, TransportError, OSError):
                await self.sleep(self._backoff(attempt))
                continue
            if status in (408, 429) or status >= 500:
                retry_after = {k.lower(): v for k, v in resp_headers.items()}.get("retry-after")
                wait = (float(retry_after) + self.rng.uniform(0, 1) if retry_after
                        and retry_after.isdigit() else self._backoff(attempt))
                await self.sleep(wait)
                continue
            if status == 401 and b"device_revoked" in resp:
                error = msgspec.json.decode(resp).get("error", {})
                if error.get("wipe"):
                    self.wipe()
                raise DeviceRevoked(error.get("message", "device revoked"))
            if status >= 400:
                raise SyncError(status, resp)
            return resp
        raise SyncUnavailable(f"{method} {path} failed {self.max_attempts} times")

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to an exponentially growing cap."""
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))

