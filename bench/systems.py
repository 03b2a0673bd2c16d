"""The systems compared, as processes: Watchbook, Datasette and pouchdb-server, each started
on a free loopback port over the same rows, plus loading those rows into PouchDB.

Owns command lines and readiness; knows nothing of what is measured.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import msgspec

from bench import dataset
from bench.procs import Server, free_port

PEERS = Path("bench/peers")
POUCHDB_BIN = PEERS / "node_modules/pouchdb-server/bin/pouchdb-server"
LOGS = dataset.ROOT / "logs"


def watchbook(db: Path, name: str = "watchbook", **env: str) -> Server:
    """Watchbook as deployed: `watchbook serve --db PATH --port P` (one uvicorn process); its
    logs go to a file."""
    port = free_port()
    argv = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())",
            "serve", "--db", str(db), "--port", str(port)]
    return Server(name, argv, port, LOGS / f"{name}.log", ready_path="/healthz",
                  env={"WATCHBOOK_DB": str(db), "WATCHBOOK_SECRET_KEY": "bench",
                       **dataset.FAST_HASH_ENV, **env})


def datasette(db: Path) -> Server:
    """Datasette over the same premises table, immutable (its fastest, no locking)."""
    port = free_port()
    argv = [sys.executable, "-m", "datasette", "serve", "--immutable", str(db),
            "--host", "127.0.0.1", "--port", str(port),
            "--setting", "max_returned_rows", "1000", "--setting", "num_sql_threads", "3"]
    return Server("datasette", argv, port, LOGS / "datasette.log", ready_path="/-/versions.json")


def pouchdb(n: int) -> Server:
    """pouchdb-server on LevelDB in var/bench/data/pouch-N (loaded once by `load_pouchdb`)."""
    port = free_port()
    folder = (dataset.DATA / f"pouch-{n}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    argv = ["node", str(POUCHDB_BIN.resolve()), "--port", str(port), "--host", "127.0.0.1",
            "--dir", str(folder), "--config", str(folder / "config.json"),
            "--no-stdout-logs"]
    return Server("pouchdb-server", argv, port, LOGS / "pouchdb.log", cwd=folder)


def pouch_loaded(n: int) -> bool:
    return (dataset.DATA / f"pouch-{n}" / "LOADED").exists()


async def load_pouchdb(server: Server, n: int) -> None:
    """Put the premises into database `premises` with `_bulk_docs`, 500 a request."""
    if pouch_loaded(n):
        return
    url = f"{server.base}/premises"
    async with aiohttp.ClientSession() as http:
        await (await http.delete(url)).read()
        async with http.put(url) as r:
            r.raise_for_status()
        for batch in dataset.docs_json(n, 500):
            docs = []
            for raw in batch:
                doc = msgspec.json.decode(raw)
                doc["_id"] = doc["id"]
                docs.append(doc)
            async with http.post(url + "/_bulk_docs", data=msgspec.json.encode({"docs": docs}),
                                 headers={"Content-Type": "application/json"}) as r:
                r.raise_for_status()
                await r.read()
    (dataset.DATA / f"pouch-{n}" / "LOADED").write_text(str(n))


def ensure_pouchdb(n: int) -> None:
    if not pouch_loaded(n):
        with pouchdb(n) as server:
            asyncio.run(load_pouchdb(server, n))
