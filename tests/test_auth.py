"""Authentication: passwords, throttling, rehash, token storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from world import World, fast_settings

from server.auth import Passwords, Throttle
from server.errors import ApiError


async def test_sign_in_is_throttled_per_account_after_repeated_failures(world: World) -> None:
    limit = world.app.state.settings.signin_max_failures
    for _ in range(limit):
        with pytest.raises(ApiError) as wrong:
            await world.auth.sign_in("super", "wrong", "10.0.0.1")
        assert wrong.value.status == 401
    with pytest.raises(ApiError) as blocked:
        await world.auth.sign_in("super", "pw-super", "10.0.0.2")  # right password, too late
    assert blocked.value.status == 429
    assert int(blocked.value.headers["Retry-After"]) > 0


async def test_sign_in_is_throttled_per_address_across_accounts(world: World) -> None:
    limit = world.app.state.settings.signin_max_failures
    for i in range(limit):
        with pytest.raises(ApiError):
            await world.auth.sign_in(f"nobody{i}", "wrong", "10.9.9.9")
    with pytest.raises(ApiError) as blocked:
        await world.auth.sign_in("crew", "pw-crew", "10.9.9.9")
    assert blocked.value.status == 429


async def test_enrol_endpoint_answers_429_when_throttled(world: World) -> None:
    for _ in range(world.app.state.settings.signin_max_failures):
        await world.client.post("/api/devices/enrol", json={"username": "crew", "password": "x"})
    r = await world.client.post("/api/devices/enrol",
                                json={"username": "crew", "password": "pw-crew"})
    assert r.status_code == 429 and "Retry-After" in r.headers


async def test_disabled_account_cannot_sign_in(world: World) -> None:
    await world.db.execute_write("UPDATE users SET disabled = 1 WHERE username = 'crew'")
    with pytest.raises(ApiError) as refused:
        await world.auth.sign_in("crew", "pw-crew", "10.0.0.3")
    assert refused.value.status == 403


async def test_password_is_rehashed_when_parameters_change(world: World) -> None:
    old_hash = (await world.db.execute(
        "SELECT password_hash FROM users WHERE username = 'crew'")).single_value()
    world.auth.passwords = Passwords(world.app.state.settings.with_(argon2_time_cost=2))
    await world.auth.sign_in("crew", "pw-crew", "10.0.0.4")
    new_hash = (await world.db.execute(
        "SELECT password_hash FROM users WHERE username = 'crew'")).single_value()
    assert new_hash != old_hash and "t=2" in new_hash


async def test_secrets_are_stored_as_argon2id_hashes_only(world: World) -> None:
    rows = (await world.db.execute("SELECT token_hash FROM devices")).dicts()
    for row in rows:
        assert row["token_hash"].startswith("$argon2id$")
        assert all(tok not in row["token_hash"] for tok in world.tokens.values())
    pw = (await world.db.execute("SELECT password_hash FROM users")).dicts()
    assert all(r["password_hash"].startswith("$argon2id$") for r in pw)


def test_throttle_forgets_failures_after_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("server.auth.time.monotonic", lambda: clock[0])
    throttle = Throttle(max_failures=2, window_seconds=60)
    throttle.fail("k")
    throttle.fail("k")
    assert throttle.retry_after("k") > 0
    clock[0] += 61
    assert throttle.retry_after("k") == 0


def test_settings_from_env_reads_review_intervals(tmp_path: Path) -> None:
    s = fast_settings(tmp_path).from_env({"WATCHBOOK_REVIEW_INTERVALS": "1:180,2:365",
                                          "WATCHBOOK_PULL_PAGE_ROWS": "50"})
    assert s.review_interval_days == {1: 180, 2: 365} and s.pull_page_rows == 50
    assert s.secret_key  # generated when not set


async def test_last_seen_is_written_in_batches_not_per_request(world: World) -> None:
    h = world.as_("crew")
    await world.client.get("/api/me", headers=h)  # the first request flushes at once
    device = (await world.client.get("/api/me", headers=h)).json()["device_id"]
    seen = await world.db.execute("SELECT last_seen FROM devices WHERE id = ?", (device,))
    first = seen.single_value()
    assert first
    await world.db.execute_write("UPDATE devices SET last_seen = 'old' WHERE id = ?", (device,))
    await world.client.get("/api/me", headers=h)  # within the flush interval: held in memory
    held = await world.db.execute("SELECT last_seen FROM devices WHERE id = ?", (device,))
    assert held.single_value() == "old"
    await world.auth.flush_seen()
    flushed = await world.db.execute("SELECT last_seen FROM devices WHERE id = ?", (device,))
    assert flushed.single_value() >= first
