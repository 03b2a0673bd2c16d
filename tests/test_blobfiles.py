"""The blob store as an interface (server/blobfiles.py): one contract suite over the local
directory and an in-memory store kept here, and the attachment endpoints and gc working
unchanged over a store that is not a directory (its bytes are streamed, not sent as a file)."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import on_both
from PIL import Image
from world import World

from server import blobs
from server.blobfiles import BlobFiles, LocalDirectory


class MemoryFiles:
    """A BlobFiles that holds its bytes in a dict: a stand-in for a store that is not a
    directory on this machine (an object store), so no local path is ever offered."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, float]] = {}

    def put(self, key: str, data: bytes) -> None:
        self.items[key] = (bytes(data), time.time())

    def get(self, key: str) -> bytes | None:
        found = self.items.get(key)
        return found[0] if found else None

    def exists(self, key: str) -> bool:
        return key in self.items

    def delete(self, key: str) -> None:
        self.items.pop(key, None)

    def stream(self, key: str) -> Iterator[bytes]:
        data = self.items[key][0]
        return iter([data[i:i + 7] for i in range(0, len(data), 7)])

    def size(self, key: str) -> int | None:
        found = self.items.get(key)
        return len(found[0]) if found else None

    def local_path(self, key: str) -> Path | None:
        return None

    def touch(self, key: str) -> None:
        self.items[key] = (self.items[key][0], time.time())

    def listing(self) -> Iterator[tuple[str, float]]:
        return iter([(k, t) for k, (_, t) in self.items.items()])

    def sweep(self, before: float, dry_run: bool = False) -> int:
        return 0

    def age(self, key: str, days: float) -> None:
        self.items[key] = (self.items[key][0], time.time() - days * 86400)


@pytest.fixture(params=["directory", "memory"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> BlobFiles:
    return LocalDirectory(tmp_path / "blobs") if request.param == "directory" else MemoryFiles()


def test_bytes_put_are_got_streamed_and_sized_as_they_were(files: BlobFiles) -> None:
    data = bytes(range(256)) * 1200  # beyond one stream chunk
    files.put("ab12", data)
    assert files.exists("ab12") and files.get("ab12") == data
    assert b"".join(files.stream("ab12")) == data and files.size("ab12") == len(data)
    assert [k for k, _ in files.listing()] == ["ab12"]


def test_a_second_put_replaces_the_bytes_whole(files: BlobFiles) -> None:
    files.put("ab12", b"first")
    files.put("ab12", b"second, longer")
    assert files.get("ab12") == b"second, longer"


def test_a_missing_key_is_none_or_a_key_error_and_deleting_it_is_harmless(
        files: BlobFiles) -> None:
    assert not files.exists("cd34") and files.get("cd34") is None and files.size("cd34") is None
    with pytest.raises(KeyError):
        files.stream("cd34")
    files.delete("cd34")
    files.put("cd34", b"x")
    files.delete("cd34")
    assert not files.exists("cd34") and list(files.listing()) == []


def test_touch_makes_a_key_young_again(files: BlobFiles) -> None:
    files.put("ab12", b"x")
    before = dict(files.listing())["ab12"]
    time.sleep(0.01)
    files.touch("ab12")
    assert dict(files.listing())["ab12"] > before


def test_the_local_directory_refuses_a_key_that_would_leave_it(tmp_path: Path) -> None:
    local = LocalDirectory(tmp_path / "blobs")
    for key in ("../etc", "ab/../../x", ".hidden", "a", ""):
        with pytest.raises(ValueError, match="not a blob key"):
            local.put(key, b"x")
    assert not (tmp_path / "etc").exists()


def test_the_local_directory_sweeps_only_old_interrupted_writes(tmp_path: Path) -> None:
    local = LocalDirectory(tmp_path / "blobs")
    local.put("ab12", b"kept")
    part = tmp_path / "blobs" / "ab" / ".left-by-a-crash.part"
    part.write_bytes(b"half")
    assert local.sweep(time.time() - 3600) == 0 and part.exists()
    assert local.sweep(time.time() + 1, dry_run=True) == 1 and part.exists()
    assert local.sweep(time.time() + 1) == 1 and not part.exists()
    assert local.get("ab12") == b"kept" and [k for k, _ in local.listing()] == ["ab12"]


# -- the endpoints over a store that is not a directory --------------------------------------

def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@on_both
async def test_attachments_upload_download_thumbnail_and_gc_over_another_blob_store(
        world: World) -> None:
    memory = MemoryFiles()
    world.app.state.blob_files = memory
    data = _png()
    digest = hashlib.sha256(data).hexdigest()
    up = await world.client.put(f"/api/blobs/{digest}", content=data,
                                headers={**world.as_("super"), "Content-Type": "image/png"})
    assert up.status_code == 201, up.text
    assert memory.get(digest) == data
    assert not (world.app.state.settings.blobs_path / digest[:2]).exists()  # nothing on disk

    got = await world.client.get(f"/api/blobs/{digest}", headers=world.as_("super"))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["etag"] == f'"{digest}"' and "immutable" in got.headers["cache-control"]
    thumb = await world.client.get(f"/api/blobs/{digest}/thumb", headers=world.as_("super"))
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8\xff")
    assert memory.exists(blobs.thumb_key(digest))

    memory.age(digest, 30)  # unreferenced and past the grace period
    store = blobs.BlobStore(memory)
    report = await world.db.write(lambda c: blobs.collect(c, store, 14 * 86400))
    assert report.removed == [digest] and memory.items == {}
    gone = await world.client.get(f"/api/blobs/{digest}", headers=world.as_("super"))
    assert gone.status_code == 404
