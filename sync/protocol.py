"""Wire messages of the sync protocol (push, pull, receipts, conflicts) as msgspec Structs.

Owns the shapes on the wire, their validation and their JSON; docs/sync-protocol.md is the
prose for every type here. Pure: no I/O, no clock, nothing from server/.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import msgspec

from sync.record import Attachment, Hazard, Id, Observation

PROTOCOL_VERSION = 1
MIN_PROTOCOL_VERSION = 1  # oldest client protocol the server still speaks
PROTOCOL_HEADER = "Watchbook-Protocol"
PENDING_HEADER = "X-Watchbook-Pending"                # optional: unsent edits on the device
OLDEST_PENDING_HEADER = "X-Watchbook-Oldest-Pending"  # optional: the oldest one's client time
CURSOR_HEADER = "Watchbook-Cursor"  # a pull answer's cursor, before its body: the next page
MORE_HEADER = "Watchbook-More"      # "1" if more follows that cursor, else "0"

Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53)]  # fits SQLite and a JavaScript number
Version = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
ClientTime = Annotated[str, msgspec.Meta(max_length=40)]
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
DeviceId = Annotated[str, msgspec.Meta(max_length=64)]


class FieldChange(msgspec.Struct, forbid_unknown_fields=True):
    """One field as the client saw it (`old`) and as it wants it (`new`)."""

    field: FieldName
    old: Any = None
    new: Any = None


class _Mutation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    """Common to every mutation. `seq` counts 1, 2, 3 ... per device; `client_time` is shown,
    never used for ordering; `base_version` is the record version the client edited."""

    device_id: DeviceId = ""
    seq: Seq = 0
    client_time: ClientTime = ""
    premises_id: Id
    base_version: Version = 0


class Update(_Mutation, tag="update"):
    changes: Annotated[list[FieldChange], msgspec.Meta(min_length=1, max_length=64)]


class AddHazard(_Mutation, tag="add_hazard"):
    hazard: Hazard


class RemoveHazard(_Mutation, tag="remove_hazard"):
    hazard_id: Id
    old: Hazard | None = None  # the hazard as the client last saw it; a clash is a conflict


class UpdateHazard(_Mutation, tag="update_hazard"):
    hazard_id: Id
    changes: Annotated[list[FieldChange], msgspec.Meta(min_length=1, max_length=16)]


class CreatePremises(_Mutation, tag="create"):
    # A whole Premises record. The engine checks it, not the decoder, so a bad value in it is
    # a rejected receipt naming the field and the rest of the push still applies.
    record: Annotated[dict[str, Any], msgspec.Meta(
        description="A whole premises record (the Premises schema), checked when applied")]


class DeletePremises(_Mutation, tag="delete"):
    pass


class RestorePremises(_Mutation, tag="restore"):
    """Bring a deleted record back (while its tombstone is kept); a live one is left alone."""


class AddObservation(_Mutation, tag="add_observation"):
    observation: Observation


class ReviewObservation(_Mutation, tag="review_observation"):
    observation_id: Id
    status: Literal["accepted", "dismissed"]
    # The status the device saw, so two reviews that differ clash (a conflict); None (clients
    # before it was sent): the server's, and the later review simply applies.
    old: Literal["open", "accepted", "dismissed"] | None = None


class ResolveConflict(_Mutation, tag="resolve_conflict"):
    conflict_id: Id
    choice: Literal["server", "client", "value", "keep", "delete"]
    value: Any = None  # the combined value when choice == "value"


class Attach(_Mutation, tag="attach"):
    """Reference a blob from the record; the blob may still be uploading (`available` false
    until the server has it)."""

    attachment: Attachment


class Detach(_Mutation, tag="detach"):
    attachment_id: Id
    old: Attachment | None = None  # the attachment as the client last saw it


Mutation = (Update | AddHazard | RemoveHazard | UpdateHazard | CreatePremises | DeletePremises
            | RestorePremises | AddObservation | ReviewObservation | ResolveConflict | Attach
            | Detach)



def kind_of(m: Mutation) -> str:
    """The wire tag of a mutation ("update", "add_hazard", ...)."""
    return str(type(m).__struct_config__.tag)


ReceiptStatus = Literal["applied", "merged", "conflict", "rejected"]
RejectReason = Literal["forbidden", "invalid", "unknown_premises", "unknown_hazard",
                       "unknown_conflict", "conflict_closed", "exists", "too_many_conflicts",
                       "too_many_open_observations"]


class Receipt(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The server's answer for one mutation; stored, and returned again on a retry."""

    seq: int
    status: ReceiptStatus
    premises_id: str
    version: int | None = None          # the record's version after this mutation
    conflict_ids: list[str] = []
    reason: RejectReason | None = None  # only when rejected
    message: str = ""


class PushRequest(msgspec.Struct, forbid_unknown_fields=True):
    mutations: list[Mutation]
    protocol: int | None = None  # or the Watchbook-Protocol header


class PushResponse(msgspec.Struct, kw_only=True):
    receipts: list[Receipt]
    next_seq: int              # the seq the server expects next from this device
    gap: bool = False          # a mutation's seq skipped ahead; it and later ones were refused
    protocol: int = PROTOCOL_VERSION


class Author(msgspec.Struct, kw_only=True, omit_defaults=True):
    user: str
    device: str = ""
    device_name: str = ""  # the device's enrolled name ("Pump 1 WIS"; "Console")
    at: str = ""           # server time
    client_time: str = ""  # informational


class Conflict(msgspec.Struct, kw_only=True):
    """Two edits of the same thing that the server would not choose between.

    `path` is a record field (`risk_notes`), a hazard (`hazards/h1`), a hazard field
    (`hazards/h1/location`) or `deleted` (edit against a deleted record or delete against an
    edited one). While open, the record keeps the server value.
    """

    id: str
    premises_id: str
    station: str
    path: str
    base: Any
    server: Any
    client: Any
    server_author: Author | None
    client_author: Author
    mutation: dict[str, Any] | None = None  # the client mutation, replayed if kept
    status: Literal["open", "resolved"] = "open"
    resolution: Literal["server", "client", "value", "keep", "delete"] | None = None
    resolved_value: Any = None
    resolved_by: Author | None = None
    created_at: str = ""


class PremisesChange(msgspec.Struct, tag="premises", tag_field="type"):
    seq: int
    record: dict[str, Any]  # a whole record; `deleted: true` is a tombstone


class ConflictChange(msgspec.Struct, tag="conflict", tag_field="type"):
    seq: int
    conflict: Conflict


Change = PremisesChange | ConflictChange


class PullResponse(msgspec.Struct, kw_only=True):
    changes: list[Change]
    cursor: str
    more: bool
    reset: bool = False             # forget the cursor: this pull restarts the whole scope
    total: int | None = None        # items in scope, on a pull that starts from the beginning
    left_scope: list[str] = []      # records no longer in the device's scope
    protocol: int = PROTOCOL_VERSION


class PullTail(msgspec.Struct, kw_only=True):
    """PullResponse without `changes`: encoded and spliced after the raw change items."""

    cursor: str
    more: bool
    reset: bool = False
    total: int | None = None
    left_scope: list[str] = []
    protocol: int = PROTOCOL_VERSION


TAIL_MARK = b'],"cursor":"'  # where a pull page's changes end and its PullTail begins
_tail_decoder = msgspec.json.Decoder(PullTail)


def page_tail(body: bytes) -> tuple[int, PullTail] | None:
    """Where a pull page's changes end (the offset of their closing `]`) and its tail, or None
    if it is not one. Quotes inside strings are escaped in JSON, so the last TAIL_MARK is where
    the tail begins. Copies only the tail."""
    at = body.rfind(TAIL_MARK)
    if at < 0:
        return None
    try:
        return at, _tail_decoder.decode(b"{" + body[at + 2:])
    except msgspec.DecodeError:
        return None


# -- cursor ---------------------------------------------------------------------------------

class Cursor(msgspec.Struct, array_like=True):
    """Opaque to clients: the server epoch, last change seq delivered, the scope it covers, and
    the tombstone horizon when it was issued (a page of a pass from the beginning sits below
    the horizon; only a purge after it outdates the cursor)."""

    epoch: str
    seq: int
    grounds: list[str]
    horizon: int = 0


_cursor_encode = msgspec.json.Encoder().encode
_cursor_decoder = msgspec.json.Decoder(Cursor)


def encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(_cursor_encode(cursor)).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor | None:
    """The cursor, or None if it is empty or malformed."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return _cursor_decoder.decode(raw)
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
        return None


# -- codecs ---------------------------------------------------------------------------------

encoder = msgspec.json.Encoder()
push_request_decoder = msgspec.json.Decoder(PushRequest)
push_response_decoder = msgspec.json.Decoder(PushResponse)
pull_response_decoder = msgspec.json.Decoder(PullResponse)
receipt_decoder = msgspec.json.Decoder(Receipt)


def encode_pull(items: list[tuple[int, str, bytes]], tail: PullTail) -> bytes:
    """A PullResponse from raw stored JSON (kind "p" premises doc, "c" conflict doc) without
    re-parsing any of it: the stored bytes are spliced in, copied once (by the one join)."""
    out = [b'{"changes":[']
    add = out.append
    for seq, kind, raw in items:
        add(b'{"type":"premises","seq":%d,"record":' % seq if kind == "p"
            else b'{"type":"conflict","seq":%d,"conflict":' % seq)
        add(raw)
        add(b"},")
    if items:
        out[-1] = b"}"
    out.append(b"],")
    out.append(encoder.encode(tail)[1:])
    return b"".join(out)
