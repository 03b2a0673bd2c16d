"""Model-based test: 3-6 devices edit overlapping premises offline while the transport loses
requests, loses responses after the server committed, delivers twice, delivers late (after newer
batches) and delivers a batch's tail first; pushes and pulls interleave. After everyone syncs:
  - every mutation has exactly one receipt, on the device and on the server;
  - nothing was lost or applied twice (audit versions run 2, 3, ... to the record's version,
    and each device seq changed a record at most once);
  - every conflict receipt names conflicts that hold both values, each from one receipt;
  - every device holds exactly the server's records and conflicts for its scope.
500 scenarios over the memory store (HYPOTHESIS_PROFILE=bench: 5,000), 30 over SQLite and 12
over PostgreSQL (tests/pg.py's cluster).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg import Cluster
from syncfake import CONFIG, MemoryServer

from server.api.sync import SyncService, make_service
from server.auth import Principal
from server.errors import ApiError, error_body
from server.settings import Settings
from server.store import records
from server.store.database import Database
from server.store.migrations import migrate
from server.store.postgres import records as pg_records
from server.store.postgres import sync as pg_sync
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate as pg_migrate
from server.store.sync import ensure_epoch, history
from sync import engine
from sync.client import SyncClient, SyncUnavailable, TransportError
from sync.protocol import Conflict, Mutation, Receipt, Update, encoder, receipt_decoder
from sync.store import MemoryStore

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
EXAMPLES = {"bench": 5000}.get(PROFILE, 500)
SQLITE_EXAMPLES = {"bench": 300}.get(PROFILE, 30)
POSTGRES_EXAMPLES = {"bench": 100}.get(PROFILE, 12)

PREMISES = ["p0", "p1", "p2", "p3"]
VALUES: dict[str, list[Any]] = {
    "name": ["Alpha", "Beta"], "risk_notes": ["n1", "n2", "n3"], "rvp": ["Gate", "Yard"],
    "risk_level": [1, 2, 3], "harms": [["life_public"], ["environment"],
                                       ["life_public", "heritage"]],
}
FAULTS = ["ok", "ok", "ok", "lose_request", "lose_response", "duplicate", "delay", "tail_first"]
Handler = Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, dict[str, str], bytes]]]


def seed_docs() -> list[dict[str, Any]]:
    return [{"id": p, "station": "A01", "name": "Alpha", "version": 1, "risk_level": 2,
             "hazards": [{"id": f"h-{p}", "type": "lpg"}]} for p in PREMISES]


def actor(i: int) -> engine.Actor:
    role = "crew" if i == 0 else "supervisor"
    return engine.Actor(i + 1, f"user{i}", f"User {i}", role, ("A01",), f"dev{i}")


# -- faults -----------------------------------------------------------------------------------

class Faulty:
    """Wraps the server: each request meets the next fault of the scenario's list."""

    def __init__(self, handle: Handler, faults: list[str], late: list[tuple[Any, ...]]):
        self.handle, self.faults, self.late = handle, faults, late
        self.enabled = True

    async def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes
                       ) -> tuple[int, dict[str, str], bytes]:
        fault = self.faults.pop(0) if self.enabled and self.faults else "ok"
        if fault == "lose_request":
            raise TransportError("request lost")
        if fault == "lose_response":
            await self.handle(method, path, headers, body)
            raise TransportError("response lost after the server committed")
        if fault == "duplicate":
            await self.handle(method, path, headers, body)
        if fault == "delay":
            self.late.append((method, path, headers, body))
            raise TransportError("timed out; the request arrives later")
        if fault == "tail_first" and method == "POST":
            request = msgspec.json.decode(body)
            if len(request["mutations"]) > 1:
                tail = {**request, "mutations": request["mutations"][1:]}
                status, _, answer = await self.handle(method, path, headers,
                                                      msgspec.json.encode(tail))
                if status == 200:
                    seqs = [r["seq"] for r in msgspec.json.decode(answer)["receipts"]]
                    first = request["mutations"][0]["seq"]
                    assert all(s < first for s in seqs) or not msgspec.json.decode(answer)["gap"]
        return await self.handle(method, path, headers, body)


# -- servers ----------------------------------------------------------------------------------

@dataclass
class Snapshot:
    premises: dict[str, dict[str, Any]]
    conflicts: dict[str, dict[str, Any]]
    last_seq: dict[str, int]
    receipts: dict[tuple[str, int], Receipt]
    audit: list[dict[str, Any]]


class MemoryBackend:
    def __init__(self) -> None:
        self.store = MemoryStore(["A01"])
        self.store.insert(seed_docs())
        self.server = MemoryServer(self.store)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def enrol(self, a: engine.Actor) -> str:
        return self.server.enrol(a)

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes
                     ) -> tuple[int, dict[str, str], bytes]:
        return self.server.handle(method, path, headers, body)

    def reset_epoch(self) -> None:
        self.store.epoch_value += "x"

    async def snapshot(self) -> Snapshot:
        s = self.store
        return Snapshot({k: s.get(k) or {} for k in s.premises},
                        {k: s.get_conflict(k) or {} for k in s.conflicts}, dict(s.devices),
                        dict(s.receipts), list(s.audit))


class SqliteBackend:
    """The same scenario through SyncService on a fresh SQLite file."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.settings = Settings(db_path=Path(self.dir.name) / "model.db",
                                 pull_page_rows=CONFIG.pull_page_rows,
                                 pull_page_bytes=CONFIG.pull_page_bytes,
                                 max_push_mutations=CONFIG.max_push_mutations)
        self.db = Database(self.settings.db_path, read_connections=1)
        self.principals: dict[str, Principal] = {}
        self.service: SyncService | None = None

    async def open(self) -> None:
        await self.db.open()
        await migrate(self.db)

        def seed(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
            records.insert_many(conn, seed_docs())
        await self.db.write(seed)
        self.service = await make_service(self.db, self.settings)

    async def close(self) -> None:
        await self.db.close()
        self.dir.cleanup()

    def enrol(self, a: engine.Actor) -> str:
        token = f"wb_{a.device_id}_secret"
        self.principals[token] = Principal(a.user_id, a.username, a.name, a.role, "A01",
                                           a.grounds, a.device_id)
        return token

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes
                     ) -> tuple[int, dict[str, str], bytes]:
        assert self.service
        principal = self.principals[headers["Authorization"].removeprefix("Bearer ")]
        try:
            if method == "POST":
                return 200, {}, encoder.encode(await self.service.push(principal, body))
            query = dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))
            return 200, {}, await self.service.pull(principal, query.get("cursor", ""))
        except ApiError as exc:
            return exc.status, {}, error_body(exc.code, exc.message, exc.field)

    def reset_epoch(self) -> None:
        pass  # SQLite's epoch lives in meta; the memory runs cover resets

    async def snapshot(self) -> Snapshot:
        def read(c: sqlite3.Connection) -> Snapshot:
            return Snapshot(
                {r[0]: msgspec.json.decode(r[1]) for r in c.execute("SELECT id, doc FROM premises")},
                {r[0]: msgspec.json.decode(r[1]) for r in c.execute("SELECT id, doc FROM conflicts")},
                dict(c.execute("SELECT device_id, last_seq FROM sync_devices").fetchall()),
                {(r[0], r[1]): receipt_decoder.decode(r[2])
                 for r in c.execute("SELECT device_id, seq, body FROM sync_receipts")}, [])
        snap = await self.db.read(read)
        for pid in PREMISES:
            snap.audit += await history(self.db, pid)
        return snap


class PostgresBackend(SqliteBackend):
    """The same scenario through SyncService on PostgreSQL (a fresh schema of tests/pg.py's
    cluster)."""

    def __init__(self, url: str) -> None:
        self.settings = Settings(pull_page_rows=CONFIG.pull_page_rows,
                                 pull_page_bytes=CONFIG.pull_page_bytes,
                                 max_push_mutations=CONFIG.max_push_mutations)
        self.pg = PgDatabase(url, size=2)
        self.principals = {}
        self.service = None

    async def open(self) -> None:
        await self.pg.open()
        await pg_migrate(self.pg)

        def seed(conn: Any) -> None:
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
            pg_records.insert_many(conn, seed_docs())
            pg_sync.ensure_epoch(conn)
        await self.pg.write(seed)
        self.service = SyncService(None, self.settings, pg_sync.PgStore(self.pg))

    async def close(self) -> None:
        await self.pg.close()

    async def snapshot(self) -> Snapshot:
        def read(c: Any) -> Snapshot:
            return Snapshot(
                {r[0]: msgspec.json.decode(r[1])
                 for r in c.execute("SELECT id, doc FROM premises").fetchall()},
                {r[0]: msgspec.json.decode(r[1])
                 for r in c.execute("SELECT id, doc FROM conflicts").fetchall()},
                dict(c.execute("SELECT device_id, last_seq FROM sync_devices").fetchall()),
                {(r[0], r[1]): receipt_decoder.decode(r[2]) for r in c.execute(
                    "SELECT device_id, seq, body FROM sync_receipts").fetchall()}, [])
        snap = await self.pg.read(read)
        for pid in PREMISES:
            snap.audit += await pg_sync.history(self.pg, pid)
        return snap


# -- the scenario -----------------------------------------------------------------------------

@dataclass
class Device:
    actor: engine.Actor
    client: SyncClient
    transport: Faulty
    made: dict[int, Mutation] = field(default_factory=dict)


actions = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 5), st.sampled_from(PREMISES),
              st.sampled_from(sorted(VALUES)), st.integers(0, 2)),
    st.tuples(st.sampled_from(["hazard_add", "hazard_remove", "hazard_edit", "delete", "obs"]),
              st.integers(0, 5), st.sampled_from(PREMISES)),
    st.tuples(st.just("resolve"), st.integers(1, 5), st.integers(0, 5)),
    st.tuples(st.just("resolve"), st.integers(1, 5), st.integers(0, 5)),
    st.tuples(st.sampled_from(["push", "pull", "sync", "sync"]), st.integers(0, 5)),
    st.tuples(st.sampled_from(["late", "reset"])),
)


async def act(devices: list[Device], late: list[tuple[Any, ...]], backend: Any,
              action: tuple[Any, ...], n: int) -> None:
    kind = action[0]
    if kind == "late":
        if late:
            await backend.handle(*late.pop(0))  # delivered after newer requests; nobody listens
        return
    if kind == "reset":
        backend.reset_epoch()
        return
    d = devices[action[1] % len(devices)]
    c = d.client
    m: Mutation | None = None
    try:
        if kind == "edit" and c.view(action[2]) is not None:
            values = VALUES[action[3]]
            m = c.update(action[2], **{action[3]: values[action[4] % len(values)]})
        elif kind == "hazard_add" and c.view(action[2]) is not None:
            m = c.add_hazard(action[2], {"id": f"h{d.actor.device_id}-{n}", "type": "asbestos"})
        elif kind in ("hazard_remove", "hazard_edit") and (view := c.view(action[2])):
            if view["hazards"]:
                hid = view["hazards"][0]["id"]
                m = (c.remove_hazard(action[2], hid) if kind == "hazard_remove" else
                     c.update_hazard(action[2], hid, location=f"spot {n % 3}"))
        elif kind == "delete" and c.view(action[2]) is not None:
            m = c.delete(action[2])
        elif kind == "obs" and c.view(action[2]) is not None:
            m = c.add_observation(action[2], {"id": f"o{d.actor.device_id}-{n}",
                                              "category": "access", "note": "seen"})
        elif kind == "resolve" and (open_ := sorted(c.open_conflicts(), key=lambda x: x["id"])):
            conflict = open_[action[2] % len(open_)]
            if conflict["path"] == "deleted":
                m = c.resolve(conflict["id"], ["keep", "delete"][action[2] % 2])
            else:
                m = c.resolve(conflict["id"], ["server", "client", "server"][action[2] % 3])
        elif kind == "push":
            await c.push()
        elif kind == "pull":
            await c.pull()
        elif kind == "sync":
            await c.sync()
    except SyncUnavailable:
        pass  # the outbox is kept; a later sync delivers it
    if m is not None:
        d.made[m.seq] = m


async def run(backend: Any, n_devices: int, script: list[tuple[Any, ...]],
              faults: list[str]) -> None:
    await backend.open()
    try:
        late: list[tuple[Any, ...]] = []
        devices = []
        for i in range(n_devices):
            a = actor(i)
            transport = Faulty(backend.handle, list(faults[i::n_devices]), late)

            async def no_sleep(_: float) -> None:
                return None
            client = SyncClient(transport, backend.enrol(a), a.device_id, batch_size=3,
                                max_attempts=4, sleep=no_sleep, rng=random.Random(i))
            devices.append(Device(a, client, transport))
        for d in devices:
            d.transport.enabled = False
            await d.client.pull()   # each device starts with its scope downloaded
            d.transport.enabled = True
        for n, action in enumerate(script):
            await act(devices, late, backend, action, n)
        for d in devices:
            d.transport.enabled = False
        while late:
            await backend.handle(*late.pop(0))
        for _ in range(3):
            for d in devices:
                await d.client.push()
        for d in devices:
            await d.client.pull()
        check(await backend.snapshot(), devices)
    finally:
        await backend.close()


def check(snap: Snapshot, devices: list[Device]) -> None:
    referenced: list[str] = []
    for d in devices:
        dev, c = d.actor.device_id, d.client
        made = sorted(d.made)
        assert made == list(range(1, c.next_seq)), "seqs run 1, 2, 3 ... per device"
        assert c.outbox == [] and sorted(c.receipts) == made, "every mutation has a receipt"
        assert snap.last_seq.get(dev, 0) == len(made)
        server = {s: r for (dv, s), r in snap.receipts.items() if dv == dev}
        assert server == c.receipts, "exactly one receipt per mutation, the same on both sides"
        for seq, r in c.receipts.items():
            m = d.made[seq]
            if d.actor.role == "crew" and m.__struct_config__.tag != "add_observation":
                assert r.status == "rejected" and r.reason == "forbidden"
            referenced += r.conflict_ids
            if r.status == "conflict" and isinstance(m, Update):
                for cid in r.conflict_ids:
                    conflict = snap.conflicts[cid]
                    if conflict["path"] != "deleted":
                        [change] = [x for x in m.changes if x.field == conflict["path"]]
                        assert conflict["client"] == change.new
                        assert conflict["server"] != conflict["client"]
    assert sorted(referenced) == sorted(snap.conflicts), "each conflict from exactly one receipt"

    for pid, doc in snap.premises.items():
        applied = [a for a in snap.audit if a["premises_id"] == pid and a["after"]]
        assert [a["version"] for a in applied] == list(range(2, doc["version"] + 1)), \
            "each applied change made exactly one version"
    once = [(a["device_id"], a["seq"]) for a in snap.audit if a["after"] and not a["replayed"]]
    assert len(once) == len(set(once)), "no mutation applied twice"

    def norm(conflict: dict[str, Any]) -> Any:
        return msgspec.to_builtins(msgspec.convert(conflict, Conflict))
    for d in devices:
        assert d.client.replica == snap.premises, f"{d.actor.device_id} equals the server"
        assert {k: norm(v) for k, v in d.client.conflicts.items()} == {
            k: norm(v) for k, v in snap.conflicts.items()}


scenarios = dict(n_devices=st.integers(3, 6), script=st.lists(actions, min_size=10, max_size=40),
                 faults=st.lists(st.sampled_from(FAULTS), min_size=5, max_size=60))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**scenarios)
def test_devices_converge_with_one_receipt_per_mutation_over_memory(
        n_devices: int, script: list[tuple[Any, ...]], faults: list[str]) -> None:
    asyncio.run(run(MemoryBackend(), n_devices, script, faults))


@settings(max_examples=SQLITE_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(**scenarios)
def test_devices_converge_with_one_receipt_per_mutation_over_sqlite(
        n_devices: int, script: list[tuple[Any, ...]], faults: list[str]) -> None:
    asyncio.run(run(SqliteBackend(), n_devices, script, faults))


@settings(max_examples=POSTGRES_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(**scenarios)
def test_devices_converge_with_one_receipt_per_mutation_over_postgresql(
        postgres: Cluster, n_devices: int, script: list[tuple[Any, ...]],
        faults: list[str]) -> None:
    asyncio.run(run(PostgresBackend(postgres.fresh_url()), n_devices, script, faults))


def test_sqlite_epoch_is_made_once() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    assert ensure_epoch(conn) == ensure_epoch(conn)
