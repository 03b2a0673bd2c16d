"""Attachment blobs over the real app: upload checks, idempotence, concurrency, immutable
downloads, EXIF-upright thumbnails without GPS, attach before upload, roles and gc."""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import io
import os
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageFile
from world import World, fast_settings

from server import blobs
from server.blobfiles import LocalDirectory
from server.settings import Settings
from server.store.sync import history
from sync import writer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, blob_max_bytes=200_000, max_body_bytes=8192)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png(colour: tuple[int, int, int] = (10, 200, 30), size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def sideways_jpeg_with_gps() -> bytes:
    """40×20 pixels stored, left half red and right half blue, EXIF orientation 6 (shown
    rotated 90° clockwise: 20 wide, 40 tall, red on top) and a GPS position."""
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 12.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 12.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def put(w: World, data: bytes, ctype: str, user: str = "super", name: str | None = None,
              ) -> Any:
    return await w.client.put(f"/api/blobs/{name or sha(data)}", content=data,
                              headers={**w.as_(user), "Content-Type": ctype})


def device_of(w: World, user: str) -> str:
    return w.tokens[user][3:].split("_", 1)[0]


def attachment(data: bytes, aid: str = "a1", kind: str = "photo", ctype: str = "image/png",
               **extra: Any) -> dict[str, Any]:
    return {"id": aid, "sha256": sha(data), "kind": kind, "content_type": ctype,
            "size": len(data), "caption": "Key box by the side door", **extra}


async def push(w: World, user: str, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
    dev = device_of(w, user)
    body = [{"device_id": dev, "seq": i + 1, "premises_id": "p1", "base_version": 1,
             **m} for i, m in enumerate(mutations)]
    r = await w.client.post("/api/sync/push", json={"mutations": body}, headers=w.as_(user))
    assert r.status_code == 200, r.text
    return r.json()["receipts"]  # type: ignore[no-any-return]


async def record(w: World, user: str = "super") -> dict[str, Any]:
    r = await w.client.get("/api/premises/p1", headers=w.as_(user))
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


# -- upload checks ----------------------------------------------------------------------------

async def test_a_second_upload_of_the_same_bytes_changes_nothing(world: World) -> None:
    data = png()
    first = await put(world, data, "image/png")
    assert first.status_code == 201 and first.json()["created"] is True
    stored = (world.app.state.settings.blobs_path / sha(data)[:2] / sha(data)).read_bytes()
    again = await put(world, data, "image/png")
    assert again.status_code == 200 and again.json()["created"] is False
    rows = await world.db.execute("SELECT sha256, size FROM blobs")
    assert [tuple(r) for r in rows] == [(sha(data), len(data))]
    assert (world.app.state.settings.blobs_path / sha(data)[:2] / sha(data)).read_bytes() == stored


async def test_bytes_that_do_not_hash_to_the_name_are_a_400(world: World) -> None:
    r = await put(world, png(), "image/png", name=sha(b"something else"))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "hash_mismatch"
    assert r.json()["error"]["field"] == "sha256"
    assert (await put(world, png(), "image/png", name="not-a-hash")).status_code == 400


async def test_a_declared_type_the_bytes_do_not_match_is_a_415(world: World) -> None:
    mislabelled = await put(world, png(), "image/jpeg")
    assert mislabelled.status_code == 415 and "image/png" in mislabelled.json()["error"]["message"]
    other = await put(world, b"GIF89a......", "image/gif")
    assert other.status_code == 415 and other.json()["error"]["code"] == "unsupported_type"
    text = await put(world, b"hello", "image/png")
    assert text.status_code == 415
    assert (await world.db.execute("SELECT count(*) FROM blobs")).single_value() == 0


async def test_a_file_over_the_limit_is_a_413_saying_the_limit(world: World) -> None:
    big = b"%PDF-" + b"x" * 250_000
    r = await put(world, big, "application/pdf")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"
    assert "at most 0.2 MB" in r.json()["error"]["message"]
    assert r.json()["error"]["limit"] == 200_000

    async def chunks() -> Any:  # no Content-Length: counted as it streams
        for _ in range(30):
            yield b"x" * 10_000
    streamed = await world.client.put(f"/api/blobs/{sha(big)}", content=chunks(), headers={
        **world.as_("super"), "Content-Type": "application/pdf"})
    assert streamed.status_code == 413


async def test_an_upload_above_the_general_body_limit_but_within_the_blob_limit_is_taken(
        world: World) -> None:
    data = pdf() + b"%" * 20_000  # the module's general body limit is 8 KiB
    assert (await put(world, data, "application/pdf")).status_code == 201


async def test_concurrent_uploads_of_the_same_blob_store_it_once_whole(world: World) -> None:
    data = png(size=(300, 200))
    results = await asyncio.gather(*[put(world, data, "image/png") for _ in range(8)])
    assert all(r.status_code in (200, 201) for r in results)
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    shard = world.app.state.settings.blobs_path / sha(data)[:2]
    assert (shard / sha(data)).read_bytes() == data
    assert not list(shard.glob(".*.part"))


# -- downloads --------------------------------------------------------------------------------

async def test_a_blob_is_served_immutable_with_a_strong_etag(world: World) -> None:
    data = pdf()
    await put(world, data, "application/pdf")
    r = await world.client.get(f"/api/blobs/{sha(data)}", headers=world.as_("super"))
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["etag"] == f'"{sha(data)}"'
    assert "immutable" in r.headers["cache-control"]
    again = await world.client.get(f"/api/blobs/{sha(data)}", headers={
        **world.as_("super"), "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = await world.client.head(f"/api/blobs/{sha(data)}", headers=world.as_("super"))
    assert head.status_code == 200
    missing = await world.client.head(f"/api/blobs/{sha(b'nope')}", headers=world.as_("super"))
    assert missing.status_code == 404


async def test_a_pdf_has_no_thumbnail(world: World) -> None:
    await put(world, pdf(), "application/pdf")
    r = await world.client.get(f"/api/blobs/{sha(pdf())}/thumb", headers=world.as_("super"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_thumbnail"


async def test_thumbnails_are_upright_per_exif_and_carry_no_gps(world: World) -> None:
    data = sideways_jpeg_with_gps()
    assert (await put(world, data, "image/jpeg")).status_code == 201
    r = await world.client.get(f"/api/blobs/{sha(data)}/thumb", headers=world.as_("super"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["etag"] == f'"{sha(data)}-thumb"'
    thumb = Image.open(io.BytesIO(r.content))
    assert thumb.width < thumb.height                       # turned upright
    top, bottom = thumb.getpixel((thumb.width // 2, 2)), thumb.getpixel(
        (thumb.width // 2, thumb.height - 3))
    assert top[0] > 200 and top[2] < 60                     # red on top
    assert bottom[2] > 200 and bottom[0] < 60               # blue below
    assert not thumb.getexif() and "exif" not in thumb.info
    assert b"PhoneCo" not in r.content


async def test_the_original_photo_is_served_upright_without_exif(world: World) -> None:
    data = sideways_jpeg_with_gps()
    await put(world, data, "image/jpeg")
    r = await world.client.get(f"/api/blobs/{sha(data)}", headers=world.as_("super"))
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (20, 40)
    assert not img.getexif() and b"PhoneCo" not in r.content
    assert not img.getexif().get_ifd(ExifTags.IFD.GPSInfo)


async def test_an_image_without_metadata_is_kept_byte_for_byte(world: World) -> None:
    data = png()
    await put(world, data, "image/png")
    r = await world.client.get(f"/api/blobs/{sha(data)}", headers=world.as_("super"))
    assert r.content == data


async def test_a_truncated_image_is_refused(world: World) -> None:
    data = sideways_jpeg_with_gps()[:200]
    r = await put(world, data, "image/jpeg")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unreadable"


async def test_without_a_device_token_blobs_are_401(world: World) -> None:
    data = png()
    assert (await world.client.put(f"/api/blobs/{sha(data)}", content=data, headers={
        "Content-Type": "image/png"})).status_code == 401
    await put(world, data, "image/png")
    assert (await world.client.get(f"/api/blobs/{sha(data)}")).status_code == 401
    assert (await world.client.get(f"/api/blobs/{sha(data)}/thumb")).status_code == 401


# -- references through sync -------------------------------------------------------------------

async def test_an_attachment_pushed_before_its_blob_shows_uploading_until_it_arrives(
        world: World) -> None:
    data = png()
    [receipt] = await push(world, "super", {"kind": "attach", "attachment": attachment(data)})
    assert receipt["status"] == "applied", receipt
    before = await record(world)
    [att] = before["attachments"]
    assert att["available"] is False and att["by"] == "Sam Supervisor"
    r = await world.client.get("/api/sync/pull", headers=world.as_("crew"))
    cursor = r.json()["cursor"]

    uploaded = await put(world, data, "image/png", user="crew")
    assert uploaded.json()["marked_available"] == ["p1"]
    after = await record(world)
    assert after["attachments"][0]["available"] is True
    assert after["version"] == before["version"] + 1
    page = (await world.client.get("/api/sync/pull", params={"cursor": cursor},
                                   headers=world.as_("crew"))).json()
    [change] = page["changes"]
    assert change["record"]["attachments"][0]["available"] is True


async def test_an_attachment_pushed_after_its_blob_is_available_at_once(world: World) -> None:
    data = pdf()
    await put(world, data, "application/pdf")
    await push(world, "super", {"kind": "attach", "attachment": attachment(
        data, kind="floor_plan", ctype="application/pdf")})
    assert (await record(world))["attachments"][0]["available"] is True


async def test_detach_removes_the_reference(world: World) -> None:
    data = png()
    receipts = await push(world, "super",
                          {"kind": "attach", "attachment": attachment(data)},
                          {"kind": "detach", "attachment_id": "a1", "base_version": 2})
    assert [r["status"] for r in receipts] == ["applied", "applied"]
    assert (await record(world))["attachments"] == []


async def _refs(w: World) -> list[tuple[str, str]]:
    rows = await w.db.execute("SELECT premises_id, sha256 FROM attachment_refs ORDER BY 1, 2")
    return [(r[0], r[1]) for r in rows]


async def test_attach_and_detach_keep_the_attachment_reference_index(world: World) -> None:
    one, two = png(), pdf()
    await push(world, "super", {"kind": "attach", "attachment": attachment(one)},
               {"kind": "attach", "attachment": attachment(two, "a2", kind="floor_plan",
                                                           ctype="application/pdf")})
    assert await _refs(world) == sorted([("p1", sha(one)), ("p1", sha(two))])
    dev = device_of(world, "super")
    r = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [{"device_id": dev, "seq": 3, "premises_id": "p1", "base_version": 3,
                       "kind": "detach", "attachment_id": "a1"}]})
    assert r.json()["receipts"][0]["status"] == "applied"
    assert await _refs(world) == [("p1", sha(two))]


async def test_a_blob_arriving_stamps_and_audits_the_record_as_an_engine_edit_does(
        world: World) -> None:
    data = png()
    await push(world, "super", {"kind": "attach", "attachment": attachment(data)})
    attached = await record(world)
    await put(world, data, "image/png", user="crew")
    after = await record(world)
    *_, by_engine, by_blob = await history(world.db, "p1")
    assert set(by_blob) == set(by_engine)
    assert (by_engine["kind"], by_engine["user"]) == ("attach", "super")
    assert (by_blob["kind"], by_blob["user"], by_blob["device_id"]) == (
        "attachment_available", "crew", device_of(world, "crew"))
    [item] = by_blob["items"]
    assert (by_blob["version"], item["field"], item["before"]["available"],
            item["after"]["available"]) == (after["version"], "attachments", False, True)
    assert after["version"] == attached["version"] + 1
    assert (after["updated_at"], after["updated_by"]) == (by_blob["server_time"], "crew")
    assert after["updated_at"] >= attached["updated_at"]


async def test_a_blob_arriving_finds_its_records_through_the_reference_index(
        world: World) -> None:
    data = png()
    dev = device_of(world, "super")
    r = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [
            {"device_id": dev, "seq": 1, "premises_id": "p2", "base_version": 1,
             "kind": "update", "changes": [{"field": "risk_notes", "old": "",
                                            "new": f"photo {sha(data)} is on its way"}]},
            {"device_id": dev, "seq": 2, "premises_id": "p1", "base_version": 1,
             "kind": "attach", "attachment": attachment(data)}]})
    assert [x["status"] for x in r.json()["receipts"]] == ["applied", "applied"]
    mentions = (await world.client.get("/api/premises/p2", headers=world.as_("super"))).json()
    statements: list[str] = []

    def traced(conn: Any) -> list[str]:
        conn.set_trace_callback(statements.append)
        try:
            stamp = writer.Stamp(kind="attachment_available", user="crew", now="2030-01-01")
            return blobs.mark_available(conn, sha(data), stamp)
        finally:
            conn.set_trace_callback(None)
    assert await world.db.write(traced) == ["p1"]
    assert not [q for q in statements if "LIKE" in q.upper()]
    assert any("attachment_refs" in q for q in statements)
    untouched = (await world.client.get("/api/premises/p2", headers=world.as_("super"))).json()
    assert untouched == mentions
    assert (await record(world))["attachments"][0]["available"] is True


async def test_a_crew_cannot_attach_to_the_record_or_detach(world: World) -> None:
    receipts = await push(world, "crew",
                          {"kind": "attach", "attachment": attachment(png())},
                          {"kind": "attach", "attachment": attachment(
                              pdf(), "a2", kind="floor_plan", ctype="application/pdf")},
                          {"kind": "detach", "attachment_id": "a1"})
    assert [(r["status"], r["reason"]) for r in receipts] == [("rejected", "forbidden")] * 3
    assert (await record(world)).get("attachments", []) == []


async def test_a_crew_may_attach_a_photo_to_their_observation(world: World) -> None:
    obs = {"id": "o1", "category": "access", "note": "Key box moved to the rear gate"}
    receipts = await push(world, "crew",
                          {"kind": "add_observation", "observation": obs},
                          {"kind": "attach", "attachment": attachment(
                              png(), observation_id="o1")},
                          {"kind": "attach", "attachment": attachment(
                              png((1, 2, 3)), "a2", observation_id="nope")})
    assert [r["status"] for r in receipts] == ["applied", "merged", "rejected"]
    [att] = (await record(world))["attachments"]
    assert att["observation_id"] == "o1" and att["by"] == "Casey Crew"


# -- garbage collection -----------------------------------------------------------------------

def _age(store: blobs.BlobStore, digest: str, days: float) -> None:
    then = time.time() - days * 86400
    assert isinstance(store.files, LocalDirectory)
    os.utime(store.files.path(digest), (then, then))


async def test_gc_keeps_referenced_and_recent_blobs_and_removes_old_unreferenced_ones(
        world: World) -> None:
    live, tomb, recent, orphan = png((1, 1, 1)), png((2, 2, 2)), png((3, 3, 3)), png((4, 4, 4))
    for data in (live, tomb, recent, orphan):
        await put(world, data, "image/png")
    await push(world, "super", {"kind": "attach", "attachment": attachment(live)})
    store = blobs.BlobStore.local(world.app.state.settings.blobs_path)
    for data in (live, tomb, orphan):
        _age(store, sha(data), 30)
    _age(store, sha(recent), 1)
    # a deleted record that still names `tomb`, deleted just now (within the grace period)
    await world.db.write(lambda c: c.execute(
        "UPDATE premises SET deleted = 1, doc = json_set(doc, '$.deleted', json('true'), "
        "'$.updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), '$.attachments', "
        "json_array(json_object('id', 'a9', 'sha256', ?))) WHERE id = 'p3'", (sha(tomb),)))

    report = await world.db.write(lambda c: blobs.collect(c, store, 14 * 86400))
    assert report.removed == [sha(orphan)]
    assert (report.kept_referenced, report.kept_recent) == (2, 1)
    assert not store.exists(sha(orphan)) and not store.files.exists(blobs.thumb_key(sha(orphan)))
    assert all(store.exists(sha(d)) for d in (live, tomb, recent))
    assert (await world.db.execute("SELECT count(*) FROM blobs")).single_value() == 3

    later = time.time() + 30 * 86400   # the tombstone is now older than the grace period
    for data in (live, tomb, recent):
        _age(store, sha(data), 30)
    report = await world.db.write(lambda c: blobs.collect(c, store, 14 * 86400, now=later))
    assert report.removed == [sha(tomb), sha(recent)] or set(report.removed) == {
        sha(tomb), sha(recent)}
    assert store.exists(sha(live))


async def test_a_re_upload_makes_an_unreferenced_blob_young_again(world: World) -> None:
    data = png()
    await put(world, data, "image/png")
    store = blobs.BlobStore.local(world.app.state.settings.blobs_path)
    _age(store, sha(data), 30)
    await put(world, data, "image/png")
    report = await world.db.write(lambda c: blobs.collect(c, store, 14 * 86400))
    assert report.removed == [] and store.exists(sha(data))


async def test_an_upload_after_gc_removed_the_file_stores_it_again(world: World) -> None:
    data = png()
    await put(world, data, "image/png")
    store = blobs.BlobStore.local(world.app.state.settings.blobs_path)
    _age(store, sha(data), 30)
    await world.db.write(lambda c: blobs.collect(c, store, 14 * 86400))
    assert not store.exists(sha(data))
    r = await put(world, data, "image/png")
    assert r.status_code == 201 and store.exists(sha(data))


def test_watchbook_gc_removes_old_unreferenced_blobs(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from server import cli
    db = str(tmp_path / "w.db")
    assert cli.main(["migrate", "--db", db]) == 0
    store = blobs.BlobStore.local(tmp_path / "blobs")
    old, young = png((5, 5, 5)), png((6, 6, 6))
    for data in (old, young):
        store.save(sha(data), data, "image/png")
    _age(store, sha(old), 20)
    assert cli.main(["gc", "--db", db, "--dry-run"]) == 0
    assert "Would remove 1" in capsys.readouterr().out and store.exists(sha(old))
    assert cli.main(["gc", "--db", db]) == 0
    assert "Removed 1 unreferenced attachment(s); kept 0 referenced and 1 younger than 14 days" \
        in capsys.readouterr().out
    assert not store.exists(sha(old)) and store.exists(sha(young))


# -- pixel bound, decode pool, memory, quota -------------------------------------------------

def huge_png(width: int = 7700, height: int = 7700) -> bytes:
    """A valid 1-bit PNG of `width`×`height` pixels, all black: a few KB on the wire, tens
    of MB once decoded (a decompression bomb in miniature)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    row = b"\x00" + bytes((width + 7) // 8)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height, 9)) + chunk(b"IEND", b""))


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def test_a_small_file_declaring_a_huge_image_is_refused_before_any_pixel_is_decoded(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    data = huge_png()
    assert len(data) < 20_000
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: decoded.append(self) or real_load(self))
    r = await put(world, data, "image/png")
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert error["code"] == "too_many_pixels" and error["field"] == "file"
    assert sha(data) in error["message"] and "7700×7700" in error["message"]
    assert "40 megapixels" in error["message"]
    assert decoded == [] and not blobs.BlobStore.local(world.app.state.settings.blobs_path).exists(
        sha(data))
    fits = huge_png(6000, 6000)                 # 36 megapixels: a big floor plan is taken
    assert (await put(world, fits, "image/png")).status_code == 201


async def test_images_are_decoded_one_at_a_time_under_the_bounded_pool(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.app.state.settings = world.app.state.settings.with_(image_decoders=1)
    running, most = 0, 0
    lock = threading.Lock()
    real = blobs.stored_bytes

    def slow_decode(*args: Any, **kwargs: Any) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return real(*args, **kwargs)
        finally:
            with lock:
                running -= 1
    monkeypatch.setattr(blobs, "stored_bytes", slow_decode)
    results = await asyncio.gather(*[put(world, png((i, 0, 0)), "image/png")
                                     for i in range(6)])
    assert [r.status_code for r in results] == [201] * 6
    assert most == 1


async def test_decoding_a_large_image_gives_its_memory_back(world: World) -> None:
    world.app.state.settings = world.app.state.settings.with_(blob_max_bytes=20_000_000)
    out = io.BytesIO()
    Image.new("RGB", (5000, 5000), (90, 40, 200)).save(out, "PNG")
    data = out.getvalue()
    del out
    ctypes.CDLL(None).malloc_trim(0)
    before = rss_mib()
    r = await put(world, data, "image/png")  # decoded (25 megapixels, ~100 MB) and thumbnailed
    assert r.status_code == 201, r.text
    assert rss_mib() - before < 40, "the decode's memory stayed resident"


async def test_uploads_beyond_a_users_daily_quota_are_refused_until_midnight(
        world: World) -> None:
    world.app.state.settings = world.app.state.settings.with_(upload_quota_bytes_per_day=1000)
    files = [b"%PDF-1.4\n" + bytes([i]) * 391 for i in range(3)]   # 400 bytes each
    assert [(await put(world, f, "application/pdf")).status_code for f in files[:2]] == [201] * 2
    r = await put(world, files[2], "application/pdf")
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "quota_exceeded" and error["field"] == "file"
    assert sha(files[2]) in error["message"] and "midnight UTC" in error["message"]
    assert 0 < int(r.headers["Retry-After"]) <= 86400
    assert (await put(world, files[0], "application/pdf")).status_code == 200  # had it: free
    assert (await put(world, files[2], "application/pdf", user="admin")).status_code == 201


# -- who may fetch a blob ---------------------------------------------------------------------

async def _console(w: World, username: str) -> Any:
    import re

    import httpx
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=w.app), base_url="http://test")
    page = await client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = await client.post("/console/signin", data={
        "csrf": csrf.group(1), "username": username, "password": "pw-" + username})
    assert r.status_code == 303
    return client


async def test_a_blob_is_served_only_within_the_grounds_of_a_record_referencing_it(
        world: World) -> None:
    data = png((1, 2, 3))
    assert (await put(world, data, "image/png")).status_code == 201
    assert (await push(world, "super", {"kind": "attach",
                                        "attachment": attachment(data)}))[0]["status"] == "applied"
    for user in ("crew", "super", "admin"):  # p1 is in A01's grounds (and every admin's)
        for tail in ("", "/thumb"):
            r = await world.client.get(f"/api/blobs/{sha(data)}{tail}", headers=world.as_(user))
            assert r.status_code == 200, (user, tail)
    for tail in ("", "/thumb"):  # Carrow's supervisor: as if the blob did not exist
        r = await world.client.get(f"/api/blobs/{sha(data)}{tail}", headers=world.as_("csuper"))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    outsider = await _console(world, "csuper")
    try:
        for tail in ("", "/thumb"):
            assert (await outsider.get(f"/console/blobs/{sha(data)}{tail}")).status_code == 404
    finally:
        await outsider.aclose()
    insider = await _console(world, "super")
    try:
        assert (await insider.get(f"/console/blobs/{sha(data)}")).content == data
    finally:
        await insider.aclose()


async def test_a_blob_no_record_references_yet_is_served_to_its_uploader_only(
        world: World) -> None:
    data = png((4, 5, 6))
    assert (await put(world, data, "image/png", user="crew")).status_code == 201
    mine = await world.client.get(f"/api/blobs/{sha(data)}", headers=world.as_("crew"))
    assert mine.status_code == 200
    for user in ("super", "admin", "csuper"):
        r = await world.client.get(f"/api/blobs/{sha(data)}", headers=world.as_(user))
        assert r.status_code == 404, user
    # the same bytes uploaded again by someone else: now theirs too
    assert (await put(world, data, "image/png", user="csuper")).status_code == 200
    r = await world.client.get(f"/api/blobs/{sha(data)}", headers=world.as_("csuper"))
    assert r.status_code == 200
