"""Where attachment bytes are kept: `BlobFiles`, the small interface server/blobs.py stores
through (put, get, exists, delete, stream; touch and listing for garbage collection), and
`LocalDirectory`, the default: one file per key under a directory, written whole or not at
all. Several machines share it by mounting one filesystem there (docs/deployment.md).
Must not check, decode or name blobs (server/blobs.py does), nor touch the database.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHUNK = 256 * 1024
_KEY = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]*(\.[0-9A-Za-z_-]+)*$")


class BlobFiles(Protocol):
    """Bytes by key. `put` is atomic: a reader sees the old bytes, the new ones or none,
    never part; two writers of one key each store it whole and the last one wins."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Forget the key; a missing key is no error."""

    def stream(self, key: str) -> Iterator[bytes]:
        """The bytes in chunks (KeyError if missing), for a response that does not hold
        them all in memory."""

    def size(self, key: str) -> int | None: ...

    def local_path(self, key: str) -> Path | None:
        """A file on this machine with the key's bytes, to send as it is (ranges,
        sendfile); None: send `stream(key)`."""

    def touch(self, key: str) -> None:
        """Make the key young again (garbage collection keeps it another grace period)."""

    def listing(self) -> Iterator[tuple[str, float]]:
        """Every key with the time it was last put or touched (seconds since the epoch)."""

    def sweep(self, before: float, dry_run: bool = False) -> int:
        """Remove what writes interrupted before `before` left behind; how many."""


def check_key(key: str) -> str:
    if not _KEY.match(key) or len(key) < 3:
        raise ValueError(f"not a blob key: {key!r}")
    return key


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform lets a directory be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class LocalDirectory:
    """Keys as files `root/<first two characters>/<key>`; a write is a temp file beside it
    (`.<random>.part`), fsync, rename, fsync of the directory."""

    root: Path

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)

    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def stream(self, key: str) -> Iterator[bytes]:
        try:
            f = self.path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None

        def chunks() -> Iterator[bytes]:
            with f:
                while block := f.read(CHUNK):
                    yield block
        return chunks()

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, key: str) -> Path | None:
        path = self.path(key)
        return path if path.is_file() else None

    def touch(self, key: str) -> None:
        os.utime(self.path(key))

    def listing(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for shard in self.root.iterdir():
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for f in shard.iterdir():
                if not f.name.startswith(".") and _KEY.match(f.name):
                    with contextlib.suppress(FileNotFoundError):
                        yield f.name, f.stat().st_mtime

    def sweep(self, before: float, dry_run: bool = False) -> int:
        found = 0
        if self.root.is_dir():
            for f in self.root.glob("*/.*.part"):
                with contextlib.suppress(FileNotFoundError):
                    if f.stat().st_mtime < before:
                        found += 1
                        if not dry_run:
                            f.unlink()
        return found
