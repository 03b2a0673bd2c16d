"""A sync server in memory for client and model tests: the engine over a MemoryStore behind the
client's transport signature, with no HTTP stack (the endpoint tests cover that)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from server.api.sync import REFUSAL_STATUS
from server.errors import error_body
from sync import engine
from sync.protocol import encoder
from sync.store import MemoryStore, Tx

T = TypeVar("T")

CONFIG = engine.Config(review_interval_days={1: 365, 2: 730, 3: 1095, 4: 1095},
                       max_push_mutations=50, pull_page_rows=3, pull_page_bytes=4000,
                       max_open_conflicts_per_device=1,  # low: the model reaches them
                       max_open_observations=1)


class MemoryServer:
    def __init__(self, store: MemoryStore, config: engine.Config = CONFIG):
        self.store, self.config = store, config
        self.actors: dict[str, engine.Actor] = {}
        self.revoked: set[str] = set()
        self.clock = 0

    def enrol(self, actor: engine.Actor) -> str:
        token = f"wb_{actor.device_id}_secret"
        self.actors[token] = actor
        return token

    async def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes
                      ) -> tuple[int, dict[str, str], bytes]:
        return self.handle(method, path, headers, body)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        actor = self.actors.get(token)
        if actor is None:
            return 401, {}, error_body("unauthorized", "unknown device token")
        if token in self.revoked:
            return 401, {}, error_body("device_revoked", "wipe", wipe=True)
        url = urlsplit(path)
        self.clock += 1
        now = f"2026-01-01T00:00:{self.clock:06d}Z"
        try:
            if method == "POST" and url.path == "/api/sync/push":
                req = engine.decode_push(body, actor, self.config)
                resp = self.store.write(
                    lambda tx: engine.push(tx, actor, req.mutations, now, self.config))
                return 200, {}, encoder.encode(resp)
            if method == "GET" and url.path == "/api/sync/pull":
                query = parse_qs(url.query)
                cursor = query.get("cursor", [""])[0]
                limit = int(query["limit"][0]) if "limit" in query else None
                return 200, {}, self.store.read(
                    lambda r: engine.pull(r, actor, cursor, limit, self.config))
        except engine.Refused as exc:
            return REFUSAL_STATUS[exc.code], {}, error_body(exc.code, exc.message, exc.field,
                                                            **exc.extra)
        return 404, {}, error_body("not_found", path)


class MemoryHousekeeping:
    """server/store/housekeeping.py's rules over a MemoryStore (the `sql` and `store` that
    server/housekeeping.py `run` takes), so the model test can interleave housekeeping on the
    memory store too. The memory store has no devices table: no device is revoked or unseen."""

    def __init__(self, store: MemoryStore):
        self.store = store

    async def write(self, fn: Callable[[Tx], T]) -> T:
        return self.store.write(fn)

    async def with_reviewed_observations(self, _db: object) -> list[str]:
        return sorted(pid for pid in self.store.premises
                      if not (doc := self.store.get(pid) or {}).get("deleted")
                      and any(o.get("status") in ("accepted", "dismissed")
                              for o in doc.get("observations") or []))

    async def prune(self, _db: object, _quiet_before: str, writers_before: str,
                    audit_before: str | None, views_before: str | None) -> dict[str, int]:
        s = self.store
        held = {k: r for k, r in s.receipts.items() if k[1] > s.acked.get(k[0], 0)}
        out = {"receipts": len(s.receipts) - len(held), "field writers": 0,
               "history entries": 0, "sensitive views": 0}
        s.receipts = held
        disputed = {c["premises_id"] for c in s.list_conflicts(sorted(s.stations))}
        for pid in list(s.writers):
            doc = s.get(pid)
            there = {o["id"] for o in (doc or {}).get("observations") or []}
            paths = s.writers[pid]
            for path, author in list(paths.items()):
                if doc is None or (path.split("/")[1] not in there
                                   if path.startswith("observations/")
                                   else pid not in disputed and author.get("at", "") < writers_before):
                    del paths[path]
                    out["field writers"] += 1
        assert audit_before is None and views_before is None  # the model keeps history
        return out
