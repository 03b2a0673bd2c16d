"""Migrations: an empty file and every earlier version reach the same latest schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from server.store import records
from server.store.database import Database
from server.store.migrations import LATEST, MIGRATIONS, migrate, schema_version


async def _schema(db: Database) -> list[tuple[str, str]]:
    rows = await db.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
    return [(r[0], r[1]) for r in rows]


async def test_empty_database_migrates_to_latest(tmp_path: Path) -> None:
    db = await Database(tmp_path / "fresh.db").open()
    try:
        assert await migrate(db) == LATEST
        assert await schema_version(db) == LATEST
        assert await migrate(db) == LATEST  # running again changes nothing
    finally:
        await db.close()


@pytest.mark.parametrize("start", [0] + [v for v, _ in MIGRATIONS[:-1]])
async def test_every_earlier_version_migrates_to_the_same_schema(tmp_path: Path,
                                                                 start: int) -> None:
    fresh = await Database(tmp_path / "fresh.db").open()
    old = await Database(tmp_path / "old.db").open()
    try:
        await migrate(fresh)
        assert await migrate(old, upto=start) == start
        if start >= 1:  # data written under the old schema survives the upgrade
            await old.execute_write(
                "INSERT INTO stations (code, name, lat, lon) VALUES ('X', 'Kept', 52, 0)")
        assert await migrate(old) == LATEST
        assert await _schema(old) == await _schema(fresh)
        if start >= 1:
            kept = (await old.execute("SELECT name FROM stations WHERE code = 'X'"))
            assert kept.single_value() == "Kept"
    finally:
        await fresh.close()
        await old.close()


async def test_database_from_a_newer_watchbook_is_refused(tmp_path: Path) -> None:
    db = await Database(tmp_path / "new.db").open()
    try:
        await db.execute_write(f"PRAGMA user_version = {LATEST + 1}")
        with pytest.raises(RuntimeError, match="newer"):
            await migrate(db)
    finally:
        await db.close()


async def test_migration_7_indexes_the_attachments_records_already_hold(tmp_path: Path) -> None:
    sha_a, sha_b = "a" * 64, "b" * 64

    def att(aid: str, sha: str) -> dict[str, object]:
        return {"id": aid, "sha256": sha, "kind": "photo", "content_type": "image/png",
                "size": 10}
    docs = [{"id": "p1", "station": "X", "name": "Two photos", "attachments": [
                att("a1", sha_a), att("a2", sha_b)]},
            {"id": "p2", "station": "X", "name": "Same photo", "deleted": True,
             "attachments": [att("a3", sha_a)]},
            {"id": "p3", "station": "X", "name": "None", "attachments": []},
            {"id": "p4", "station": "X", "name": "Older record"}]
    db = await Database(tmp_path / "old.db").open()
    try:
        await migrate(db, upto=6)

        def fill(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO stations (code, name, lat, lon) VALUES ('X', 'X', 52, 0)")
            conn.executemany(records.UPSERT_SQL, [records.row_values(d, i + 1)
                                                  for i, d in enumerate(docs)])
        await db.write(fill)
        await migrate(db)
        rows = await db.execute("SELECT premises_id, sha256 FROM attachment_refs ORDER BY 1, 2")
        assert [(r[0], r[1]) for r in rows] == [("p1", sha_a), ("p1", sha_b), ("p2", sha_a)]
    finally:
        await db.close()
