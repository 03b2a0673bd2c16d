"""Model-based test: 3-6 devices edit overlapping premises offline while the transport loses
requests, loses responses after the server committed, delivers twice, delivers late (after newer
batches) and delivers a batch's tail first; pushes and pulls interleave. Every mutation kind is
made (multi-field updates with unchanged fields, list fields, every resolution choice), pushes
sit at the size limit and one past it, tombstones are purged up to the newest change, and
`watchbook housekeeping` runs between requests (and once before the final syncs), removing
reviewed observations, acknowledged receipts and old last-writer rows; premises hold few open
observations (CONFIG), so adds beyond the bound are refused (engine Rule 6d).

The oracle (tests/syncoracle.py) replays every request the server got, in its order, and says
what each push must answer; afterwards every record, conflict, receipt, device sequence and
audit entry must equal the oracle's. After everyone syncs, also:
  - every mutation has exactly one receipt, on the device and on the server (unless
    housekeeping forgot it after the device showed it held it), and no device was ever
    answered with one housekeeping had forgotten;
  - nothing was lost or applied twice (audit versions run 2, 3, ... to the record's version,
    and each device seq changed a record at most once);
  - every conflict receipt names conflicts that hold both values, each from one receipt;
  - a pull resets exactly when its cursor is of another epoch, behind the horizon or ahead;
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
from syncfake import CONFIG, MemoryHousekeeping, MemoryServer
from syncoracle import Oracle

from server import clock, housekeeping
from server.api.sync import SyncService, make_service
from server.auth import Principal
from server.errors import ApiError, error_body
from server.settings import Settings
from server.store import housekeeping as housekeeping_sql
from server.store import records
from server.store.database import Database
from server.store.migrations import migrate
from server.store.postgres import housekeeping as pg_housekeeping_sql
from server.store.postgres import records as pg_records
from server.store.postgres import sync as pg_sync
from server.store.postgres.database import PgDatabase
from server.store.postgres.migrations import migrate as pg_migrate
from server.store.sync import ensure_epoch, history
from sync import engine
from sync.client import SyncClient, SyncUnavailable, TransportError
from sync.protocol import (
    Attach,
    Conflict,
    Detach,
    Mutation,
    PushRequest,
    Receipt,
    Update,
    decode_cursor,
    encoder,
    pull_response_decoder,
    push_response_decoder,
    receipt_decoder,
)
from sync.record import Attachment, Premises
from sync.store import MemoryStore

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
EXAMPLES = {"bench": 5000}.get(PROFILE, 500)
SQLITE_EXAMPLES = {"bench": 300}.get(PROFILE, 30)
POSTGRES_EXAMPLES = {"bench": 100}.get(PROFILE, 12)

PREMISES = ["p0", "p1", "p2", "p3"]
PUMP = {"kind": "hydrant", "location": "Gate", "notes": ""}
TANK = {"kind": "static_tank", "location": "Yard", "notes": "4,500 l"}
VALUES: dict[str, list[Any]] = {
    "name": ["Alpha", "Beta"], "risk_notes": ["n1", "n2", "n3"], "rvp": ["Gate", "Yard"],
    "risk_level": [1, 2, 3], "harms": [["life_public"], ["environment"],
                                       ["life_public", "heritage"]],
    "assessed_at": ["2024-01-01", "2025-06-30"],
    "water_supplies": [[PUMP], [PUMP, TANK], []],
    "contacts": [[{"name": "Al", "role": "Owner", "phone": ""}], []],
}
SHAS = ["a" * 64, "b" * 64]
FAULTS = ["ok", "ok", "ok", "lose_request", "lose_response", "duplicate", "delay", "tail_first"]
# Housekeeping runs 91 days after the scenario's day, so every observation reviewed, receipt
# acknowledged and last-writer row is past its retention; the history is kept (the oracle's).
KEEP = housekeeping.Retention(observations=90, receipts=30, audit=0, sensitive_views=0)
LATER = "2026-04-02T00:00:00.000Z"
Handler = Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, dict[str, str], bytes]]]


def seed_docs() -> list[dict[str, Any]]:
    """Four records; p0 holds an open observation (at its bound: CONFIG allows one) and p1 one
    reviewed long ago (housekeeping's to remove)."""
    docs = [{"id": p, "station": "A01", "name": "Alpha", "version": 1, "risk_level": 2,
             "hazards": [{"id": f"h-{p}", "type": "lpg"}]} for p in PREMISES]
    for doc, status in zip(docs, ["open", "accepted"], strict=False):
        doc["observations"] = [{"id": f"o-{doc['id']}", "category": "access", "note": "Gate",
                                "by": "Seed", "at": "2025-12-01T00:00:00Z", "status": status}]
    return docs


def actor(i: int) -> engine.Actor:
    role = "crew" if i == 0 else "supervisor"
    # the third device holds p3 read-only (shared by another service): Rule 6c
    read_only = {"p3": "Neighbour Fire and Rescue"} if i == 2 else {}
    return engine.Actor(i + 1, f"user{i}", f"User {i}", role, ("A01",), f"dev{i}",
                        read_only=read_only)


class HeldReadOnly:
    """What each model device holds read-only (its actor's `read_only`), told to the server
    as server/crossborder.py would (the records shared by another service); pulls pass."""

    def __init__(self) -> None:
        self.by_device: dict[str, dict[str, str]] = {}

    async def read_only(self, who: Principal, ids: Any) -> dict[str, str]:
        held = self.by_device.get(who.device_id or "", {})
        return {pid: held[pid] for pid in set(ids) if pid in held}

    async def pull(self, who: Principal, cursor: str, limit: int | None,
                   own: Any) -> bytes:
        return await own(cursor)  # type: ignore[no-any-return]


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

    def now(self) -> str:
        """The server time of the last request (MemoryServer's clock)."""
        return f"2026-01-01T00:00:{self.server.clock:06d}Z"

    def purge(self) -> bool:
        self.store.purge_tombstones(self.store.seq)
        return True

    async def housekeep(self) -> None:
        twin = MemoryHousekeeping(self.store)
        await housekeeping.run(None, twin, twin, KEEP, LATER)

    def expects_reset(self, cursor: str) -> bool | None:
        s, cur = self.store, decode_cursor(cursor)
        return bool(cursor) and (cur is None or cur.epoch != s.epoch_value or cur.seq > s.seq
                                 or (cur.seq < s.horizon_value and s.horizon_value > cur.horizon))

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
                                 max_push_mutations=CONFIG.max_push_mutations,
                                 max_open_conflicts_per_device=(
                                     CONFIG.max_open_conflicts_per_device),
                                 max_open_observations=CONFIG.max_open_observations)
        self.db = Database(self.settings.db_path, read_connections=1)
        self.principals: dict[str, Principal] = {}
        self.service: SyncService | None = None
        self.clock = 0
        self.real_now = clock.now

    def now(self) -> str:
        return f"2026-01-01T00:00:{self.clock:06d}Z"

    def tick(self) -> str:
        self.clock += 1
        return self.now()

    def purge(self) -> bool:
        return False  # the memory runs cover purging

    async def housekeep(self) -> None:
        assert self.service
        await housekeeping.run(self.db, self.service.store, housekeeping_sql, KEEP, LATER)

    def expects_reset(self, cursor: str) -> bool | None:
        return None

    async def open(self) -> None:
        clock.now = lambda *_a, **_k: self.tick()  # a known clock: the oracle knows every time
        await self.db.open()
        await migrate(self.db)

        def seed(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
            records.insert_many(conn, seed_docs())
        await self.db.write(seed)
        self.service = await make_service(self.db, self.settings)
        self.service.shared = self.held = HeldReadOnly()  # type: ignore[assignment]

    async def close(self) -> None:
        clock.now = self.real_now
        await self.db.close()
        self.dir.cleanup()

    def enrol(self, a: engine.Actor) -> str:
        token = f"wb_{a.device_id}_secret"
        self.held.by_device[a.device_id] = dict(a.read_only)
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
                 for r in c.execute("SELECT device_id, seq, body FROM sync_receipts")},
                [msgspec.json.decode(r[0]) for r in c.execute("SELECT entry FROM audit "
                                                                "ORDER BY id")])
        snap = await self.db.read(read)
        for pid in PREMISES:  # the console's history reads the same entries
            assert [{k: v for k, v in a.items() if k != "id"} for a in await history(
                self.db, pid)] == [e for e in snap.audit if e["premises_id"] == pid]
        return snap


class PostgresBackend(SqliteBackend):
    """The same scenario through SyncService on PostgreSQL (a fresh schema of tests/pg.py's
    cluster)."""

    def __init__(self, url: str) -> None:
        self.settings = Settings(pull_page_rows=CONFIG.pull_page_rows,
                                 pull_page_bytes=CONFIG.pull_page_bytes,
                                 max_push_mutations=CONFIG.max_push_mutations,
                                 max_open_conflicts_per_device=(
                                     CONFIG.max_open_conflicts_per_device),
                                 max_open_observations=CONFIG.max_open_observations)
        self.pg = PgDatabase(url, size=2)
        self.principals = {}
        self.service = None
        self.clock = 0
        self.real_now = clock.now

    async def open(self) -> None:
        clock.now = lambda *_a, **_k: self.tick()  # a known clock: the oracle knows every time
        await self.pg.open()
        await pg_migrate(self.pg)

        def seed(conn: Any) -> None:
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('A01', 'A', 52, 0)")
            pg_records.insert_many(conn, seed_docs())
            pg_sync.ensure_epoch(conn)
        await self.pg.write(seed)
        self.service = SyncService(None, self.settings, pg_sync.PgStore(self.pg))
        self.service.shared = self.held = HeldReadOnly()  # type: ignore[assignment]

    async def close(self) -> None:
        clock.now = self.real_now
        await self.pg.close()

    async def housekeep(self) -> None:
        assert self.service
        await housekeeping.run(self.pg, self.service.store, pg_housekeeping_sql, KEEP, LATER)

    async def snapshot(self) -> Snapshot:
        def read(c: Any) -> Snapshot:
            return Snapshot(
                {r[0]: msgspec.json.decode(r[1])
                 for r in c.execute("SELECT id, doc FROM premises").fetchall()},
                {r[0]: msgspec.json.decode(r[1])
                 for r in c.execute("SELECT id, doc FROM conflicts").fetchall()},
                dict(c.execute("SELECT device_id, last_seq FROM sync_devices").fetchall()),
                {(r[0], r[1]): receipt_decoder.decode(r[2]) for r in c.execute(
                    "SELECT device_id, seq, body FROM sync_receipts").fetchall()},
                [msgspec.json.decode(r[0]) for r in c.execute(
                    "SELECT entry FROM audit ORDER BY id").fetchall()])
        snap = await self.pg.read(read)
        for pid in PREMISES:  # the console's history reads the same entries
            assert [{k: v for k, v in a.items() if k != "id"} for a in await pg_sync.history(
                self.pg, pid)] == [e for e in snap.audit if e["premises_id"] == pid]
        return snap


# -- the scenario -----------------------------------------------------------------------------

@dataclass
class Device:
    actor: engine.Actor
    client: SyncClient
    transport: Faulty
    made: dict[int, Mutation] = field(default_factory=dict)


class Checked:
    """Between the transport and the server: each push's answer must be the oracle's, and each
    pull must reset exactly when the backend says its cursor is no longer good."""

    def __init__(self, backend: Any, oracle: Oracle):
        self.backend, self.oracle = backend, oracle
        self.actors: dict[str, engine.Actor] = {}

    def enrol(self, a: engine.Actor) -> str:
        token: str = self.backend.enrol(a)
        self.actors[token] = a
        return token

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes
                     ) -> tuple[int, dict[str, str], bytes]:
        actor = self.actors[headers["Authorization"].removeprefix("Bearer ")]
        reset = None if method == "POST" else self.backend.expects_reset(
            dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))["cursor"])
        status, out_headers, answer = await self.backend.handle(method, path, headers, body)
        if method == "POST":
            want, expected = self.oracle.push(actor, body, self.backend.now())
            assert status == want, answer
            if expected is not None:
                got = push_response_decoder.decode(answer)
                assert got == expected, f"push answered {got}, the oracle says {expected}"
        elif reset is not None:
            assert pull_response_decoder.decode(answer).reset is reset
        return status, out_headers, answer


@dataclass
class Scene:
    devices: list[Device]
    late: list[tuple[Any, ...]]
    backend: Any
    server: Checked
    created: list[str] = field(default_factory=list)

    def target(self, i: int) -> str:
        ids = PREMISES + self.created
        return ids[i % len(ids)]


premises_index = st.integers(0, 7)
actions = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 5), premises_index,
              st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=3, unique=True),
              st.integers(0, 2), st.booleans()),
    st.tuples(st.sampled_from(["hazard_add", "hazard_remove", "hazard_edit", "delete", "obs", "obs",
                               "review", "attach", "detach", "create"]),
              st.integers(0, 5), premises_index),
    st.tuples(st.just("resolve"), st.integers(1, 5), st.integers(0, 5)),
    st.tuples(st.just("resolve"), st.integers(1, 5), st.integers(0, 5)),
    st.tuples(st.sampled_from(["push", "pull", "sync", "sync"]), st.integers(0, 5)),
    st.tuples(st.sampled_from(["flood", "flood_over"]), st.integers(0, 5)),
    st.tuples(st.sampled_from(["late", "reset", "purge", "housekeeping"])),
)


def make(d: Device, scene: Scene, action: tuple[Any, ...], n: int) -> Mutation | None:
    """The mutation a user of device `d` makes, if the record in view allows it."""
    kind, c = action[0], d.client
    if kind == "resolve":
        open_ = sorted(c.open_conflicts(), key=lambda x: x["id"])
        if not open_:
            return None
        conflict = open_[action[2] % len(open_)]
        if conflict["path"] == "deleted":
            return c.resolve(conflict["id"], ["keep", "delete"][action[2] % 2])
        choice = ["server", "client", "value"][action[2] % 3]
        return c.resolve(conflict["id"], choice, conflict["base"] if choice == "value" else None)
    pid = scene.target(action[2])
    if kind == "create":
        new = f"n{d.actor.device_id}-{n}" if n % 4 else pid  # now and then an existing id
        scene.created += [new] if new not in scene.created + PREMISES else []
        return c.create({"id": new, "station": "A01", "name": "New", "risk_level": 1 + n % 4,
                         "assessed_at": "2024-01-01" if n % 2 else None})
    view = c.view(pid)
    if view is None:
        return None
    hazards, observations = view.get("hazards") or [], view.get("observations") or []
    attachments = view.get("attachments") or []
    if kind == "edit":
        fields = {f: VALUES[f][action[4] % len(VALUES[f])] for f in action[3]}
        if action[5]:  # the first field sent as it is: a change that changes nothing
            fields[action[3][0]] = merge_free_get(view, action[3][0])
        return c.update(pid, **fields)
    if kind == "hazard_add":
        return c.add_hazard(pid, {"id": f"h{d.actor.device_id}-{n}", "type": "asbestos"})
    if kind == "hazard_remove" and hazards:
        return c.remove_hazard(pid, hazards[0]["id"])
    if kind == "hazard_edit" and hazards:
        return c.update_hazard(pid, hazards[-1]["id"], location=f"spot {n % 3}",
                               severity=["high", "medium"][n % 2])
    if kind == "delete":
        return c.delete(pid)
    if kind == "obs":
        return c.add_observation(pid, {"id": f"o{d.actor.device_id}-{n}",
                                       "category": "access", "note": "seen",
                                       "by": "" if n % 2 else "Someone"})
    if kind == "review" and observations:
        return c.review_observation(pid, observations[n % len(observations)]["id"],
                                    ["accepted", "dismissed"][n % 2])
    if kind == "attach":
        crew = d.actor.role == "crew"
        return c._enqueue(Attach(premises_id=pid, base_version=c._base(pid),
                                 attachment=Attachment(
            id=f"a{n % 3}", sha256=SHAS[n % 2], kind="photo" if crew else "floor_plan",
            content_type="image/jpeg", size=100 + n,
            observation_id=observations[0]["id"] if crew and observations else None)))
    if kind == "detach" and attachments:
        a = attachments[0]
        return c._enqueue(Detach(premises_id=pid, base_version=c._base(pid),
                                 attachment_id=a["id"],
                                 old=msgspec.convert(a, Attachment) if n % 2 else None))
    return None


def merge_free_get(view: dict[str, Any], name: str) -> Any:
    """A field as the device shows it (a missing field reads as its record default)."""
    return view[name] if name in view else msgspec.to_builtins(
        Premises(id="x", station="x", name="x"))[name]


async def flood(d: Device, scene: Scene, over: bool) -> None:
    """A push of exactly max_push_mutations (or one more) of the device's own mutations, sent
    again: under the limit it is answered like any retry, over it is refused whole."""
    made = [d.made[s] for s in sorted(d.made)]
    if not made:
        return
    size = CONFIG.max_push_mutations + (1 if over else 0)
    batch = [made[i % len(made)] for i in range(size)]
    status, _, _ = await scene.server.handle(
        "POST", "/api/sync/push", {"Authorization": f"Bearer {d.client.token}"},
        encoder.encode(PushRequest(mutations=batch)))
    assert status == (413 if over else 200)


async def housekeep(scene: Scene) -> None:
    """`watchbook housekeeping` between requests, and the oracle's twin of it."""
    await scene.backend.housekeep()
    scene.server.oracle.housekeep(LATER, housekeeping.ago(LATER, KEEP.observations),
                                  housekeeping.ago(LATER, KEEP.receipts))


async def act(scene: Scene, action: tuple[Any, ...], n: int) -> None:
    kind = action[0]
    if kind == "late":
        if scene.late:  # delivered after newer requests; nobody listens
            await scene.server.handle(*scene.late.pop(0))
        return
    if kind == "reset":
        scene.backend.reset_epoch()
        return
    if kind == "purge":
        if scene.backend.purge():
            scene.server.oracle.purge()
        return
    if kind == "housekeeping":
        await housekeep(scene)
        return
    d = scene.devices[action[1] % len(scene.devices)]
    c = d.client
    m: Mutation | None = None
    try:
        if kind in ("flood", "flood_over"):
            await flood(d, scene, kind == "flood_over")
        elif kind == "push":
            await c.push()
        elif kind == "pull":
            await c.pull()
        elif kind == "sync":
            await c.sync()
        else:
            m = make(d, scene, action, n)
    except SyncUnavailable:
        pass  # the outbox is kept; a later sync delivers it
    if m is not None:
        d.made[m.seq] = m


async def run(backend: Any, n_devices: int, script: list[tuple[Any, ...]],
              faults: list[str]) -> None:
    await backend.open()
    try:
        oracle = Oracle(seed_docs(), {"A01"}, CONFIG.review_interval_days,
                        CONFIG.max_push_mutations,
                        max_open_per_device=CONFIG.max_open_conflicts_per_device,
                        max_open_observations=CONFIG.max_open_observations)
        server = Checked(backend, oracle)
        scene = Scene([], [], backend, server)
        for i in range(n_devices):
            a = actor(i)
            transport = Faulty(server.handle, list(faults[i::n_devices]), scene.late)

            async def no_sleep(_: float) -> None:
                return None
            client = SyncClient(transport, server.enrol(a), a.device_id, batch_size=3,
                                max_attempts=4, sleep=no_sleep, rng=random.Random(i))
            scene.devices.append(Device(a, client, transport))
        for d in scene.devices:
            d.transport.enabled = False
            await d.client.pull()   # each device starts with its scope downloaded
            d.transport.enabled = True
        for n, action in enumerate(script):
            await act(scene, action, n)
        for d in scene.devices:
            d.transport.enabled = False
        while scene.late:
            await server.handle(*scene.late.pop(0))
        await housekeep(scene)  # then every device's last answers come from what it kept
        for _ in range(3):
            for d in scene.devices:
                await d.client.push()
        for d in scene.devices:
            await d.client.pull()
        snap = await backend.snapshot()
        check(snap, scene.devices, oracle.purged, oracle.forgotten)
        check_oracle(snap, oracle)
    finally:
        await backend.close()


def check_oracle(snap: Snapshot, oracle: Oracle) -> None:
    """Every value the server holds is the one the oracle worked out."""
    assert snap.premises == oracle.premises
    assert snap.conflicts == oracle.conflicts
    assert snap.receipts == oracle.receipts
    assert {d: s for d, s in snap.last_seq.items() if s} == oracle.last
    assert snap.audit == oracle.audit


def check(snap: Snapshot, devices: list[Device], purged: set[str],
          forgotten: set[tuple[str, int]]) -> None:
    referenced: list[str] = []
    for d in devices:
        dev, c = d.actor.device_id, d.client
        made = sorted(d.made)
        assert made == list(range(1, c.next_seq)), "seqs run 1, 2, 3 ... per device"
        assert c.outbox == [] and sorted(c.receipts) == made, "every mutation has a receipt"
        assert snap.last_seq.get(dev, 0) == len(made)
        server = {s: r for (dv, s), r in snap.receipts.items() if dv == dev}
        assert all(c.receipts[s] == r for s, r in server.items()), \
            "exactly one receipt per mutation, the same on both sides"
        assert {(dev, s) for s in set(c.receipts) - set(server)} <= forgotten, \
            "housekeeping forgot only receipts the device had shown it holds"
        assert not [r for r in c.receipts.values() if "receipt expired" in r.message], \
            "no device was ever answered with a receipt housekeeping had forgotten"
        for seq, r in c.receipts.items():
            m = d.made[seq]
            if d.actor.role == "crew" and m.__struct_config__.tag not in ("add_observation",
                                                                          "attach"):
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
        applied = [a for a in snap.audit
                   if a["premises_id"] == pid and (a["after"] or a.get("items"))]
        created = [i for i, a in enumerate(applied) if a["kind"] == "create"]
        if created:  # made anew (perhaps after a purge forgot an older record of that id)
            applied = applied[created[-1]:]
        assert [a["version"] for a in applied] == list(range(2 - bool(created),
                                                             doc["version"] + 1)), \
            "each applied change made exactly one version"
    once = [(a["device_id"], a["seq"]) for a in snap.audit
            if (a["after"] or a.get("items")) and not a["replayed"] and a["device_id"]]
    assert len(once) == len(set(once)), "no mutation applied twice"

    def norm(conflict: dict[str, Any]) -> Any:
        return msgspec.to_builtins(msgspec.convert(conflict, Conflict))
    for d in devices:
        # A purged record may stay on a device (as its tombstone, or kept for a pending edit or
        # an open conflict); every other record is the server's.
        # A purged id made anew is the server's record again, held like any other.
        replica = {k: v for k, v in d.client.replica.items()
                   if k not in purged or k in snap.premises}
        assert replica == snap.premises, f"{d.actor.device_id} equals the server"
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
