"""Schema and versioned migrations.

Each migration is (version, SQL script), applied in order inside one transaction with
`PRAGMA user_version` recording the version reached, and, for a version in REWRITES, a function
run after its script over rows a pure rule rewrites (15: history entries in the item form).
Never edit a migration that has shipped: add the next one. Must not hold queries for anything
but the schema (and the backfill of a new table, as in 7, or a rewrite, as in 15).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import msgspec

from server.store.database import Database
from sync import audit

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
    (2, """
-- console: who saw sensitive access fields (server/console/audit.py owns it)
CREATE TABLE sensitive_views (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    premises_id TEXT NOT NULL,
    fields      TEXT NOT NULL,            -- comma-separated names of the fields shown
    channel     TEXT NOT NULL DEFAULT 'console'
);
CREATE INDEX sensitive_views_premises ON sensitive_views(premises_id, at);
"""),
    (3, """
-- sync engine (server/store/sync.py owns these): per-device sequence, receipts, conflicts,
-- last writer of each field, audit of every applied change
CREATE TABLE sync_devices (
    device_id  TEXT PRIMARY KEY,
    last_seq   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE sync_receipts (
    device_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    body       TEXT NOT NULL,                -- the Receipt as JSON
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE TABLE conflicts (
    id          TEXT PRIMARY KEY,
    premises_id TEXT NOT NULL,
    station     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    change_seq  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    doc         TEXT NOT NULL                -- the Conflict as JSON
);
CREATE INDEX conflicts_premises ON conflicts(premises_id, status);
CREATE INDEX conflicts_change_seq ON conflicts(change_seq);
CREATE INDEX conflicts_station ON conflicts(station, status);
CREATE TABLE field_writers (
    premises_id TEXT NOT NULL,
    path        TEXT NOT NULL,
    author      TEXT NOT NULL,               -- JSON: user, device, at, client_time
    PRIMARY KEY (premises_id, path)
) WITHOUT ROWID;
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    premises_id TEXT NOT NULL,
    server_time TEXT NOT NULL,
    entry       TEXT NOT NULL                -- JSON: kind, user, device, seq, times, before, after
);
CREATE INDEX audit_premises ON audit(premises_id, id);
"""),
    (4, """
-- attachments (server/blobs.py owns it): a row per blob file, written once the file is durable
CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY,           -- of the bytes the device uploaded
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    created_at   TEXT NOT NULL
) WITHOUT ROWID;
"""),
    (5, """
-- sync pulls (server/store/sync.py): a page's change seqs come from these covering indexes,
-- so a small scope never scans the whole table and a large one never sorts documents
CREATE INDEX premises_station_seq ON premises(station, change_seq);
CREATE INDEX conflicts_station_seq ON conflicts(station, change_seq);
"""),
    (6, """
-- sync (server/store/sync.py): a record moved to another station left the old one's scope;
-- devices of that scope are told on their next pull (left_scope)
CREATE TABLE scope_exits (
    station     TEXT NOT NULL,
    change_seq  INTEGER NOT NULL,
    premises_id TEXT NOT NULL,
    PRIMARY KEY (station, change_seq, premises_id)
) WITHOUT ROWID;
"""),
    (7, """
-- attachments (server/store/records.py keeps it with every premises row written): which
-- records reference which blob, so a blob arriving finds its records by index, not by a scan
CREATE TABLE attachment_refs (
    sha256      TEXT NOT NULL,
    premises_id TEXT NOT NULL,
    PRIMARY KEY (sha256, premises_id)
) WITHOUT ROWID;
CREATE INDEX attachment_refs_premises ON attachment_refs(premises_id);
INSERT OR IGNORE INTO attachment_refs (sha256, premises_id)
SELECT json_extract(a.value, '$.sha256'), p.id
FROM premises p, json_each(p.doc, '$.attachments') a
WHERE json_extract(a.value, '$.sha256') IS NOT NULL;
"""),
    (8, """
-- upload quotas (server/store/uploads.py): bytes each user uploaded per UTC day
CREATE TABLE upload_days (
    user_id INTEGER NOT NULL REFERENCES users(id),
    day     TEXT NOT NULL,                   -- YYYY-MM-DD, UTC
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
) WITHOUT ROWID;
"""),
    (9, """
-- search (server/store/search.py owns these): an FTS5 index of live premises over the view
-- premises_search (name, address, postcode with and without its space, UPRN, and filter tags:
-- 's' + hex(station), 'r' + risk level). SQLite triggers keep it exact in the same transaction
-- as the write, whichever code writes premises; they touch the index only when a searched
-- column changes. A REPLACE fires the delete triggers only with PRAGMA recursive_triggers=ON
-- (Database sets it).
CREATE VIEW premises_search (rid, name, address, postcode, uprn, tags) AS
    SELECT rowid, name, address, postcode || ' ' || replace(postcode, ' ', ''), uprn,
           's' || hex(station) || ' r' || risk_level
    FROM premises WHERE deleted = 0;
CREATE VIRTUAL TABLE premises_fts USING fts5(
    name, address, postcode, uprn, tags,
    content = 'premises_search', content_rowid = 'rid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6'
);
CREATE TRIGGER premises_fts_insert AFTER INSERT ON premises WHEN new.deleted = 0 BEGIN
    INSERT INTO premises_fts (rowid, name, address, postcode, uprn, tags)
        SELECT * FROM premises_search WHERE rid = new.rowid;
END;
CREATE TRIGGER premises_fts_delete BEFORE DELETE ON premises WHEN old.deleted = 0 BEGIN
    INSERT INTO premises_fts (premises_fts, rowid, name, address, postcode, uprn, tags)
        SELECT 'delete', * FROM premises_search WHERE rid = old.rowid;
END;
CREATE TRIGGER premises_fts_update_before BEFORE UPDATE ON premises
WHEN old.deleted = 0 AND (new.deleted IS NOT 0 OR new.name IS NOT old.name
    OR new.address IS NOT old.address OR new.postcode IS NOT old.postcode
    OR new.uprn IS NOT old.uprn OR new.station IS NOT old.station
    OR new.risk_level IS NOT old.risk_level OR new.rowid IS NOT old.rowid) BEGIN
    INSERT INTO premises_fts (premises_fts, rowid, name, address, postcode, uprn, tags)
        SELECT 'delete', * FROM premises_search WHERE rid = old.rowid;
END;
CREATE TRIGGER premises_fts_update_after AFTER UPDATE ON premises
WHEN new.deleted = 0 AND (old.deleted IS NOT 0 OR new.name IS NOT old.name
    OR new.address IS NOT old.address OR new.postcode IS NOT old.postcode
    OR new.uprn IS NOT old.uprn OR new.station IS NOT old.station
    OR new.risk_level IS NOT old.risk_level OR new.rowid IS NOT old.rowid) BEGIN
    INSERT INTO premises_fts (rowid, name, address, postcode, uprn, tags)
        SELECT * FROM premises_search WHERE rid = new.rowid;
END;
INSERT INTO premises_fts (premises_fts) VALUES ('rebuild');
"""),
    (10, """
-- accounts (server/store/accounts.py): an admin's reset makes its owner choose a new password;
-- console sessions live here, not in the cookie (server/store/sessions.py owns the table):
-- the cookie holds a random id whose SHA-256 is the key, so the table leaks no live cookie
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id),   -- NULL before sign-in (a CSRF token only)
    data        TEXT NOT NULL DEFAULT '{}',     -- JSON: csrf, flash
    created_at  REAL NOT NULL,                  -- Unix time: the absolute limit counts from it
    seen_at     REAL NOT NULL                   -- Unix time: the idle limit counts from it
) WITHOUT ROWID;
CREATE INDEX console_sessions_user ON console_sessions(user_id);
CREATE INDEX console_sessions_seen ON console_sessions(seen_at);
-- attachments (server/store/blob_access.py): who uploaded each blob, so a blob no record
-- references yet is served to its uploaders only
CREATE TABLE blob_uploaders (
    sha256   TEXT NOT NULL,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (sha256, user_id)
) WITHOUT ROWID;
"""),
    (11, """
-- stations and users over their life (server/store/stations.py, server/store/accounts.py):
-- a station is retired rather than deleted and may be added before its position is known;
-- a user may cover extra grounds beyond their home station's
ALTER TABLE stations ADD COLUMN retired_at TEXT;
ALTER TABLE stations RENAME COLUMN lat TO lat_required;
ALTER TABLE stations RENAME COLUMN lon TO lon_required;
ALTER TABLE stations ADD COLUMN lat REAL;
ALTER TABLE stations ADD COLUMN lon REAL;
UPDATE stations SET lat = lat_required, lon = lon_required;
ALTER TABLE stations DROP COLUMN lat_required;
ALTER TABLE stations DROP COLUMN lon_required;
ALTER TABLE users ADD COLUMN extra_grounds TEXT NOT NULL DEFAULT '[]';
"""),
    (12, """
-- coverage (server/store/coverage.py): the unsent edits each device last reported on a sync
-- (X-Watchbook-Pending, X-Watchbook-Oldest-Pending), so edits a device may lose are chased
ALTER TABLE devices ADD COLUMN pending_count INTEGER;
ALTER TABLE devices ADD COLUMN oldest_pending TEXT;
ALTER TABLE devices ADD COLUMN pending_reported_at TEXT;
-- audit log (server/store/events.py): sign-ins, device enrolments and revocations, exports;
-- changes stay in `audit` and views of sensitive fields in `sensitive_views`
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- sign_in, enrol, revoke, export
    user_id     INTEGER,
    device_id   TEXT,
    station     TEXT,
    premises_id TEXT,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_at ON events(at);
"""),
    (13, """
-- partners (server/store/organisations.py, server/store/shares.py): organisations own
-- records (kind 'owner') or are partners given scoped, read-only shares of them; a user may
-- hold the 'partner' role. Widening the CHECK changes no stored row, so the users table is
-- not rebuilt: its text is amended as sqlite.org/lang_altertable.html describes, and the
-- ALTER TABLE after it makes every connection read the schema again.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
    SET sql = replace(sql, '''supervisor'', ''admin'')', '''supervisor'', ''admin'', ''partner'')')
    WHERE type = 'table' AND name = 'users';
PRAGMA writable_schema = RESET;
CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL
                CHECK (kind IN ('owner', 'police', 'council', 'ambulance', 'fire', 'other')),
    created_at  TEXT NOT NULL
);
INSERT INTO organisations (id, name, kind, created_at)
    VALUES (1, 'This service', 'owner', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
-- every existing user and station belongs to the one owning service
ALTER TABLE users ADD COLUMN organisation_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE stations ADD COLUMN organisation_id INTEGER NOT NULL DEFAULT 1;
CREATE TABLE shares (
    id                INTEGER PRIMARY KEY,
    owner_id          INTEGER NOT NULL REFERENCES organisations(id),
    partner_id        INTEGER NOT NULL REFERENCES organisations(id),
    purpose           TEXT NOT NULL,
    scope             TEXT NOT NULL,               -- JSON: stations, bbox, polygon, levels, uses
    profile           TEXT NOT NULL,               -- a named field profile (server/sharing.py)
    sensitive         TEXT NOT NULL DEFAULT '[]',  -- JSON: the sensitive fields ticked
    sensitive_reason  TEXT NOT NULL DEFAULT '',
    contribute        INTEGER NOT NULL DEFAULT 0,  -- 1: the partner may send observations
    expires_on        TEXT NOT NULL,               -- UTC date: access ends as it begins
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,               -- the admin's username, or 'watchbook command'
    ended_at          TEXT,
    ended_by          TEXT
);
CREATE INDEX shares_partner ON shares(partner_id);
CREATE TABLE partner_reads (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    share_id     INTEGER NOT NULL REFERENCES shares(id),
    user_id      INTEGER,                      -- the partner user, or NULL
    key_id       INTEGER,                      -- the feed key (share_keys), or NULL
    kind         TEXT NOT NULL,                    -- search, view, print, contribute, feed
    premises_id  TEXT,
    detail       TEXT NOT NULL DEFAULT ''          -- the query, or the fields served
);
CREATE INDEX partner_reads_share ON partner_reads(share_id, at);
CREATE TABLE share_keys (
    id          INTEGER PRIMARY KEY,
    share_id    INTEGER NOT NULL REFERENCES shares(id),
    key_hash    TEXT NOT NULL UNIQUE,             -- sha256: of the key, shown once
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TEXT
);
"""),
    (14, """
-- storage (sync/audit.py, server/store/housekeeping.py): history entries record list fields
-- item by item (REWRITES below rewrites the stored ones); each device's acknowledged seq
-- (every receipt up to it has reached the device) bounds the receipts housekeeping keeps
ALTER TABLE sync_devices ADD COLUMN acked_seq INTEGER NOT NULL DEFAULT 0;
"""),
    (15, """
-- console imports (server/store/imports.py): each upload is a job whose state survives a
-- restart; a job found checking or writing at start was interrupted (its write is one
-- transaction with its `done` status, so an interrupted job wrote nothing)
CREATE TABLE import_jobs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    filename    TEXT NOT NULL,
    format      TEXT NOT NULL,             -- csv, geojson
    status      TEXT NOT NULL,             -- checking, invalid, ready, writing, done, failed,
                                           -- interrupted, discarded
    file        TEXT,                      -- the uploaded text, kept until the job ends
    problems    TEXT NOT NULL DEFAULT '[]',
    preview     TEXT NOT NULL DEFAULT '{}',
    result      TEXT NOT NULL DEFAULT '{}',
    error       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX import_jobs_status ON import_jobs(status);
"""),
    (16, """
-- sign-in throttling (server/store/throttle.py): failures kept in the database, so every server
-- process (PostgreSQL: several) counts the same ones; and the addresses an account signed in
-- from before. The PostgreSQL form also makes the few SQL functions that SQLite has built in
-- and the shared queries use (json_each, json_extract, json_type, sum over booleans).
CREATE TABLE signin_failures (
    id       INTEGER PRIMARY KEY,
    account  TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       REAL NOT NULL,
    cleared  INTEGER NOT NULL DEFAULT 0     -- 1: a success since (the pair's delay is over)
);
CREATE INDEX signin_failures_pair ON signin_failures(account, address, at);
CREATE INDEX signin_failures_address ON signin_failures(address, at);
CREATE INDEX signin_failures_at ON signin_failures(at);
CREATE TABLE signin_known (
    account  TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       REAL NOT NULL,
    PRIMARY KEY (account, address)
);
"""),
    (17, """
-- building owners (issue 16; server/store/owner_links.py): submission links for a high-rise
-- building's responsible person (the token stored only as its digest; expiry, revocation and
-- a per-link rate window), and the faults of lifts for firefighters and key firefighting
-- equipment they report, kept after repair as the history.
CREATE TABLE submission_links (
    id            INTEGER PRIMARY KEY,
    premises_id   TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_by    TEXT,
    window_start  REAL NOT NULL DEFAULT 0,
    window_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX submission_links_premises ON submission_links(premises_id);
CREATE TABLE equipment_faults (
    reference    TEXT PRIMARY KEY,
    premises_id  TEXT NOT NULL,
    link_id      INTEGER NOT NULL REFERENCES submission_links(id),
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    since        TEXT,
    reported_by  TEXT NOT NULL,
    reported_at  TEXT NOT NULL,
    repaired_at  TEXT,
    repair_note  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX equipment_faults_premises ON equipment_faults(premises_id, reported_at);
"""),
    (18, """
-- building owners' submissions (issue 16; server/store/building_submissions.py): floor plans,
-- the building plan and external wall information sent through a submission link, each a new
-- version per premises, kind and floor (nothing overwritten), with its review.
CREATE TABLE building_submissions (
    id            INTEGER PRIMARY KEY,
    premises_id   TEXT NOT NULL,
    uprn          TEXT NOT NULL DEFAULT '',
    link_id       INTEGER NOT NULL REFERENCES submission_links(id),
    kind          TEXT NOT NULL
                  CHECK (kind IN ('floor_plan', 'building_plan', 'external_wall')),
    floor         TEXT,
    version       INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'accepted', 'rejected', 'superseded')),
    submitted_at  TEXT NOT NULL,
    submitted_by  TEXT NOT NULL,
    detail        TEXT NOT NULL,
    bytes         INTEGER NOT NULL DEFAULT 0,
    reviewed_by   TEXT,
    reviewed_at   TEXT,
    reason        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX building_submissions_version
    ON building_submissions(premises_id, kind, lower(coalesce(floor, '')), version);
CREATE INDEX building_submissions_status ON building_submissions(status, submitted_at);
CREATE INDEX building_submissions_link ON building_submissions(link_id);
"""),
    (19, """
-- building owners (issue 16; server/store/information_box.py, owner_links.py): the annual
-- information-box checks a responsible person records (reg. 4), kept as the history; and a
-- supervisor's review of a fault: confirmed still out of order (restarting the review clock),
-- or marked repaired by them (`repaired_by`; empty: the responsible person, through the link)
CREATE TABLE information_box_checks (
    id           INTEGER PRIMARY KEY,
    premises_id  TEXT NOT NULL,
    link_id      INTEGER REFERENCES submission_links(id),
    checked_on   TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    problems     TEXT NOT NULL DEFAULT '',
    reported_by  TEXT NOT NULL,
    reported_at  TEXT NOT NULL
);
CREATE INDEX information_box_checks_premises ON information_box_checks(premises_id, checked_on);
ALTER TABLE equipment_faults ADD COLUMN confirmed_at TEXT;
ALTER TABLE equipment_faults ADD COLUMN confirmed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE equipment_faults ADD COLUMN confirm_note TEXT NOT NULL DEFAULT '';
ALTER TABLE equipment_faults ADD COLUMN repaired_by TEXT NOT NULL DEFAULT '';
"""),
    (20, """
-- tenancy (issue 15; server/tenancy.py, server/store/organisations.py): a partner
-- organisation belongs to the owning service that added it, so one service's admins never
-- see, nor add users to, another service's partners. Partners so far are the first service's.
ALTER TABLE organisations ADD COLUMN owner_id INTEGER REFERENCES organisations(id);
UPDATE organisations SET owner_id = 1 WHERE kind != 'owner';
"""),
    (21, """
-- federation (issue 15; server/store/follows.py): the feeds of other Watchbook servers this
-- server follows (`watchbook follow`), each with its feed cursor, and the records followed,
-- the fields as served, each with a change number of the server's one sequence (so devices
-- pull them in order) and `gone` once the feed said it was deleted or left the share
CREATE TABLE follows (
    id               INTEGER PRIMARY KEY,
    url              TEXT NOT NULL UNIQUE,         -- the leader's /api/partner/feed
    organisation_id  INTEGER NOT NULL DEFAULT 1 REFERENCES organisations(id),
    service          TEXT NOT NULL DEFAULT '',     -- the owning service's name, shown on devices
    cursor           TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    last_run_at      TEXT,
    last_ok_at       TEXT,
    last_error       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE followed (
    follow_id    INTEGER NOT NULL REFERENCES follows(id),
    premises_id  TEXT NOT NULL,                    -- the id on the leader
    change_seq   INTEGER NOT NULL,
    gone         INTEGER NOT NULL DEFAULT 0,
    doc          TEXT NOT NULL,                    -- the record as the feed served it
    age          TEXT NOT NULL DEFAULT '{}',       -- its information age, as served
    fetched_at   TEXT NOT NULL,
    PRIMARY KEY (follow_id, premises_id)
);
CREATE INDEX followed_seq ON followed(follow_id, change_seq);
"""),
    (22, """
-- search on PostgreSQL (issue 14): its form makes word vectors of premises.search, whose text
-- is now the folded words (server/store/records.py search_text). SQLite reads its FTS5 index
-- (version 9) and needs nothing here.
"""),
]


def rewrite_history(select: Callable[[int], list[tuple[int, str]]],
                    update: Callable[[str, int], object]) -> None:
    """Version 14 on either engine: every stored history entry of a list field in the item
    form, a page at a time (the table may be large). `select(last)` gives the next page of
    (id, entry) rows of old-form entries after id `last`; `update(entry, id)` stores one."""
    last = 0
    while rows := select(last):
        for rowid, entry in rows:
            new = audit.rewrite(msgspec.json.decode(entry))
            if new is not None:
                update(msgspec.json.encode(new).decode(), rowid)
        last = rows[-1][0]


def _items_in_audit(conn: sqlite3.Connection) -> None:
    rewrite_history(
        lambda last: conn.execute(
            "SELECT id, entry FROM audit WHERE id > ? AND entry LIKE '%\"before\":{\"%' "
            "ORDER BY id LIMIT 500", (last,)).fetchall(),
        lambda entry, rowid: conn.execute("UPDATE audit SET entry = ? WHERE id = ?",
                                          (entry, rowid)))


REWRITES: dict[int, Callable[[sqlite3.Connection], None]] = {14: _items_in_audit}

LATEST = MIGRATIONS[-1][0]
_VERSIONS = [v for v, _ in MIGRATIONS]
if _VERSIONS != list(range(1, len(_VERSIONS) + 1)):
    raise RuntimeError("MIGRATIONS must be numbered 1, 2, 3, ... with no gap")


def _apply(conn: sqlite3.Connection, upto: int) -> int:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > LATEST:
        raise RuntimeError(f"database schema {current} is newer than this Watchbook ({LATEST})")
    for version, script in MIGRATIONS:
        if current < version <= upto:
            for statement in _statements(script):
                conn.execute(statement)
            if version in REWRITES:
                REWRITES[version](conn)
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
