"""The PWA shell: `/` (the page), `/manifest.webmanifest`, `/sw.js` and the static `/pwa/...` files.

Hashes every file under pwa/ (and the page template) once, at the first request: the precache
list carries each file's hash and the shell version is a hash of them all. The service worker is
the static pwa/sw.js, served at /sw.js; what it needs from here (version, precache list, and the
page modules it shares) is the generated module /pwa/release.js, whose bytes change with any
shell file, so the browser's byte check of the worker's imports finds every release. Serves no data: /api/ is server.api's.
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

from server import preload
from sync import problems, record

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
ENTRY = "/pwa/app.js"      # the page's one module script (templates/shell.html)
WORKER = "sw.js"            # pwa/sw.js, served at /sw.js so that its scope is the whole site
RELEASE = "/pwa/release.js"  # the generated module the worker imports
# Modules the worker runs too (transport, outbox, push), served inside the release module so
# the worker imports two modules, db.js and the release: Chromium fails to start an updated
# module worker with more imports often ("ServiceWorker cannot be started"). Each imports
# nothing and their top-level names are distinct, so joined they are one valid module.
WORKER_LIBS = ("page/api.js", "page/outbox.js", "page/push.js")
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
        "sensitive": sorted(record.SENSITIVE_FIELDS)})


@dataclass(frozen=True)
class Shell:
    version: str
    assets: dict[str, Asset]      # URL path ("/pwa/app.js") -> file, /pwa/release.js among them
    page: bytes                   # the rendered shell page
    worker: bytes                 # pwa/sw.js as it is

    @classmethod
    def load(cls, pwa_dir: Path) -> Shell:
        assets: dict[str, Asset] = {}
        for path in sorted(p for p in pwa_dir.rglob("*") if p.is_file()):
            if path.suffix in SKIP_SUFFIXES or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(pwa_dir).as_posix()
            if rel == WORKER:
                continue
            media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or \
                "application/octet-stream"
            body = path.read_bytes()
            assets["/pwa/" + rel] = Asset(body, _digest(body), media)
        vocab = vocabulary()
        assets["/pwa/vocab.json"] = Asset(vocab, _digest(vocab), "application/json")
        checks = msgspec.json.encode(problems.for_app())  # the server's limits, for pre-save checks
        assets["/pwa/checks.json"] = Asset(checks, _digest(checks), "application/json")
        manifest = assets.get("/pwa/manifest.webmanifest")
        if manifest:
            assets["/manifest.webmanifest"] = manifest
        worker = (pwa_dir / WORKER).read_bytes()
        version = _digest((TEMPLATES / "shell.html").read_bytes() + worker + "".join(
            f"{url} {a.digest}\n" for url, a in sorted(assets.items())).encode())
        # Every module app.js imports, directly or not: fetched at once, not level by level.
        preloads = preload.graph(ENTRY, lambda url: assets[url].body.decode()
                                 if url in assets else None)
        page = _env.get_template("shell.html").render(version=version,
                                                      preloads=preloads).encode()
        precache = [{"url": "/", "rev": _digest(page)}] + [
            {"url": url, "rev": a.digest} for url, a in sorted(assets.items())]
        libs = b"\n".join((pwa_dir / lib).read_bytes() for lib in WORKER_LIBS)
        release = release_module(version, precache, libs)
        assets[RELEASE] = Asset(release, _digest(release), "text/javascript")
        return cls(version, assets, page, worker)


def release_module(version: str, precache: list[dict[str, str]], libs: bytes = b"") -> bytes:
    """The ES module pwa/sw.js imports: this release's version and precache list, then the
    worker's share of the page's modules (WORKER_LIBS), as they are."""
    return b"".join((
        b"// Generated by server/shell.py for one release of the shell; pwa/sw.js imports it.\n",
        b"export const VERSION = ", msgspec.json.encode(version), b";\n",
        b"export const PRECACHE = ", msgspec.json.encode(precache), b";\n", libs))


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
    return _send(request, shell.worker, "text/javascript; charset=utf-8", _digest(shell.worker),
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
