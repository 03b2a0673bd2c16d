"""STORAGE: what the database grows by under work. `python -m bench storage`.

100,000 mixed mutations (add_observation, review_observation, risk-notes updates, add_hazard)
through the engine, in process, on a copy of the 20,000-premises dataset, in pushes of 50 from
20 devices; "hot": 80% of them on 30 premises, "spread": uniform over every premises. Reported:
database size, audit bytes, bytes handed to write(2) per mutation (/proc/self/io wchar: WAL and
checkpoints), the mean add_observation entry in the first and last tenth of the run (flat
when entries hold items, growing when they hold lists), then `watchbook housekeeping` (if this
code has it: with the clock 91 days on, then VACUUM) and the size as a multiple of the live
premises JSON.
Runs on any checkout of the code (docs/performance.md measured main's in a temp worktree).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from bench import dataset
from bench.report import table
from server.store.database import Database
from server.store.sync import SqliteStore
from sync import engine
from sync.protocol import AddHazard, AddObservation, FieldChange, ReviewObservation, Update
from sync.record import Hazard, Observation

DEVICES, BATCH, HOT = 20, 50, 30


def _wchar() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def _sizes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        used = (conn.execute("PRAGMA page_count").fetchone()[0]
                - conn.execute("PRAGMA freelist_count").fetchone()[0]) * page
        audit = conn.execute("SELECT coalesce(sum(length(entry)), 0) FROM audit").fetchone()[0]
        live = conn.execute("SELECT sum(length(doc)) FROM premises").fetchone()[0]
        receipts = conn.execute("SELECT count(*) FROM sync_receipts").fetchone()[0]
        writers = conn.execute("SELECT count(*) FROM field_writers").fetchone()[0]
    return {"file": path.stat().st_size, "used": used, "audit": audit, "live": live,
            "receipts": receipts, "writers": writers}


class Mix:
    """The mutations of one run, made as devices would (each device numbers its own)."""

    def __init__(self, ids: list[str], stations: tuple[str, ...], hot: bool, seed: int):
        self.rng = random.Random(seed)
        self.ids, self.hot = ids, hot
        self.hot_ids = self.rng.sample(ids, HOT)
        self.seq = dict.fromkeys(range(DEVICES), 0)
        self.open: dict[str, list[str]] = {}
        self.notes: dict[str, str] = {}
        self.n = 0
        self.rejected = 0  # add_observation refused (Rule 6d)
        self.actors = [engine.Actor(i + 1, f"bench{i}", f"Bench {i}", "supervisor", stations,
                                    f"bench-{i}") for i in range(DEVICES)]

    def target(self) -> str:
        if self.hot and self.rng.random() < 0.8:
            return self.rng.choice(self.hot_ids)
        return self.rng.choice(self.ids)

    def answered(self, batch: list[Any], receipts: list[Any]) -> None:
        """An observation the server refused (engine Rule 6d: the record has as many waiting
        as it may) is not there to review: the device keeps it as needing attention."""
        for m, r in zip(batch, receipts, strict=False):
            if r.status == "rejected" and isinstance(m, AddObservation):
                waiting = self.open.get(m.premises_id, [])
                if m.observation.id in waiting:
                    waiting.remove(m.observation.id)
                self.rejected += 1

    def make(self, dev: int, now: str) -> Any:
        self.seq[dev] += 1
        self.n += 1
        pid, r, n = self.target(), self.rng.random(), self.n
        common = {"device_id": f"bench-{dev}", "seq": self.seq[dev], "client_time": now,
                  "premises_id": pid, "base_version": 0}
        if r < 0.25 and self.open.get(pid):
            return ReviewObservation(**common, observation_id=self.open[pid].pop(0),
                                     status=self.rng.choice(["accepted", "dismissed"]))
        if r < 0.40:
            old = self.notes.get(pid)
            if old is not None:
                self.notes[pid] = f"Checked {n}"
                return Update(**common, changes=[FieldChange("risk_notes", old, f"Checked {n}")])
        if r < 0.50:
            return AddHazard(**common, hazard=Hazard(id=f"hz{n}", type="lpg",
                                                     location=f"Store {n % 7}"))
        self.open.setdefault(pid, []).append(f"ob{n}")
        return AddObservation(**common, observation=Observation(
            id=f"ob{n}", category="access", note=f"Key box moved, visit {n}"))


async def _run(path: Path, mutations: int, hot: bool) -> dict[str, Any]:
    db = await Database(path, read_connections=1).open()
    out: dict[str, Any] = {}
    try:
        ids = [r[0] for r in await db.execute("SELECT id FROM premises ORDER BY id")]
        stations = tuple(r[0] for r in await db.execute("SELECT code FROM stations"))
        notes = dict(tuple(r) for r in await db.execute(  # type: ignore[misc]
            "SELECT id, json_extract(doc, '$.risk_notes') FROM premises"))
        mix = Mix(ids, stations, hot, seed=5 if hot else 6)
        mix.notes = {k: v or "" for k, v in notes.items()}
        store = SqliteStore(db)
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        obs_bytes: list[tuple[int, int]] = []  # (done, mean add_observation entry bytes)
        last_id = int((await db.execute("SELECT coalesce(max(id), 0) FROM audit")).single_value())
        w0, t0 = _wchar(), time.perf_counter()
        done = 0
        while done < mutations:
            dev = (done // BATCH) % DEVICES
            now = (base + dt.timedelta(seconds=done)).isoformat().replace("+00:00", "Z")
            batch = [mix.make(dev, now) for _ in range(min(BATCH, mutations - done))]
            actor = mix.actors[dev]
            resp = await store.write(lambda tx, b=batch, a=actor, t=now: engine.push(
                tx, a, b, t, engine.Config()))
            mix.answered(batch, resp.receipts)
            done += len(batch)
            if done % max(BATCH, mutations // 10) == 0 or done == mutations:
                row = (await db.execute(  # the mean add_observation entry of this tenth
                    "SELECT avg(length(entry)), max(id) FROM audit WHERE id > ? AND "
                    "entry LIKE '%\"kind\":\"add_observation\"%'", (last_id,))).first()
                if row and row[1]:
                    obs_bytes.append((done, int(row[0])))
                    last_id = int(row[1])
                print(f"storage {'hot' if hot else 'spread'}: {done:,} in "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        out["seconds"] = time.perf_counter() - t0
        out["wchar"] = _wchar() - w0
        out["obs_bytes"] = obs_bytes
        out["end"] = now
        out["rejected"] = mix.rejected
        out["largest"] = int((await db.execute(
            "SELECT max(length(doc)) FROM premises")).single_value())
    finally:
        await db.close()
    return out


async def _housekeep(path: Path, now: str) -> bool:
    try:
        from server import housekeeping
        from server.store import housekeeping as sql
    except ImportError:  # a checkout before housekeeping
        return False
    db = await Database(path, read_connections=1).open()
    try:
        later = (dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
                 + dt.timedelta(days=91)).isoformat().replace("+00:00", "Z")
        await housekeeping.run(db, SqliteStore(db), sql, housekeeping.Retention(), later)
        await sql.vacuum(db)
    finally:
        await db.close()
    return True


def run(n: int = 20_000, mutations: int = 100_000) -> list[dict[str, Any]]:
    results = []
    for hot in (True, False):
        path = dataset.working_copy(n, "storage-hot" if hot else "storage-spread")
        before = _sizes(path)
        got = asyncio.run(_run(path, mutations, hot))
        after = _sizes(path)
        kept = _sizes(path) if asyncio.run(_housekeep(path, got["end"])) else None
        if kept is not None:
            kept = _sizes(path)
        results.append({"pattern": "hot" if hot else "spread", "before": before,
                        "after": after, "kept": kept, "mutations": mutations, **got})
    return results


def report(results: list[dict[str, Any]]) -> str:
    mb = 2**20
    rows = []
    for r in results:
        b, a, k, m = r["before"], r["after"], r["kept"], r["mutations"]
        rows.append([
            r["pattern"], f"{m:,}", f"{r['seconds']:.0f}", f"{b['file'] / mb:.0f}",
            f"{a['file'] / mb:.0f}", f"{(a['used'] - b['used']) / m:,.0f}",
            f"{r['wchar'] / m:,.0f}", f"{(a['audit'] - b['audit']) / m:,.0f}",
            " → ".join(f"{x:,}" for _, x in (r["obs_bytes"][0], r["obs_bytes"][-1])),
            f"{a['live'] / mb:.0f}", f"{r.get('largest', 0) / 1024:,.0f}",
            f"{r.get('rejected', 0):,}",
            f"{k['file'] / mb:.0f} ({k['file'] / k['live']:.1f}×)" if k else "no housekeeping",
            f"{a['receipts']:,} → {k['receipts']:,}" if k else f"{a['receipts']:,}"])
    return table(f"STORAGE: database growth under {results[0]['mutations']:,} mixed mutations",
                 ["pattern", "mutations", "s", "MB before", "MB after",
                  "stored bytes / mutation", "written bytes / mutation",
                  "audit bytes / mutation", "add_observation entry bytes, first → last tenth",
                  "live JSON MB", "largest record KB", "observations refused (Rule 6d)",
                  "MB after housekeeping (× live JSON)", "receipts"], rows)
