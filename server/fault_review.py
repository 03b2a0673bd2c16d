"""A supervisor's review of a lift or firefighting-equipment fault (issue 16): confirm it is
still out of order (the review clock starts again) or correct it by marking it repaired with a
note; and `flag_due`, the pass that puts "for review" on the records of faults with no repair
reported within `fault_review_days` (run hourly by the server and by `watchbook housekeeping`).

Each change commits with the record's rewrite and its audit event, in one transaction. Must
not know HTTP; the caller authorises (a supervisor within the building's grounds, or an admin).
"""

from __future__ import annotations

import functools
from typing import Any

from server import clock
from server.auth import Principal
from server.errors import ApiError
from server.store import events
from server.store import owner_links as store
from server.store.database import Database
from server.submissions import CONTROL, REFERENCE, publish_in
from sync import writer

KIND = "equipment_fault"


def _publish(conn: Any, premises_id: str, stamp: writer.Stamp, days: int) -> bool:
    return publish_in(conn, premises_id, stamp, days)


async def _fault(db: Database, doc: dict[str, Any], ref: str) -> dict[str, Any]:
    found = await store.fault(db, ref) if REFERENCE.match(ref) else None
    if found is None or found["premises_id"] != doc["id"]:
        raise ApiError(404, "not_found", "There is no fault with that reference for this "
                       "building.")
    if found.get("repaired_at"):
        raise ApiError(409, "already_repaired", "This fault was already reported repaired.")
    return found


def _stamp(who: Principal, now: str) -> writer.Stamp:
    return writer.Stamp(kind=KIND, user=who.username, now=now,
                        device_id=f"console-{who.user_id}")


async def confirm(db: Database, days: int, who: Principal, doc: dict[str, Any], ref: str,
                  note: str) -> None:
    """The fault is still out of order, as its report says: no longer for review until
    another `days` pass without a repair."""
    await _fault(db, doc, ref)
    note, now = CONTROL.sub("", note).strip()[:2000], clock.now()

    def run(conn: Any) -> bool:
        if not store.mark_confirmed(conn, ref, now[:19] + "Z", who.username, note):
            return False
        events.add_in(conn, now[:19] + "Z", "equipment_fault_confirmed", who.user_id,
                      station=doc["station"], premises_id=doc["id"], detail=ref)
        publish_in(conn, doc["id"], _stamp(who, now), days)
        return True
    if not await db.write(run):
        raise ApiError(409, "already_repaired", "This fault was already reported repaired.")


async def correct(db: Database, days: int, who: Principal, doc: dict[str, Any], ref: str,
                  note: str) -> None:
    """The fault is in fact repaired (the responsible person did not say): it leaves the
    crews' record; the note says how the supervisor knows."""
    await _fault(db, doc, ref)
    note, now = CONTROL.sub("", note).strip()[:2000], clock.now()
    if not note:
        raise ApiError(422, "invalid", "Say how you know it is repaired (a note).", "note")

    def run(conn: Any) -> bool:
        if not store.mark_repaired(conn, ref, now[:19] + "Z", note, by=who.username):
            return False
        events.add_in(conn, now[:19] + "Z", "equipment_fault_repaired", who.user_id,
                      station=doc["station"], premises_id=doc["id"],
                      detail=f"{ref} marked repaired by a supervisor")
        publish_in(conn, doc["id"], _stamp(who, now), days)
        return True
    if not await db.write(run):
        raise ApiError(409, "already_repaired", "This fault was already reported repaired.")


async def flag_due(db: Database, days: int, now: str | None = None) -> int:
    """Bring the "for review" flags of every record with open faults up to date at `now`:
    how many records changed (none when the pass ran already)."""
    now = now or clock.now()
    stamp = writer.Stamp(kind=KIND, user="watchbook", now=now, device_id="fault-review")
    changed = 0
    for premises_id in await store.premises_with_open_faults(db):
        if await db.write(functools.partial(_publish, premises_id=premises_id, stamp=stamp,
                                            days=days)):
            changed += 1
    return changed
