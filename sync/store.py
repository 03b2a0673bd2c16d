"""The storage the sync engine needs: a write transaction (`Tx`) and a pull snapshot (`Reader`),
plus `MemoryStore`, the in-memory implementation used by fast tests and the model test.

`Tx` caches reads and buffers every write until `flush()`, so a store implementation sees one
batch per push (one executemany per table). Synchronous by design: a whole push runs inside one
transaction on the database thread. Must not know merge rules, HTTP or SQL.
"""

from __future__ import annotations

import copy
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import msgspec

from sync.protocol import Receipt

T = TypeVar("T")
Doc = dict[str, Any]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def bound_page(changes: Iterable[tuple[int, str, bytes]], rows: int, max_bytes: int
               ) -> tuple[list[tuple[int, str, bytes]], bool]:
    """The first changes that fit a pull page (at most `rows`, and `max_bytes` of documents,
    though never fewer than one), and whether more follow. Every store pages by this rule."""
    out: list[tuple[int, str, bytes]] = []
    size = 0
    for seq, kind, doc in changes:
        if len(out) >= rows or (out and size + len(doc) > max_bytes):
            return out, True
        out.append((seq, kind, doc))
        size += len(doc)
    return out, False


@dataclass
class Batch:
    """Everything one transaction writes. Premises then conflicts get fresh change seqs, in order."""

    premises: list[Doc] = field(default_factory=list)
    conflicts: list[Doc] = field(default_factory=list)
    writers: dict[tuple[str, str], Doc] = field(default_factory=dict)  # (premises, path) -> author
    devices: dict[str, int] = field(default_factory=dict)             # device -> last seq
    acked: dict[str, int] = field(default_factory=dict)   # device -> receipts it has, up to
    receipts: list[tuple[str, Receipt]] = field(default_factory=list)
    audit: list[Doc] = field(default_factory=list)
    exits: dict[tuple[str, str], None] = field(default_factory=dict)  # (premises, old station)


class Tx(ABC):
    """One write transaction as the engine sees it. Read methods return the transaction's view
    (its own buffered writes included); returned dicts must not be mutated by the caller."""

    def __init__(self) -> None:
        self._premises: dict[str, Doc | None] = {}
        self._conflicts: dict[str, Doc | None] = {}
        self._open_loaded: set[str] = set()
        self._writers: dict[str, dict[str, Doc]] = {}
        self._seqs: dict[str, int] = {}
        self._batch = Batch()
        self._dirty_premises: dict[str, Doc] = {}
        self._dirty_conflicts: dict[str, Doc] = {}

    # -- implemented by each store ------------------------------------------------------------
    @abstractmethod
    def _load_premises(self, premises_id: str) -> Doc | None: ...
    @abstractmethod
    def _load_conflict(self, conflict_id: str) -> Doc | None: ...
    @abstractmethod
    def _load_open_conflicts(self, premises_id: str) -> list[Doc]: ...
    @abstractmethod
    def _load_writers(self, premises_id: str) -> dict[str, Doc]: ...
    @abstractmethod
    def _load_last_seq(self, device_id: str) -> int: ...
    @abstractmethod
    def receipt(self, device_id: str, seq: int) -> Receipt | None: ...
    @abstractmethod
    def open_conflicts_by(self, device_id: str) -> int:
        """How many open conflicts the store holds whose id is `<device_id>-…` (those the
        device's pushes opened), as committed: this transaction's own writes not counted."""
    @abstractmethod
    def station_exists(self, code: str) -> bool: ...
    @abstractmethod
    def _write(self, batch: Batch) -> None: ...

    def blob_available(self, sha256: str) -> bool:
        """Whether the server holds the attachment blob `sha256` (stores without blobs: no)."""
        return False

    def lock_first(self, premises_ids: Iterable[str]) -> None:
        """Take, before anything else, the locks writing these records will need, all in one
        order, so two transactions running at once never wait on each other in a cycle (a
        store with row locks: PostgreSQL). Nothing where writes run one at a time."""
        return None

    # -- the engine's interface ---------------------------------------------------------------
    def premises(self, premises_id: str) -> Doc | None:
        if premises_id not in self._premises:
            self._premises[premises_id] = self._load_premises(premises_id)
        return self._premises[premises_id]

    def put_premises(self, doc: Doc) -> None:
        before = self._premises.get(doc["id"])
        if before is not None and before["station"] != doc["station"]:
            self._batch.exits[(doc["id"], before["station"])] = None  # it left that station
        self._premises[doc["id"]] = doc
        self._dirty_premises[doc["id"]] = doc

    def conflict(self, conflict_id: str) -> Doc | None:
        if conflict_id not in self._conflicts:
            self._conflicts[conflict_id] = self._load_conflict(conflict_id)
        return self._conflicts[conflict_id]

    def open_conflicts(self, premises_id: str) -> list[Doc]:
        if premises_id not in self._open_loaded:
            self._open_loaded.add(premises_id)
            for doc in self._load_open_conflicts(premises_id):
                self._conflicts.setdefault(doc["id"], doc)
        return [c for c in self._conflicts.values()
                if c is not None and c["premises_id"] == premises_id and c["status"] == "open"]

    def put_conflict(self, doc: Doc) -> None:
        self._conflicts[doc["id"]] = doc
        self._dirty_conflicts[doc["id"]] = doc

    def writer(self, premises_id: str, path: str) -> Doc | None:
        if premises_id not in self._writers:
            self._writers[premises_id] = self._load_writers(premises_id)
        return self._writers[premises_id].get(path)

    def set_writer(self, premises_id: str, path: str, author: Doc) -> None:
        self.writer(premises_id, path)
        self._writers[premises_id][path] = author
        self._batch.writers[(premises_id, path)] = author

    def last_seq(self, device_id: str) -> int:
        if device_id not in self._seqs:
            self._seqs[device_id] = self._load_last_seq(device_id)
        return self._seqs[device_id]

    def set_last_seq(self, device_id: str, seq: int) -> None:
        self._seqs[device_id] = seq
        self._batch.devices[device_id] = seq

    def set_acked(self, device_id: str, seq: int) -> None:
        """The device holds every receipt up to `seq` (housekeeping may forget those)."""
        self._batch.acked[device_id] = seq

    def put_receipt(self, device_id: str, receipt: Receipt) -> None:
        self._batch.receipts.append((device_id, receipt))

    def add_audit(self, entry: Doc) -> None:
        self._batch.audit.append(entry)

    def flush(self) -> None:
        """Hand every buffered write to the store in one batch."""
        self._batch.premises = list(self._dirty_premises.values())
        self._batch.conflicts = list(self._dirty_conflicts.values())
        self._write(self._batch)
        self._batch, self._dirty_premises, self._dirty_conflicts = Batch(), {}, {}


class Reader(Protocol):
    """A consistent snapshot for one pull page."""

    def epoch(self) -> str: ...
    def horizon(self) -> int: ...
    def max_seq(self) -> int: ...
    def changes(self, after: int, stations: Sequence[str], rows: int, max_bytes: int
                ) -> tuple[list[tuple[int, str, bytes]], bool]:
        """Up to `rows` items (seq, "p" | "c", stored JSON) with seq > after in `stations`, in
        seq order, stopping before the item that would pass `max_bytes` (always at least one
        item); and whether more follow."""
        ...
    def count_scope(self, stations: Sequence[str]) -> int: ...
    def left(self, after: int, upto: int, stations: Sequence[str]) -> list[str]:
        """Records that moved out of `stations` at a seq in (after, upto] and are still out."""
        ...
    def ids_in_stations(self, stations: Sequence[str]) -> list[str]: ...


class Store(Protocol):
    """A store's async face for the server: one transaction per `write`, one snapshot per
    `read` (server/store/sync.py on SQLite, server/store/postgres/sync.py on PostgreSQL)."""

    async def write(self, fn: Callable[[Tx], T]) -> T: ...
    async def read(self, fn: Callable[[Reader], T]) -> T: ...


# -- in memory --------------------------------------------------------------------------------

class MemoryStore:
    """Every table as dicts; JSON kept as bytes so pulls splice exactly as SQLite does."""

    def __init__(self, stations: Sequence[str] = (), epoch: str | None = None):
        self.stations: set[str] = set(stations)
        self.epoch_value = epoch or uuid.uuid4().hex
        self.horizon_value = 0
        self.seq = 0
        self.premises: dict[str, tuple[int, str, bytes]] = {}       # id -> (seq, station, doc)
        self.conflicts: dict[str, tuple[int, str, bytes]] = {}      # id -> (seq, station, doc)
        self.log: dict[int, tuple[str, str]] = {}                   # seq -> ("p" | "c", id)
        self.writers: dict[str, dict[str, Doc]] = {}
        self.devices: dict[str, int] = {}
        self.acked: dict[str, int] = {}
        self.receipts: dict[tuple[str, int], Receipt] = {}
        self.audit: list[Doc] = []
        self.exits: list[tuple[int, str, str]] = []                 # (seq, premises, station)
        self.blobs: set[str] = set()   # attachment blobs the server holds

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _put(self, table: dict[str, tuple[int, str, bytes]], kind: str, key: str,
             station: str, doc: Doc) -> None:
        old = table.get(key)
        if old is not None:
            self.log.pop(old[0], None)
        seq = self._next()
        table[key] = (seq, station, _encode(doc))
        self.log[seq] = (kind, key)

    def insert(self, docs: Sequence[Doc]) -> None:
        """Seed records (imports, tests), each with a change seq."""
        for doc in docs:
            self._put(self.premises, "p", doc["id"], doc["station"], doc)

    def write(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn` in a transaction: all of it or (on an exception) none of it."""
        tx = MemoryTx(self)
        result = fn(tx)
        tx.flush()
        return result

    def read(self, fn: Callable[[Reader], T]) -> T:
        return fn(MemoryReader(self))

    def get(self, premises_id: str) -> Doc | None:
        row = self.premises.get(premises_id)
        return _decode(row[2]) if row else None

    def get_conflict(self, conflict_id: str) -> Doc | None:
        row = self.conflicts.get(conflict_id)
        return _decode(row[2]) if row else None

    def list_conflicts(self, stations: Sequence[str], open_only: bool = True) -> list[Doc]:
        docs = [_decode(row[2]) for row in self.conflicts.values() if row[1] in stations]
        return [d for d in docs if d["status"] == "open" or not open_only]

    def history(self, premises_id: str) -> list[Doc]:
        return [copy.deepcopy(a) for a in self.audit if a["premises_id"] == premises_id]

    def purge_tombstones(self, upto_seq: int) -> int:
        """Forget deleted records changed at or before `upto_seq`; cursors older are reset."""
        gone = [k for k, (seq, _, doc) in self.premises.items()
                if seq <= upto_seq and _decode(doc).get("deleted")]
        for key in gone:
            self.log.pop(self.premises.pop(key)[0], None)
        self.horizon_value = max(self.horizon_value, upto_seq)
        return len(gone)


class MemoryTx(Tx):
    def __init__(self, store: MemoryStore):
        super().__init__()
        self.store = store

    def _load_premises(self, premises_id: str) -> Doc | None:
        return self.store.get(premises_id)

    def _load_conflict(self, conflict_id: str) -> Doc | None:
        return self.store.get_conflict(conflict_id)

    def _load_open_conflicts(self, premises_id: str) -> list[Doc]:
        docs = [_decode(row[2]) for row in self.store.conflicts.values()]
        return [d for d in docs if d["premises_id"] == premises_id and d["status"] == "open"]

    def _load_writers(self, premises_id: str) -> dict[str, Doc]:
        return dict(self.store.writers.get(premises_id, {}))

    def _load_last_seq(self, device_id: str) -> int:
        return self.store.devices.get(device_id, 0)

    def receipt(self, device_id: str, seq: int) -> Receipt | None:
        return self.store.receipts.get((device_id, seq))

    def open_conflicts_by(self, device_id: str) -> int:
        prefix = device_id + "-"
        return sum(1 for key, (_, _, doc) in self.store.conflicts.items()
                   if key.startswith(prefix) and _decode(doc)["status"] == "open")

    def station_exists(self, code: str) -> bool:
        return code in self.store.stations

    def blob_available(self, sha256: str) -> bool:
        return sha256 in self.store.blobs

    def _write(self, batch: Batch) -> None:
        s = self.store
        for doc in batch.premises:
            s._put(s.premises, "p", doc["id"], doc["station"], doc)
        for doc in batch.conflicts:
            s._put(s.conflicts, "c", doc["id"], doc["station"], doc)
        for pid, station in batch.exits:
            s.exits.append((s.premises[pid][0], pid, station))
        for (pid, path), author in batch.writers.items():
            s.writers.setdefault(pid, {})[path] = author
        s.devices.update(batch.devices)
        s.acked.update(batch.acked)
        for device_id, receipt in batch.receipts:
            s.receipts[(device_id, receipt.seq)] = receipt
        s.audit.extend(copy.deepcopy(batch.audit))


class MemoryReader:
    def __init__(self, store: MemoryStore):
        self.store = store

    def epoch(self) -> str:
        return self.store.epoch_value

    def horizon(self) -> int:
        return self.store.horizon_value

    def max_seq(self) -> int:
        return self.store.seq

    def changes(self, after: int, stations: Sequence[str], rows: int, max_bytes: int
                ) -> tuple[list[tuple[int, str, bytes]], bool]:
        s, scope = self.store, set(stations)

        def in_scope() -> Iterator[tuple[int, str, bytes]]:
            for seq in sorted(q for q in s.log if q > after):
                kind, key = s.log[seq]
                _, station, doc = (s.premises if kind == "p" else s.conflicts)[key]
                if station in scope:
                    yield seq, kind, doc
        return bound_page(in_scope(), rows, max_bytes)

    def count_scope(self, stations: Sequence[str]) -> int:
        scope = set(stations)
        return (sum(1 for _, st, _ in self.store.premises.values() if st in scope)
                + sum(1 for _, st, _ in self.store.conflicts.values() if st in scope))

    def ids_in_stations(self, stations: Sequence[str]) -> list[str]:
        scope = set(stations)
        return sorted(k for k, (_, st, _) in self.store.premises.items() if st in scope)

    def left(self, after: int, upto: int, stations: Sequence[str]) -> list[str]:
        scope, premises = set(stations), self.store.premises
        return sorted({pid for seq, pid, st in self.store.exits if after < seq <= upto
                       and st in scope and pid in premises and premises[pid][1] not in scope})
