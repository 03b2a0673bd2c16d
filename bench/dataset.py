"""The rows every compared system holds: the demo generator's premises, built once per size
into var/bench/data/ and copied for each run that writes.

Owns the Watchbook database file for N premises and the documents handed to the peers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sqlite3
from pathlib import Path

from server.demo import load_demo
from server.settings import Settings
from server.store.database import Database
from server.store.migrations import LATEST, migrate

ROOT = Path("var/bench")
DATA = ROOT / "data"
SEED = 7
TODAY = dt.date(2025, 1, 15)  # fixed: the same bytes on every run
# Sign-in hashing is not what these benchmarks measure; the server under test uses the same
# cheap argon2 parameters so that enrolling 2,000 devices takes seconds, not minutes.
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}
FAST_HASH_ENV = {f"WATCHBOOK_{k.upper()}": str(v) for k, v in FAST_HASH.items()}


def settings_for(path: Path) -> Settings:
    return Settings(db_path=path, secret_key="bench", **FAST_HASH)  # type: ignore[arg-type]


def premises_db(n: int) -> Path:
    """The pristine Watchbook database with `n` demo premises (built on first use)."""
    path = DATA / f"watchbook-{n}.db"
    if path.exists():
        with sqlite3.connect(path) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == LATEST:
            return path
        _migrate(path)  # the schema moved on since this file was built
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    for p in tmp.parent.glob(tmp.name + "*"):
        p.unlink()

    async def build() -> None:
        db = await Database(tmp).open()
        try:
            await migrate(db)
            await load_demo(db, settings_for(tmp), premises=n, seed=SEED, today=TODAY)
        finally:
            await db.close()

    asyncio.run(build())
    with sqlite3.connect(tmp) as conn:  # fold the WAL in: one self-contained file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    tmp.rename(path)
    return path


def _migrate(path: Path) -> None:
    async def run() -> None:
        db = await Database(path).open()
        try:
            await migrate(db)
        finally:
            await db.close()
    asyncio.run(run())
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def working_copy(n: int, name: str) -> Path:
    """A fresh writable copy of the pristine database (runs that write never share one)."""
    src = premises_db(n)
    dst = ROOT / "run" / f"{name}-{n}.db"
    dst.parent.mkdir(parents=True, exist_ok=True)
    for p in dst.parent.glob(dst.name + "*"):
        p.unlink()
    shutil.copyfile(src, dst)
    return dst


def docs_json(n: int, batch: int = 1000) -> list[list[bytes]]:
    """The stored record JSON of every premises in change order, in batches."""
    with sqlite3.connect(premises_db(n)) as conn:
        rows = [r[0] for r in conn.execute(
            "SELECT CAST(doc AS BLOB) FROM premises ORDER BY change_seq")]
    return [rows[i:i + batch] for i in range(0, len(rows), batch)]


def stats(n: int) -> tuple[int, int]:
    """(rows, bytes of stored JSON) of the dataset."""
    with sqlite3.connect(premises_db(n)) as conn:
        count, size = conn.execute("SELECT count(*), sum(length(doc)) FROM premises").fetchone()
    return int(count), int(size)
