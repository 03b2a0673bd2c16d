"""The field filter and scope rules of a share (server/sharing.py), as tables: a record and
a share in, the partner's view (or nothing) out."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import ApiError
from server.sharing import (
    PROFILES,
    Scope,
    Share,
    ago,
    content_changed_at,
    in_scope,
    information_age,
    inside_polygon,
    parse_request,
    shared_view,
    status,
)

TODAY = "2026-12-01"
DOC: dict[str, Any] = {
    "id": "p1", "station": "A01", "name": "Maple Court", "address": "1 Mill Road",
    "postcode": "CB1 2AB", "uprn": "1", "lat": 52.2, "lon": 0.12, "use": "Care home",
    "risk_level": 2, "risk_score": 40, "hazards": [{"id": "h1", "type": "oxygen"}],
    "rvp": "Car park", "access_points": "Gate", "key_holder": "Jo", "key_box": "4512",
    "entry_codes": "C1234", "water_supplies": [], "contacts": [{"name": "Jo"}],
    "tactical_plan": "Rear", "risk_notes": "Notes", "observations": [{"id": "o1"}],
    "attachments": [{"id": "a1"}], "version": 3, "deleted": False,
    "updated_at": "2026-11-30T10:00:00Z", "updated_by": "sam",
}


FULL = {"id", "station", "updated_at", "name", "address", "postcode", "uprn", "lat", "lon",
        "use", "risk_level", "risk_score", "assessed_at", "next_review_due", "harms",
        "hazards", "rvp", "access_points", "key_holder", "water_supplies", "alarm_panel",
        "suppression", "risers", "isolation_gas", "isolation_electric", "isolation_water",
        "contacts", "tactical_plan", "evacuation_strategy", "environmental_plan",
        "risk_notes"}


def share(**kw: Any) -> Share:
    base: dict[str, Any] = {"id": 1, "owner_id": 1, "partner_id": 2, "purpose": "p",
                            "scope": Scope(), "profile": "operational_summary",
                            "expires_on": "2027-01-01"}
    base.update(kw)
    return Share(**base)


@pytest.mark.parametrize(("profile", "sensitive", "fields"), [
    ("operational_summary", (), {"id", "station", "updated_at", "name", "address", "postcode",
                                 "uprn", "lat", "lon", "use", "risk_level", "hazards", "rvp",
                                 "access_points", "water_supplies"}),
    ("operational_summary", ("key_box",), {"id", "station", "updated_at", "name", "address",
                                           "postcode", "uprn", "lat", "lon", "use",
                                           "risk_level", "hazards", "rvp", "access_points",
                                           "water_supplies", "key_box"}),
    ("full_without_sensitive", (), FULL),
    ("full_without_sensitive", ("key_box", "entry_codes"), FULL | {"key_box", "entry_codes"}),
])
def test_each_profile_serves_exactly_its_fields(profile: str, sensitive: tuple[str, ...],
                                                fields: set[str]) -> None:
    view = shared_view(DOC, share(profile=profile, sensitive=sensitive), TODAY)
    assert view is not None and set(view) == fields


@pytest.mark.parametrize("profile", list(PROFILES))
def test_no_profile_serves_codes_observations_attachments_or_editors(profile: str) -> None:
    view = shared_view(DOC, share(profile=profile), TODAY)
    assert view is not None
    assert not {"key_box", "entry_codes", "observations", "attachments", "updated_by",
                "version"} & set(view)
    assert "4512" not in repr(view) and "C1234" not in repr(view)


@pytest.mark.parametrize(("scope", "inside"), [
    (Scope(), True),
    (Scope(stations=("A01",)), True),
    (Scope(stations=("B02",)), False),
    (Scope(levels=(1, 2)), True),
    (Scope(levels=(1,)), False),
    (Scope(uses=("care home",)), True),
    (Scope(uses=("warehouse",)), False),
    (Scope(bbox=(0.1, 52.1, 0.2, 52.3)), True),
    (Scope(bbox=(0.121, 52.1, 0.2, 52.3)), False),  # just outside: lon 0.12 < 0.121
    (Scope(polygon=((0.1, 52.1), (0.2, 52.1), (0.2, 52.3), (0.1, 52.3))), True),
    (Scope(polygon=((0.13, 52.1), (0.2, 52.1), (0.2, 52.3), (0.13, 52.3))), False),
])
def test_a_record_is_in_scope_only_inside_every_part(scope: Scope, inside: bool) -> None:
    assert in_scope(DOC, scope) is inside
    assert (shared_view(DOC, share(scope=scope), TODAY) is not None) is inside


def test_a_field_the_stored_record_leaves_out_is_served_as_its_default() -> None:
    view = shared_view({"id": "p9", "station": "A01", "name": "Bare", "risk_level": 3},
                       share(profile="full_without_sensitive"), TODAY)
    assert view is not None
    assert view["hazards"] == [] and view["rvp"] == "" and view["lat"] is None


def test_a_record_without_a_position_is_outside_any_area() -> None:
    assert not in_scope({**DOC, "lat": None, "lon": None}, Scope(bbox=(-1, 50, 1, 53)))
    assert in_scope({**DOC, "lat": None, "lon": None}, Scope())


def test_a_deleted_record_is_never_shared() -> None:
    assert shared_view({**DOC, "deleted": True}, share(), TODAY) is None


@pytest.mark.parametrize(("ended_at", "expires_on", "expected"), [
    (None, "2026-12-02", "live"),
    (None, "2026-12-01", "expired"),   # access ends as the expiry day begins
    (None, "2026-11-01", "expired"),
    ("2026-11-30T10:00:00Z", "2027-01-01", "ended"),
])
def test_an_ended_or_expired_share_gives_nothing(ended_at: str | None, expires_on: str,
                                                 expected: str) -> None:
    s = share(ended_at=ended_at, expires_on=expires_on)
    assert status(s, TODAY) == expected
    assert (shared_view(DOC, s, TODAY) is None) is (expected != "live")


def test_a_concave_polygon_keeps_its_notch_out() -> None:
    u_shape = ((0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3))
    assert inside_polygon(0.5, 2, u_shape) and not inside_polygon(1.5, 2, u_shape)


GOOD = {"partner": "2", "purpose": "Border incidents", "profile": "operational_summary",
        "expires_on": "2027-03-01", "stations": ["a01"], "levels": ["1", "2"],
        "sensitive": [], "bbox": "", "polygon": "", "uses": "Care home, Farm"}


def test_a_good_form_becomes_a_share_request() -> None:
    req = parse_request(GOOD, TODAY, [2], ["A01", "B02"])
    assert req.scope.stations == ("A01",) and req.scope.levels == (1, 2)
    assert req.scope.uses == ("care home", "farm") and req.expires_on == "2027-03-01"
    assert req.sensitive == () and req.sensitive_reason == ""


@pytest.mark.parametrize(("change", "field"), [
    ({"partner": ""}, "partner"),
    ({"partner": "9"}, "partner"),
    ({"partner": "x"}, "partner"),
    ({"purpose": " "}, "purpose"),
    ({"profile": "everything"}, "profile"),
    ({"stations": ["Z99"]}, "stations"),
    ({"levels": ["5"]}, "levels"),
    ({"expires_on": ""}, "expires_on"),
    ({"expires_on": "soon"}, "expires_on"),
    ({"expires_on": TODAY}, "expires_on"),
    ({"expires_on": "2040-01-01"}, "expires_on"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "0.2,52,0.1,53"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "0,0,200,1"}, "bbox"),
    ({"polygon": "not json"}, "polygon"),
    ({"polygon": '{"type": "Point", "coordinates": [0, 0]}'}, "polygon"),
    ({"polygon": "[[0, 0], [1, 1]]"}, "polygon"),
    ({"polygon": '[[0, 0], [1, "a"], [1, 0]]'}, "polygon"),
    ({"sensitive": ["password"]}, "sensitive"),
    ({"sensitive": ["key_box"]}, "sensitive_reason"),
])
def test_a_bad_form_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_request({**GOOD, **change}, TODAY, [2], ["A01", "B02"])
    assert caught.value.status == 422 and caught.value.field == field


def test_sensitive_fields_need_a_reason_and_keep_it() -> None:
    req = parse_request({**GOOD, "sensitive": ["key_box"], "sensitive_reason": "Joint op"},
                        TODAY, [2], ["A01"])
    assert req.sensitive == ("key_box",) and req.sensitive_reason == "Joint op"


def test_a_geojson_polygon_feature_is_read_as_its_outer_ring() -> None:
    feature = ('{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": '
               '[[[0.1, 52.1], [0.2, 52.1], [0.2, 52.3], [0.1, 52.1]]]}}')
    req = parse_request({**GOOD, "polygon": feature}, TODAY, [2], ["A01"])
    assert req.scope.polygon == ((0.1, 52.1), (0.2, 52.1), (0.2, 52.3))


@pytest.mark.parametrize(("stamp", "words"), [
    ("2026-12-01", "today"), ("2026-11-30T23:00:00Z", "1 day ago"),
    ("2026-10-20", "42 days ago"), ("2025-10-01", "14 months ago"),
    ("2024-11-30", "2 years ago"), (None, None), ("soon", None),
])
def test_an_age_is_said_in_plain_words(stamp: str | None, words: str | None) -> None:
    assert ago(stamp, TODAY + "T12:00:00Z") == words


def _entry(at: str, before: dict[str, Any], after: dict[str, Any],
           items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"server_time": at, "before": before, "after": after, "items": items or []}


def test_only_a_change_of_the_shared_fields_dates_the_shared_content() -> None:
    ops = share(profile="operational_summary")
    history = [  # newest first
        _entry("2026-11-30T10:00:00Z", {}, {}, [{"field": "observations", "change": "added"}]),
        _entry("2026-11-29T10:00:00Z", {"risk_notes": "a"}, {"risk_notes": "b"}),  # not shared
        _entry("2026-11-28T10:00:00Z", {}, {}, [{"field": "hazards", "change": "unchanged"}]),
        _entry("2026-11-27T10:00:00Z", {"rvp": "Gate"}, {"rvp": "Gate"}),  # written, same
        _entry("2025-10-01T10:00:00Z", {}, {}, [{"field": "hazards", "change": "added"}]),
        _entry("2024-01-01T10:00:00Z", {}, {"id": "p1", "name": "Maple"}),  # created
    ]
    assert content_changed_at(history, ops) == "2025-10-01T10:00:00Z"
    assert content_changed_at(history[5:], ops) == "2024-01-01T10:00:00Z"
    assert content_changed_at(history[:4], ops) is None
    full = share(profile="full_without_sensitive")
    assert content_changed_at(history, full) == "2026-11-29T10:00:00Z"


def test_a_never_assessed_record_says_so_and_a_stale_one_says_how_stale() -> None:
    never = information_age({"assessed_at": None}, None, TODAY)
    assert never["assessed"] == "Never inspected: no risk assessment is recorded"
    assert never["changed"] == "Shared details: no change in the history kept"
    old = information_age({"assessed_at": "2025-10-01"}, "2025-10-01T09:00:00Z", TODAY)
    assert old["assessed"] == "Last inspected 14 months ago"
    assert old["changed"] == "Shared details last changed 14 months ago"
