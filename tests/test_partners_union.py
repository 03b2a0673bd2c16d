"""A record in two live shares given to the same partner is served with the union of the
fields they grant — on the partner view, the print sheet, the feed, the GeoJSON export and a
neighbouring service's devices — and a field neither grants (entry codes here) never
appears. The rule is server/sharing.py's `fields_for`; each route is checked here."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
from test_crossborder import pull_all
from world import World, console_client

from server import clock, partners
from server.sharing import Scope, Share, shared_view, with_siblings

PW = "a long neighbour password"
TODAY = "2026-06-01"


def _share(share_id: int, profile: str, partner: int = 7, owner: int = 1,
           **kw: Any) -> Share:
    return Share(id=share_id, owner_id=owner, partner_id=partner, purpose="x",
                 scope=kw.pop("scope", Scope()), profile=profile,
                 expires_on=kw.pop("expires_on", "2027-01-01"), **kw)


DOC = {"id": "p1", "station": "A01", "risk_level": 2, "lat": 52.2, "lon": 0.1,
       "key_box": "4512", "entry_codes": "C1234", "tactical_plan": "Defensive",
       "name": "Maple Court", "updated_at": "2026-01-01T00:00:00Z"}


def test_the_rule_serves_the_union_of_the_live_shares_holding_a_record() -> None:
    boxed = _share(1, "operational_summary", sensitive=("key_box",), sensitive_reason="night")
    full = _share(2, "full_without_sensitive")
    view = shared_view(DOC, with_siblings(full, [boxed, full]), TODAY)
    assert view is not None
    assert view["key_box"] == "4512" and view["tactical_plan"] == "Defensive"
    assert "entry_codes" not in view
    alone = shared_view(DOC, full, TODAY)
    assert alone is not None and "key_box" not in alone


def test_a_sibling_share_adds_nothing_when_ended_expired_elsewhere_or_anothers() -> None:
    full = _share(2, "full_without_sensitive")
    for sibling in (
            _share(1, "operational_summary", sensitive=("key_box",), ended_at="2026-05-01"),
            _share(1, "operational_summary", sensitive=("key_box",), expires_on=TODAY),
            _share(1, "operational_summary", sensitive=("key_box",),
                   scope=Scope(stations=("B02",))),
            _share(1, "operational_summary", sensitive=("key_box",), partner=8),
            _share(1, "operational_summary", sensitive=("key_box",), owner=2)):
        view = shared_view(DOC, with_siblings(full, [sibling]), TODAY)
        assert view is not None and "key_box" not in view, sibling
    outside = with_siblings(_share(2, "full_without_sensitive", scope=Scope(stations=("B02",))),
                            [_share(1, "operational_summary", sensitive=("key_box",))])
    assert shared_view(DOC, outside, TODAY) is None  # a sibling never widens the scope


def _signed_in(world: World, username: str
               ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    return console_client(world.app, username, PW)


async def _two_shares(world: World) -> tuple[int, int, int]:
    """A neighbouring service given p1 (and p2) by two live shares: one the operational
    summary of A01 with the key box ticked, one the full record without sensitive fields of
    risk level 2. (org, boxed share, full share)."""
    org = await partners.add_organisation(world.db, "Barset Fire and Rescue", "fire", 1)
    await partners.add_partner_user(world.auth, "nb.view", "Nell Viewer", org, PW, service=1)
    base = {"partner": str(org), "purpose": "Cross-border attendance",
            "expires_on": clock.today(30)}
    boxed = await partners.make_share(world.db, 1, {
        **base, "profile": "operational_summary", "stations": ["A01"],
        "sensitive": ["key_box"], "sensitive_reason": "Night entry"}, "admin")
    full = await partners.make_share(world.db, 1, {
        **base, "profile": "full_without_sensitive", "levels": ["2"]}, "admin")
    return org, boxed, full


async def test_the_partner_view_and_print_sheet_serve_both_shares_fields(world: World) -> None:
    _, boxed, full = await _two_shares(world)
    async with _signed_in(world, "nb.view") as nb:
        for share_id in (boxed, full):
            for tail in ("", "/print"):
                page = await nb.get(f"/console/partner/shares/{share_id}/premises/p1{tail}")
                assert page.status_code == 200
                assert "4512" in page.text, (share_id, tail)  # the boxed share's key box
                assert "Key holder" in page.text, (share_id, tail)  # the full share's
                assert "C1234" not in page.text, (share_id, tail)  # neither's


async def test_the_feed_and_geojson_serve_both_shares_fields(world: World) -> None:
    _, boxed, full = await _two_shares(world)
    for share_id in (boxed, full):
        _, token = await partners.make_key(world.db, 1, share_id, "admin")
        auth = {"Authorization": f"Bearer {token}"}
        feed = (await world.client.get("/api/partner/feed", headers=auth)).json()
        p1 = next(r for r in feed["records"] if r["id"] == "p1")
        assert p1["key_box"] == "4512" and "next_review_due" in p1, share_id
        assert "entry_codes" not in p1 and "observations" not in p1
        geo = (await world.client.get("/api/partner/feed.geojson", headers=auth)).json()
        props = next(f["properties"] for f in geo["features"] if f["id"] == "p1")
        assert props["key_box"] == "4512" and "next_review_due" in props
        assert "entry_codes" not in props and "observations" not in props


async def _neighbour_device(world: World, org: int) -> str:
    """A crew user of the neighbouring service `org` and their enrolled device's token."""
    uid = await partners.add_partner_user(world.auth, "nb.crew", "Nell Crew", org, PW,
                                          role="crew", service=1)
    _, token = await world.auth.enrol_device(await world.auth.principal_for_user(uid),
                                             "Pump 1 Barset")
    return token


async def test_a_neighbours_device_holds_both_shares_fields(world: World) -> None:
    org, _, _ = await _two_shares(world)
    token = await _neighbour_device(world, org)
    got, _ = await pull_all(world, token)
    p1 = got["p1"]
    assert p1["key_box"] == "4512" and "next_review_due" in p1 and "tactical_plan" in p1
    assert "entry_codes" not in p1 and "observations" not in p1
    assert "key_box" not in got["p3"]  # p3 (B02) is in the full share only


async def test_the_access_log_names_the_fields_served_from_both_shares(world: World) -> None:
    org, boxed, full = await _two_shares(world)
    token = await _neighbour_device(world, org)
    await pull_all(world, token)
    _, key = await partners.make_key(world.db, 1, full, "admin")
    await world.client.get("/api/partner/feed",
                           headers={"Authorization": f"Bearer {key}"})
    rows = (await world.db.execute(
        "SELECT kind, detail FROM partner_reads WHERE kind IN ('device', 'feed')")).dicts()
    assert {r["kind"] for r in rows} == {"device", "feed"}
    for r in rows:  # each page giving p1 names the key box, none the entry codes
        assert ("key_box" in r["detail"]) == ("p1" in r["detail"]), r
        assert "entry_codes" not in r["detail"], r
    assert any("p1" in r["detail"] for r in rows if r["kind"] == "device")
    assert "p1" in next(r["detail"] for r in rows if r["kind"] == "feed")
