"""Content codings on the initial pull: bytes and CPU per 1,000 rows for each coding and level
(`python -m bench codings`). Two views of the same pages:

- in process: the server's pull pages (fetched once, identity) coded by the server's own coder
  (server/web/compression.py) and decoded by the library, CPU from time.process_time;
- through the server: the whole pull over loopback HTTP with Accept-Encoding naming one coding,
  server CPU from /proc; one server per column of levels (WATCHBOOK_*_LEVEL).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import brotli
import zstandard

from bench import clients, dataset, systems
from bench.initial_pull import Sample
from bench.report import median, ratio, table, verdict
from server.settings import Settings
from server.web.compression import coder

LEVELS = {"gzip": [0, 1, 2, 3], "zstd": [-5, -1, 1, 2, 3, 4, 6, 9], "br": [0, 1, 2, 3, 4, 5, 6]}
VARIABLE = {"gzip": "WATCHBOOK_GZIP_LEVEL", "zstd": "WATCHBOOK_ZSTD_LEVEL",
            "br": "WATCHBOOK_BROTLI_LEVEL"}
DECODE: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress, "zstd": zstandard.ZstdDecompressor().decompress,
    "br": brotli.decompress}
BASELINE = ("gzip", 1)  # what the PWA got before: ISA-L gzip level 1
TARGET_SHARE = 0.12
LINK_BPS = 1.6e6  # the slow link, for the "transfer at 1.6 Mbit/s" column


def defaults() -> dict[str, int]:
    s = Settings()
    return {"gzip": s.gzip_level, "zstd": s.zstd_level, "br": s.brotli_level}


@dataclass
class Row:
    coding: str
    level: int | None  # None: identity
    rows: int = 0
    wire: int = 0
    raw: int = 0
    encode: list[float] = field(default_factory=list)   # ms / 1k rows, one per round
    decode: list[float] = field(default_factory=list)
    server: list[Sample] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.coding if self.level is None else f"{self.coding}-{self.level}"

    @property
    def share(self) -> float:
        return ratio(self.wire, self.raw)

    @property
    def server_cpu(self) -> float:
        return median([s.cpu / s.rows * 1e6 for s in self.server])


def in_process(pages: list[bytes], rows: dict[tuple[str, int], Row], count: int,
               rounds: int) -> None:
    """Each coding and level over the same pages (`count` rows). Interleaved page by page, so
    that whatever else runs on the machine weighs on every coding alike."""
    coders = {key: (coder(*key), DECODE[key[0]]) for key in rows}
    raw = sum(map(len, pages))
    clock = time.process_time
    for _ in range(rounds):
        encode = dict.fromkeys(rows, 0.0)
        decode = dict.fromkeys(rows, 0.0)
        wire = dict.fromkeys(rows, 0)
        for page in pages:
            for key, (code, unpack) in coders.items():
                c0 = clock()
                packed = code(page)
                c1 = clock()
                unpack(packed)
                encode[key] += c1 - c0
                decode[key] += clock() - c1
                wire[key] += len(packed)
        for key, row in rows.items():
            row.rows, row.raw, row.wire = count, raw, wire[key]
            row.encode.append(encode[key] / count * 1e6)
            row.decode.append(decode[key] / count * 1e6)


async def _server_column(n: int, index: int, rounds: int, rows: dict[tuple[str, int], Row],
                         identity: Row | None, pages: list[bytes] | None) -> None:
    """One server with the index-th level of each coding; every coding pulled `rounds` times,
    interleaved, after one warm-up pull each (and identity too on the first server)."""
    column = {c: levels[index] for c, levels in LEVELS.items() if index < len(levels)}
    env = {VARIABLE[c]: str(level) for c, level in column.items()}
    server = systems.watchbook(dataset.working_copy(n, "codings"), "watchbook-codings",
                               **env).start()
    try:
        async with clients.session() as http:
            token = await clients.enrol(http, server.base, f"codings-{index}")
            jobs: list[tuple[str, Row]] = [(c, rows[(c, level)]) for c, level in column.items()]
            if identity is not None:
                jobs.append(("identity", identity))
            for accept, _ in jobs:  # warm-up; identity's pages are the in-process input
                await clients.watchbook_pull(http, server.base, token, accept=accept,
                                             keep=pages if accept == "identity" else None)
            for _ in range(rounds):
                for accept, row in jobs:
                    c0, t0 = server.cpu(), time.perf_counter()
                    read = await clients.watchbook_pull(http, server.base, token, accept=accept)
                    wall, cpu = time.perf_counter() - t0, server.cpu() - c0
                    row.server.append(Sample(read.rows, wall, cpu, read.wire, read.raw))
                    if accept == "identity":
                        row.rows, row.wire, row.raw = read.rows, read.wire, read.raw
    finally:
        server.stop()


def run(n: int, rounds: int) -> tuple[dict[tuple[str, int], Row], Row]:
    """Through the server first (its identity pull gives the pages), then in process."""
    rows = {(c, lv): Row(c, lv) for c, levels in LEVELS.items() for lv in levels}
    identity, pages = Row("identity", None), list[bytes]()
    for index in range(max(len(levels) for levels in LEVELS.values())):
        asyncio.run(_server_column(n, index, rounds, rows, identity if index == 0 else None,
                                   pages if index == 0 else None))
    in_process(pages, rows, identity.rows, rounds)
    return rows, identity


def report(n: int, rows: dict[tuple[str, int], Row], identity: Row) -> str:
    base = rows[BASELINE]
    body = []
    for row in [identity, *rows.values()]:
        enc = median(row.encode) if row.encode else 0.0
        body.append([row.name, row.wire / 1e6, row.share, row.wire * 8 / LINK_BPS, enc,
                     ratio(enc, median(base.encode)) if row.encode else float("nan"),
                     median(row.decode) if row.decode else 0.0,
                     row.server_cpu, ratio(row.server_cpu, base.server_cpu)])
    out = table(f"Content codings: the initial pull of {n:,} premises ({identity.rows:,} rows, "
                f"{identity.raw / 1e6:.1f} MB of JSON), medians of {len(identity.server)}",
                ["coding", "wire MB", "share of raw", "s at 1.6 Mbit/s",
                 "encode ms / 1k rows", "encode / gzip-1", "decode ms / 1k rows",
                 "server CPU ms / 1k rows", "server CPU / gzip-1"], body)
    checks = []
    for coding, level in defaults().items():
        chosen = rows.get((coding, level))
        if chosen is None:
            continue
        enc = ratio(median(chosen.encode), median(base.encode))
        cpu = ratio(chosen.server_cpu, base.server_cpu)
        ok = chosen.share <= TARGET_SHARE and cpu <= 1.0 + 1e-9  # equal medians: float noise
        checks.append([f"default {chosen.name}", chosen.share, enc, cpu,
                       verdict(ok) if coding == "zstd" else "-"])
    out += "\n" + table("Content codings: the defaults against the target (wire <= 12% of raw "
                        "JSON at no more server CPU per row than gzip-1)",
                        ["coding", "share of raw", "encode CPU / gzip-1",
                         "server CPU / gzip-1", "target"], checks)
    return out
