"""Fills a database with demo data for the browser tests: `python -m tests.browser.seed DB N`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from server.demo import load_demo
from server.settings import Settings
from server.store.database import Database
from server.store.migrations import migrate


async def seed(path: Path, premises: int) -> None:
    settings = Settings.from_env(db_path=path)
    db = await Database(path).open()
    try:
        await migrate(db)
        await load_demo(db, settings, premises=premises, stations=4)
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(seed(Path(sys.argv[1]), int(sys.argv[2])))
