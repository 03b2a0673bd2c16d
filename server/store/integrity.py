"""The integrity check at start: `PRAGMA quick_check` on its own connection, bounded in time.

Owns the verdict (ok, damaged, unchecked) and its reason; reporting it (log, /healthz) is the
app's. Must not repair, write or hold the database open after it returns.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

MAX_ERRORS = 10          # quick_check stops after this many problems
PROGRESS_OPS = 1_000     # virtual machine steps between deadline checks


@dataclass(frozen=True)
class Integrity:
    status: str          # "ok", "damaged" or "unchecked" (not run, or out of time)
    reason: str          # what quick_check said, or why it did not finish
    seconds: float = 0.0

    @property
    def damaged(self) -> bool:
        return self.status == "damaged"


def quick_check(path: str | Path, seconds: float) -> Integrity:
    """Run `PRAGMA quick_check` on `path` for at most `seconds` (0: do not run it). Blocks:
    call it in a worker thread."""
    if seconds <= 0:
        return Integrity("unchecked", "the integrity check at start is turned off")
    if not Path(path).is_file():
        return Integrity("ok", "a new database")
    started = time.monotonic()
    deadline = started + seconds
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        return Integrity("damaged", f"the database cannot be opened: {exc}")
    try:
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_OPS)
        rows = conn.execute(f"PRAGMA quick_check({MAX_ERRORS})").fetchall()
    except sqlite3.OperationalError as exc:
        if time.monotonic() > deadline:
            return Integrity("unchecked", f"quick_check did not finish in {seconds:g} s",
                             time.monotonic() - started)
        return Integrity("damaged", f"quick_check failed: {exc}", time.monotonic() - started)
    except sqlite3.DatabaseError as exc:
        return Integrity("damaged", f"quick_check failed: {exc}", time.monotonic() - started)
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    messages = [str(r[0]) for r in rows]
    if messages == ["ok"]:
        return Integrity("ok", "quick_check found no damage", elapsed)
    return Integrity("damaged", "; ".join(messages), elapsed)
