"""Backup and restore: an online backup taken while pushes land restores to a consistent
database holding every push acknowledged before it began; restore refuses a database in use
and a damaged backup, and keeps the old database aside."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from world import World, fast_settings

from server import backup, cli
from server.app import create_app


def _device(world: World, username: str) -> str:
    return world.tokens[username][3:].split("_", 1)[0]


async def _add_observation(world: World, seq: int) -> dict[str, Any]:
    """Push seq `seq` of super's device: observation o<seq> on p1; returns its receipt."""
    r = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [{"kind": "add_observation", "device_id": _device(world, "super"),
                       "seq": seq, "premises_id": "p1", "base_version": 1,
                       "observation": {"id": f"o{seq}", "category": "other",
                                       "note": "x" * 1500}}]})
    assert r.status_code == 200, r.text
    receipt: dict[str, Any] = r.json()["receipts"][0]
    return receipt


def _observations_and_receipts(path: Path) -> tuple[set[str], set[str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        doc = json.loads(conn.execute("SELECT doc FROM premises WHERE id = 'p1'").fetchone()[0])
        seqs = {f"o{r[0]}" for r in conn.execute("SELECT seq FROM sync_receipts")}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {o["id"] for o in doc.get("observations", [])}, seqs
    finally:
        conn.close()


async def test_a_backup_under_push_load_restores_every_push_acknowledged_before_it(
        world: World, tmp_path: Path) -> None:
    for seq in range(1, 41):  # enough pages that the copy takes many steps
        assert (await _add_observation(world, seq))["status"] in ("applied", "merged")
    acked: list[tuple[float, str]] = []
    stop = asyncio.Event()

    async def writer() -> None:
        seq = 41
        while not stop.is_set():
            receipt = await _add_observation(world, seq)
            assert receipt["status"] in ("applied", "merged")
            acked.append((time.monotonic(), f"o{seq}"))
            seq += 1

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    began = time.monotonic()
    before = {o for t, o in acked if t < began} | {f"o{s}" for s in range(1, 41)}
    report = await asyncio.to_thread(backup.backup, world.db.path, tmp_path / "b.db", 8, 0.002)
    ended = time.monotonic()
    await asyncio.sleep(0.05)
    stop.set()
    await task
    during = [o for t, o in acked if began < t < ended]
    assert during, "pushes were acknowledged while the backup ran"
    assert report.pages > 20 and report.premises == 4

    target = tmp_path / "restored" / "watchbook.db"
    restored, aside = backup.restore(tmp_path / "b.db", target)
    assert aside is None and restored.schema_version == report.schema_version
    observations, receipts = _observations_and_receipts(target)
    assert before <= receipts, "every push acknowledged before the backup began is in it"
    assert observations == receipts, "each receipt and its change are in the copy together"


async def test_restore_refuses_a_database_the_server_has_open(
        world: World, tmp_path: Path) -> None:
    await asyncio.to_thread(backup.backup, world.db.path, tmp_path / "b.db")
    with pytest.raises(backup.BackupError, match="in use"):
        backup.restore(tmp_path / "b.db", Path(world.db.path))
    r = await world.client.get("/api/premises/p1", headers=world.as_("crew"))
    assert r.status_code == 200


async def _stopped_server_db(tmp_path: Path, name: str) -> Path:
    """A migrated database with one user and no server running on it."""
    settings = fast_settings(tmp_path / name)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.auth.add_user(name, name, "admin", None, "pw", check_password=False, service=1)
    return settings.db_path


async def test_restore_keeps_the_old_database_aside_and_the_server_starts_on_the_copy(
        world: World, tmp_path: Path) -> None:
    await asyncio.to_thread(backup.backup, world.db.path, tmp_path / "b.db")
    db_path = await _stopped_server_db(tmp_path, "other")
    restored, aside = backup.restore(tmp_path / "b.db", db_path)
    assert aside is not None and aside.name.startswith("test.db.before-restore-")
    old = sqlite3.connect(aside)
    assert [r[0] for r in old.execute("SELECT username FROM users")] == ["other"]
    old.close()
    assert restored.premises == 4
    app = create_app(fast_settings(db_path.parent))
    async with app.router.lifespan_context(app):
        users = await app.state.db.execute("SELECT username FROM users ORDER BY id")
        assert [r[0] for r in users] == ["crew", "super", "admin", "csuper"]


async def test_after_a_restore_every_device_cursor_resets(world: World, tmp_path: Path) -> None:
    h = world.as_("crew")
    cursor = (await world.client.get("/api/sync/pull", headers=h)).json()["cursor"]
    await asyncio.to_thread(backup.backup, world.db.path, tmp_path / "b.db")
    db_path = await _stopped_server_db(tmp_path, "other")
    backup.restore(tmp_path / "b.db", db_path)
    app = create_app(fast_settings(db_path.parent))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            page = (await client.get("/api/sync/pull", params={"cursor": cursor},
                                     headers=h)).json()
    assert page["reset"] is True and len(page["changes"]) == 3


async def test_a_damaged_backup_is_refused_and_the_database_left_alone(
        world: World, tmp_path: Path) -> None:
    await asyncio.to_thread(backup.backup, world.db.path, tmp_path / "b.db")
    data = bytearray((tmp_path / "b.db").read_bytes())
    for i in range(4096 * 2, len(data), 4096):  # scribble on every b-tree page header but two
        data[i:i + 64] = b"\xa5" * 64
    (tmp_path / "bad.db").write_bytes(bytes(data))
    db_path = await _stopped_server_db(tmp_path, "kept")
    before = db_path.read_bytes()
    with pytest.raises(backup.BackupError):
        backup.restore(tmp_path / "bad.db", db_path)
    (tmp_path / "text.db").write_text("not a database at all")
    with pytest.raises(backup.BackupError, match="not a usable SQLite database|not a Watch"):
        backup.restore(tmp_path / "text.db", db_path)
    assert db_path.read_bytes() == before
    assert not list(db_path.parent.glob("*.before-restore-*"))


async def test_a_failed_backup_leaves_nothing_at_the_destination(tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="no such database"):
        backup.backup(tmp_path / "missing.db", tmp_path / "b.db")
    assert not list(tmp_path.iterdir())


async def test_the_backup_and_restore_commands_round_trip(
        world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sha = "ab" + "0" * 62
    blob = world.app.state.settings.blobs_path / "ab" / sha
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"a photo")
    dest = tmp_path / "nightly" / "watchbook.db"
    code = await asyncio.to_thread(cli.main, ["backup", str(dest), "--db", str(world.db.path)])
    assert code == 0 and dest.is_file()
    assert "4 premises" in capsys.readouterr().out
    assert (tmp_path / "nightly" / "watchbook.db.blobs" / "ab" / sha).read_bytes() == b"a photo"
    target = tmp_path / "new" / "watchbook.db"
    code = await asyncio.to_thread(cli.main, ["restore", str(dest), "--db", str(target)])
    assert code == 0 and "Restored" in capsys.readouterr().out
    assert (tmp_path / "new" / "blobs" / "ab" / sha).read_bytes() == b"a photo"
    busy = await asyncio.to_thread(cli.main, ["restore", str(dest), "--db", str(world.db.path)])
    assert busy == 1 and "stop the server first" in capsys.readouterr().err
