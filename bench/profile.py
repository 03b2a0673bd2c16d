"""Where the server's time goes: py-spy samples the Watchbook process while devices pull the
whole dataset (P1) or burst (P2), and the samples are summed by function (self time) and by
a few stages of the request path (inclusive time).

Needs py-spy (the bench extra) and permission to ptrace the server (root, or ptrace_scope 0).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import clients, dataset, systems
from bench.report import table

# Substrings of a frame ("function (file:line)") that name a stage of the request path. A
# sample counts for the stage of its deepest matching frame (so each sample counts once).
STAGES = {
    "writer transaction incl. COMMIT (Database._run_group)": "_run_group (server/store/database.py",
    "SQLite query and row fetch (SqliteReader.changes)": "changes (server/store/sync.py",
    "splice stored JSON into the page (encode_pull)": "encode_pull (sync/protocol.py",
    "gzip (ISA-L via server/web/compression.py)": "igzip.py",
    "token check (authenticate_device)": "authenticate_device (server/auth.py",
    "request log (RequestLog)": "observability.py",
    "uvicorn h11 protocol": "h11_impl.py",
    "uvicorn httptools protocol": "httptools_impl.py",
    "push: engine (sync/engine.py push)": "push (sync/engine.py",
    "push: store flush (SqliteTx._write)": "_write (server/store/sync.py",
    "asyncio event loop (select, callbacks)": "base_events.py",
}


def _py_spy() -> str | None:
    return shutil.which("py-spy") or (str(Path(sys.executable).with_name("py-spy"))
                                      if Path(sys.executable).with_name("py-spy").exists()
                                      else None)


class Spy:
    """py-spy recording one process into a raw (collapsed stacks) file while the block runs."""

    def __init__(self, pid: int, out: Path):
        self.pid, self.out = pid, out
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Spy:
        spy = _py_spy()
        if spy is not None:
            self.out.unlink(missing_ok=True)
            self.proc = subprocess.Popen([spy, "record", "--pid", str(self.pid), "--rate", "250",
                                          "--format", "raw", "--threads",
                                          "--output", str(self.out)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # attached before the work starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(2)
            self.proc.wait(60)


def profile_pull(n: int, devices: int = 1, repeats: int = 3, gzip: bool = True
                 ) -> tuple[Counter[str], Counter[str], int] | None:
    """Profile the server while `devices` pull every premises `repeats` times."""
    if _py_spy() is None:
        return None
    server = systems.watchbook(dataset.working_copy(n, "profile"), "watchbook-profile").start()
    raw = dataset.ROOT / "profile-pull.txt"
    try:
        async def tokens() -> list[str]:
            async with clients.session() as http:
                return [await clients.enrol(http, server.base, f"p{i}") for i in range(devices)]
        toks = asyncio.run(tokens())

        async def pull() -> None:
            async with clients.session() as http:
                for _ in range(repeats):
                    await asyncio.gather(*(clients.watchbook_pull(http, server.base, t, gzip)
                                           for t in toks))
        with Spy(server.pid, raw):
            asyncio.run(pull())
    finally:
        server.stop()
    return summarise(raw)


def profile_burst(n: int, devices: int) -> tuple[Counter[str], Counter[str], int] | None:
    """Profile the server through one P2 burst."""
    from bench import burst

    if _py_spy() is None:
        return None
    raw = dataset.ROOT / "profile-burst.txt"
    burst.run(n, devices, spy=lambda pid: Spy(pid, raw))
    return summarise(raw)


def summarise(raw: Path) -> tuple[Counter[str], Counter[str], int]:
    """(self samples by function, inclusive samples by stage, total busy samples)."""
    own: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return own, stages, 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        leaf = frames[-1]
        if _idle(leaf):
            continue
        k = int(count)
        total += k
        own[_short(leaf)] += k
        stages[_stage(frames)] += k
    return own, stages, total


def _stage(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, key in STAGES.items():
            if key in frame:
                return name
    return "other (middleware, routing, threads' glue)"


def _idle(frame: str) -> bool:
    return any(s in frame for s in ("select (selectors.py", "wait (threading.py",
                                    "_worker (concurrent", "get (queue.py", "_connection_worker_thread",
                                    "epoll"))


def _short(frame: str) -> str:
    return frame.replace(str(Path.cwd()) + "/", "").split(" (.venv")[0]


def report(title: str, result: tuple[Counter[str], Counter[str], int] | None) -> str:
    if result is None:
        return "Profile skipped: py-spy is not installed (pip install '.[bench]')\n"
    own, stages, total = result
    if not total:
        return "Profile skipped: py-spy recorded nothing (ptrace not permitted?)\n"
    text = table(f"Profile: {title}: busy samples by stage (deepest)",
                 ["stage", "share of busy samples"],
                 [[k, f"{v / total:.0%}"] for k, v in stages.most_common()])
    text += "\n" + table(f"Profile: {title}: top functions by self time",
                         ["function (file:line)", "share"],
                         [[k, f"{v / total:.0%}"] for k, v in own.most_common(12)])
    return text
