"""The PWA shell: `/` (the page), `/manifest.webmanifest`, `/sw.js` and the static `/pwa/...` files.

Hashes every file under pwa/ (and the shell templates) once, at the first request: the precache
list carries each file's hash and the shell version is a hash of them all, so any changed file
means a new service worker and a new cache name. Serves no data: /api/ is server.api's.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

import jinja2
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync import record

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
OUTBOX_SCHEMAS = (1,)  # outbox entry schemas this shell's code can read and send
SKIP_SUFFIXES = (".py", ".pyc", ".md")
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
         ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json",
         ".webmanifest": "application/manifest+json"}

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                          autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True)


@dataclass(frozen=True)
class Asset:
    body: bytes
    digest: str
    media_type: str


def vocabulary() -> bytes:
    """The record vocabulary the page needs (labels, field kinds), from sync.record."""
    return msgspec.json.encode({
        "hazard_types": record.HAZARD_TYPES, "evacuation": record.EVACUATION_STRATEGIES,
        "categories": record.OBSERVATION_CATEGORIES, "harms": record.HARMS,
        "editable": sorted(record.EDITABLE_FIELDS), "free_text": sorted(record.FREE_TEXT_FIELDS),
        "sensitive": sorted(record.SENSITIVE_FIELDS), "outbox_schemas": OUTBOX_SCHEMAS})


@dataclass(frozen=True)
class Shell:
    version: str
    assets: dict[str, Asset]      # URL path ("/pwa/app.js") -> file
    page: bytes                   # the rendered shell page
    worker: bytes                 # the rendered service worker

    @classmethod
    def load(cls, pwa_dir: Path) -> Shell:
        assets: dict[str, Asset] = {}
        for path in sorted(p for p in pwa_dir.rglob("*") if p.is_file()):
            if path.suffix in SKIP_SUFFIXES or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(pwa_dir).as_posix()
            media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or \
                "application/octet-stream"
            body = path.read_bytes()
            assets["/pwa/" + rel] = Asset(body, _digest(body), media)
        vocab = vocabulary()
        assets["/pwa/vocab.json"] = Asset(vocab, _digest(vocab), "application/json")
        manifest = assets.get("/pwa/manifest.webmanifest")
        if manifest:
            assets["/manifest.webmanifest"] = manifest
        templates = b"".join((TEMPLATES / n).read_bytes() for n in ("shell.html", "sw.js"))
        version = _digest(templates + "".join(
            f"{url} {a.digest}\n" for url, a in sorted(assets.items())).encode())
        page = _env.get_template("shell.html").render(version=version).encode()
        precache = [{"url": "/", "rev": _digest(page)}] + [
            {"url": url, "rev": a.digest} for url, a in sorted(assets.items())]
        worker = _env.get_template("sw.js").render(
            version=version, precache=precache, outbox_schemas=list(OUTBOX_SCHEMAS)).encode()
        return cls(version, assets, page, worker)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def shell_of(request: Request) -> Shell:
    """The app's shell, hashed once (WATCHBOOK_PWA_DIR points at another pwa/ copy)."""
    state = request.app.state
    shell: Shell | None = getattr(state, "shell", None)
    if shell is None:
        shell = Shell.load(Path(os.environ.get("WATCHBOOK_PWA_DIR") or DEFAULT_PWA_DIR))
        state.shell = shell
    return shell


def _headers(etag: str, **extra: str) -> dict[str, str]:
    # Security headers (the strict CSP) come from server.middleware for every response.
    return {"Cache-Control": "no-cache", "ETag": f'"{etag}"', **extra}


def _send(request: Request, body: bytes, media: str, etag: str, **extra: str) -> Response:
    headers = _headers(etag, **extra)
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)


async def page(request: Request) -> Response:
    shell = shell_of(request)
    return _send(request, shell.page, "text/html; charset=utf-8", _digest(shell.page))


async def worker(request: Request) -> Response:
    shell = shell_of(request)
    return _send(request, shell.worker, "text/javascript; charset=utf-8", shell.version,
                 **{"Service-Worker-Allowed": "/"})


async def asset(request: Request) -> Response:
    asset = shell_of(request).assets.get(request.url.path)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return _send(request, asset.body, asset.media_type, asset.digest)


routes = [
    Route("/", page),
    Route("/sw.js", worker),
    Route("/manifest.webmanifest", asset),
    Route("/pwa/{path:path}", asset),
]
