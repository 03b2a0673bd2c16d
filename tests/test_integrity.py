"""The integrity check at start (server/store/integrity.py) and what /healthz says of it."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
from pathlib import Path

import httpx
import pytest
from world import fast_settings

from server import demo
from server.app import create_app
from server.store.database import Database
from server.store.integrity import quick_check
from server.store.migrations import migrate

PAGE = 4096


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database (300 premises), closed, its WAL checkpointed into the file."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"

    async def build() -> None:
        db = await Database(path).open()
        try:
            await migrate(db)
            await demo.load_demo(db, fast_settings(path.parent), premises=300, stations=5)
        finally:
            await db.close()
    asyncio.run(build())
    assert not path.with_name("demo.db-wal").exists()
    return path


def damaged_copy(source: Path, into: Path, pages: int = 3, seed: int = 11) -> Path:
    """A copy of `source` with `pages` random pages mid-file overwritten with noise."""
    into.mkdir(parents=True, exist_ok=True)
    copy = into / "test.db"
    shutil.copy(source, copy)
    data = bytearray(copy.read_bytes())
    count = len(data) // PAGE
    rng = random.Random(seed)
    for page in rng.sample(range(count // 4, 3 * count // 4), pages):
        data[page * PAGE:(page + 1) * PAGE] = rng.randbytes(PAGE)
    copy.write_bytes(data)
    return copy


async def healthz(settings_path: Path, log: logging.Handler | None = None) -> httpx.Response:
    app = create_app(fast_settings(settings_path))
    if log:  # after create_app, which sets the watchbook logger's handlers
        logging.getLogger("watchbook").addHandler(log)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/healthz")


async def test_a_database_damaged_mid_file_starts_but_healthz_says_damaged_and_why(
        demo_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    damaged_copy(demo_db, tmp_path)
    try:
        r = await healthz(tmp_path, caplog.handler)
    finally:
        logging.getLogger("watchbook").removeHandler(caplog.handler)
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "damaged" and body["integrity"] == "damaged"
    assert "malformed" in body["reason"] or "corrupt" in body["reason"], body["reason"]
    assert "backup" in body["reason"]
    [logged] = [rec for rec in caplog.records if rec.getMessage() == "database damaged"]
    assert logged.levelno == logging.ERROR


async def test_an_undamaged_copy_of_the_same_database_is_healthy(
        demo_db: Path, tmp_path: Path) -> None:
    shutil.copy(demo_db, tmp_path / "test.db")
    r = await healthz(tmp_path)
    assert r.status_code == 200 and r.json() == {"status": "ok", "schema": r.json()["schema"],
                                                  "integrity": "ok"}


@pytest.mark.parametrize("seed", range(5))
def test_quick_check_finds_three_damaged_pages_wherever_they_fall(
        demo_db: Path, tmp_path: Path, seed: int) -> None:
    found = quick_check(damaged_copy(demo_db, tmp_path, seed=seed), seconds=10)
    assert found.damaged, found


def test_quick_check_stops_at_its_deadline_and_says_it_did_not_finish(
        demo_db: Path, tmp_path: Path) -> None:
    shutil.copy(demo_db, tmp_path / "test.db")
    found = quick_check(tmp_path / "test.db", seconds=1e-9)
    assert found.status == "unchecked" and "did not finish" in found.reason
    assert quick_check(tmp_path / "test.db", seconds=0).status == "unchecked"
