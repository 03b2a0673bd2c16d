"""SEARCH-ENGINES: Watchbook's search function in process on SQLite (FTS5) and on PostgreSQL
(full-text, server/store/postgres/search.py) over the same demo premises, the same 300 typed
queries (name prefixes, name words, postcode districts drawn from the rows), one at a time.
Needs Debian's PostgreSQL (a throwaway cluster, tests/pg.py). Run:

    .venv/bin/python -m bench.engines_search [--premises 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg import Cluster, binaries  # noqa: E402

from server import demo  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import engines, search  # noqa: E402


def typed(docs: list[dict[str, Any]], count: int = 300, seed: int = 18) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        d = rng.choice(docs)
        words = search.words(d["name"])
        kind = len(out) % 3
        if kind == 0 and words:
            out.append(words[0][:rng.randint(3, 6)])
        elif kind == 1 and words:
            out.append(rng.choice(words))
        elif d.get("postcode"):
            out.append(d["postcode"].split()[0])
    return out


async def timed(db: Any, qs: list[str]) -> list[float]:
    out = []
    for q in qs:
        started = time.perf_counter()
        await db.read(lambda c, q=q: search.search(c, q, search.Filters(), limit=50))
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


async def main(premises: int) -> None:
    bindir = binaries()
    if bindir is None:
        raise SystemExit("needs Debian's PostgreSQL: sudo apt-get install postgresql")
    cluster = Cluster(bindir, durable=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = {"SQLite": "", "PostgreSQL": cluster.fresh_url()}
            rows = []
            for name, url in urls.items():
                settings = Settings(db_path=Path(tmp) / "s.db", database_url=url,
                                    argon2_time_cost=1, argon2_memory_cost=8,
                                    argon2_parallelism=1)
                db = await engines.open_database(settings.db_path, url, 1)
                try:
                    await demo.load_demo(db, settings, premises=premises, stations=12)
                    docs = await db.read(lambda c: [{"name": r[0], "postcode": r[1]} for r in
                                                    c.execute("SELECT name, postcode FROM "
                                                              "premises ORDER BY id LIMIT 5000")])
                    qs = typed(docs)
                    await timed(db, qs[:30])  # warm the caches
                    ms = await timed(db, qs)
                    rows.append((name, ms[len(ms) // 2], ms[int(len(ms) * 0.95)]))
                finally:
                    await db.close()
            print(f"search, {premises:,} premises, 300 typed queries, in process, one at a time")
            print("| engine | p50 ms | p95 ms |\n| --- | --- | --- |")
            for name, p50, p95 in rows:
                print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    finally:
        cluster.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().premises))
