"""The SQL of console import jobs (`import_jobs`) and of exports by station: a job's state,
its uploaded text until it ends, its problems, preview and result as JSON.

Owns no rule of what a job may do next (server/imports.py does); must not hold file formats.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

RUNNING = ("checking", "writing")
COLUMNS = ("id", "user_id", "filename", "format", "status", "problems", "preview", "result",
           "error", "created_at", "updated_at")
_JSON = ("problems", "preview", "result")


def create(conn: sqlite3.Connection, user_id: int, filename: str, fmt: str, text: str,
           now: str) -> int:
    cur = conn.execute(
        "INSERT INTO import_jobs (user_id, filename, format, status, file, created_at, "
        "updated_at) VALUES (?, ?, ?, 'checking', ?, ?, ?)",
        (user_id, filename, fmt, text, now, now))
    return int(cur.lastrowid or 0)


def update(conn: sqlite3.Connection, job_id: int, status: str, now: str, *,
           keep_file: bool = True, **values: Any) -> None:
    """Set a job's status and any of problems, preview, result (JSON) and error; the file is
    dropped unless `keep_file`."""
    cols = {k: json.dumps(v) if k in _JSON else v for k, v in values.items()}
    sets = "".join(f", {k} = ?" for k in cols) + ("" if keep_file else ", file = NULL")
    conn.execute(f"UPDATE import_jobs SET status = ?, updated_at = ?{sets} WHERE id = ?",
                 (status, now, *cols.values(), job_id))


def _dict(row: Sequence[Any]) -> dict[str, Any]:
    job = dict(zip(COLUMNS, row, strict=True))
    for k in _JSON:
        job[k] = json.loads(job[k])
    return job


def get(conn: sqlite3.Connection, job_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM import_jobs WHERE id = ?",
                       (job_id,)).fetchone()
    return _dict(row) if row else None


def file_of(conn: sqlite3.Connection, job_id: int) -> str | None:
    row = conn.execute("SELECT file FROM import_jobs WHERE id = ?", (job_id,)).fetchone()
    return row[0] if row else None


def recent(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest jobs, newest first, without their problems (a list may be long)."""
    rows = conn.execute(
        "SELECT id, filename, format, status, result, created_at, updated_at, "
        "(SELECT count(*) FROM json_each(problems)) FROM import_jobs ORDER BY id DESC LIMIT ?", (limit,))
    return [{"id": r[0], "filename": r[1], "format": r[2], "status": r[3],
             "result": json.loads(r[4]), "created_at": r[5], "updated_at": r[6],
             "problems": r[7]} for r in rows]


def interrupt_running(conn: sqlite3.Connection, now: str) -> int:
    """Jobs left checking or writing by a stopped server: interrupted, their file dropped."""
    cur = conn.execute(
        "UPDATE import_jobs SET status = 'interrupted', file = NULL, updated_at = ?, "
        "error = 'The server stopped while this job ran; nothing was written.' "
        f"WHERE status IN ({', '.join('?' * len(RUNNING))})", (now, *RUNNING))
    return cur.rowcount


def live_docs_of(conn: sqlite3.Connection, stations: Sequence[str]) -> list[dict[str, Any]]:
    """Every live record of `stations`, by id (an export by station)."""
    if not stations:
        return []
    rows = conn.execute(
        f"SELECT doc FROM premises WHERE deleted = 0 AND station IN "
        f"({', '.join('?' * len(stations))}) ORDER BY id", list(stations)).fetchall()
    return [json.loads(r[0]) for r in rows]
