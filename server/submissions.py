"""Submission links and equipment faults for a high-rise building's responsible person
(issue 16, docs/building-owners.md): issuing and revoking a link (a random token in the URL,
stored only as its digest), resolving a token to a live link, the per-link rate, and fault
and repair reports, each of which rewrites the record's `equipment_faults` (the open ones)
through the one premises writer, in the transaction that changes the fault's row, so crews
get them on their next pull; and when an unrepaired fault becomes "for review".

Must not know HTTP; SQL is server/store/owner_links.py's; the caller authorises staff.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from server import clock
from server.api.sync import SyncService
from server.auth import Principal, token_digest
from server.errors import ApiError
from server.store import events
from server.store import owner_links as store
from server.store.database import Database
from server.store.sync import run_tx
from sync import writer
from sync.record import DATE_PATTERN, FAULT_KINDS, EquipmentFault
from sync.store import Tx

LINK_DAYS = (7, 30, 90, 365)        # how long a link may be issued for
DEFAULT_LINK_DAYS = 90
RATE_WINDOW_SECONDS = 600
RATE_PER_WINDOW = 60                # requests with one link in a window; then 429
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over a phone


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
REFERENCE = re.compile(r"^F-[A-Z0-9]{8}$")


@dataclass(frozen=True)
class Link:
    id: int
    premises_id: str


def reference() -> str:
    """A fault's reference number, e.g. `F-7KQ2M9XP` (40 bits: not guessable in use)."""
    return "F-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def link_state(row: dict[str, Any], now: str) -> str:
    """`live`, `replaced`, `revoked` or `expired`."""
    if row.get("revoked_at"):
        return "replaced" if replaced_by(row) else "revoked"
    return "expired" if row["expires_at"] <= now else "live"


async def issue(db: Database, who: Principal, doc: dict[str, Any], days: int) -> str:
    """A new link for the premises' responsible person; returns the token (shown once)."""
    if days not in LINK_DAYS:
        raise ApiError(422, "invalid", "Choose how long the link lasts: "
                       + ", ".join(f"{d} days" for d in LINK_DAYS) + ".", "days")
    if not doc.get("high_rise"):
        raise ApiError(409, "not_high_rise", "Mark the premises as a high-rise residential "
                       "building before issuing a submission link.")
    token = secrets.token_urlsafe(32)
    now = clock.now("seconds")
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat(
        timespec="seconds").replace("+00:00", "Z")
    link_id = await store.add_link(db, doc["id"], token_digest(token), who.username, now,
                                   expires)
    await events.add(db, now, "submission_link_issued", who.user_id, station=doc["station"],
                     premises_id=doc["id"], detail=f"link {link_id}, {days} days")
    return token


def replaced_by(row: dict[str, Any]) -> int | None:
    """The link that replaced this one, if it was replaced."""
    digest = str(row.get("token_hash") or "")
    return int(digest[len(store.REPLACED):]) if digest.startswith(store.REPLACED) else None


async def replace(db: Database, who: Principal, doc: dict[str, Any], link_id: int
                  ) -> tuple[str, str]:
    """Rotate a live link that may have leaked: one transaction revokes it and issues a new
    one for the same building, expiring when the old one would have; the old URL then answers
    like any unknown link. Returns the new token (shown once) and its expiry."""
    token = secrets.token_urlsafe(32)
    now = clock.now("seconds")

    def run(conn: Any) -> tuple[int, str] | None:
        done = store.replace_in(conn, link_id, doc["id"], token_digest(token), who.username,
                                now)
        if done is not None:
            events.add_in(conn, now, "submission_link_replaced", who.user_id,
                          station=doc["station"], premises_id=doc["id"],
                          detail=f"link {link_id} replaced by link {done[0]}")
        return done
    done = await db.write(run)
    if done is None:
        raise ApiError(404, "not_found", "There is no live link to replace.")
    expires = done[1]
    return token, expires


async def revoke(db: Database, who: Principal, doc: dict[str, Any], link_id: int) -> None:
    now = clock.now("seconds")
    if not await store.revoke(db, link_id, doc["id"], who.username, now):
        raise ApiError(404, "not_found", "There is no live link to revoke.")
    await events.add(db, now, "submission_link_revoked", who.user_id, station=doc["station"],
                     premises_id=doc["id"], detail=f"link {link_id}")


async def resolve(db: Database, token: str) -> Link:
    """The live link behind a token, its request counted against the per-link rate:
    404 for no such link, 410 for a revoked or expired one, 429 beyond the rate."""
    if not token or len(token) > 128:
        raise ApiError(404, "not_found", "This link is not known.")
    row = await store.link_by_hash(db, token_digest(token))
    if row is None:
        raise ApiError(404, "not_found", "This link is not known.")
    state = link_state(row, clock.now("seconds"))
    if state != "live":
        raise ApiError(410, "gone", f"This link has been {state}. Ask the fire service "
                       "for a new one.")
    now = time.time()
    count, start = await store.spend(db, int(row["id"]), now, RATE_WINDOW_SECONDS)
    if count > RATE_PER_WINDOW:
        wait = max(1, int(start + RATE_WINDOW_SECONDS - now))
        raise ApiError(429, "throttled", f"Too many requests with this link; try again in "
                       f"{wait // 60 + 1} minutes.", headers={"Retry-After": str(wait)})
    return Link(id=int(row["id"]), premises_id=str(row["premises_id"]))


def parse_fault(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A fault report from the portal form, or its problems by field, in plain words."""
    errors: dict[str, str] = {}
    form = {k: CONTROL.sub("", v) for k, v in form.items()}  # no NULs: PostgreSQL refuses them
    kind = form.get("kind", "")
    if kind not in FAULT_KINDS:
        errors["kind"] = "Choose what is out of order."
    description = form.get("description", "").strip()
    if not description:
        errors["description"] = "Say what is wrong, in a few words."
    elif len(description) > 2000:
        errors["description"] = "The description can be up to 2,000 characters."
    since = form.get("since", "").strip()
    if not since:
        errors["since"] = "Give the date it went out of order."
    elif not re.match(DATE_PATTERN, since):
        errors["since"] = "The date must be a date like 2026-12-03."
    elif since > clock.today():
        errors["since"] = "The date it went out of order cannot be in the future."
    name = form.get("reported_by", "").strip()
    if not name:
        errors["reported_by"] = "Give your name."
    elif len(name) > 200:
        errors["reported_by"] = "Your name can be up to 200 characters."
    return {"kind": kind, "description": description, "since": since,
            "reported_by": name}, errors


def review_from(fault: dict[str, Any], days: int) -> str:
    """When an open fault becomes "for review": `days` after its report, or after a
    supervisor last confirmed it still out of order (ISO UTC time)."""
    start = str(fault.get("confirmed_at") or fault["reported_at"])
    at = dt.datetime.fromisoformat(start.replace("Z", "+00:00")) + dt.timedelta(days=days)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def for_review(fault: dict[str, Any], now: str, days: int) -> bool:
    """No repair reported within the set time (`days`; 0: never flagged)."""
    return (days > 0 and not fault.get("repaired_at")
            and review_from(fault, days)[:19] <= now[:19])


def on_record(open_faults: list[dict[str, Any]], now: str, days: int) -> list[dict[str, Any]]:
    """The record's `equipment_faults` for these open fault rows at `now`."""
    return [msgspec.to_builtins(EquipmentFault(
        id=f["reference"], kind=f["kind"], description=f["description"], since=f["since"],
        reported_by=f["reported_by"], reported_at=f["reported_at"],
        for_review=for_review(f, now, days), confirmed_by=f.get("confirmed_by") or "",
        confirmed_on=(f.get("confirmed_at") or "")[:10] or None)) for f in open_faults]


def publish_in(conn: Any, premises_id: str, stamp: writer.Stamp, days: int) -> bool:
    """Inside the caller's transaction (the one that changed the fault rows): put the
    premises' open faults on its record, one new version through the one writer, audited,
    pulled by devices; nothing changes when they are already there. True if it changed."""
    value = on_record(store.open_faults_in(conn, premises_id), stamp.now, days)

    def run(tx: Tx) -> bool:
        current = tx.premises(premises_id)
        if current is None or current.get("deleted"):
            return False
        if (current.get("equipment_faults") or []) == value:
            return False
        writer.write(tx, stamp, current, {"equipment_faults": value or None})
        return True
    return run_tx(conn, run)


def _stamp(user: str, device: str = "submission-link") -> writer.Stamp:
    return writer.Stamp(kind="equipment_fault", user=user, now=clock.now(), device_id=device)


async def report(db: Database, service: SyncService, link: Link,
                 fault: dict[str, Any]) -> str:
    """Store a fault reported through a link and publish it to crews, in one transaction
    (a crash leaves neither the row without the record nor the record without the row);
    returns its reference."""
    ref = reference()
    now = clock.now("seconds")
    days = service.settings.fault_review_days

    def run(conn: Any) -> None:
        store.insert_fault(conn, {**fault, "reference": ref, "premises_id": link.premises_id,
                                  "link_id": link.id, "reported_at": now})
        events.add_in(conn, now, "equipment_fault_reported", None,
                      premises_id=link.premises_id, detail=f"{ref} {fault['kind']} by "
                      f"{fault['reported_by']} (link {link.id})")
        publish_in(conn, link.premises_id, _stamp(fault["reported_by"]), days)
    await db.write(run)
    return ref


async def fault_of(db: Database, link: Link, ref: str) -> dict[str, Any]:
    """A fault of the link's premises by its reference (404 for any other)."""
    found = await store.fault(db, ref) if REFERENCE.match(ref) else None
    if found is None or found["premises_id"] != link.premises_id:
        raise ApiError(404, "not_found", "There is no fault with that reference for this "
                       "building.")
    return found


async def repaired(db: Database, service: SyncService, link: Link, ref: str,
                   note: str) -> None:
    """Report a fault repaired: it leaves the crews' record on their next pull (the row and
    the record change in one transaction)."""
    found = await fault_of(db, link, ref)
    note = CONTROL.sub("", note)[:2000]
    now = clock.now("seconds")
    days = service.settings.fault_review_days

    def run(conn: Any) -> bool:
        if not store.mark_repaired(conn, found["reference"], now, note):
            return False
        events.add_in(conn, now, "equipment_fault_repaired", None,
                      premises_id=link.premises_id, detail=f"{ref} (link {link.id})")
        publish_in(conn, link.premises_id, _stamp(found["reported_by"]), days)
        return True
    if not await db.write(run):
        raise ApiError(409, "already_repaired", "This fault was already reported repaired.")
