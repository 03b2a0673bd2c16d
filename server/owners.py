"""Building owners: a premises marked as a high-rise residential building (height, storeys)
and its responsible person (Fire Safety (England) Regulations 2022, docs/building-owners.md).

Owns the form's parsing into a `HighRise` and its write, through the one premises writer
(sync/writer.py) in a store transaction. Must not know HTTP or SQL; the caller authorises.
"""

from __future__ import annotations

from typing import Any

import msgspec

from server import clock
from server.api.sync import SyncService
from server.auth import Principal
from server.errors import ApiError
from sync import writer
from sync.record import HighRise
from sync.store import Tx

LABELS = {"height_m": "Height (metres)", "storeys": "Storeys",
          "responsible_person": "Responsible person", "organisation": "Organisation",
          "phone": "Phone", "email": "Email"}


def qualifies(high_rise: dict[str, Any] | None) -> bool:
    """At least 18 m or at least 7 storeys: the regulations' high-rise residential building."""
    if not high_rise:
        return False
    return (high_rise.get("height_m") or 0) >= 18 or (high_rise.get("storeys") or 0) >= 7


def parse(form: dict[str, str]) -> tuple[HighRise | None, dict[str, str]]:
    """A HighRise from the console form's text fields, or the problems by field (plain words)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, kind in (("height_m", float), ("storeys", int)):
        raw = form.get(name, "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            values[name] = kind(raw)
        except ValueError:
            errors[name] = f"{LABELS[name]} must be a {'number' if kind is float else 'whole number'}."
    for name in ("responsible_person", "organisation", "phone", "email"):
        values[name] = form.get(name, "").strip()
    if values["email"] and "@" not in values["email"]:
        errors["email"] = "Email must be an address like name@example.org."
    if errors:
        return None, errors
    try:
        found = msgspec.convert(values, HighRise)
    except msgspec.ValidationError as exc:
        field = next((n for n in LABELS if f"`$.{n}`" in str(exc)), "height_m")
        return None, {field: f"{LABELS[field]} is out of range ({exc})."}
    if not qualifies(msgspec.to_builtins(found)):
        return None, {"height_m": "A high-rise residential building is at least 18 m high or "
                                  "has at least 7 storeys."}
    return found, {}


async def set_high_rise(service: SyncService, who: Principal, premises_id: str,
                        high_rise: HighRise | None) -> dict[str, Any]:
    """Mark (or with None, unmark) a premises as a high-rise residential building: one new
    version through the one writer; devices receive it on their next pull."""
    value = msgspec.to_builtins(high_rise) if high_rise is not None else None
    stamp = writer.Stamp(kind="high_rise", user=who.username, now=clock.now(),
                         device_id=f"console-{who.user_id}")

    def run(tx: Tx) -> dict[str, Any]:
        current = tx.premises(premises_id)
        if current is None or current.get("deleted"):
            raise ApiError(404, "not_found", f"There is no premises {premises_id}.")
        new = value
        kept = (current.get("high_rise") or {}).get("external_wall")
        if new is not None:  # the accepted wall information stays (server/owner_submissions.py)
            new = {k: v for k, v in new.items() if k != "external_wall"}
            if kept:
                new["external_wall"] = kept
        if current.get("high_rise") == new:
            return dict(current)
        return dict(writer.write(tx, stamp, current, {"high_rise": new}))
    return await service.store.write(run)
