"""Which database the server runs on, chosen by one setting: SQLite at `db_path` (the
default) or PostgreSQL at `database_url`. `open_database` opens it and brings its schema up to
date; `sync_store` and `ensure_epoch` give the sync engine's store for it. The one place that
knows both engines exist; must not hold SQL of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.store import migrations
from server.store import sync as sqlite_sync
from server.store.database import Database
from server.store.postgres import migrations as pg_migrations
from server.store.postgres import sync as pg_sync
from server.store.postgres.compat import PgServerDatabase
from server.store.postgres.database import PgDatabase
from sync.store import Store

AnyDatabase = Any  # Database | PgServerDatabase: the same faces (read, write, execute, ...)


async def open_database(db_path: str | Path, database_url: str, connections: int,
                        migrate: bool = True) -> AnyDatabase:
    """The open database of these settings, migrated to the latest schema unless told not."""
    if database_url:
        pg = PgServerDatabase(PgDatabase(database_url, size=connections + 2))
        await pg.open()
        try:
            if migrate:
                await pg_migrations.migrate(pg.pg)
        except BaseException:
            await pg.close()
            raise
        return pg
    db = await Database(db_path, connections).open()
    try:
        if migrate:
            await migrations.migrate(db)
    except BaseException:
        await db.close()
        raise
    return db


def is_postgres(db: AnyDatabase) -> bool:
    return isinstance(db, PgServerDatabase)


def sync_store(db: AnyDatabase) -> Store:
    """The sync engine's store over this database."""
    if isinstance(db, PgServerDatabase):
        return pg_sync.PgStore(db.pg)
    return sqlite_sync.SqliteStore(db)


async def ensure_epoch(db: AnyDatabase) -> str:
    """The server epoch cursors carry, made once per database."""
    if isinstance(db, PgServerDatabase):
        return await db.pg.write(pg_sync.ensure_epoch)
    epoch: str = await db.write(sqlite_sync.ensure_epoch)
    return epoch


async def schema_version(db: AnyDatabase) -> int:
    if isinstance(db, PgServerDatabase):
        return await pg_migrations.schema_version(db.pg)
    return await migrations.schema_version(db)
