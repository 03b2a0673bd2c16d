"""The read API: enrolment, search, one premises, nearest, stations, errors, OpenAPI."""

from __future__ import annotations

from engines import engine  # noqa: F401 (every test here runs on both engines)
from world import World


async def test_enrol_returns_a_token_that_opens_the_api(world: World) -> None:
    r = await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super", "device_name": "Pump 1"})
    assert r.status_code == 201
    body = r.json()
    assert body["user"]["grounds"] == ["A01", "B02"]
    me = await world.client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["device_id"] == body["device_id"]


async def test_enrol_with_a_wrong_password_is_401(world: World) -> None:
    r = await world.client.post("/api/devices/enrol",
                                json={"username": "super", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_credentials"


async def test_enrol_with_a_missing_field_names_it(world: World) -> None:
    r = await world.client.post("/api/devices/enrol", json={"username": "super"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "Object missing required field `password`"


async def test_enrol_with_malformed_json_is_400(world: World) -> None:
    r = await world.client.post("/api/devices/enrol", content=b"{nope",
                                headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"


async def test_api_without_a_token_is_401(world: World) -> None:
    for path in ("/api/me", "/api/premises", "/api/premises/p1", "/api/stations",
                 "/api/premises/nearest?lat=52&lon=0"):
        r = await world.client.get(path)
        assert r.status_code == 401, path


async def test_search_matches_postcode_with_or_without_its_space(world: World) -> None:
    for q in ("CB1 2AB", "cb12ab", "cb1 2a"):
        r = await world.client.get("/api/premises", params={"q": q}, headers=world.as_("crew"))
        assert [p["id"] for p in r.json()["items"]] == ["p1"], q


async def test_search_matches_uprn_name_and_address_words(world: World) -> None:
    h = world.as_("crew")
    by_uprn = await world.client.get("/api/premises", params={"q": "100010001002"}, headers=h)
    assert [p["id"] for p in by_uprn.json()["items"]] == ["p2"]
    by_words = await world.client.get("/api/premises", params={"q": "fen ashby"}, headers=h)
    assert [p["id"] for p in by_words.json()["items"]] == ["p2"]
    by_name = await world.client.get("/api/premises", params={"q": "grain"}, headers=h)
    assert [p["id"] for p in by_name.json()["items"]] == ["p3"]


async def test_list_covers_only_the_callers_grounds(world: World) -> None:
    crew = await world.client.get("/api/premises", headers=world.as_("crew"))
    assert sorted(p["id"] for p in crew.json()["items"]) == ["p1", "p2", "p3"]
    other = await world.client.get("/api/premises", headers=world.as_("csuper"))
    assert [p["id"] for p in other.json()["items"]] == ["p4"]
    admin = await world.client.get("/api/premises", headers=world.as_("admin"))
    assert admin.json()["total"] == 4


async def test_list_filters_overdue_and_risk_level(world: World) -> None:
    h = world.as_("crew")
    overdue = await world.client.get("/api/premises", params={"overdue": "true"}, headers=h)
    assert [p["id"] for p in overdue.json()["items"]] == ["p1"]
    bad = await world.client.get("/api/premises", params={"risk_level": "9"}, headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "risk_level"


async def test_list_refuses_a_station_outside_the_grounds(world: World) -> None:
    r = await world.client.get("/api/premises", params={"station": "C03"},
                               headers=world.as_("crew"))
    assert r.status_code == 403 and r.json()["error"]["field"] == "station"


async def test_list_pages(world: World) -> None:
    h = world.as_("admin")
    first = (await world.client.get("/api/premises", params={"limit": 2}, headers=h)).json()
    second = (await world.client.get("/api/premises", params={"limit": 2, "offset": 2},
                                     headers=h)).json()
    ids = [p["id"] for p in first["items"] + second["items"]]
    assert first["total"] == 4 and len(set(ids)) == 4


async def test_premises_page_holds_hazards_and_sensitive_access(world: World) -> None:
    r = await world.client.get("/api/premises/p1", headers=world.as_("crew"))
    doc = r.json()
    assert doc["hazards"][0]["type"] == "oxygen"
    assert doc["key_box"] == "4512"


async def test_premises_outside_grounds_is_403_and_unknown_is_404(world: World) -> None:
    outside = await world.client.get("/api/premises/p4", headers=world.as_("crew"))
    assert outside.status_code == 403
    unknown = await world.client.get("/api/premises/nope", headers=world.as_("crew"))
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "premises_id"


async def test_nearest_sorts_by_distance_and_shows_it(world: World) -> None:
    r = await world.client.get("/api/premises/nearest", params={"lat": 52.2, "lon": 0.12},
                               headers=world.as_("crew"))
    items = r.json()["items"]
    assert [i["premises"]["id"] for i in items] == ["p1", "p2", "p3"]
    distances = [i["distance_m"] for i in items]
    assert distances == sorted(distances) and 100 < distances[0] < 200


async def test_nearest_without_lat_names_the_missing_field(world: World) -> None:
    r = await world.client.get("/api/premises/nearest", params={"lon": 0.1},
                               headers=world.as_("crew"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "lat"


async def test_stations_lists_grounds(world: World) -> None:
    r = await world.client.get("/api/stations", headers=world.as_("crew"))
    assert [s["code"] for s in r.json()["items"]] == ["A01", "B02", "C03"]


async def test_revoked_device_is_refused_at_once_and_told_to_wipe(world: World) -> None:
    h = world.as_("crew")
    assert (await world.client.get("/api/me", headers=h)).status_code == 200
    device_id = (await world.client.get("/api/me", headers=h)).json()["device_id"]
    await world.auth.revoke_device(device_id, wipe=True)
    r = await world.client.get("/api/me", headers=h)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "device_revoked" and r.json()["error"]["wipe"] is True


async def test_disabled_user_is_refused_at_once(world: World) -> None:
    await world.db.execute_write("UPDATE users SET disabled = 1 WHERE username = 'crew'")
    r = await world.client.get("/api/premises", headers=world.as_("crew"))
    assert r.status_code == 401


async def test_forged_token_for_a_real_device_is_401(world: World) -> None:
    real = world.tokens["crew"]
    forged = real[: real.rindex("_") + 1] + "x" * 43
    r = await world.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


async def test_openapi_lists_every_api_route(world: World) -> None:
    doc = (await world.client.get("/api/openapi.json")).json()
    [api_mount] = [r for r in world.app.routes if getattr(r, "path", "") == "/api"]
    for route in api_mount.routes:  # type: ignore[attr-defined]
        path = "/api" + route.path
        if path == "/api/openapi.json":
            continue
        for method in route.methods - {"HEAD"}:
            assert method.lower() in doc["paths"].get(path, {}), f"{method} {path}"
    enrol = doc["paths"]["/api/devices/enrol"]["post"]
    assert "EnrolRequest" in enrol["requestBody"]["content"]["application/json"]["schema"]["$ref"]


async def test_healthz_answers(world: World) -> None:
    r = await world.client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_every_response_carries_security_headers(world: World) -> None:
    for path in ("/healthz", "/api/me", "/api/openapi.json"):
        r = await world.client.get(path)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_body_over_the_limit_is_413(world: World) -> None:
    limit = world.app.state.settings.max_body_bytes
    r = await world.client.post("/api/devices/enrol", content=b"x" * (limit + 1),
                                headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


async def test_signing_in_again_on_a_device_keeps_its_identity_and_drops_the_old_token(
        world: World) -> None:
    first = (await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super"})).json()
    again = (await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super", "device_id": first["device_id"]})).json()
    assert again["device_id"] == first["device_id"]
    old = await world.client.get("/api/me", headers={"Authorization": f"Bearer {first['token']}"})
    new = await world.client.get("/api/me", headers={"Authorization": f"Bearer {again['token']}"})
    assert old.status_code == 401 and new.status_code == 200


async def test_signing_in_with_another_users_device_id_enrols_a_new_device(world: World) -> None:
    crew_device = (await world.client.get("/api/me", headers=world.as_("crew"))).json()
    r = (await world.client.post("/api/devices/enrol", json={
        "username": "super", "password": "pw-super",
        "device_id": crew_device["device_id"]})).json()
    assert r["device_id"] != crew_device["device_id"]
    assert (await world.client.get("/api/me", headers=world.as_("crew"))).status_code == 200


async def test_me_tells_the_device_its_attachment_cache_and_data_age_thresholds(world: World) -> None:
    me = (await world.client.get("/api/me", headers=world.as_("crew"))).json()
    assert me["attachment_cache_bytes"] == world.app.state.settings.attachment_cache_bytes > 0
    assert (me["data_stale_hours"], me["data_old_days"]) == (24, 7)


async def test_list_hazard_types_leave_out_expired_temporary_hazards(world: World) -> None:
    device = world.tokens["super"][3:].split("_", 1)[0]
    m = {"kind": "add_hazard", "device_id": device, "seq": 1, "premises_id": "p3",
         "base_version": 1, "client_time": "2026-01-01T10:00:00Z",
         "hazard": {"id": "hx", "type": "scaffolding", "expires": "2020-01-01"}}
    r = await world.client.post("/api/sync/push", json={"mutations": [m]},
                                headers=world.as_("super"))
    assert r.json()["receipts"][0]["status"] == "applied", r.text
    listed = await world.client.get("/api/premises", params={"q": "grain"},
                                    headers=world.as_("crew"))
    assert listed.json()["items"][0]["hazard_types"] == []
    near = await world.client.get("/api/premises/nearest", params={"lat": 52.401, "lon": 0.262},
                                  headers=world.as_("crew"))
    assert [i["premises"]["hazard_types"] for i in near.json()["items"]
            if i["premises"]["id"] == "p3"] == [[]]
    record = await world.client.get("/api/premises/p3", headers=world.as_("crew"))
    assert record.json()["hazards"][0]["expires"] == "2020-01-01"  # kept, for review
