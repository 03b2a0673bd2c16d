"""Logs and metrics: request ids, one JSON line a request, no secrets, Prometheus text."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from world import World


async def test_every_response_has_a_request_id(world: World) -> None:
    a = await world.client.get("/healthz")
    b = await world.client.get("/healthz")
    assert a.headers["x-request-id"] != b.headers["x-request-id"]


async def test_sign_in_and_api_use_leave_no_secret_in_the_logs(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("watchbook")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="watchbook"):
            r = await world.client.post("/api/devices/enrol", json={
                "username": "super", "password": "pw-super", "device_name": "Pump"})
            token = r.json()["token"]
            await world.client.get("/api/premises?q=maple",
                                   headers={"Authorization": f"Bearer {token}"})
            await world.client.post("/api/devices/enrol",
                                    json={"username": "super", "password": "wrong-secret"})
    finally:
        logger.removeHandler(caplog.handler)
    text = caplog.text + "".join(json.dumps(getattr(r, "fields", {})) for r in caplog.records)
    assert "request" in text and "/api/devices/enrol" in text
    for secret in (token, "pw-super", "wrong-secret", token.split("_")[-1]):
        assert secret not in text


async def test_metrics_count_requests_by_route_template(world: World) -> None:
    await world.client.get("/api/premises/p1", headers=world.as_("crew"))
    await world.client.get("/api/premises/p2", headers=world.as_("crew"))
    text = (await world.client.get("/metrics", headers=world.as_("admin"))).text
    assert ('watchbook_requests_total{method="GET",route="/api/premises/{premises_id}",'
            'status="200"} 2') in text
    assert "watchbook_premises 4" in text
    assert "watchbook_devices_seen_within_seconds" in text


async def test_metrics_from_another_host_need_an_admin_token(world: World) -> None:
    remote = httpx.ASGITransport(app=world.app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=remote, base_url="http://test") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=world.as_("crew"))).status_code == 403
        assert (await client.get("/metrics", headers=world.as_("admin"))).status_code == 200
