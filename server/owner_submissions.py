"""What a high-rise building's responsible person submits through a submission link (issue 16,
docs/building-owners.md): floor plans (one per named floor), the single-page building plan and
external wall information (reg. 5, 6), each stored as a new version (nothing overwritten), and
their review: accepted plans become the premises' attachments and accepted wall information
its `high_rise.external_wall`, both through the one premises writer in the same store
transaction that marks the submission accepted and the versions before it superseded.

Must not know HTTP; SQL is server/store/building_submissions.py's; the caller authorises.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import msgspec

from server import blobs, clock
from server.auth import Principal
from server.errors import ApiError
from server.store import building_submissions as store
from server.store import events
from server.store.database import Database
from server.store.sync import run_tx
from sync import writer
from sync.record import WALL_RISKS, Attachment, ExternalWall
from sync.store import Tx

KIND_LABELS = {"floor_plan": "Floor plan", "building_plan": "Building plan",
               "external_wall": "External wall information"}
FILE_TYPES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}
ATTACHMENT_KIND = {"floor_plan": "floor_plan", "building_plan": "site_plan"}
MAX_DOCUMENTS = 5           # files with one external wall submission
PLANS_AT_ONCE = 10          # floor plans one post of the floor-plan form may send
FLOOR_MAX = 60              # characters of a floor's name
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UNSAFE_NAME = re.compile(r"[^\w .()+,-]")


@dataclass(frozen=True)
class Upload:
    """One file of a form: the form field it came in, its name as sent, and its bytes."""

    field: str
    name: str
    data: bytes


@dataclass(frozen=True)
class Checked:
    field: str
    name: str
    data: bytes
    content_type: str
    sha256: str


def expected_floors(storeys: int | None) -> list[str]:
    """The floors a building of `storeys` storeys has plans for: the ground floor, then
    floors 1 up to the top (what the portal counts as missing)."""
    if not storeys:
        return []
    return ["Ground floor", *(f"Floor {n}" for n in range(1, min(storeys, 300)))]


def floor_choices(storeys: int | None) -> list[str]:
    """The names offered for a floor plan: basements, the expected floors and the roof."""
    return ["Basement 2", "Basement 1", *(expected_floors(storeys) or ["Ground floor"]),
            "Roof"]


def clean(text: str, limit: int) -> str:
    return " ".join(CONTROL.sub("", text).split())[:limit]


def safe_name(name: str) -> str:
    """A file's name as kept and shown: its last path part, no control or odd characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    return (UNSAFE_NAME.sub("_", CONTROL.sub("", base)).strip() or "file")[:120]


@dataclass(frozen=True)
class Problem:
    """What is wrong with a file: plain words naming the field, and the status it earns
    (413 too large, 415 not a PDF, PNG or JPEG, 422 missing)."""

    message: str
    status: int


def check_file(upload: Upload, label: str, max_bytes: int, max_pixels: int,
               ) -> Checked | Problem:
    """A file checked by its bytes (never its name): PDF, PNG or JPEG, within `max_bytes`, an
    image readable and not over `max_pixels`."""
    if not upload.data:
        return Problem(f"{label}: choose a file to send.", 422)
    if len(upload.data) > max_bytes:
        return Problem(f"{label}: the file is {blobs.megabytes(len(upload.data))}; files may "
                       f"be at most {blobs.megabytes(max_bytes)}.", 413)
    ctype = blobs.sniff(upload.data[:16])
    if ctype not in FILE_TYPES:
        return Problem(f"{label}: {safe_name(upload.name)} is not a PDF, PNG or JPEG file "
                       "(whatever its name says). Save it as a PDF and send it again.", 415)
    try:
        blobs.measure(upload.data, ctype, max_pixels)
    except blobs.BlobRejected as exc:
        return Problem(f"{label}: {exc.message}.", 413 if exc.code == "too_many_pixels" else 415)
    return Checked(upload.field, safe_name(upload.name), upload.data, ctype,
                   hashlib.sha256(upload.data).hexdigest())


def parse_floor(form: dict[str, str]) -> tuple[str, str]:
    """The floor a plan shows, from the list (`floor`) or named (`floor_other`); or a problem."""
    chosen, other = clean(form.get("floor", ""), FLOOR_MAX), clean(form.get("floor_other", ""),
                                                                    FLOOR_MAX + 1)
    if len(other) > FLOOR_MAX:
        return "", f"The floor's name can be up to {FLOOR_MAX} characters."
    if chosen and other and chosen.lower() != other.lower():
        return "", "Choose a floor from the list or name another floor, not both."
    if not (chosen or other):
        return "", "Choose the floor this plan shows, or name it."
    return other or chosen, ""


def plan_rows(has_file: list[bool]) -> list[int]:
    """Which rows of the floor-plan form to send: those with a file; with none, the first
    (so its problems are shown). A row with a floor but no file is left out: the form offers
    a row for each missing floor."""
    return [n for n, present in enumerate(has_file) if present] or [0]


def same_floor_twice(floors: list[str]) -> int | None:
    """The position of the first floor named again in one post (case aside), if any."""
    seen: set[str] = set()
    for n, floor in enumerate(floors):
        if floor and floor.lower() in seen:
            return n
        seen.add(floor.lower())
    return None


def parse_name(form: dict[str, str]) -> tuple[str, str]:
    name = clean(form.get("submitted_by", ""), 201)
    if not name:
        return "", "Give your name."
    if len(name) > 200:
        return "", "Your name can be up to 200 characters."
    return name, ""


def parse_wall(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """External wall information (reg. 5) from the portal form, or its problems by field."""
    errors: dict[str, str] = {}
    design = CONTROL.sub("", form.get("design_materials", "")).strip()
    mitigation = CONTROL.sub("", form.get("mitigation", "")).strip()
    if not design:
        errors["design_materials"] = ("Describe the design and materials of the external "
                                      "walls.")
    elif len(design) > 10_000:
        errors["design_materials"] = "The design and materials can be up to 10,000 characters."
    risk = form.get("risk", "")
    if risk not in WALL_RISKS:
        errors["risk"] = "Choose the level of risk the external walls pose."
    if len(mitigation) > 10_000:
        errors["mitigation"] = "The mitigation can be up to 10,000 characters."
    elif risk in ("medium", "high") and not mitigation:
        errors["mitigation"] = "Say what has been done to reduce the risk."
    change = form.get("material_change", "")
    if change not in ("yes", "no"):
        errors["material_change"] = "Say whether this is a material change to the walls."
    return {"design_materials": design, "risk": risk, "mitigation": mitigation,
            "material_change": change == "yes"}, errors


# -- submitting ------------------------------------------------------------------------------

async def submit(db: Database, store_files: blobs.BlobStore, decoders: asyncio.Semaphore,
                 link_id: int, doc: dict[str, Any], kind: str, floor: str | None,
                 submitted_by: str, fields: dict[str, Any], files: list[Checked],
                 quota: int) -> tuple[int, int]:
    """Store the files (through the blob code) and the submission as the next version;
    returns (id, version). Over the link's quota: 429 naming the file field, nothing kept."""
    return (await submit_many(db, store_files, decoders, link_id, doc, kind,
                              [(floor, files)], submitted_by, fields, quota))[0]


async def submit_many(db: Database, store_files: blobs.BlobStore, decoders: asyncio.Semaphore,
                      link_id: int, doc: dict[str, Any], kind: str,
                      items: list[tuple[str | None, list[Checked]]], submitted_by: str,
                      fields: dict[str, Any], quota: int) -> list[tuple[int, int]]:
    """Several submissions of one kind (e.g. floor plans of several floors sent at once), each
    (floor, files) its own next version, all in one transaction: all are kept or none.
    Returns their (id, version). Over the link's quota: 429 naming the first file's field."""
    every = [f for _, files in items for f in files]
    size = sum(len(f.data) for f in every)
    field = every[0].field if every else "file"

    def over(conn: sqlite3.Connection) -> bool:
        return bool(quota) and store.link_bytes(conn, link_id) + size > quota
    too_much = ApiError(429, "quota_exceeded", f"{KIND_LABELS[kind]}: this link may send "
                        f"{blobs.megabytes(quota)} of files in all and has no room for "
                        f"{blobs.megabytes(size)} more. Ask the fire service for a new link.",
                        field)
    if await db.read(over):
        raise too_much
    for f in every:
        if not store_files.exists(f.sha256):
            async with decoders:
                await asyncio.to_thread(store_files.save, f.sha256, f.data, f.content_type)
    now = clock.now("seconds")

    def write(conn: sqlite3.Connection) -> list[tuple[int, int]]:
        if over(conn):  # again, in the write: two uploads at once cannot both fit
            raise too_much
        for f in every:
            blobs.record_blob(conn, store_files, f.sha256, f.content_type, f.data, now,
                              "submission-link")
        done = []
        for floor, files in items:
            detail = {**fields, "files": [{"sha256": f.sha256, "name": f.name,
                                           "field": f.field, "content_type": f.content_type,
                                           "size": len(f.data)} for f in files]}
            done.append(store.add(conn, {
                "premises_id": doc["id"], "uprn": doc.get("uprn") or "", "link_id": link_id,
                "kind": kind, "floor": floor, "submitted_at": now,
                "submitted_by": submitted_by, "detail": detail,
                "bytes": sum(len(f.data) for f in files)}))
        return done
    done = await db.write(write)
    for (floor, files), (sub_id, version) in zip(items, done, strict=True):
        where = f" ({floor})" if floor else ""
        await events.add(db, now, "building_submission_received", None,
                         station=doc["station"], premises_id=doc["id"],
                         detail=f"{kind}{where} version {version}, {len(files)} file(s), by "
                         f"{submitted_by} (link {link_id}, submission {sub_id})")
    return done


# -- review ----------------------------------------------------------------------------------

def _caption(sub: dict[str, Any]) -> str:
    """`Floor 3 (version 2, from the responsible person)`: the tile already names the kind."""
    what = sub.get("floor") or KIND_LABELS[sub["kind"]]
    return f"{what} (version {sub['version']}, from the responsible person)"[:200]


def _accept(conn: sqlite3.Connection, who: Principal, sub_id: int, now: str
            ) -> dict[str, Any]:
    sub = store.get(conn, sub_id)
    if sub is None:
        raise ApiError(404, "not_found", "There is no such submission.")
    if sub["status"] != "pending":
        raise ApiError(409, "already_reviewed", f"This submission was already {sub['status']}.")
    versions = store.same_key(conn, sub)
    newer = [v for v in versions if v["status"] == "accepted" and v["version"] > sub["version"]]
    if newer:
        raise ApiError(409, "newer_accepted", f"Version {newer[0]['version']} is already "
                       "accepted; an older version cannot replace it.")
    older = [v for v in versions if v["version"] < sub["version"]
             and v["status"] in ("accepted", "pending")]
    gone = {f"bs{v['id']}" for v in older if v["status"] == "accepted"}
    stamp = writer.Stamp(kind="building_submission", user=who.username, now=now,
                         device_id=f"console-{who.user_id}")

    def record(tx: Tx) -> None:
        current = tx.premises(sub["premises_id"])
        if current is None or current.get("deleted"):
            raise ApiError(404, "not_found", "The premises is no longer on the records.")
        if sub["kind"] == "external_wall":
            high_rise = current.get("high_rise")
            if not high_rise:
                raise ApiError(409, "not_high_rise", "Mark the premises as a high-rise "
                               "residential building before accepting wall information.")
            wall = msgspec.to_builtins(ExternalWall(
                design_materials=sub["detail"]["design_materials"], risk=sub["detail"]["risk"],
                mitigation=sub["detail"].get("mitigation", ""),
                material_change=bool(sub["detail"].get("material_change")),
                version=sub["version"], accepted_at=now,
                submitted_by=sub["submitted_by"][:200]))
            writer.write(tx, stamp, current, {"high_rise": {**high_rise, "external_wall": wall}})
            return
        file = sub["detail"]["files"][0]
        attachment = msgspec.to_builtins(Attachment(
            id=f"bs{sub['id']}", sha256=file["sha256"], kind=ATTACHMENT_KIND[sub["kind"]],  # type: ignore[arg-type]
            content_type=file["content_type"], size=file["size"], caption=_caption(sub),
            available=True, by=sub["submitted_by"][:200], at=now))
        kept = [a for a in current.get("attachments") or [] if a.get("id") not in gone]
        writer.write(tx, stamp, current, {"attachments": [*kept, attachment]})
    run_tx(conn, record)
    store.review(conn, [v["id"] for v in older], "superseded", who.username, now,
                 f"version {sub['version']} accepted")
    store.review(conn, [sub_id], "accepted", who.username, now)
    return {**sub, "superseded": [v["version"] for v in older]}


async def accept(db: Database, who: Principal, doc: dict[str, Any], sub_id: int
                 ) -> dict[str, Any]:
    """Accept a pending submission: onto the record (a new version through the one writer),
    the versions before it superseded (kept), all in one transaction; audited."""
    now = clock.now("seconds")
    sub = await db.write(lambda conn: _accept(conn, who, sub_id, now))
    await events.add(db, now, "building_submission_accepted", who.user_id,
                     station=doc["station"], premises_id=doc["id"],
                     detail=f"submission {sub_id}: {sub['kind']} version {sub['version']}"
                     + (f", superseding version(s) {', '.join(map(str, sub['superseded']))}"
                        if sub["superseded"] else ""))
    return sub


def parse_reason(raw: str) -> tuple[str, str]:
    reason = CONTROL.sub("", raw).strip()
    if not reason:
        return "", "Give the reason, for the responsible person to read."
    if len(reason) > 2000:
        return "", "The reason can be up to 2,000 characters."
    return reason, ""


async def reject(db: Database, who: Principal, doc: dict[str, Any], sub_id: int,
                 reason: str) -> None:
    """Reject a pending submission with a reason the submitter reads on the portal."""
    now = clock.now("seconds")
    if not await db.write(lambda conn: store.review(conn, [sub_id], "rejected", who.username,
                                                    now, reason, only_pending=True)):
        raise ApiError(409, "already_reviewed", "This submission was already reviewed.")
    await events.add(db, now, "building_submission_rejected", who.user_id,
                     station=doc["station"], premises_id=doc["id"],
                     detail=f"submission {sub_id}: {reason[:200]}")


# -- what the portal shows -------------------------------------------------------------------

def holdings(doc: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """What the service holds for a building, for its responsible person: per kind (and per
    floor) the accepted version, the latest pending and the latest rejected after it (with
    its reason), and the expected floors with no plan accepted or pending (`missing`)."""
    def latest(rows: list[dict[str, Any]]) -> dict[str, Any]:
        accepted = next((r for r in rows if r["status"] == "accepted"), None)
        after = [r for r in rows if not accepted or r["version"] > accepted["version"]]
        return {"accepted": accepted,
                "pending": next((r for r in after if r["status"] == "pending"), None),
                "rejected": next((r for r in after if r["status"] == "rejected"), None)}
    by_version = sorted(history, key=lambda r: -r["version"])
    floors: dict[str, list[dict[str, Any]]] = {}
    for row in by_version:
        if row["kind"] == "floor_plan":
            floors.setdefault((row["floor"] or "").lower(), []).append(row)
    storeys = (doc.get("high_rise") or {}).get("storeys")
    known = {k: latest(rows) | {"floor": rows[0]["floor"]} for k, rows in floors.items()}
    missing = [f for f in expected_floors(storeys) if f.lower() not in known
               or not (known[f.lower()]["accepted"] or known[f.lower()]["pending"])]
    order = {f.lower(): n for n, f in enumerate(floor_choices(storeys))}
    return {
        "building_plan": latest([r for r in by_version if r["kind"] == "building_plan"]),
        "external_wall": latest([r for r in by_version if r["kind"] == "external_wall"]),
        "floors": sorted(known.values(), key=lambda f: (order.get(f["floor"].lower(), 999),
                                                        f["floor"])),
        "missing": missing,
    }
