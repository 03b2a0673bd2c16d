"""Backup of a live database and restore into a stopped server, with SQLite's backup API.

Backup holds one read snapshot on the source (WAL: writers carry on) and copies it a few pages
at a time with a short sleep; the copy is checked (integrity_check) before it takes the
destination name. Restore refuses while any connection has the database open, checks the backup
first, keeps the old database aside and drops the sync epoch so every device's cursor resets. Attachment files (immutable, content-addressed) are
copied beside the backup and back, missing ones only. Blocking calls: run them off the loop.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

PAGES_PER_STEP = 256          # 1 MiB of 4 KiB pages per step
SLEEP_BETWEEN_STEPS = 0.002   # seconds; lets the writer thread in between steps


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message says why."""


@dataclass(frozen=True)
class Report:
    path: Path
    bytes: int
    pages: int
    seconds: float
    schema_version: int
    premises: int


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "ok" if [r[0] for r in rows] == ["ok"] else "; ".join(str(r[0]) for r in rows[:5])


def _describe(path: Path, conn: sqlite3.Connection, pages: int, seconds: float) -> Report:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    premises = conn.execute("SELECT count(*) FROM premises WHERE deleted = 0").fetchone()[0]
    return Report(path, path.stat().st_size, pages, round(seconds, 3), version, premises)


def check_backup(path: str | Path) -> Report:
    """Open a backup read-only: a Watchbook database that passes integrity_check, or refuse."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    started = time.monotonic()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open: {exc}") from None
    try:
        result = _integrity(conn)
        if result != "ok":
            raise BackupError(f"{path}: integrity_check failed: {result}")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'premises'").fetchone():
            raise BackupError(f"{path}: not a Watchbook database (no premises table)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        return _describe(path, conn, pages, time.monotonic() - started)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a usable SQLite database: {exc}") from None
    finally:
        conn.close()


def backup(db_path: str | Path, dest: str | Path, pages: int = PAGES_PER_STEP,
           sleep: float = SLEEP_BETWEEN_STEPS) -> Report:
    """Copy the database at `db_path` to `dest` while the server runs and takes writes.

    The copy is the database as it was when the backup began: every push acknowledged before
    then is in it. It is written to `dest.partial`, checked, and renamed; a failed backup
    never leaves a file under the destination name.
    """
    db_path, dest = Path(db_path), Path(dest)
    if not db_path.is_file():
        raise BackupError(f"{db_path}: no such database")
    if dest.resolve() == db_path.resolve():
        raise BackupError("the backup cannot be the database itself")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.monotonic()
    src = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    dst = sqlite3.connect(partial, isolation_level=None)
    try:
        # One read snapshot for the whole copy: other connections' commits between steps do
        # not restart the backup, and in WAL mode they are not blocked by it.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # sqlite3's own `sleep` only applies after BUSY; pause after every step instead.
        src.backup(dst, pages=pages, progress=lambda *_: time.sleep(sleep))
        src.execute("COMMIT")
        copied = dst.execute("PRAGMA page_count").fetchone()[0]
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        result = _integrity(dst)
        if result != "ok":
            raise BackupError(f"the copy failed integrity_check: {result}")
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, dest)
    check = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
    try:
        return _describe(dest, check, copied, time.monotonic() - started)
    finally:
        check.close()


def _exclusive(db_path: Path) -> sqlite3.Connection:
    """A connection holding the database exclusively, or BackupError if anything has it open
    (in WAL mode a server's idle connections are enough to refuse)."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=0.5)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("COMMIT")  # the lock stays: locking_mode=EXCLUSIVE keeps it until close
    except sqlite3.OperationalError as exc:
        conn.close()
        raise BackupError(f"{db_path} is in use ({exc}): stop the server first") from None
    return conn


def restore(backup_path: str | Path, db_path: str | Path) -> tuple[Report, Path | None]:
    """Replace the database at `db_path` with a checked backup; the server must be stopped.

    Returns the restored database's report and where the old database was kept (None when
    there was none). The old file is copied aside before anything is overwritten.
    """
    backup_path, db_path = Path(backup_path), Path(db_path)
    check_backup(backup_path)
    if backup_path.resolve() == db_path.resolve():
        raise BackupError("the backup and the database are the same file")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    existed = db_path.is_file() and db_path.stat().st_size > 0
    live = _exclusive(db_path)
    aside: Path | None = None
    try:
        if existed:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
            keep = sqlite3.connect(aside, isolation_level=None)
            try:
                live.backup(keep)
                keep.execute("PRAGMA journal_mode=DELETE")
            finally:
                keep.close()
        source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        try:
            source.backup(live)
        finally:
            source.close()
        # A new sync epoch at the next start (server/store/sync.ensure_epoch): the change
        # numbers after the backup will be reused, so every device's cursor must reset.
        live.execute("DELETE FROM meta WHERE key = 'sync_epoch'")
        live.execute("PRAGMA journal_mode=WAL")
        result = _integrity(live)
        if result != "ok":
            raise BackupError(f"the restored database failed integrity_check: {result}; "
                              f"the old one is at {aside}")
        pages = live.execute("PRAGMA page_count").fetchone()[0]
        return _describe(db_path, live, pages, time.monotonic() - started), aside
    finally:
        live.close()


def blobs_beside(backup_path: str | Path) -> Path:
    """Where a backup keeps its attachment files: `<backup>.blobs/`."""
    backup_path = Path(backup_path)
    return backup_path.with_name(backup_path.name + ".blobs")


def copy_files(src: str | Path, dest: str | Path) -> int:
    """Copy the files under `src` that `dest` lacks (temp files skipped); returns how many.

    Attachment files never change once written, so a file already present is left alone; run
    it after the database backup so every attachment the backup knows of is copied.
    """
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        return 0
    copied = 0
    for path in sorted(src.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        target = dest / path.relative_to(src)
        if target.is_file() and target.stat().st_size == path.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name("." + target.name + ".part")
        shutil.copyfile(path, partial)
        os.replace(partial, target)
        copied += 1
    return copied
