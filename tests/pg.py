"""A throwaway PostgreSQL cluster for the tests: Debian's initdb and pg_ctl
(/usr/lib/postgresql/<version>/bin) into a temporary directory, listening only on a Unix
socket in it, run as the unprivileged `postgres` (or `nobody`) user when the tests run as root,
and stopped (then deleted) at the end of the session. Each test gets a fresh schema.

In CI (CI=true) a missing PostgreSQL fails the tests; elsewhere they are skipped with a hint.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

HINT = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
        "`sudo apt-get install postgresql` to run the PostgreSQL tests")
PORT = 5499  # only names the socket file: the cluster listens on no TCP address


def binaries() -> Path | None:
    """The newest Debian PostgreSQL bin directory (never /usr/local/bin's initdb)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _user() -> str | None:
    """Who runs the cluster: None for the current user; as root, an unprivileged one."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root with no `postgres` or `nobody` user for PostgreSQL")


class Cluster:
    """`durable=False` (the tests): fsync and synchronous commit off, for speed."""

    def __init__(self, bindir: Path, durable: bool = False):
        self.bindir, self.durable = bindir, durable
        self.user = _user()
        self.dir = Path(tempfile.mkdtemp(prefix="watchbook-pg-"))
        self.data = self.dir / "data"
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.admin_url = f"postgresql://watchbook@/watchbook?host={self.dir}&port={PORT}"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}{tail}")

    def start(self) -> Cluster:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "watchbook",
                  "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-k {self.dir} -p {PORT} -c listen_addresses='' -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-w", "-o", options, "start")
        with psycopg.connect(self.admin_url.replace("/watchbook?", "/postgres?"),
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE watchbook")
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                          "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def fresh_url(self) -> str:
        """A URL whose connections see a new, empty schema of their own."""
        schema = "t" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{self.admin_url}&options=-csearch_path%3D{schema}"


def cluster_or_skip() -> Iterator[Cluster]:
    bindir = binaries()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(HINT + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(HINT)
    cluster = Cluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
