"""Installs what the comparison needs, once: pouchdb-server from npm into bench/peers/
(ignored by git) and wrk from Debian (only when root and missing). The Python side (datasette,
aiohttp) comes from the `bench` extra in pyproject.toml.

Returns notes for the report instead of failing when a peer cannot be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from bench.systems import PEERS, POUCHDB_BIN

POUCHDB_VERSION = "4.2.0"


def ensure_pouchdb() -> str | None:
    """None when pouchdb-server is ready, else why not."""
    if POUCHDB_BIN.exists():
        return None
    if not shutil.which("npm") or not shutil.which("node"):
        return "pouchdb-server skipped: node and npm are not installed"
    PEERS.mkdir(parents=True, exist_ok=True)
    print(f"installing pouchdb-server {POUCHDB_VERSION} into {PEERS}/ (npm, about 2 minutes)",
          flush=True)
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                           f"pouchdb-server@{POUCHDB_VERSION}"], cwd=PEERS)
    if done.returncode or not POUCHDB_BIN.exists():
        return f"pouchdb-server skipped: npm install failed ({done.returncode})"
    return None


def ensure_wrk() -> str | None:
    """None when wrk is on PATH, else why not (installed with apt-get only when root)."""
    if shutil.which("wrk"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "wrk cross-check skipped: wrk is missing and this is not root (apt-get install wrk)"
    print("installing wrk (apt-get)", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    return None if shutil.which("wrk") else "wrk cross-check skipped: apt-get install wrk failed"
