"""HTTP clients that read a whole dataset page by page, one per system: Watchbook's sync pull,
Datasette's table JSON with `_next`, and CouchDB `_changes` on pouchdb-server.

Each decodes every page (rows kept as raw JSON) and counts rows and bytes on the wire.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import aiohttp
import brotli
import msgspec
import zstandard

ADMIN = ("admin", "admin")  # every station in scope: the whole dataset


# Pages are decoded with every row left as raw JSON (msgspec.Raw: validated, not built into
# Python objects), the same for every system: the client measures the servers, and building
# 20,000 dicts would add the same client time to each and hide their differences.
class WatchbookPage(msgspec.Struct):
    changes: list[msgspec.Raw]
    cursor: str
    more: bool


class DatasettePage(msgspec.Struct):
    rows: list[msgspec.Raw]
    next_url: str | None = None


class ChangesPage(msgspec.Struct):
    results: list[msgspec.Raw]
    last_seq: msgspec.Raw


_watchbook = msgspec.json.Decoder(WatchbookPage)
_datasette = msgspec.json.Decoder(DatasettePage)
_changes = msgspec.json.Decoder(ChangesPage)


@dataclass
class Read:
    rows: int = 0
    pages: int = 0
    wire: int = 0   # body bytes as sent (compressed if the server compressed)
    raw: int = 0    # body bytes after decompression
    cursor: str = ""  # Watchbook: the cursor after the last page


def session(connections: int = 100) -> aiohttp.ClientSession:
    """A keep-alive session that leaves bodies compressed, so wire bytes can be counted."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
        auto_decompress=False, timeout=aiohttp.ClientTimeout(total=600))


async def _body(resp: aiohttp.ClientResponse, read: Read) -> bytes:
    if resp.status != 200:
        raise RuntimeError(f"{resp.method} {resp.url} -> {resp.status}: "
                           f"{(await resp.read())[:300]!r}")
    body = await resp.read()
    read.wire += len(body)
    coding = resp.headers.get("Content-Encoding")
    if coding == "gzip":
        body = zlib.decompress(body, wbits=31)
    elif coding == "zstd":
        body = zstandard.ZstdDecompressor().decompress(body)
    elif coding == "br":
        body = brotli.decompress(body)
    read.raw += len(body)
    read.pages += 1
    return body


async def enrol(http: aiohttp.ClientSession, base: str, name: str,
                user: tuple[str, str] = ADMIN) -> str:
    async with http.post(f"{base}/api/devices/enrol",
                         json={"username": user[0], "password": user[1],
                               "device_name": name}) as resp:
        if resp.status not in (200, 201):
            raise RuntimeError(f"enrol -> {resp.status}: {(await resp.read())[:300]!r}")
        return str(msgspec.json.decode(await resp.read())["token"])


async def watchbook_pull(http: aiohttp.ClientSession, base: str, token: str,
                         gzip: bool = True, cursor: str = "", accept: str | None = None,
                         keep: list[bytes] | None = None) -> Read:
    """The whole pull; `accept` overrides the Accept-Encoding that `gzip` picks, and `keep`
    collects every page's decoded body."""
    read = Read()
    headers = {"Authorization": f"Bearer {token}",
               "Accept-Encoding": accept or ("gzip" if gzip else "identity")}
    while True:
        async with http.get(f"{base}/api/sync/pull", params={"cursor": cursor},
                            headers=headers) as resp:
            body = await _body(resp, read)
            page = _watchbook.decode(body)
        if keep is not None:
            keep.append(body)
        read.rows += len(page.changes)
        cursor = read.cursor = page.cursor
        if not page.more:
            return read


async def datasette_pull(http: aiohttp.ClientSession, base: str, database: str) -> Read:
    """The premises table's stored JSON as a string, 1,000 rows a page, following `next_url`."""
    read = Read()
    url: str | None = (f"{base}/{database}/premises.json?_col=doc&_sort=change_seq"
                       f"&_size=1000&_nocount=1&_nofacet=1&_shape=objects")
    while url:
        async with http.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
            dpage = _datasette.decode(await _body(resp, read))
        read.rows += len(dpage.rows)
        url = dpage.next_url
    return read


async def pouchdb_pull(http: aiohttp.ClientSession, base: str) -> Read:
    """`_changes?include_docs=true` in pages of 1,000, `since` the last page's `last_seq`."""
    read, since = Read(), "0"
    while True:
        async with http.get(f"{base}/premises/_changes",
                            params={"include_docs": "true", "limit": "1000", "since": since},
                            headers={"Accept-Encoding": "gzip"}) as resp:
            cpage = _changes.decode(await _body(resp, read))
        read.rows += len(cpage.results)
        since = bytes(cpage.last_seq).decode().strip('"')
        if len(cpage.results) < 1000:
            return read
