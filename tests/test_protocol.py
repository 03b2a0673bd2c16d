"""The wire messages (sync/protocol.py): mutations decode by their kind, receipts leave out
their defaults, cursors are opaque and forgiving, pull pages splice stored JSON unparsed."""

from __future__ import annotations

import base64

import msgspec
import pytest

from sync.protocol import (
    AddHazard,
    ConflictChange,
    Cursor,
    PremisesChange,
    PullTail,
    Receipt,
    Update,
    decode_cursor,
    encode_cursor,
    encode_pull,
    encoder,
    kind_of,
    pull_response_decoder,
    push_request_decoder,
)


def test_mutations_decode_by_their_kind_tag() -> None:
    req = push_request_decoder.decode(msgspec.json.encode({"mutations": [
        {"kind": "update", "seq": 1, "premises_id": "p1",
         "changes": [{"field": "rvp", "old": "", "new": "Gate"}]},
        {"kind": "add_hazard", "seq": 2, "premises_id": "p1",
         "hazard": {"id": "h1", "type": "asbestos"}}]}))
    assert [type(m) for m in req.mutations] == [Update, AddHazard]
    assert [kind_of(m) for m in req.mutations] == ["update", "add_hazard"]
    with pytest.raises(msgspec.ValidationError, match="kind"):
        push_request_decoder.decode(b'{"mutations": [{"kind": "sudo", "premises_id": "p1"}]}')


def test_a_receipt_leaves_out_its_defaults_on_the_wire() -> None:
    assert msgspec.json.decode(encoder.encode(Receipt(seq=3, status="applied",
                                                      premises_id="p1"))) == {
        "seq": 3, "status": "applied", "premises_id": "p1"}


def test_a_cursor_round_trips_and_anything_else_reads_as_no_cursor() -> None:
    cursor = Cursor("e1", 42, ["A01", "B02"])
    assert decode_cursor(encode_cursor(cursor)) == cursor
    not_a_cursor = base64.urlsafe_b64encode(b'{"x": 1}').decode()
    for text in ("", "%%%", not_a_cursor, encode_cursor(cursor)[:-3]):
        assert decode_cursor(text) is None, text


def test_a_pull_page_splices_stored_json_into_a_pull_response() -> None:
    record = msgspec.json.encode({"id": "p1", "station": "A01", "version": 2})
    conflict = msgspec.json.encode({
        "id": "d1-1-0", "premises_id": "p1", "station": "A01", "path": "rvp", "base": "",
        "server": "a", "client": "b", "server_author": None, "client_author": {"user": "sam"}})
    page = pull_response_decoder.decode(encode_pull(
        [(7, "p", record), (8, "c", conflict)], PullTail(cursor="c", more=True, total=2)))
    assert [(type(c), c.seq) for c in page.changes] == [(PremisesChange, 7), (ConflictChange, 8)]
    assert page.changes[0].record == {"id": "p1", "station": "A01", "version": 2}  # type: ignore[union-attr]
    assert (page.cursor, page.more, page.total) == ("c", True, 2)
    empty = pull_response_decoder.decode(encode_pull([], PullTail(cursor="c", more=False)))
    assert empty.changes == [] and not empty.more
