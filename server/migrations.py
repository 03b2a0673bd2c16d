"""Schema and versioned migrations.

Each migration is (version, SQL script), applied in order inside one transaction with
`PRAGMA user_version` recording the version reached. Never edit a migration that has shipped:
add the next one. Must not hold queries for anything but the schema.
"""

from __future__ import annotations

import sqlite3

from server.database import Database

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE stations (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    lat           REAL NOT NULL,
    lon           REAL NOT NULL,
    extra_grounds TEXT NOT NULL DEFAULT '[]'   -- JSON list of other station codes in scope
);
CREATE TABLE premises (
    id              TEXT PRIMARY KEY,
    station         TEXT NOT NULL REFERENCES stations(code),
    name            TEXT NOT NULL,
    address         TEXT NOT NULL DEFAULT '',
    postcode        TEXT NOT NULL DEFAULT '',
    uprn            TEXT NOT NULL DEFAULT '',
    lat             REAL,
    lon             REAL,
    use             TEXT NOT NULL DEFAULT '',
    risk_level      INTEGER NOT NULL,
    next_review_due TEXT,
    search          TEXT NOT NULL DEFAULT '',  -- lower-cased name, address, postcode, uprn
    version         INTEGER NOT NULL DEFAULT 1,
    deleted         INTEGER NOT NULL DEFAULT 0,
    change_seq      INTEGER NOT NULL DEFAULT 0,
    doc             TEXT NOT NULL              -- the whole record as JSON
);
CREATE INDEX premises_station_name ON premises(station, name);
CREATE INDEX premises_change_seq ON premises(change_seq);
CREATE INDEX premises_review ON premises(next_review_due);
CREATE INDEX premises_uprn ON premises(uprn);
CREATE INDEX premises_postcode ON premises(postcode);
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('crew', 'supervisor', 'admin')),
    station       TEXT REFERENCES stations(code),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    last_seen   TEXT,
    revoked_at  TEXT,
    wipe        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_user ON devices(user_id);
"""),
]

LATEST = MIGRATIONS[-1][0]


def _apply(conn: sqlite3.Connection, upto: int) -> int:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > LATEST:
        raise RuntimeError(f"database schema {current} is newer than this Watchbook ({LATEST})")
    for version, script in MIGRATIONS:
        if current < version <= upto:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            current = version
    return int(current)


def _statements(script: str) -> list[str]:
    """Split a script on statement ends (sqlite3.complete_statement keeps triggers whole)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


async def migrate(db: Database, upto: int = LATEST) -> int:
    """Bring the schema up to `upto` (default: latest) in one transaction; returns the version."""
    return await db.write(lambda conn: _apply(conn, upto))


async def schema_version(db: Database) -> int:
    return int((await db.execute("PRAGMA user_version")).single_value())
