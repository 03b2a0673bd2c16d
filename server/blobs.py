"""Attachment blobs: content-addressed files named by the SHA-256 of the uploaded bytes, their
checks (hash, type by magic bytes, size), metadata stripping, thumbnails and garbage collection.

The bytes are kept through server/blobfiles.py (a local directory by default), whose writes
are atomic, so nobody sees half a blob; the `blobs` row is written only once they are durable. Records change only through
sync/writer.py (`mark_available`). Must not know HTTP.
Images that carry metadata (EXIF, GPS, XMP, comments) are stored as an upright re-encode
without it: what the server keeps and serves never holds where or with what a photo was taken.
An image's size is read from its header (`measure`) and refused over `max_pixels` before any
pixel is decoded; decoding returns its memory to the system afterwards (`give_back_memory`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import hashlib
import io
import re
import sqlite3
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from server.blobfiles import BlobFiles, LocalDirectory
from server.store import building_submissions, records
from server.store.sync import run_tx
from sync import writer

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
CONTENT_TYPES = (*IMAGE_TYPES, "application/pdf")
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
THUMB_PX = 320                # longest side of a thumbnail
MAX_PIXELS = 40_000_000       # default bound: a floor plan scanned at 300 dpi on A1 is ~70 MB,
                              # 7000×5000 px; beyond is a decompression bomb or a scan gone mad
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc")


class BlobRejected(Exception):
    """An upload refused: `code` is hash_mismatch, bad_hash, unsupported_type, unreadable,
    too_large or too_many_pixels."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def sniff(head: bytes) -> str | None:
    """The content type the file's magic bytes say, or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def normalise_type(declared: str) -> str:
    base = declared.split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def check_name(sha256: str) -> None:
    if not SHA256.match(sha256):
        raise BlobRejected("bad_hash", "a blob is named by the SHA-256 of its bytes: "
                                       "64 lower-case hex digits")


def check(sha256: str, declared: str, data: bytes, max_bytes: int) -> str:
    """Verify an upload against its name, declared type and the size limit; returns the
    content type."""
    check_name(sha256)
    if len(data) > max_bytes:
        raise BlobRejected("too_large", f"this file is {megabytes(len(data))}; attachments may "
                                        f"be at most {megabytes(max_bytes)}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise BlobRejected("hash_mismatch", f"the bytes hash to {actual}, not {sha256}: "
                                            "the upload was damaged or named wrongly")
    declared = normalise_type(declared)
    if declared not in CONTENT_TYPES:
        raise BlobRejected("unsupported_type", f"{declared or 'no content type'} is not "
                           f"accepted; send one of {', '.join(CONTENT_TYPES)}")
    found = sniff(data[:16])
    if found != declared:
        raise BlobRejected("unsupported_type", f"declared {declared} but the file is "
                           f"{found or 'of an unknown type'}")
    return declared


# -- images ---------------------------------------------------------------------------------

def _open(data: bytes, content_type: str) -> Image.Image:
    """Open an image reading its header only (no pixel is decoded yet)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[IMAGE_TYPES[content_type]])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BlobRejected("unreadable", f"the file is not a readable {content_type} image: "
                                         f"{exc}") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise BlobRejected("too_many_pixels", "the image has far too many pixels") from None


def measure(data: bytes, content_type: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from the image's header, refusing one over `max_pixels` (a small file
    can declare a huge image: a decompression bomb). Cheap: decodes no pixel. (0, 0) for PDFs."""
    if content_type not in IMAGE_TYPES:
        return 0, 0
    with _open(data, content_type) as img:
        width, height = img.size
    if width * height > max_pixels:
        raise BlobRejected("too_many_pixels", f"the image is {width}×{height} pixels "
                           f"({width * height / 1e6:.0f} megapixels); at most "
                           f"{max_pixels / 1e6:g} megapixels are accepted")
    return width, height


@contextlib.contextmanager
def _image(data: bytes, content_type: str, max_pixels: int = MAX_PIXELS,
           draft_px: int | None = None) -> Iterator[Image.Image]:
    """Open and decode an image, refusing bombs and anything Pillow cannot read. `draft_px`:
    a JPEG may be decoded at a reduced scale no smaller than that (for thumbnails)."""
    measure(data, content_type, max_pixels)
    img = _open(data, content_type)
    try:
        if draft_px and img.format == "JPEG":
            img.draft("RGB", (draft_px, draft_px))
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        img.close()
        raise BlobRejected("unreadable", f"the file is not a readable {content_type} image: "
                                         f"{exc}") from None
    with img:
        yield img


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
_malloc_trim = getattr(_libc, "malloc_trim", None)


def give_back_memory() -> None:
    """Return freed heap to the system after a decode (glibc keeps it otherwise: one large
    image left hundreds of MB resident). A no-op where there is no malloc_trim."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _has_metadata(img: Image.Image) -> bool:
    if any(key in img.info for key in _METADATA_KEYS):
        return True
    if getattr(img, "text", None):  # PNG text chunks
        return True
    return bool(img.getexif())


def _bare(img: Image.Image) -> Image.Image:
    """An upright copy with no metadata at all (ICC colour profile kept)."""
    upright = ImageOps.exif_transpose(img) or img
    out = upright.copy()
    icc = img.info.get("icc_profile")
    out.info = {"icc_profile": icc} if icc else {}
    return out


def stored_bytes(data: bytes, content_type: str, max_pixels: int = MAX_PIXELS) -> bytes:
    """What to keep for an upload: the bytes themselves, or for an image carrying metadata an
    upright re-encode without it. PDFs are kept as sent."""
    if content_type not in IMAGE_TYPES:
        return data
    with _image(data, content_type, max_pixels) as img:
        if not _has_metadata(img):
            return data
        clean = _bare(img)
        out = io.BytesIO()
        fmt = IMAGE_TYPES[content_type]
        if fmt == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        params: dict[str, object] = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
        if clean.info.get("icc_profile"):
            params["icc_profile"] = clean.info["icc_profile"]
        clean.save(out, fmt, **params)
        return out.getvalue()


def thumbnail(data: bytes, content_type: str, max_px: int = THUMB_PX,
              max_pixels: int = MAX_PIXELS) -> bytes | None:
    """A JPEG at most `max_px` on its longest side, upright, with no metadata; None for PDFs."""
    if content_type not in IMAGE_TYPES:
        return None
    with _image(data, content_type, max_pixels, draft_px=max_px) as img:
        img.thumbnail((max_px, max_px))  # in place, first: no full-size copy is made
        small = _bare(img)
        if small.mode in ("RGBA", "LA", "P", "PA"):
            rgba = small.convert("RGBA")
            small = Image.new("RGB", rgba.size, (255, 255, 255))
            small.paste(rgba, mask=rgba.getchannel("A"))
        elif small.mode not in ("RGB", "L"):
            small = small.convert("RGB")
        small.info = {}
        out = io.BytesIO()
        small.save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()


# -- files ----------------------------------------------------------------------------------

def thumb_key(sha256: str) -> str:
    check_name(sha256)
    return sha256 + ".thumb.jpg"


@dataclass(frozen=True)
class BlobStore:
    """Blobs kept in `files` (server/blobfiles.py): `<sha256>` and its thumbnail
    `<sha256>.thumb.jpg`; images over `max_pixels` are refused."""

    files: BlobFiles
    max_pixels: int = MAX_PIXELS

    @classmethod
    def local(cls, root: Path, max_pixels: int = MAX_PIXELS) -> BlobStore:
        return cls(LocalDirectory(root), max_pixels)

    def exists(self, sha256: str) -> bool:
        check_name(sha256)
        return self.files.exists(sha256)

    def save(self, sha256: str, data: bytes, content_type: str) -> bool:
        """Store a checked upload and its thumbnail; False (and nothing written) if the blob
        is already here. Runs in a worker thread: Pillow and fsync block."""
        if self.exists(sha256):
            return False
        try:
            kept = stored_bytes(data, content_type, self.max_pixels)
            thumb = thumbnail(kept, content_type, max_pixels=self.max_pixels)
        finally:
            give_back_memory()
        if thumb is not None:
            self.files.put(thumb_key(sha256), thumb)
        self.files.put(sha256, kept)
        return True

    def ensure_thumb(self, sha256: str, content_type: str) -> str | None:
        """The thumbnail's key, made now if it is missing; None for a PDF or a missing blob."""
        thumb = thumb_key(sha256)
        if self.files.exists(thumb):
            return thumb
        if content_type not in IMAGE_TYPES:
            return None
        data = self.files.get(sha256)
        if data is None:
            return None
        try:
            made = thumbnail(data, content_type, max_pixels=self.max_pixels)
        finally:
            give_back_memory()
        if made is None:
            return None
        self.files.put(thumb, made)
        return thumb

    def touch(self, sha256: str) -> None:
        """Make a blob young again (a re-upload): gc keeps it another grace period."""
        check_name(sha256)
        self.files.touch(sha256)

    def remove(self, sha256: str) -> None:
        self.files.delete(thumb_key(sha256))
        self.files.delete(sha256)

    def names(self) -> Iterator[tuple[str, float]]:
        """Every stored blob (not thumbnail) as (sha256, time last stored or touched)."""
        return ((k, t) for k, t in self.files.listing() if SHA256.match(k))


# -- the blobs table and availability -------------------------------------------------------

def content_type_of(conn: sqlite3.Connection, sha256: str) -> str | None:
    row = conn.execute("SELECT content_type FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    return str(row[0]) if row else None


def record_blob(conn: sqlite3.Connection, store: BlobStore, sha256: str, content_type: str,
                data: bytes, now: str, by: str, device_id: str | None = None,
                ) -> tuple[bool, list[str]]:
    """Inside the write transaction after a successful save: the row, a refreshed age, and
    every attachment of the blob marked available (stamped as changed by `by`, the uploader).
    Returns (new row?, premises changed).

    Saves the file again if gc removed it between the save and this transaction."""
    if not store.exists(sha256):
        store.save(sha256, data, content_type)
    store.touch(sha256)
    created = conn.execute(
        "INSERT INTO blobs (sha256, content_type, size, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(sha256) DO NOTHING", (sha256, content_type, len(data), now)).rowcount > 0
    stamp = writer.Stamp(kind="attachment_available", user=by, now=now, device_id=device_id)
    return created, mark_available(conn, sha256, stamp)


def mark_available(conn: sqlite3.Connection, sha256: str, stamp: writer.Stamp) -> list[str]:
    """Set `available` on every attachment of `sha256` not yet marked, in the records the
    `attachment_refs` index names; each record changed is written by the one writer (new
    version, change seq and audit entry), so devices learn of it on their next pull."""
    ids = records.referencing(conn, sha256)
    if not ids:
        return []
    return run_tx(conn, lambda tx: writer.mark_available(tx, stamp, ids, sha256))


# -- garbage collection ---------------------------------------------------------------------

def referenced(conn: sqlite3.Connection, since: str) -> set[str]:
    """Blobs a record may still need: attachments of live records, of records deleted at or
    after `since` (a tombstone that may be restored) and in open conflicts; and every file
    a building owner sent (their history is kept)."""
    refs = {r[0] for r in conn.execute(
        "SELECT json_extract(a.value, '$.sha256') FROM premises p, "
        "json_each(p.doc, '$.attachments') a "
        "WHERE p.deleted = 0 OR coalesce(json_extract(p.doc, '$.updated_at'), '') >= ?",
        (since,))}
    for (raw,) in conn.execute("SELECT doc FROM conflicts WHERE status = 'open'"):
        refs.update(re.findall(r"[0-9a-f]{64}", raw))
    return refs | building_submissions.held_blobs(conn)  # owners' files, whatever their review


@dataclass(frozen=True)
class GcReport:
    kept_referenced: int
    kept_recent: int
    removed: list[str]
    parts_removed: int


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def collect(conn: sqlite3.Connection, store: BlobStore, grace_seconds: int,
            now: float | None = None, dry_run: bool = False) -> GcReport:
    """Remove blobs no record needs, inside one write transaction (so no upload or push
    interleaves): a blob is kept if referenced (see `referenced`) or younger than the grace
    period, which covers attach mutations still queued on offline devices."""
    now = time.time() if now is None else now
    cutoff = now - grace_seconds
    refs = referenced(conn, iso(cutoff))
    kept_refs = kept_recent = 0
    removed: list[str] = []
    for sha, mtime in sorted(store.names()):
        if sha in refs:
            kept_refs += 1
        elif mtime >= cutoff:
            kept_recent += 1
        else:
            removed.append(sha)
    parts = store.files.sweep(cutoff, dry_run=dry_run)
    if not dry_run:
        conn.executemany("DELETE FROM blobs WHERE sha256 = ?", [(s,) for s in removed])
        for sha in removed:
            store.remove(sha)
    return GcReport(kept_refs, kept_recent, removed, parts)
