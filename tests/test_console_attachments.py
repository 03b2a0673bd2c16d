"""Console attachments: a supervisor uploads a photo or plan from the desk (hashed, stored,
attached through the sync engine), sees it on the premises page, opens it, removes it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from test_blobs import huge_png
from world import World, fast_settings

from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, blob_max_bytes=100_000)


@contextlib.asynccontextmanager
async def signed_in(world: World, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                 base_url="http://test") as client:
        page = await client.get("/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = await client.post("/console/signin", data={
            "csrf": csrf.group(1), "username": username, "password": "pw-" + username})
        assert r.status_code == 303
        yield client


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def upload(client: httpx.AsyncClient, data: bytes, kind: str = "photo",
                 name: str = "door.jpg") -> httpx.Response:
    page = await client.get("/console/premises/p1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return await client.post("/console/premises/p1/attachments", data={
        "csrf": csrf.group(1), "kind": kind, "caption": "Side door key box",
        "base_version": "1"}, files={"file": (name, data, "application/octet-stream")})


async def test_a_supervisor_attaches_a_photo_from_the_desk(world: World) -> None:
    async with signed_in(world, "super") as client:
        data = jpeg()
        r = await upload(client, data)
        assert r.status_code == 303 and r.headers["location"].endswith("/console/premises/p1#attachments")
        page = (await client.get("/console/premises/p1")).text
        assert "attached" in page and "Side door key box" in page
        sha = hashlib.sha256(data).hexdigest()
        assert f"/console/blobs/{sha}/thumb" in page and "Uploading" not in page
        thumb = await client.get(f"/console/blobs/{sha}/thumb")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert (await client.get(f"/console/blobs/{sha}")).content == data
    doc = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    [att] = doc["attachments"]
    assert att["sha256"] == sha and att["available"] and att["content_type"] == "image/jpeg"
    assert att["by"] == "Sam Supervisor" and doc["version"] == 2


async def test_a_pending_attachment_shows_uploading(world: World) -> None:
    dev = world.tokens["super"][3:].split("_", 1)[0]
    sha = hashlib.sha256(b"later").hexdigest()
    await world.client.post("/api/sync/push", headers=world.as_("super"), json={"mutations": [{
        "kind": "attach", "device_id": dev, "seq": 1, "premises_id": "p1", "base_version": 1,
        "attachment": {"id": "a1", "sha256": sha, "kind": "floor_plan",
                       "content_type": "application/pdf", "size": 5}}]})
    async with signed_in(world, "super") as client:
        page = (await client.get("/console/premises/p1")).text
        assert "Uploading" in page and f"/console/blobs/{sha}" not in page


async def test_a_file_that_is_not_an_image_or_pdf_is_refused_with_a_page(world: World) -> None:
    async with signed_in(world, "super") as client:
        r = await upload(client, b"GIF89a not allowed", name="x.gif")
        assert r.status_code == 415 and "PDF" in r.text
        r = await upload(client, jpeg()[:300], name="broken.jpg")
        assert r.status_code == 415
    doc = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    assert doc.get("attachments", []) == []


async def test_an_upload_over_the_limit_is_refused(world: World) -> None:
    async with signed_in(world, "super") as client:
        r = await upload(client, b"%PDF-" + b"x" * 600_000, kind="floor_plan", name="big.pdf")
        assert r.status_code == 413


async def test_removing_an_attachment_detaches_it(world: World) -> None:
    async with signed_in(world, "super") as client:
        await upload(client, jpeg())
        page = (await client.get("/console/premises/p1")).text
        action = re.search(r'action="(/console/premises/p1/attachments/[^"]+/remove)"', page)
        assert action
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        r = await client.post(action.group(1), data={"csrf": csrf.group(1),
                                                     "base_version": "2"})
        assert r.status_code == 303
        assert "No floor plans, site plans or photos yet" in (
            await client.get("/console/premises/p1")).text


async def test_blobs_in_the_console_need_a_console_sign_in(world: World) -> None:
    data = jpeg()
    sha = hashlib.sha256(data).hexdigest()
    await world.client.put(f"/api/blobs/{sha}", content=data, headers={
        **world.as_("super"), "Content-Type": "image/jpeg"})
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app),
                                  base_url="http://test")
    async with anonymous:
        assert (await anonymous.get(f"/console/blobs/{sha}")).status_code == 303


async def test_a_huge_image_from_the_desk_is_refused_with_a_page_naming_the_file(
        world: World) -> None:
    async with signed_in(world, "super") as client:
        r = await upload(client, huge_png(), kind="floor_plan", name="plan.png")
        assert r.status_code == 413 and "plan.png" in r.text and "megapixels" in r.text
    doc = (await world.client.get("/api/premises/p1", headers=world.as_("super"))).json()
    assert doc.get("attachments", []) == []
