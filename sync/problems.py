"""Plain English for what is wrong with a record: field labels, the message templates, and the
turning of a msgspec validation error (message + `$.path`) into one sentence.

The one place this text is made: the engine's rejected receipts and the console use
`explain`; the app's pre-save checks (pwa/page/check.js) read `for_app()` (the JSON Schema of
the record with these labels and templates), so both say the same words. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from sync.record import Premises
from sync.validation import split as split_error

LABELS: dict[str, str] = {
    "id": "Record id", "station": "Station", "name": "Name", "address": "Address",
    "postcode": "Postcode", "uprn": "UPRN", "lat": "Latitude", "lon": "Longitude",
    "use": "Use / occupancy", "risk_level": "Risk level", "risk_score": "Risk score",
    "assessed_at": "Date assessed", "assessed_by": "Assessed by", "harms": "Harms",
    "next_review_due": "Next review", "hazards": "Hazards", "rvp": "Rendezvous point (RVP)",
    "access_points": "Access points", "key_holder": "Key holder", "key_box": "Key box",
    "entry_codes": "Entry codes", "water_supplies": "Water supplies",
    "alarm_panel": "Alarm panel", "suppression": "Sprinklers / suppression",
    "risers": "Risers", "isolation_gas": "Gas isolation",
    "isolation_electric": "Electricity isolation", "isolation_water": "Water isolation",
    "contacts": "Contacts", "tactical_plan": "Tactical plan",
    "evacuation_strategy": "Evacuation strategy",
    "environmental_plan": "Environmental protection plan", "risk_notes": "Risk notes",
    "observations": "Observations", "attachments": "Attachments",
    "high_rise": "High-rise building",
    "equipment_faults": "Equipment faults", "information_box": "Information box check",
    "version": "Version",
    "deleted": "Deleted", "updated_at": "Last changed", "updated_by": "Changed by",
}
# List fields: what one item is called, and its fields' labels.
ITEMS: dict[str, tuple[str, dict[str, str]]] = {
    "hazards": ("Hazard", {"type": "type", "location": "location on site",
                           "description": "description", "severity": "severity",
                           "hazchem": "Hazchem code", "expires": "expiry date"}),
    "water_supplies": ("Water supply", {"kind": "kind", "location": "location",
                                        "notes": "notes"}),
    "contacts": ("Contact", {"name": "name", "role": "role", "phone": "phone"}),
    "observations": ("Observation", {"category": "category", "note": "note"}),
    "attachments": ("Attachment", {"caption": "caption", "kind": "kind"}),
}
HINTS: dict[str, str] = {
    "postcode": "a UK postcode in capitals, such as AB1 2CD",
    "uprn": "digits only, at most 12",
    "assessed_at": "a date such as 2026-12-01", "expires": "a date such as 2026-12-01",
    "id": "letters, digits, - and _ only",
}
TEMPLATES: dict[str, str] = {
    "too_long": "{label} is too long: {actual} characters, at most {limit}",
    "too_short": "{label} is too short: {actual} characters, at least {limit}",
    "required": "{label} is required",
    "too_high": "{label} is too high: {actual}, at most {limit}",
    "too_low": "{label} is too low: {actual}, at least {limit}",
    "format": "{label} is not in the right form: use {hint}",
    "choice": "{label}: “{actual}” is not one of the choices",
    "number": "{label} must be a number",
    "whole": "{label} must be a whole number",
    "text": "{label} must be text",
    "unknown": "{label} is not a field of a premises record",
    "other": "{label}: {detail}",
}
# Why the server refused a mutation (Receipt.reason), for the person who made it.
REASONS: dict[str, str] = {
    "forbidden": "You may not make this change",
    "invalid": "The change does not fit the record",
    "unknown_premises": "This premises is no longer on the server",
    "unknown_hazard": "This hazard is no longer on the record",
    "unknown_conflict": "This conflict is no longer on the server",
    "conflict_closed": "Someone has already resolved this conflict",
    "exists": "A premises with this id already exists",
    "too_many_conflicts": "This sync would open too many conflicts at once",
    "too_many_open_observations": "This premises has too many observations waiting for review",
}

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Expected `str` of length <= (\d+)$"), "too_long"),
    (re.compile(r"^Expected `str` of length >= (\d+)$"), "too_short"),
    (re.compile(r"^Expected `(?:int|float)` <= ([-\d.]+)$"), "too_high"),
    (re.compile(r"^Expected `(?:int|float)` >= ([-\d.]+)$"), "too_low"),
    (re.compile(r"^Expected `str` matching regex"), "format"),
    (re.compile(r"^Invalid enum value"), "choice"),
    (re.compile(r"^Object missing required field `(\w+)`$"), "missing"),
    (re.compile(r"^Object contains unknown field `(\w+)`$"), "unknown"),
    (re.compile(r"^Expected `(?:float|int \| float)`, got"), "number"),
    (re.compile(r"^Expected `int`, got"), "whole"),
    (re.compile(r"^Expected `str`, got"), "text"),
]


def label(path: str) -> str:
    """A readable name for a path such as `tactical_plan` or `hazards[0].location`."""
    m = re.match(r"^(\w+)(?:\[(\d+)\](?:\.(\w+))?)?", path)
    if not m:
        return "The record"
    top, index, sub = m.groups()
    if top in ITEMS and index is not None:
        item, fields = ITEMS[top]
        head = f"{item} {int(index) + 1}"
        return f"{head} ({fields.get(sub, sub.replace('_', ' '))})" if sub else head
    return LABELS.get(top, top.replace("_", " ").capitalize())


def _value_at(doc: Any, path: str) -> Any:
    for part in re.findall(r"\w+|\[\d+\]", path):
        try:
            doc = doc[int(part[1:-1])] if part.startswith("[") else doc[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return doc


def sentence(kind: str, path: str, *, limit: Any = None, actual: Any = None,
             detail: str = "") -> str:
    """One problem as a sentence, from TEMPLATES."""
    field = re.sub(r"\[\d+\]", "", path).split(".")[-1]
    if kind == "too_short" and limit in (1, "1"):
        kind = "required"
    return TEMPLATES[kind].format(label=label(path), limit=_number(limit), actual=_number(actual),
                                  hint=HINTS.get(field, "the form shown"), detail=detail)


def explain(text: str, doc: Any = None) -> tuple[str, str]:
    """(path, sentence) for a msgspec validation message; `doc` (what was validated) gives
    the offending value, e.g. a text's length."""
    message, path = split_error(text)
    for rule, kind in _RULES:
        m = rule.match(message)
        if not m:
            continue
        value = _value_at(doc, path) if doc is not None else None
        if kind in ("missing", "unknown"):
            named = f"{path}.{m[1]}" if path else m[1]
            return named, sentence("required" if kind == "missing" else kind, named)
        limit = m[1] if m.groups() else None
        actual: Any = value
        if kind in ("too_long", "too_short") and isinstance(value, str):
            actual = len(value)
        return path, sentence(kind, path, limit=limit, actual=actual)
    return path, sentence("other", path, detail=message) if path else message


# Placeholders for a required field found wrong, so the rest of the record is still checked.
_STAND_INS: dict[str, Any] = {"id": "x", "station": "x", "name": "x"}


def every_problem(doc: dict[str, Any]) -> tuple[Premises | None, list[tuple[str, str]]]:
    """Check a whole record and name every wrong field, not only the first msgspec stops at:
    (the record, or None when anything is wrong; [(path, sentence)] in the order found). Each
    wrong field, and each wrong item of a list, is set aside and the rest checked again; an
    item's path keeps its index in `doc`."""
    probe = dict(doc)
    kept: dict[str, list[int]] = {}   # list field -> indices in `doc` of the items still in
    found: list[tuple[str, str]] = []
    for _ in range(len(doc) + sum(len(v) for v in doc.values() if isinstance(v, list)) + 4):
        try:
            record = msgspec.convert(probe, Premises, strict=False)
        except msgspec.ValidationError as exc:
            path, words = explain(str(exc), probe)
            top = re.split(r"[.\[]", path, maxsplit=1)[0]
            item = re.match(rf"^{re.escape(top)}\[(\d+)\]", path)
            if item and isinstance(probe.get(top), list):
                index = kept.setdefault(top, list(range(len(probe[top]))))
                j = int(item[1])
                path = f"{top}[{index[j]}]{path[item.end():]}"
                words = words.replace(label(item[0]), label(f"{top}[{index[j]}]"), 1)
                probe[top] = probe[top][:j] + probe[top][j + 1:]
                del index[j]
            elif top in _STAND_INS:
                if probe.get(top) == _STAND_INS[top]:
                    return None, [*found, (path, words)]
                probe[top] = _STAND_INS[top]
            elif top in probe:
                del probe[top]
            else:
                return None, [*found, (path, words)]
            found.append((path, words))
            continue
        return (None if found else record), found
    return None, found


def reason(code: str | None, message: str = "") -> str:
    """A rejected receipt as one line: the reason in words, then the server's detail
    (pwa/page/check.js `reasonText` says the same)."""
    if code == "invalid" and message:
        return message  # already the plain sentence (`explain`)
    head = REASONS.get(code or "", "The server did not accept this change")
    return f"{head}: {message}" if message else head


def _number(value: Any) -> str:
    """1,234 for whole numbers (61.0 too, as JavaScript writes it), else the value as text."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def for_app() -> dict[str, Any]:
    """What the app checks a record with before saving: the record's JSON Schema (from the
    msgspec types, so limits and vocabularies are the server's) and the text above."""
    return {"schema": msgspec.json.schema(Premises), "labels": LABELS,
            "items": {k: {"item": v[0], "fields": v[1]} for k, v in ITEMS.items()},
            "hints": HINTS, "templates": TEMPLATES, "reasons": REASONS}
