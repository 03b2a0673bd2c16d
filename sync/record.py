"""The premises record: its fields, their kinds, the hazard taxonomy and derived values.

Owns the shape every layer shares (wire, store, views). Pure: no I/O, no clock.
A record is a plain dict on the wire and in storage; the Structs here validate it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import msgspec

HAZARD_TYPES: dict[str, str] = {
    "acetylene": "Acetylene cylinders",
    "lpg": "LPG",
    "asbestos": "Asbestos",
    "lithium_batteries": "Lithium batteries",
    "bess": "Battery energy storage",
    "solar_pv": "Solar PV",
    "hazardous_chemicals": "Hazardous chemicals",
    "flammable_liquids": "Flammable liquids",
    "compressed_gases": "Compressed gases",
    "oxygen": "Oxygen (medical or industrial)",
    "explosives": "Explosives",
    "structural_weakness": "Structural weakness",
    "deep_basement": "Deep basement",
    "hoarding": "Hoarding",
    "combustible_cladding": "Combustible cladding",
    "scaffolding": "Scaffolding",
    "confined_space": "Confined space",
    "overhead_power": "Overhead power lines",
    "silo": "Silos / grain dust",
    "livestock": "Livestock",
    "radiation": "Radiation source",
    "blocked_access": "Blocked or restricted access",
}
Severity = Literal["high", "medium", "low"]
EVACUATION_STRATEGIES: dict[str, str] = {
    "stay_put": "Stay put",
    "simultaneous": "Simultaneous",
    "phased": "Phased",
    "progressive_horizontal": "Progressive horizontal",
    "temporary_simultaneous": "Temporary simultaneous",
}
if TYPE_CHECKING:  # the labels above are the one list; a type checker sees plain strings
    HazardType = str
    Evacuation = str
else:
    HazardType = Literal[tuple(HAZARD_TYPES)]
    Evacuation = Literal[("", *EVACUATION_STRATEGIES)]
Harm = Literal["life_public", "life_firefighter", "environment", "heritage", "economic",
               "community"]
HARMS: tuple[str, ...] = get_args(Harm)
ObservationCategory = Literal["access", "hazard", "water", "contact", "building_works", "other"]
OBSERVATION_CATEGORIES: tuple[str, ...] = get_args(ObservationCategory)

Text = Annotated[str, msgspec.Meta(max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# A calendar date, 1900-2999 (so what is derived from it stays a date): months 01-12, days that
# month has, 29 February in leap years only. One pattern, so the app (pwa/page/check.js, from
# the JSON Schema) checks the same; `$(?!\n)` because Python's `$` also matches before a final
# newline ("2024-01-01\n"), which JavaScript's does not.
_YEAR = r"(?:19|2\d)\d{2}"
_MONTH_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
              r"|02-(?:0[1-9]|1\d|2[0-8]))")
_LEAP_DAY = r"(?:(?:19|2\d)(?:0[48]|[2468][048]|[13579][26])|2[048]00)-02-29"
DATE_PATTERN = rf"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})$(?!\n)"
Date = Annotated[str, msgspec.Meta(pattern=DATE_PATTERN)]
# Derived by the server (next_review_due): date-shaped, whatever the review intervals add.
DerivedDate = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$(?!\n)")]
# Empty allowed inside the pattern: msgspec cannot union a constrained str with Literal[""].
Postcode = Annotated[str, msgspec.Meta(max_length=8,
                                       pattern=r"^([A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})?$")]
Uprn = Annotated[str, msgspec.Meta(pattern=r"^([0-9]{1,12})?$")]
Lat = Annotated[float, msgspec.Meta(ge=49.0, le=61.0)]
Lon = Annotated[float, msgspec.Meta(ge=-9.0, le=2.5)]
Level = Annotated[int, msgspec.Meta(ge=1, le=4)]
Score = Annotated[int, msgspec.Meta(ge=0, le=100)]


class Hazard(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    type: HazardType
    location: Text = ""
    description: LongText = ""
    severity: Severity = "medium"
    hazchem: Annotated[str, msgspec.Meta(max_length=8)] = ""
    expires: Date | None = None


class WaterSupply(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["hydrant", "static_tank", "open_water", "dry_main", "other"]
    location: Text = ""
    notes: Text = ""


class Contact(msgspec.Struct, forbid_unknown_fields=True):
    name: Text
    role: Text = ""
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""


class Observation(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    category: ObservationCategory
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    by: Text = ""
    at: Text = ""
    status: Literal["open", "accepted", "dismissed"] = "open"


Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
AttachmentKind = Literal["photo", "floor_plan", "site_plan"]
ATTACHMENT_KINDS: tuple[str, ...] = get_args(AttachmentKind)


class Attachment(msgspec.Struct, forbid_unknown_fields=True):
    """A photo or plan: the blob (named by the SHA-256 of its bytes) and what it shows.

    `available` is kept by the server: false while the device is still uploading the blob.
    `observation_id` ties a crew's photo to their observation. `by` and `at` are set by the
    server when it is attached."""

    id: Id
    sha256: Sha256
    kind: AttachmentKind
    content_type: Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]
    size: Annotated[int, msgspec.Meta(ge=1)]
    caption: Text = ""
    observation_id: Id | None = None
    available: bool = False
    by: Text = ""
    at: Text = ""


WallRisk = Literal["low", "medium", "high"]
WALL_RISKS: dict[str, str] = {"low": "Low", "medium": "Medium", "high": "High"}


class ExternalWall(msgspec.Struct, forbid_unknown_fields=True):
    """The external wall information a responsible person sent (reg. 5) and the service
    accepted: design and materials, the level of risk they pose, the mitigation taken, and
    whether it reports a material change. `version` and `accepted_at` name the submission."""

    design_materials: LongText
    risk: WallRisk
    mitigation: LongText = ""
    material_change: bool = False
    version: Annotated[int, msgspec.Meta(ge=1)] = 1
    accepted_at: Text = ""
    submitted_by: Text = ""


class HighRise(msgspec.Struct, forbid_unknown_fields=True):
    """A high-rise residential building (at least 18 m or 7 storeys) and its responsible
    person, who sends plans, wall information and faults through a submission link."""

    height_m: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None
    storeys: Annotated[int, msgspec.Meta(ge=1, le=300)] | None = None
    responsible_person: Text = ""
    organisation: Text = ""
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    email: Annotated[str, msgspec.Meta(max_length=254)] = ""
    external_wall: ExternalWall | None = None  # left out of the record while unset


# Lifts for firefighters and key firefighting equipment (Fire Safety (England) Regulations
# 2022, reg. 7): what a responsible person reports out of order.
FAULT_KINDS: dict[str, str] = {
    "firefighting_lift": "Firefighting lift", "dry_riser": "Dry riser", "wet_riser": "Wet riser",
    "evacuation_alert": "Evacuation alert system", "smoke_control": "Smoke control",
    "sprinklers": "Sprinklers", "other": "Other firefighting equipment"}
FaultKind = Literal["firefighting_lift", "dry_riser", "wet_riser", "evacuation_alert",
                    "smoke_control", "sprinklers", "other"]


class EquipmentFault(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An open fault reported through a submission link (`id`: its reference number); it
    leaves the record when reported repaired (the faults table keeps the history).
    `for_review`: no repair reported within the set time (server/submissions.py);
    `confirmed_by`/`confirmed_on`: a supervisor confirmed it still out of order."""

    id: Id
    kind: FaultKind
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    since: Date | None = None
    reported_by: Text = ""
    reported_at: Text = ""
    for_review: bool = False
    confirmed_by: Text = ""
    confirmed_on: Date | None = None


# The annual check of a high-rise building's secure information box (reg. 4).
BOX_OUTCOMES: dict[str, str] = {"ok": "Box present and contents current",
                                "problems": "Problems found"}


class InformationBox(msgspec.Struct, forbid_unknown_fields=True):
    """The latest information-box check its responsible person recorded: `due` is a year
    after `checked_on` (the check is overdue after it); `problems` says what was found."""

    checked_on: Date
    due: Date
    outcome: Literal["ok", "problems"]
    problems: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    reported_by: Text = ""


class Premises(msgspec.Struct, forbid_unknown_fields=True):
    """A whole premises record as stored and as pulled by devices."""

    id: Id
    station: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    address: Text = ""
    postcode: Postcode = ""
    uprn: Uprn = ""
    lat: Lat | None = None
    lon: Lon | None = None
    use: Text = ""
    risk_level: Level = 4
    risk_score: Score = 0
    assessed_at: Date | None = None
    assessed_by: Text = ""
    next_review_due: DerivedDate | None = None
    harms: list[Harm] = []
    hazards: list[Hazard] = []
    rvp: Text = ""
    access_points: LongText = ""
    key_holder: Text = ""
    key_box: Text = ""
    entry_codes: Text = ""
    water_supplies: list[WaterSupply] = []
    alarm_panel: Text = ""
    suppression: Text = ""
    risers: Text = ""
    isolation_gas: Text = ""
    isolation_electric: Text = ""
    isolation_water: Text = ""
    contacts: list[Contact] = []
    tactical_plan: LongText = ""
    evacuation_strategy: Evacuation = ""
    environmental_plan: LongText = ""
    risk_notes: LongText = ""
    observations: list[Observation] = []
    attachments: list[Attachment] = []
    high_rise: HighRise | None = None
    equipment_faults: list[EquipmentFault] | None = None
    information_box: InformationBox | None = None
    version: int = 0
    deleted: bool = False
    updated_at: str = ""
    updated_by: str = ""


# Fields a device may change with an `update` mutation (one old/new pair each).
EDITABLE_FIELDS: frozenset[str] = frozenset({
    "station", "name", "address", "postcode", "uprn", "lat", "lon", "use",
    "risk_level", "risk_score", "assessed_at", "assessed_by", "harms",
    "rvp", "access_points", "key_holder", "key_box", "entry_codes", "water_supplies",
    "alarm_panel", "suppression", "risers", "isolation_gas", "isolation_electric",
    "isolation_water", "contacts", "tactical_plan", "evacuation_strategy",
    "environmental_plan", "risk_notes",
})
# Free text: never merged automatically, a clash is always a conflict.
FREE_TEXT_FIELDS: frozenset[str] = frozenset({
    "access_points", "tactical_plan", "environmental_plan", "risk_notes",
})
# Shown to crews and supervisors, left out of partner and export views unless an admin asks.
SENSITIVE_FIELDS: frozenset[str] = frozenset({"key_box", "entry_codes"})
# Maintained by the server; never sent in an update.
SERVER_FIELDS: frozenset[str] = frozenset({
    "id", "version", "deleted", "updated_at", "updated_by", "next_review_due",
    "hazards", "observations", "attachments", "high_rise",
    "equipment_faults", "information_box",
})

DEFAULT_REVIEW_INTERVAL_DAYS: dict[int, int] = {1: 365, 2: 730, 3: 1095, 4: 1095}

_POSTCODE_FORM = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$")


def normal_postcode(text: str) -> str:
    """A postcode as stored: capitals, one space before the inward code (`pe159zz` and
    `pe15  9zz` become `PE15 9ZZ`). Text that is no postcode comes back trimmed and in
    capitals, for validation to name."""
    squeezed = re.sub(r"\s+", "", text).upper()
    spaced = f"{squeezed[:-3]} {squeezed[-3:]}"
    return spaced if _POSTCODE_FORM.match(spaced) else " ".join(text.split()).upper()


def validate(doc: dict[str, object]) -> Premises:
    """Validate a record dict; raises msgspec.ValidationError naming the field."""
    return msgspec.convert(doc, Premises)


# Optional fields added later: left out of a record's dict while unset, so records without
# them stay as they were, byte for byte (on the wire, in storage and in the audit).
OMITTED_WHEN_UNSET: frozenset[str] = frozenset({"high_rise", "equipment_faults",
                                                "information_box"})


def to_dict(record: Premises) -> dict[str, object]:
    doc: dict[str, object] = msgspec.to_builtins(record)
    for name in OMITTED_WHEN_UNSET:
        if doc.get(name) in (None, []):
            doc.pop(name, None)
    high_rise = doc.get("high_rise")
    if isinstance(high_rise, dict) and high_rise.get("external_wall") is None:
        high_rise.pop("external_wall", None)
    return doc


def hazard_expired(hazard: dict[str, object], today: str) -> bool:
    """A temporary hazard lapses after its `expires` date (an ISO date; the day itself still
    counts). `today` is passed in (ISO date). An expired hazard is shown as expired and flagged
    for review, never as current. pwa/page/hazards.js is this rule's twin, held to it by
    tests/cases/hazard_expiry.json."""
    expires = hazard.get("expires")
    return isinstance(expires, str) and bool(expires) and expires < today


def current_hazard_types(hazards: list[dict[str, object]], today: str) -> list[str]:
    """The hazard types still in force on `today`, sorted and distinct."""
    return sorted({str(h["type"]) for h in hazards if not hazard_expired(h, today)})


def next_review_due(assessed_at: str | None, level: int, intervals: dict[int, int]) -> str | None:
    """The date the next review falls due: assessed date plus the level's interval."""
    if not assessed_at:
        return None
    days = intervals.get(level, DEFAULT_REVIEW_INTERVAL_DAYS.get(level, 365))
    return (dt.date.fromisoformat(assessed_at) + dt.timedelta(days=days)).isoformat()
