"""The annual check of a high-rise building's secure information box (Fire Safety (England)
Regulations 2022, reg. 4), recorded by its responsible person through the portal: the form's
parsing (every problem at once, in plain words), the overdue rule (more than 12 months since
the last check), and the write: the check's row, its audit event and the record's
`information_box` (the latest check, through the one premises writer) in one transaction.

Must not know HTTP; SQL is server/store/information_box.py's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from server import clock
from server.store import events
from server.store import information_box as store
from server.store.database import Database
from server.store.sync import run_tx
from sync import writer
from sync.record import BOX_OUTCOMES, DATE_PATTERN, InformationBox
from sync.store import Tx

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KIND = "information_box"


def due(checked_on: str) -> str:
    """The date the next check is due: a year after `checked_on` (29 Feb: 28 Feb)."""
    day = dt.date.fromisoformat(checked_on)
    try:
        return day.replace(year=day.year + 1).isoformat()
    except ValueError:
        return day.replace(year=day.year + 1, day=28).isoformat()


def overdue(checked_on: str | None, today: str) -> bool:
    """More than 12 months since the last check (never checked: overdue)."""
    return not checked_on or due(checked_on) < today


def parse(form: dict[str, str], today: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A check from the portal form, or every problem with it by field, in plain words."""
    form = {k: CONTROL.sub("", v) for k, v in form.items()}
    errors: dict[str, str] = {}
    checked_on = form.get("checked_on", "").strip()
    if not checked_on:
        errors["checked_on"] = "Give the date you checked the box."
    elif not re.match(DATE_PATTERN, checked_on):
        errors["checked_on"] = "The date must be a date like 2026-12-03."
    elif checked_on > today:
        errors["checked_on"] = "The date of the check cannot be in the future."
    outcome = form.get("outcome", "")
    if outcome not in BOX_OUTCOMES:
        errors["outcome"] = "Say whether the box and its contents are as they should be."
    problems = form.get("problems", "").strip()
    if outcome == "problems" and not problems:
        errors["problems"] = "Say what problems you found."
    elif len(problems) > 2000:
        errors["problems"] = "The problems can be up to 2,000 characters."
    name = form.get("reported_by", "").strip()
    if not name:
        errors["reported_by"] = "Give your name."
    elif len(name) > 200:
        errors["reported_by"] = "Your name can be up to 200 characters."
    return {"checked_on": checked_on, "outcome": outcome,
            "problems": problems if outcome == "problems" else "",
            "reported_by": name}, errors


def on_record(check: dict[str, Any]) -> dict[str, Any]:
    """The record's `information_box` for a stored check."""
    value: dict[str, Any] = msgspec.to_builtins(InformationBox(
        checked_on=check["checked_on"], due=due(check["checked_on"]), outcome=check["outcome"],
        problems=check["problems"], reported_by=check["reported_by"]))
    return value


async def record(db: Database, premises_id: str, link_id: int | None,
                 check: dict[str, Any]) -> None:
    """Store a check and put the building's latest on its record, in one transaction."""
    now = clock.now()
    stamp = writer.Stamp(kind=KIND, user=check["reported_by"], now=now,
                         device_id="submission-link")

    def run(conn: Any) -> None:
        store.insert(conn, {**check, "premises_id": premises_id, "link_id": link_id,
                            "reported_at": now[:19] + "Z"})
        events.add_in(conn, now[:19] + "Z", "information_box_checked", None,
                      premises_id=premises_id, detail=f"{check['checked_on']} "
                      f"{check['outcome']} by {check['reported_by']} (link {link_id})")
        latest = store.latest_in(conn, premises_id)
        value = on_record(latest) if latest else None

        def put(tx: Tx) -> None:
            current = tx.premises(premises_id)
            if current is None or current.get("deleted"):
                return
            if current.get("information_box") != value:
                writer.write(tx, stamp, current, {"information_box": value})
        run_tx(conn, put)
    await db.write(run)
