"""Console imports as background jobs: an upload is checked whole (every problem listed), then
previewed (created, changed, left alone) and written only when an admin confirms.

Rules: a job moves checking -> invalid | ready -> writing -> done | failed; a ready job may be
discarded; a server that stops mid-job finds it checking or writing at its next start and
reports it interrupted. The write is one transaction with the job's `done` status, so an
interrupted or failed job wrote nothing. Progress (phase, done, total) lives in memory while a
job runs; states are in the database (server/store/imports.py). The file formats and checks are
server/transfer.py's, shared with `watchbook import`. A job belongs to the owning service of
the admin who started it and touches only its records. Must not know HTTP or hold SQL.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from server import clock, transfer
from server.settings import Settings
from server.store import imports as store
from server.store.database import Database

log = logging.getLogger("watchbook.imports")
PROBLEMS_KEPT = 100_000  # more than any real file; a bound on a hostile one


@dataclass
class Progress:
    phase: str = "reading"   # reading, checking, previewing, writing
    done: int = 0
    total: int = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.phase, self.done, self.total = phase, done, total


def _problems(found: list[transfer.Problem]) -> list[str]:
    return [str(p) for p in found[:PROBLEMS_KEPT]]


class ImportJobs:
    """The running jobs of this process and the steps of every job."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self.live: dict[int, Progress] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def recover(self) -> int:
        """At start: jobs a stopped server left running are interrupted; returns how many."""
        count: int = await self.db.write(lambda c: store.interrupt_running(c, clock.now()))
        if count:
            log.warning("import jobs interrupted by a restart", extra={"fields": {"jobs": count}})
        return count

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, job_id: int, step: Any) -> None:
        self.live[job_id] = Progress()
        task = asyncio.get_running_loop().create_task(self._run(job_id, step))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job_id: int, step: Any) -> None:
        try:
            await step(job_id, self.live[job_id])
        except asyncio.CancelledError:
            raise  # the server is stopping: the next start reports the job interrupted
        except Exception as exc:  # a job must end in a state a person can read
            log.exception("import job failed", extra={"fields": {"job": job_id}})
            error = f"The import failed and nothing was written ({type(exc).__name__})."
            await self.db.write(lambda c: store.update(
                c, job_id, "failed", clock.now(), keep_file=False, error=error))
        finally:
            self.live.pop(job_id, None)

    async def start(self, user_id: int, filename: str, fmt: str, text: str) -> int:
        """A new job for an uploaded file's text; checking starts at once."""
        job_id: int = await self.db.write(
            lambda c: store.create(c, user_id, filename, fmt, text, clock.now()))
        self._spawn(job_id, self._check)
        return job_id

    async def _text(self, job_id: int) -> str:
        text = await self.db.read(lambda c: store.file_of(c, job_id))
        return text or ""

    async def _check(self, job_id: int, progress: Progress) -> None:
        job = await self.get(job_id)
        fmt = job["format"] if job else "csv"
        service = await self.db.read(lambda c: store.service_of(c, job_id))
        docs, problems = await transfer.check_text(self.db, await self._text(job_id), fmt,
                                                   service, progress)
        if problems:
            await self.db.write(lambda c: store.update(
                c, job_id, "invalid", clock.now(), keep_file=False,
                problems=_problems(problems)))
            return
        progress("previewing", 0, len(docs))
        intervals = self.settings.review_interval_days
        shown = await self.db.read(lambda c: transfer.preview(c, docs, intervals))
        await self.db.write(lambda c: store.update(c, job_id, "ready", clock.now(),
                                                   preview=shown.to_json()))

    async def confirm(self, job_id: int, by: str) -> bool:
        """Write a ready job's file (checked again: stations may have changed); False when
        the job is not ready."""
        job = await self.get(job_id)
        if not job or job["status"] != "ready":
            return False
        await self.db.write(lambda c: store.update(c, job_id, "writing", clock.now()))

        async def write(job_id: int, progress: Progress) -> None:
            service = await self.db.read(lambda c: store.service_of(c, job_id))
            docs, problems = await transfer.check_text(
                self.db, await self._text(job_id), job["format"], service, progress)
            if problems:
                await self.db.write(lambda c: store.update(
                    c, job_id, "invalid", clock.now(), keep_file=False,
                    problems=_problems(problems)))
                return

            def finish(conn: sqlite3.Connection, result: transfer.ImportResult) -> None:
                store.update(conn, job_id, "done", clock.now(), keep_file=False,
                             result={"written": result.written,
                                     "unchanged": result.unchanged})
            progress("writing", 0, len(docs))
            await transfer.write_checked(self.db, self.settings, docs, by=by,
                                         progress=progress, finish=finish)
        self._spawn(job_id, write)
        return True

    async def discard(self, job_id: int) -> bool:
        job = await self.get(job_id)
        if not job or job["status"] != "ready":
            return False
        await self.db.write(lambda c: store.update(c, job_id, "discarded", clock.now(),
                                                   keep_file=False))
        return True

    async def get(self, job_id: int, service: int | None = None) -> dict[str, Any] | None:
        """A job as stored (with `service`, only one that service's admin started), with
        `progress` (phase, done, total) while it runs here."""
        job = await self.db.read(lambda c: store.get(c, job_id, service))
        if job is not None:
            live = self.live.get(job_id)
            job["progress"] = live.__dict__.copy() if live else None
        return job

    async def recent(self, service: int, limit: int = 20) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.db.read(lambda c: store.recent(c, service,
                                                                             limit))
        return rows
