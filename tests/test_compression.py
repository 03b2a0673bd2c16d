"""Response compression: large JSON is gzipped for clients that accept it; small bodies,
clients that do not accept gzip, and streamed responses pass through."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from server.web.compression import Gzip


def app() -> Gzip:
    big = {"rows": [{"name": f"Premises {i}", "notes": "acetylene cylinders in yard"}
                    for i in range(500)]}

    async def stream() -> AsyncIterator[bytes]:
        yield b"x" * 4000
        yield b"y" * 4000

    routes = [
        Route("/big", lambda r: JSONResponse(big)),
        Route("/small", lambda r: PlainTextResponse("ok")),
        Route("/photo", lambda r: PlainTextResponse("z" * 5000, media_type="image/jpeg")),
        Route("/stream", lambda r: StreamingResponse(stream(), media_type="text/plain")),
    ]
    inner = Starlette(routes=routes)
    return Gzip(inner, minimum_size=1024, level=1)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()),
                                 base_url="http://t") as c:
        yield c


async def test_large_json_is_gzipped_and_decodes_to_the_same_body(client: httpx.AsyncClient) -> None:
    r = await client.get("/big", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert int(r.headers["content-length"]) < len(r.content) / 4  # compressed on the wire
    assert r.json()["rows"][499]["name"] == "Premises 499"


async def test_a_client_that_does_not_accept_gzip_gets_plain_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/big", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in r.headers and r.json()["rows"][0]


async def test_small_images_and_streamed_bodies_pass_through(client: httpx.AsyncClient) -> None:
    for path, length in (("/small", 2), ("/photo", 5000), ("/stream", 8000)):
        r = await client.get(path, headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in r.headers, path
        assert len(r.content) == length, path


def test_isal_output_is_ordinary_gzip() -> None:
    from isal import igzip
    data = b'{"changes": []}' * 1000
    assert gzip.decompress(igzip.compress(data, compresslevel=1)) == data
