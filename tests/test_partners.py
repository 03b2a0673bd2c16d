"""Partners end to end over HTTP: organisations and partner users, shares made and ended by
an owning service's admin, and the partner view (role, scope, fields, expiry, audit), with
two owning services on one deployment that cannot see each other."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from typing import Any

import httpx
import pytest
from engines import on_both
from world import PREMISES, World, console_client

from server import clock, partners
from server.api.partnerfeed import KeyRate
from server.store import organisations, records, shares

PW = "a long partner password"
PREMISES_P1_HAZARDS = PREMISES[0]["hazards"]


def _client(world: World, username: str, password: str
            ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    return console_client(world.app, username, password)


async def _csrf(client: httpx.AsyncClient, path: str = "/console/shares/new") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert found
    return found.group(1)


async def _partner(world: World, org: str = "Shire Police", kind: str = "police",
                   username: str = "pc.jones") -> int:
    org_id = await partners.add_organisation(world.db, org, kind, 1)
    await partners.add_partner_user(world.auth, username, "PC Jones", org_id, PW, service=1)
    return org_id


async def _share(world: World, org_id: int, **form: Any) -> int:
    base: dict[str, Any] = {"partner": str(org_id), "purpose": "Joint visits",
                            "profile": "operational_summary",
                            "expires_on": clock.today(30)}
    base.update(form)
    return await partners.make_share(world.db, 1, base, "admin")


@on_both
async def test_a_partner_signs_in_to_the_partner_view_and_never_reaches_the_console(
        world: World) -> None:
    await _partner(world)
    async with _client(world, "pc.jones", PW) as client:
        home = await client.get("/console/partner/")
        assert home.status_code == 200 and "Nothing is shared" in home.text
        for path in ("/console/dashboard", "/console/premises", "/console/premises/p1",
                     "/console/premises/p1/edit", "/console/admin/users",
                     "/console/admin/devices", "/console/shares",
                     "/console/partners", "/console/audit", "/console/observations"):
            got = await client.get(path)
            assert got.status_code == 403, path
            assert "4512" not in got.text and "partner view" in got.text
        csrf = await _csrf(client, "/console/partner/")
        posted = await client.post("/console/premises/p1/edit", data={"csrf": csrf})
        assert posted.status_code in (403, 405)


async def test_a_partner_cannot_enrol_a_device_nor_use_the_crew_api(world: World) -> None:
    await _partner(world)
    enrol = await world.client.post("/api/devices/enrol", json={
        "username": "pc.jones", "password": PW, "device_name": "laptop"})
    error = enrol.json()["error"]
    assert enrol.status_code == 403 and error["field"] == "username"
    assert "partner" in error["message"]
    assert (await world.db.execute(
        "SELECT count(*) FROM devices d JOIN users u ON u.id = d.user_id "
        "WHERE u.username = 'pc.jones'")).single_value() == 0


async def test_a_partner_is_in_no_station_grounds(world: World) -> None:
    await _partner(world)
    row = await organisations.partner_users(world.db, 1)
    who = await world.auth.principal_for_user(row[0]["id"])
    assert who.role == "partner" and who.grounds == () and who.station is None
    assert all(not who.in_scope(code) for code in ("A01", "B02", "C03"))


async def test_only_admins_make_shares(world: World) -> None:
    await _partner(world)
    async with _client(world, "super", "pw-super") as client:
        assert (await client.get("/console/shares")).status_code == 403
        assert (await client.get("/console/shares/new")).status_code == 403


@on_both
async def test_an_admin_makes_a_share_and_the_partner_sees_only_its_records_and_fields(
        world: World) -> None:
    org_id = await _partner(world)
    async with _client(world, "admin", "pw-admin") as admin:
        csrf = await _csrf(admin)
        made = await admin.post("/console/shares/new", data={
            "csrf": csrf, "partner": str(org_id), "purpose": "Police attending with crews",
            "profile": "operational_summary", "expires_on": clock.today(30),
            "stations": "A01", "levels": ["2"]})
        assert made.status_code == 303
        share_id = int(made.headers["location"].rsplit("/", 1)[1])
        page = await admin.get(f"/console/shares/{share_id}")
        assert "Police attending with crews" in page.text and "Live" in page.text
    async with _client(world, "pc.jones", PW) as pc:
        listing = await pc.get(f"/console/partner/shares/{share_id}")
        assert listing.status_code == 200
        assert "Maple Court Care Home" in listing.text and "Ashby Engineering" in listing.text
        assert "Barton Grain Store" not in listing.text and "Carrow Towers" not in listing.text
        found = await pc.get(f"/console/partner/shares/{share_id}?q=maple")
        assert "Maple Court" in found.text and "Ashby Engineering" not in found.text
        record = await pc.get(f"/console/partner/shares/{share_id}/premises/p1")
        assert record.status_code == 200
        assert "Maple Court Care Home" in record.text and "Oxygen" in record.text
        assert "4512" not in record.text and "C1234" not in record.text
        assert "Record last updated" in record.text
        sheet = await pc.get(f"/console/partner/shares/{share_id}/premises/p1/print")
        assert sheet.status_code == 200 and "4512" not in sheet.text
        assert "<script" not in sheet.text and "<script" not in record.text
        for pid in ("p3", "p4", "nope"):  # outside the share's stations, or no such record
            out = await pc.get(f"/console/partner/shares/{share_id}/premises/{pid}")
            assert out.status_code == 404, pid
            assert "Barton" not in out.text and "Carrow" not in out.text
        log = await pc.get("/console/partner/log")
        assert "p1" in log.text or "Maple Court" in log.text
    reads = await shares.reads(world.db, [share_id])
    assert [(r["kind"], r["premises_id"]) for r in reversed(reads)] == [
        ("search", None), ("search", None), ("view", "p1"), ("print", "p1")]
    assert {r["username"] for r in reads} == {"pc.jones"}
    view = next(r for r in reads if r["kind"] == "view")
    assert "hazards" in view["detail"].split(",") and "key_box" not in view["detail"]
    async with _client(world, "admin", "pw-admin") as admin:
        audit = await admin.get(f"/console/shares/{share_id}")
        assert "pc.jones" in audit.text and "Maple Court Care Home" in audit.text


@on_both
async def test_a_partners_search_ignores_case_accents_and_punctuation(world: World) -> None:
    share_id = await _share(world, await _partner(world), stations=["A01"], levels=["2"])
    async with _client(world, "pc.jones", PW) as pc:
        for q in ("maple", "MAPLE, court", "mäple", "maple-court"):
            found = await pc.get(f"/console/partner/shares/{share_id}", params={"q": q})
            assert "Maple Court" in found.text and "Ashby Engineering" not in found.text, q


async def test_a_record_just_outside_the_level_or_area_is_refused(world: World) -> None:
    org_id = await _partner(world)
    by_level = await _share(world, org_id, levels=["1"])
    by_box = await _share(world, org_id, bbox="0.115, 52.19, 0.13, 52.205")  # p1 only
    async with _client(world, "pc.jones", PW) as pc:
        got = await pc.get(f"/console/partner/shares/{by_level}/premises/p1")
        assert got.status_code == 404  # p1 is level 2
        assert (await pc.get(f"/console/partner/shares/{by_box}/premises/p1")).status_code == 200
        assert (await pc.get(f"/console/partner/shares/{by_box}/premises/p2")).status_code == 404


async def test_sensitive_fields_appear_only_when_ticked(world: World) -> None:
    org_id = await _partner(world)
    plain = await _share(world, org_id, profile="full_without_sensitive")
    async with _client(world, "pc.jones", PW) as pc:
        full = await pc.get(f"/console/partner/shares/{plain}/premises/p1")
        assert "Key holder" in full.text and "4512" not in full.text and "C1234" not in full.text
        # (a second live share holding p1 adds its fields: tests/test_partners_union.py)
        ticked = await _share(world, org_id, sensitive=["key_box"],
                              sensitive_reason="Joint entry at night")
        boxed = await pc.get(f"/console/partner/shares/{ticked}/premises/p1")
        assert "4512" in boxed.text and "C1234" not in boxed.text


@on_both
async def test_ending_or_expiry_stops_access_at_once(world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id)
    later = await _share(world, org_id, expires_on=clock.today(2))
    async with _client(world, "pc.jones", PW) as pc:
        url = f"/console/partner/shares/{share_id}/premises/p1"
        assert (await pc.get(url)).status_code == 200
        async with _client(world, "admin", "pw-admin") as admin:
            csrf = await _csrf(admin, f"/console/shares/{share_id}")
            ended = await admin.post(f"/console/shares/{share_id}/end", data={"csrf": csrf})
            assert ended.status_code == 303
        gone = await pc.get(url)
        assert gone.status_code == 410 and "Maple" not in gone.text
        assert (await pc.get(f"/console/partner/shares/{share_id}")).status_code == 410
        assert (await pc.get(f"/console/partner/shares/{later}/premises/p1")).status_code == 200
        real_today = clock.today
        monkeypatch.setattr(clock, "today", lambda plus_days=0: real_today(plus_days + 2))
        assert (await pc.get(f"/console/partner/shares/{later}/premises/p1")).status_code == 410
    listed = await shares.listing(world.db, owner_id=1)
    assert next(s for s in listed if s.id == share_id).ended_by == "admin"


async def test_a_partner_cannot_open_another_partners_share(world: World) -> None:
    police = await _partner(world)
    council = await _partner(world, "Shire Council", "council", "clerk")
    theirs = await _share(world, council)
    await _share(world, police)
    async with _client(world, "pc.jones", PW) as pc:
        for path in (f"/console/partner/shares/{theirs}",
                     f"/console/partner/shares/{theirs}/premises/p1",
                     f"/console/partner/shares/{theirs}/premises/p1/print"):
            got = await pc.get(path)
            assert got.status_code == 404 and "Maple" not in got.text
        home = await pc.get("/console/partner/")
        assert f"share {theirs})" not in home.text


async def test_bad_share_input_is_a_4xx_naming_the_field(world: World) -> None:
    org_id = await _partner(world)
    async with _client(world, "admin", "pw-admin") as admin:
        csrf = await _csrf(admin)
        for form, words in [
            ({"expires_on": ""}, "expiry"),
            ({"purpose": ""}, "purpose"),
            ({"bbox": "1,2"}, "bounding box"),
            ({"sensitive": "key_box"}, "reason"),
            ({"partner": "999"}, "partner organisation"),
            ({"stations": "C99"}, "station"),
        ]:
            data = {"csrf": csrf, "partner": str(org_id), "purpose": "x",
                    "profile": "operational_summary", "expires_on": clock.today(5), **form}
            got = await admin.post("/console/shares/new", data=data)
            assert got.status_code == 422, form
            assert words in got.text, form
        assert await shares.listing(world.db, owner_id=1) == []


@on_both
async def test_bad_partner_input_is_a_4xx_naming_the_field(world: World) -> None:
    async with _client(world, "admin", "pw-admin") as admin:
        csrf = await _csrf(admin, "/console/partners")
        got = await admin.post("/console/partners/organisations",
                               data={"csrf": csrf, "name": "", "kind": "police"})
        assert got.status_code == 422 and "needs a name" in got.text
        got = await admin.post("/console/partners/organisations",
                               data={"csrf": csrf, "name": "X", "kind": "pirates"})
        assert got.status_code == 422 and "kind must be one of" in got.text
        ok = await admin.post("/console/partners/organisations",
                              data={"csrf": csrf, "name": "Shire Police", "kind": "police"})
        assert ok.status_code == 303
        again = await admin.post("/console/partners/organisations",
                                 data={"csrf": csrf, "name": "shire police", "kind": "police"})
        assert again.status_code == 409
        org = await organisations.named(world.db, "Shire Police")
        assert org
        weak = await admin.post("/console/partners/users", data={
            "csrf": csrf, "organisation": str(org["id"]), "username": "pc", "name": "PC",
            "password": "short"})
        assert weak.status_code == 422
        owner = await admin.post("/console/partners/users", data={
            "csrf": csrf, "organisation": "1", "username": "pc", "name": "PC",
            "password": PW})
        assert owner.status_code == 422 and "partner organisation" in owner.text
        made = await admin.post("/console/partners/users", data={
            "csrf": csrf, "organisation": str(org["id"]), "username": "pc", "name": "PC",
            "password": PW})
        assert made.status_code == 303


@on_both
async def test_two_owning_services_cannot_see_each_others_shares_or_records(
        world: World) -> None:
    """A second owning service (a regional deployment) holds C03; service 1's shares never
    reach C03's records, and its admin sees none of service 2's shares. Each service shares
    with partner organisations of its own (migration 20): the same police force is a
    partner of each, with its own users for each."""
    second = await partners.add_organisation(world.db, "Other Fire and Rescue", "owner")
    await organisations.set_station_owner(world.db, "C03", second)
    org_id = await _partner(world)
    their_police = await partners.add_organisation(world.db, "Shire Police (Other)", "police",
                                                   second)
    await partners.add_partner_user(world.auth, "pc.other", "PC Other", their_police, PW,
                                    service=second)
    own = await _share(world, org_id)  # service 1, every station it owns
    other_req = {"partner": str(their_police), "purpose": "Theirs",
                 "profile": "operational_summary", "expires_on": clock.today(9)}
    theirs = await partners.make_share(world.db, second, other_req, "other admin")
    with pytest.raises(Exception, match="no station"):
        await partners.make_share(world.db, 1, {**other_req, "partner": str(org_id),
                                                "stations": ["C03"]}, "admin")
    with pytest.raises(Exception, match="partner organisation"):  # not service 1's partner
        await partners.make_share(world.db, 1, other_req, "admin")
    async with _client(world, "pc.jones", PW) as pc:
        assert (await pc.get(f"/console/partner/shares/{own}/premises/p4")).status_code == 404
        assert (await pc.get(f"/console/partner/shares/{theirs}/premises/p4")
                ).status_code == 404
    async with _client(world, "pc.other", PW) as pc:
        assert (await pc.get(f"/console/partner/shares/{theirs}/premises/p4")
                ).status_code == 200
        assert (await pc.get(f"/console/partner/shares/{theirs}/premises/p1")
                ).status_code == 404
    async with _client(world, "admin", "pw-admin") as admin:
        assert (await admin.get(f"/console/shares/{theirs}")).status_code == 404
        assert "Theirs" not in (await admin.get("/console/shares")).text
        csrf = await _csrf(admin)
        ended = await admin.post(f"/console/shares/{theirs}/end", data={"csrf": csrf})
        assert ended.status_code == 404


@on_both
async def test_a_police_contribution_lands_in_the_supervisors_inbox_naming_the_partner(
        world: World) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id, contribute="1")
    note = "Occupant known to be violent towards staff: police attend with crews"
    async with _client(world, "pc.jones", PW) as pc:
        url = f"/console/partner/shares/{share_id}/premises/p1"
        page = await pc.get(url)
        assert "Tell This service something" in page.text
        csrf = await _csrf(pc, url)
        sent = await pc.post(url + "/observations",
                             data={"csrf": csrf, "category": "hazard", "note": note})
        assert sent.status_code == 303
    doc = await world.db.read(lambda c: records.get(c, "p1"))
    # the record itself is unchanged: the same hazards, no risk note
    assert [(h["id"], h["type"]) for h in doc["hazards"]] == [
        (h["id"], h["type"]) for h in PREMISES_P1_HAZARDS]
    assert not doc.get("risk_notes")
    obs = [o for o in doc["observations"] if o["note"] == note]
    assert len(obs) == 1 and obs[0]["status"] == "open"
    assert obs[0]["by"] == "PC Jones, Shire Police (partner)"
    async with _client(world, "super", "pw-super") as sup:
        inbox = await sup.get("/console/observations")
        assert note.split(":")[0] in inbox.text and "Shire Police (partner)" in inbox.text
    reads = await shares.reads(world.db, [share_id])
    assert reads[0]["kind"] == "contribute" and reads[0]["premises_id"] == "p1"


async def test_a_contribution_is_refused_without_the_share_allowing_it_or_outside_it(
        world: World) -> None:
    org_id = await _partner(world)
    closed = await _share(world, org_id)
    open_ = await _share(world, org_id, contribute="1", stations=["A01"])
    async with _client(world, "pc.jones", PW) as pc:
        csrf = await _csrf(pc, "/console/partner/")
        data = {"csrf": csrf, "category": "hazard", "note": "Bypassed electrics"}
        no = await pc.post(f"/console/partner/shares/{closed}/premises/p1/observations",
                           data=data)
        assert no.status_code == 403
        outside = await pc.post(f"/console/partner/shares/{open_}/premises/p3/observations",
                                data=data)
        assert outside.status_code == 404
        bad = await pc.post(f"/console/partner/shares/{open_}/premises/p1/observations",
                            data={**data, "category": "gossip"})
        assert bad.status_code == 422 and "Choose what the observation is about" in bad.text
        empty = await pc.post(f"/console/partner/shares/{open_}/premises/p1/observations",
                              data={**data, "note": " "})
        assert empty.status_code == 422 and "Write the observation" in empty.text
        await partners.end_share(world.db, 1, open_, "admin")
        ended = await pc.post(f"/console/partner/shares/{open_}/premises/p1/observations",
                              data=data)
        assert ended.status_code == 410
    for pid in ("p1", "p3"):
        doc = await world.db.read(lambda c, pid=pid: records.get(c, pid))
        assert not [o for o in doc.get("observations", []) if "Bypassed" in o["note"]]


async def _key(world: World, share_id: int) -> str:
    _, token = await partners.make_key(world.db, 1, share_id, "admin")
    return token


@on_both
async def test_a_feed_key_pages_the_shares_changes_with_tombstones_and_records_leaving(
        world: World) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id, stations=["A01", "B02"], levels=["2"])
    auth = {"Authorization": f"Bearer {await _key(world, share_id)}"}
    first = await world.client.get("/api/partner/feed?limit=2", headers=auth)
    assert first.status_code == 200
    body = first.json()
    assert [r["id"] for r in body["records"]] == ["p1", "p2"] and body["more"] is True
    assert all(set(r) <= {"id", "station", "updated_at", "name", "address", "postcode",
                          "uprn", "lat", "lon", "use", "risk_level", "hazards", "rvp",
                          "access_points", "water_supplies"} for r in body["records"])
    assert "4512" not in first.text and "C1234" not in first.text
    rest = (await world.client.get(f"/api/partner/feed?cursor={body['cursor']}",
                                   headers=auth)).json()
    assert [r["id"] for r in rest["records"]] == ["p3"] and rest["more"] is False
    # p2 is deleted and p3 drops to level 4, out of the share's levels: a follower drops both
    device = world.tokens["super"][3:].split("_", 1)[0]
    pushed = await world.client.post("/api/sync/push", headers=world.as_("super"), json={
        "mutations": [
            {"kind": "delete", "device_id": device, "seq": 1, "premises_id": "p2",
             "base_version": 1},
            {"kind": "update", "device_id": device, "seq": 2, "premises_id": "p3",
             "base_version": 1, "changes": [{"field": "risk_level", "old": 2, "new": 4}]}]})
    assert [r["status"] for r in pushed.json()["receipts"]] == ["applied", "applied"], \
        pushed.text
    later = (await world.client.get(f"/api/partner/feed?cursor={rest['cursor']}",
                                    headers=auth)).json()
    assert later["deleted"] == ["p2"] and later["left"] == ["p3"] and later["records"] == []
    geo = await world.client.get("/api/partner/feed.geojson", headers=auth)
    assert geo.status_code == 200 and geo.headers["content-type"].startswith(
        "application/geo+json")
    features = geo.json()["features"]
    assert {f["id"] for f in features} == {"p1"}
    p1 = next(f for f in features if f["id"] == "p1")
    assert p1["geometry"] == {"type": "Point", "coordinates": [0.121, 52.201]}
    reads = await shares.reads(world.db, [share_id])
    assert [r["kind"] for r in reversed(reads)] == ["feed", "feed", "feed", "export"]
    assert all(r["username"].startswith("feed key") for r in reads)


async def test_a_revoked_key_or_an_ended_share_stops_the_feed_at_once(world: World) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id)
    token = await _key(world, share_id)
    other = await _key(world, share_id)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await world.client.get("/api/partner/feed", headers=auth)).status_code == 200
    assert await partners.revoke_key(world.db, 1, share_id, 1)
    assert (await world.client.get("/api/partner/feed", headers=auth)).status_code == 401
    auth = {"Authorization": f"Bearer {other}"}
    await partners.end_share(world.db, 1, share_id, "admin")
    for path in ("/api/partner/feed", "/api/partner/feed.geojson"):
        got = await world.client.get(path, headers=auth)
        assert got.status_code == 410 and "Maple" not in got.text
    for bad in ({}, {"Authorization": "Bearer wbk_guess"}, world.as_("crew")):
        assert (await world.client.get("/api/partner/feed", headers=bad)).status_code == 401


async def test_bad_feed_input_is_a_4xx_naming_the_field(world: World) -> None:
    org_id = await _partner(world)
    auth = {"Authorization": f"Bearer {await _key(world, await _share(world, org_id))}"}
    for query, field in (("cursor=abc", "cursor"), ("limit=0", "limit"),
                         ("limit=5000", "limit"), ("limit=x", "limit")):
        got = await world.client.get(f"/api/partner/feed?{query}", headers=auth)
        assert got.status_code == 422 and got.json()["error"]["field"] == field, query


async def test_the_admin_makes_a_key_shown_once_and_revokes_it(world: World) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id)
    async with _client(world, "admin", "pw-admin") as admin:
        csrf = await _csrf(admin, f"/console/shares/{share_id}")
        made = await admin.post(f"/console/shares/{share_id}/keys", data={"csrf": csrf})
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        token = re.search(r'id="new-key">(wbk_[^<]+)<', made.text)
        assert token
        again = await admin.get(f"/console/shares/{share_id}")
        assert token.group(1) not in again.text  # shown once
        stored = (await world.db.execute("SELECT key_hash FROM share_keys")).single_value()
        assert token.group(1) not in stored
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        assert (await world.client.get("/api/partner/feed", headers=auth)).status_code == 200
        revoked = await admin.post(f"/console/shares/{share_id}/keys/1/revoke",
                                   data={"csrf": csrf})
        assert revoked.status_code == 303
        assert (await world.client.get("/api/partner/feed", headers=auth)).status_code == 401


async def test_an_admin_cannot_turn_a_partner_user_into_staff(world: World) -> None:
    await _partner(world)
    uid = (await organisations.partner_users(world.db, 1))[0]["id"]
    async with _client(world, "admin", "pw-admin") as admin:
        csrf = await _csrf(admin, f"/console/admin/users/{uid}")
        got = await admin.post(f"/console/admin/users/{uid}", data={
            "csrf": csrf, "name": "PC Jones", "role": "supervisor", "station": "A01"})
        assert got.status_code == 422 and "keeps the partner role" in got.text
    who = await world.auth.principal_for_user(uid)
    assert who.role == "partner" and who.station is None and who.grounds == ()


def test_a_feed_key_over_its_rate_waits_until_the_next_minute() -> None:
    rate = KeyRate(2)
    assert [rate.wait(1, 120.0), rate.wait(1, 130.0)] == [0, 0]
    assert rate.wait(1, 135.0) == 45 and rate.wait(2, 135.0) == 0  # per key
    assert rate.wait(1, 180.0) == 0  # a new minute
    assert KeyRate(0).wait(1, 1.0) == 0


@on_both
async def test_the_feed_answers_429_with_retry_after_beyond_the_rate(world: World) -> None:
    world.app.state.partner_feed_rate = KeyRate(1)
    org_id = await _partner(world)
    auth = {"Authorization": f"Bearer {await _key(world, await _share(world, org_id))}"}
    assert (await world.client.get("/api/partner/feed", headers=auth)).status_code == 200
    over = await world.client.get("/api/partner/feed", headers=auth)
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1


async def _push(world: World, user: str, *mutations: dict[str, Any]) -> None:
    device = world.tokens[user][3:].split("_", 1)[0]
    pushed = await world.client.post("/api/sync/push", headers=world.as_(user), json={
        "mutations": [{"device_id": device, "seq": i + 1, **m}
                      for i, m in enumerate(mutations)]})
    assert [r["status"] for r in pushed.json()["receipts"]] == ["applied"] * len(mutations), \
        pushed.text


async def test_the_feed_never_names_a_record_the_partner_was_never_given(world: World) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id, stations=["A01"])
    auth = {"Authorization": f"Bearer {await _key(world, share_id)}"}
    first = (await world.client.get("/api/partner/feed", headers=auth)).json()
    assert [r["id"] for r in first["records"]] == ["p1", "p2"]
    # p3 (Barton) was never in the share and changes; p4 (Carrow) is deleted; p2 moves out
    await _push(world, "super",
                {"kind": "update", "premises_id": "p3", "base_version": 1,
                 "changes": [{"field": "name", "old": "Barton Grain Store",
                              "new": "Barton Grain Store (north)"}]},
                {"kind": "update", "premises_id": "p2", "base_version": 1,
                 "changes": [{"field": "station", "old": "A01", "new": "B02"}]})
    await _push(world, "csuper", {"kind": "delete", "premises_id": "p4", "base_version": 1})
    later = await world.client.get(f"/api/partner/feed?cursor={first['cursor']}",
                                   headers=auth)
    body = later.json()
    assert body["left"] == ["p2"] and body["deleted"] == [] and body["records"] == []
    assert '"p3"' not in later.text and '"p4"' not in later.text  # JSON strings, not the cursor
    # a second key of the same share is told of p2 leaving too (it could have received it)
    other = {"Authorization": f"Bearer {await _key(world, share_id)}"}
    again = (await world.client.get(f"/api/partner/feed?cursor={first['cursor']}",
                                    headers=other)).json()
    assert again["left"] == ["p2"]
    reads = await shares.reads(world.db, [share_id])
    assert [r["kind"] for r in reads] == ["feed", "feed", "feed"]  # one row per page


def _months_ago(months: int) -> str:
    today = dt.date.fromisoformat(clock.today())
    total = today.year * 12 + today.month - 1 - months
    return dt.date(total // 12, total % 12 + 1, min(today.day, 28)).isoformat()


async def test_the_partner_sees_how_old_the_risk_information_is_not_the_last_write(
        world: World) -> None:
    org_id = await _partner(world)
    share_id = await _share(world, org_id, stations=["A01"], profile="full_without_sensitive")
    inspected = _months_ago(14)
    await _push(world, "super", {"kind": "update", "premises_id": "p1", "base_version": 1,
                                 "changes": [{"field": "assessed_at", "old": None,
                                              "new": inspected}]})

    def backdate(conn: Any) -> None:  # that assessment was written 14 months ago
        for row_id, entry in conn.execute("SELECT id, entry FROM audit WHERE premises_id = 'p1'"
                                          ).fetchall():
            old = json.loads(entry)
            old["server_time"] = inspected + "T09:00:00Z"
            conn.execute("UPDATE audit SET server_time = ?, entry = ? WHERE id = ?",
                         (old["server_time"], json.dumps(old), row_id))
    await world.db.write(backdate)
    # today a crew observation and nothing else: the record's last write is now
    await _push(world, "crew", {"kind": "add_observation", "premises_id": "p1",
                                "base_version": 2, "observation": {
                                    "id": "o1", "category": "hazard", "note": "Skip in yard"}})
    async with _client(world, "pc.jones", PW) as pc:
        for path in ("p1", "p1/print"):
            page = await pc.get(f"/console/partner/shares/{share_id}/premises/{path}")
            assert page.status_code == 200
            assert "Last inspected 14 months ago" in page.text, path
            assert "Shared details last changed 14 months ago" in page.text, path
        never = await pc.get(f"/console/partner/shares/{share_id}/premises/p2")
        assert "Never inspected" in never.text
        assert "Shared details: no change in the history kept" in never.text
    auth = {"Authorization": f"Bearer {await _key(world, share_id)}"}
    feed = (await world.client.get("/api/partner/feed", headers=auth)).json()
    p1 = feed["ages"]["p1"]
    assert p1["assessed_at"] == inspected and p1["assessed"] == "Last inspected 14 months ago"
    assert p1["content_changed_at"] == inspected + "T09:00:00Z"
    assert feed["ages"]["p2"]["assessed_at"] is None
    assert feed["ages"]["p2"]["assessed"].startswith("Never inspected")
    geo = (await world.client.get("/api/partner/feed.geojson", headers=auth)).json()
    ages = {f["id"]: f["properties"]["information_age"] for f in geo["features"]}
    assert ages["p1"]["changed"] == "Shared details last changed 14 months ago"
