"""What a share gives a partner, as pure rules: which records (scope), which fields (named
profiles, sensitive fields only when ticked with a reason), whether it is live (not ended,
not expired), the checks on a new share's form, and how old a record's shared risk
information is (its assessment and the last change of the share's fields, from history).

`shared_view(doc, share, today)` is THE field filter: a record in, the partner's view out
(None when the record is outside the share or the share is not live), with the union of the
fields of every live share given to the same partner that holds it. No I/O, no clock:
`today` is passed in. Must not read or write the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.errors import ApiError
from sync.record import SENSITIVE_FIELDS, Premises

IDENTITY = ("name", "address", "postcode", "uprn", "lat", "lon", "use", "risk_level")
ALWAYS = ("id", "station", "updated_at")  # which record, whose ground, its last write
PROFILES: dict[str, tuple[str, ...]] = {
    "operational_summary": (*IDENTITY, "hazards", "rvp", "access_points", "water_supplies"),
    "full_without_sensitive": (
        *IDENTITY, "risk_score", "assessed_at", "next_review_due", "harms", "hazards", "rvp",
        "access_points", "key_holder", "water_supplies", "alarm_panel", "suppression",
        "risers", "isolation_gas", "isolation_electric", "isolation_water", "contacts",
        "tactical_plan", "evacuation_strategy", "environmental_plan", "risk_notes"),
}
PROFILE_LABELS = {
    "operational_summary": "Operational summary: identity, hazards, access and RVP, water",
    "full_without_sensitive": "Full record without sensitive fields",
}
SENSITIVE = tuple(sorted(SENSITIVE_FIELDS))  # key_box, entry_codes
SENSITIVE_LABELS = {"key_box": "Key box", "entry_codes": "Entry codes"}
KINDS = ("police", "council", "ambulance", "fire", "other")  # a partner organisation's kind
LEVELS = (1, 2, 3, 4)
MAX_POLYGON_POINTS = 1000


def _defaults() -> dict[str, Any]:
    """Each record field's value when a stored record leaves it out (the record type's)."""
    out: dict[str, Any] = {}
    for f in msgspec.structs.fields(Premises):
        if f.default is not msgspec.NODEFAULT:
            out[f.name] = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            out[f.name] = f.default_factory()
    return out


DEFAULTS = _defaults()


@dataclass(frozen=True)
class Scope:
    """The part of the owning service's records a share covers; each empty part means all."""

    stations: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    polygon: tuple[tuple[float, float], ...] = ()          # (lon, lat) ring
    levels: tuple[int, ...] = ()
    uses: tuple[str, ...] = ()                               # lower-cased, matched exactly

    def to_json(self) -> str:
        return json.dumps({"stations": list(self.stations), "bbox": self.bbox,
                           "polygon": [list(p) for p in self.polygon],
                           "levels": list(self.levels), "uses": list(self.uses)})

    @classmethod
    def from_json(cls, text: str) -> Scope:
        raw = json.loads(text)
        bbox = raw.get("bbox")
        return cls(stations=tuple(raw.get("stations", [])),
                   bbox=tuple(bbox) if bbox else None,
                   polygon=tuple((float(x), float(y)) for x, y in raw.get("polygon", [])),
                   levels=tuple(raw.get("levels", [])), uses=tuple(raw.get("uses", [])))

    @property
    def has_area(self) -> bool:
        return self.bbox is not None or bool(self.polygon)


@dataclass(frozen=True)
class Share:
    id: int
    owner_id: int
    partner_id: int
    purpose: str
    scope: Scope
    profile: str
    expires_on: str
    sensitive: tuple[str, ...] = ()
    sensitive_reason: str = ""
    contribute: bool = False  # the partner may send observations about records in the share
    created_at: str = ""
    created_by: str = ""
    ended_at: str | None = None
    ended_by: str | None = None
    partner_name: str = ""
    owner_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # the other shares given to the same partner by the same owner (read with this one):
    # a record in this share and in a live one of them gets the fields of both
    also: tuple[Share, ...] = ()


def with_siblings(share: Share, given: Sequence[Share]) -> Share:
    """`share` knowing the other shares its owner gave its partner (`given`: the shares
    given to the partner, any owner, live or not; the rule keeps what counts)."""
    return dataclasses.replace(share, also=tuple(
        dataclasses.replace(s, also=()) for s in given
        if s.id != share.id and s.owner_id == share.owner_id
        and s.partner_id == share.partner_id))


def status(share: Share, today: str) -> str:
    """'ended', 'expired' or 'live'. Access ends as the expiry date begins (00:00 UTC)."""
    if share.ended_at:
        return "ended"
    return "expired" if today >= share.expires_on else "live"


def is_live(share: Share, today: str) -> bool:
    return status(share, today) == "live"


def fields_of(share: Share) -> tuple[str, ...]:
    """Every field the share serves: the fixed ones, the profile's, the sensitive ticked."""
    return (*ALWAYS, *PROFILES.get(share.profile, ()),
            *(f for f in SENSITIVE if f in share.sensitive))


def fields_for(doc: Mapping[str, Any], share: Share, today: str) -> tuple[str, ...]:
    """The fields a record of `share` is served with: the union of the fields of `share`
    and of each live sibling share (`share.also`) whose scope holds the record; a sensitive
    field only if one of those shares ticks it."""
    granting = [share, *(s for s in share.also if is_live(s, today) and in_scope(doc, s.scope))]
    return tuple(dict.fromkeys(f for s in granting for f in fields_of(s)))


def inside_polygon(lon: float, lat: float, ring: Sequence[tuple[float, float]]) -> bool:
    """Even-odd ray casting; a ring need not repeat its first point."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def in_scope(doc: Mapping[str, Any], scope: Scope) -> bool:
    """Whether a live record lies in the share's part of the records. A record with no
    position is outside any share with an area."""
    if doc.get("deleted"):
        return False
    if scope.stations and doc.get("station") not in scope.stations:
        return False
    if scope.levels and doc.get("risk_level") not in scope.levels:
        return False
    if scope.uses and str(doc.get("use", "")).strip().lower() not in scope.uses:
        return False
    if scope.has_area:
        lat, lon = doc.get("lat"), doc.get("lon")
        if lat is None or lon is None:
            return False
        if scope.bbox is not None:
            w, s, e, n = scope.bbox
            if not (w <= lon <= e and s <= lat <= n):
                return False
        if scope.polygon and not inside_polygon(lon, lat, scope.polygon):
            return False
    return True


def shared_view(doc: Mapping[str, Any], share: Share, today: str) -> dict[str, Any] | None:
    """The record as the partner may see it: only the share's fields, or None when the share
    is not live or the record is outside it."""
    if not is_live(share, today) or not in_scope(doc, share.scope):
        return None
    return {f: doc[f] if f in doc else DEFAULTS.get(f) for f in fields_for(doc, share, today)}


# -- a new share's form ---------------------------------------------------------------------
def _invalid(field_name: str, message: str) -> ApiError:
    return ApiError(422, "invalid", message, field_name)


def _number(text: str, field_name: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _invalid(field_name, f"{what}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _invalid(field_name, f"{what}: {text!r} is not a number")
    return value


def parse_bbox(text: str) -> tuple[float, float, float, float] | None:
    """'min lon, min lat, max lon, max lat' (GeoJSON's bbox order), or None when empty."""
    if not text.strip():
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise _invalid("bbox", "The bounding box needs four numbers: west (min longitude), "
                       "south (min latitude), east, north, separated by commas")
    w, s, e, n = (_number(p, "bbox", "The bounding box") for p in parts)
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise _invalid("bbox", "The bounding box is off the map: longitudes run −180 to 180, "
                       "latitudes −90 to 90")
    if w >= e or s >= n:
        raise _invalid("bbox", "The bounding box is empty: west must be less than east and "
                       "south less than north")
    return (w, s, e, n)


def parse_polygon(text: str) -> tuple[tuple[float, float], ...]:
    """A GeoJSON Polygon (its outer ring) or a bare list of [lon, lat] points; () if empty."""
    if not text.strip():
        return ()
    try:
        raw = json.loads(text)
    except ValueError:
        raise _invalid("polygon", "The area is not GeoJSON: paste a Polygon such as "
                       '{"type": "Polygon", "coordinates": [[[lon, lat], …]]}') from None
    if isinstance(raw, dict) and raw.get("type") == "Feature":
        raw = raw.get("geometry")
    if isinstance(raw, dict):
        if raw.get("type") != "Polygon" or not isinstance(raw.get("coordinates"), list) \
                or not raw["coordinates"]:
            raise _invalid("polygon", "The area must be a GeoJSON Polygon")
        raw = raw["coordinates"][0]
    if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_POLYGON_POINTS + 1:
        raise _invalid("polygon", f"The area needs 3 to {MAX_POLYGON_POINTS} points")
    ring: list[tuple[float, float]] = []
    for point in raw:
        if not isinstance(point, list) or len(point) < 2 \
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in point[:2]):
            raise _invalid("polygon", "Each point of the area must be [longitude, latitude]")
        lon, lat = float(point[0]), float(point[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise _invalid("polygon", "A point of the area is off the map")
        ring.append((lon, lat))
    if ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise _invalid("polygon", "The area needs at least 3 different points")
    return tuple(ring)


def parse_expiry(text: str, today: str) -> str:
    if not text.strip():
        raise _invalid("expires_on", "A share needs an expiry date (YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _invalid("expires_on", f"The expiry date {text!r} is not a date (YYYY-MM-DD)"
                       ) from None
    if day.isoformat() <= today:
        raise _invalid("expires_on", "The expiry date must be after today")
    if day > dt.date.fromisoformat(today) + dt.timedelta(days=5 * 366):
        raise _invalid("expires_on", "The expiry date must be within five years")
    return day.isoformat()


@dataclass(frozen=True)
class ShareRequest:
    partner_id: int
    purpose: str
    scope: Scope
    profile: str
    expires_on: str
    sensitive: tuple[str, ...]
    sensitive_reason: str
    contribute: bool = False


def parse_request(form: Mapping[str, Any], today: str, partners: Sequence[int],
                  stations: Sequence[str]) -> ShareRequest:
    """Check a share's form: `form` maps names to text, `sensitive` and `stations` and
    `levels` to lists of text. `partners` and `stations` are the ids and codes that exist.
    Raises ApiError 422 naming the first bad field."""
    raw_partner = str(form.get("partner", "")).strip()
    if not raw_partner:
        raise _invalid("partner", "Choose the partner organisation to share with")
    if not raw_partner.isdigit() or int(raw_partner) not in partners:
        raise _invalid("partner", f"There is no partner organisation {raw_partner!r}")
    purpose = str(form.get("purpose", "")).strip()
    if not purpose:
        raise _invalid("purpose", "Say what the share is for (its purpose)")
    if len(purpose) > 500:
        raise _invalid("purpose", "The purpose must be at most 500 characters")
    profile = str(form.get("profile", "")).strip()
    if profile not in PROFILES:
        raise _invalid("profile", "Choose a field profile: " + ", ".join(PROFILES))
    codes = tuple(dict.fromkeys(str(s).strip().upper() for s in form.get("stations", [])
                                if str(s).strip()))
    for code in codes:
        if code not in stations:
            raise _invalid("stations", f"There is no station {code!r} in this service")
    levels: list[int] = []
    for level in form.get("levels", []):
        text = str(level).strip()
        if not text:
            continue
        if not text.isdigit() or int(text) not in LEVELS:
            raise _invalid("levels", f"Risk level {text!r} is not one of 1, 2, 3, 4")
        levels.append(int(text))
    uses = tuple(dict.fromkeys(u.strip().lower() for u in str(form.get("uses", "")).split(",")
                               if u.strip()))
    if any(len(u) > 200 for u in uses):
        raise _invalid("uses", "Each use must be at most 200 characters")
    scope = Scope(stations=codes, bbox=parse_bbox(str(form.get("bbox", ""))),
                  polygon=parse_polygon(str(form.get("polygon", ""))),
                  levels=tuple(sorted(set(levels))), uses=uses)
    sensitive = tuple(dict.fromkeys(str(s).strip() for s in form.get("sensitive", [])
                                    if str(s).strip()))
    for name in sensitive:
        if name not in SENSITIVE:
            raise _invalid("sensitive", f"{name!r} is not a sensitive field "
                           f"({', '.join(SENSITIVE)})")
    reason = str(form.get("sensitive_reason", "")).strip()
    if sensitive and not reason:
        raise _invalid("sensitive_reason", "Sharing key box or entry codes needs a recorded "
                       "reason")
    if len(reason) > 500:
        raise _invalid("sensitive_reason", "The reason must be at most 500 characters")
    expires_on = parse_expiry(str(form.get("expires_on", "")), today)
    contribute = str(form.get("contribute", "")).strip().lower() in ("1", "on", "yes", "true")
    return ShareRequest(int(raw_partner), purpose, scope, profile, expires_on, sensitive,
                        reason if sensitive else "", contribute)


# -- how old the shared risk information is ------------------------------------------------
def content_fields(share: Share) -> frozenset[str]:
    """The fields whose change is a change of what the partner is given (not its age stamp)."""
    return frozenset(fields_of(share)) - {"id", "updated_at"}


def content_changed_at(entries: Sequence[Mapping[str, Any]], share: Share,
                       served: Iterable[str] | None = None) -> str | None:
    """When the share's fields of a record (or the fields `served`, when given: a record
    in two shares) last changed, from its history entries (newest first): the first entry
    that created the record or changed one of those fields. None when the history kept has
    no such entry. An observation, an attachment or any other write outside those fields
    does not count."""
    wanted = (content_fields(share) if served is None
              else frozenset(served) - {"id", "updated_at", "shared"})
    for entry in entries:
        before, after = entry.get("before") or {}, entry.get("after") or {}
        if not before and after:  # the record created (audited whole)
            return str(entry.get("server_time") or "") or None
        if any(k in wanted and before.get(k) != v for k, v in after.items()) or any(
                i.get("field") in wanted and i.get("change") != "unchanged"
                for i in entry.get("items") or ()):
            return str(entry.get("server_time") or "") or None
    return None


def ago(stamp: str | None, now: str) -> str | None:
    """How long before `now` an ISO date or time was, in plain words ("14 months ago");
    None when it is not a date."""
    if not stamp:
        return None
    try:
        then = dt.date.fromisoformat(str(stamp)[:10])
        ref = dt.date.fromisoformat(now[:10])
    except ValueError:
        return None
    days = (ref - then).days
    if days < 0:
        return "in the future"
    if days == 0:
        return "today"
    if days < 45:
        return f"{days} day{'' if days == 1 else 's'} ago"
    months = (ref.year - then.year) * 12 + ref.month - then.month - (ref.day < then.day)
    if months < 24:
        return f"{max(months, 1)} month{'' if max(months, 1) == 1 else 's'} ago"
    return f"{months // 12} years ago"


def information_age(doc: Mapping[str, Any], changed_at: str | None, now: str
                    ) -> dict[str, Any]:
    """The age of a record's risk information, for every profile: when it was last assessed
    (`assessed_at`, None if never) and when the share's content last changed (None when the
    history kept does not say), each with plain words. A record's last write is not its age:
    an observation or bookkeeping write changes no risk information."""
    assessed = doc.get("assessed_at") or None
    assessed_words = ago(assessed, now)
    changed_words = ago(changed_at, now)
    return {
        "assessed_at": assessed,
        "content_changed_at": changed_at,
        "assessed": f"Last inspected {assessed_words}" if assessed_words
        else "Never inspected: no risk assessment is recorded",
        "changed": f"Shared details last changed {changed_words}" if changed_words
        else "Shared details: no change in the history kept",
    }
