"""Response compression: large JSON is sent in the best coding the client accepts (zstd, br,
gzip) and decodes to the same bytes; small bodies, clients that accept no coding, images and
streamed responses pass through."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import brotli
import httpx
import msgspec
import pytest
import zstandard
from starlette.applications import Starlette
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from server.web.compression import LEVELS, Compression, coder

BIG = {"rows": [{"name": f"Premises {i}", "notes": "acetylene cylinders in yard"}
                for i in range(500)]}
BIG_BYTES = msgspec.json.encode(BIG)
DECODE = {"gzip": gzip.decompress, "zstd": zstandard.ZstdDecompressor().decompress,
          "br": brotli.decompress}


def app(tmp: Path) -> Compression:
    plan = tmp / "plan.txt"
    plan.write_bytes(b"x" * 4000 + b"y" * 4000)

    async def stream() -> AsyncIterator[bytes]:
        yield b"x" * 4000
        yield b"y" * 4000

    routes = [
        Route("/big", lambda r: Response(BIG_BYTES, media_type="application/json")),
        Route("/json", lambda r: JSONResponse(BIG)),
        Route("/small", lambda r: PlainTextResponse("ok")),
        Route("/photo", lambda r: PlainTextResponse("z" * 5000, media_type="image/jpeg")),
        Route("/stream", lambda r: StreamingResponse(stream(), media_type="text/plain")),
        Route("/attachment", lambda r: FileResponse(  # one body message, yet a file
            plan, media_type="text/plain", headers={"Content-Disposition": "inline"})),
    ]
    return Compression(Starlette(routes=routes), minimum_size=1024)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The raw body is read off the stream below, so httpx's own decoding never hides what
    # was sent.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app(tmp_path)),
                                 base_url="http://t") as c:
        yield c


async def wire(client: httpx.AsyncClient, path: str, accept: str | None) -> tuple[
        httpx.Response, bytes]:
    headers = {} if accept is None else {"accept-encoding": accept}
    request = client.build_request("GET", path, headers=headers)
    if accept is None:
        del request.headers["accept-encoding"]  # httpx adds its own by default
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


async def test_large_json_is_gzipped_and_decodes_to_the_same_body(client: httpx.AsyncClient) -> None:
    r = await client.get("/json", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert int(r.headers["content-length"]) < len(r.content) / 4  # compressed on the wire
    assert r.json()["rows"][499]["name"] == "Premises 499"


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
async def test_each_coding_decodes_with_its_library_to_the_very_same_bytes(
        client: httpx.AsyncClient, coding: str) -> None:
    r, body = await wire(client, "/big", coding)
    assert r.headers["content-encoding"] == coding and "Accept-Encoding" in r.headers["vary"]
    assert int(r.headers["content-length"]) == len(body) < len(BIG_BYTES) / 4
    assert DECODE[coding](body) == BIG_BYTES


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_every_level_of_every_coding_round_trips(coding: str) -> None:
    low, high = LEVELS[coding]
    for level in range(low, high + 1):
        assert DECODE[coding](coder(coding, level)(BIG_BYTES)) == BIG_BYTES, level


@pytest.mark.parametrize(("accept", "sent"), [
    ("gzip, deflate, br, zstd", "zstd"),        # what Chromium sends: the smallest coding
    ("gzip, deflate, br", "br"),                # a browser without zstd
    ("gzip, deflate", "gzip"),                  # an older client
    ("zstd;q=0, br;q=0, gzip", "gzip"),         # q=0 refuses a coding
    ("gzip;q=1, zstd;q=0.5", "gzip"),           # the client's weights come first
    ("br, zstd", "zstd"),                       # equal weights: the server's order
    ("*", "zstd"),
    ("*;q=0.5, zstd;q=0", "br"),                # * covers the codings not named
    ("deflate, compress", "identity"),          # unsupported codings only
    ("identity", "identity"),
    ("", "identity"),                           # an empty header accepts identity only
    ("gzip;q=0, identity;q=0", "identity"),     # nothing acceptable: identity, not an error
    ("identity;q=1, gzip;q=0.5", "identity"),
])
async def test_the_coding_is_chosen_from_accept_encoding(
        client: httpx.AsyncClient, accept: str, sent: str) -> None:
    r, body = await wire(client, "/big", accept)
    assert r.headers.get("content-encoding", "identity") == sent
    assert "Accept-Encoding" in r.headers["vary"]  # a cache must not reuse it for another client
    assert (body if sent == "identity" else DECODE[sent](body)) == BIG_BYTES


async def test_a_request_without_accept_encoding_gets_plain_json(
        client: httpx.AsyncClient) -> None:
    r, body = await wire(client, "/big", None)
    assert "content-encoding" not in r.headers and body == BIG_BYTES


async def test_a_client_that_does_not_accept_gzip_gets_plain_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/big", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in r.headers and r.json()["rows"][0]


async def test_small_images_and_streamed_bodies_pass_through(client: httpx.AsyncClient) -> None:
    for path, length in (("/small", 2), ("/photo", 5000), ("/stream", 8000)):
        r = await client.get(path, headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in r.headers, path
        assert len(r.content) == length, path


@pytest.mark.parametrize("path", ["/small", "/photo", "/stream", "/attachment"])
async def test_small_images_streamed_and_attachment_bodies_are_never_coded(
        client: httpx.AsyncClient, path: str) -> None:
    r, body = await wire(client, path, "gzip, deflate, br, zstd")
    assert "content-encoding" not in r.headers, path
    assert body == {"/small": b"ok", "/photo": b"z" * 5000}.get(path, b"x" * 4000 + b"y" * 4000)


def test_isal_output_is_ordinary_gzip() -> None:
    from isal import igzip
    data = b'{"changes": []}' * 1000
    assert gzip.decompress(igzip.compress(data, compresslevel=1)) == data
