"""Authentication: passwords, throttling, rehash, token storage and cost."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from world import World, fast_settings, seed

from server.app import create_app
from server.auth import Auth, Passwords, SignInThrottle, token_digest
from server.errors import ApiError


async def test_repeated_failures_delay_that_account_from_that_address(world: World) -> None:
    limit = world.app.state.settings.signin_max_failures
    for _ in range(limit):
        with pytest.raises(ApiError) as wrong:
            await world.auth.sign_in("super", "wrong", "10.0.0.1")
        assert wrong.value.status == 401
    with pytest.raises(ApiError) as blocked:
        await world.auth.sign_in("super", "pw-super", "10.0.0.1")  # right password, must wait
    assert blocked.value.status == 429
    assert int(blocked.value.headers["Retry-After"]) > 0


async def test_failures_from_one_address_do_not_lock_the_right_password_out_elsewhere(
        world: World) -> None:
    for _ in range(world.app.state.settings.signin_max_failures * 3):
        with pytest.raises(ApiError):
            await world.auth.sign_in("super", "wrong", "10.6.6.6")
    who = await world.auth.sign_in("super", "pw-super", "10.0.0.2")
    assert who.username == "super"


async def test_one_person_mistyping_behind_a_nat_does_not_lock_out_the_others(
        world: World) -> None:
    for _ in range(world.app.state.settings.signin_max_failures):
        with pytest.raises(ApiError):
            await world.auth.sign_in("crew", "wrong", "10.9.9.9")
    assert (await world.auth.sign_in("super", "pw-super", "10.9.9.9")).username == "super"


async def test_an_account_under_attack_still_admits_its_known_addresses_and_devices(
        tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, signin_account_max_failures=10)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        user_ids, tokens = await seed(app)
        auth: Auth = app.state.auth
        await auth.sign_in("super", "pw-super", "192.0.2.10")  # the manager's usual desk
        for i in range(10):  # the attacker spreads guesses over addresses
            with pytest.raises(ApiError):
                await auth.sign_in("super", "wrong", f"203.0.113.{i}")
        with pytest.raises(ApiError) as stranger:
            await auth.sign_in("super", "pw-super", "198.51.100.1")
        assert stranger.value.status == 429
        assert (await auth.sign_in("super", "pw-super", "192.0.2.10")).username == "super"
        device = tokens["super"][3:].split("_", 1)[0]
        who = await auth.sign_in("super", "pw-super", "198.51.100.1", device_id=device)
        assert who.user_id == user_ids["super"]


async def test_many_failures_from_one_address_refuse_accounts_never_signed_in_there(
        tmp_path: Path) -> None:
    app = create_app(fast_settings(tmp_path, signin_address_max_failures=6))
    async with app.router.lifespan_context(app):
        await seed(app)
        auth: Auth = app.state.auth
        await auth.sign_in("crew", "pw-crew", "10.8.8.8")
        for i in range(6):
            with pytest.raises(ApiError):
                await auth.sign_in(f"nobody{i}", "wrong", "10.8.8.8")
        with pytest.raises(ApiError) as sprayed:
            await auth.sign_in("super", "pw-super", "10.8.8.8")
        assert sprayed.value.status == 429
        assert (await auth.sign_in("crew", "pw-crew", "10.8.8.8")).username == "crew"


def test_the_delay_grows_with_each_failure_and_is_forgotten_after_the_window() -> None:
    clock = [1000.0]
    throttle = SignInThrottle(per_pair=2, per_account=100, per_address=100, window=60,
                              clock=lambda: clock[0])
    throttle.fail("k", "a")
    assert throttle.retry_after("k", "a") == 0
    throttle.fail("k", "a")
    first = throttle.retry_after("k", "a")
    throttle.fail("k", "a")
    assert throttle.retry_after("k", "a") > first > 0
    clock[0] += 61
    assert throttle.retry_after("k", "a") == 0


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


async def test_passwords_are_argon2id_and_device_tokens_sha256_never_the_secret(
        world: World) -> None:
    rows = (await world.db.execute("SELECT token_hash FROM devices")).dicts()
    for row in rows:
        assert row["token_hash"].startswith("sha256:") and len(row["token_hash"]) == 71
        assert all(tok not in row["token_hash"] for tok in world.tokens.values())
    pw = (await world.db.execute("SELECT password_hash FROM users")).dicts()
    assert all(r["password_hash"].startswith("$argon2id$") for r in pw)


async def test_a_forged_token_never_costs_a_password_hash(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(Passwords, "verify", lambda self, stored, secret: calls.append(secret))
    device = world.tokens["crew"][3:].split("_", 1)[0]
    forged = f"wb_{device}_{'x' * 43}"
    r = await world.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert (await world.client.get("/api/me", headers=world.as_("crew"))).status_code == 200
    assert calls == []


async def test_a_token_enrolled_under_argon2_still_works_and_is_upgraded(world: World) -> None:
    device = world.tokens["crew"][3:].split("_", 1)[0]
    await world.db.execute_write("UPDATE devices SET token_hash = ? WHERE id = ?",
                                 (world.auth.passwords.hash(world.tokens["crew"]), device))
    assert (await world.client.get("/api/me", headers=world.as_("crew"))).status_code == 200
    stored = (await world.db.execute("SELECT token_hash FROM devices WHERE id = ?",
                                     (device,))).single_value()
    assert stored == token_digest(world.tokens["crew"])
    forged = f"wb_{device}_{'x' * 43}"
    r = await world.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


async def test_password_checks_run_in_the_bounded_pool_not_on_the_event_loop(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = Passwords.verify

    def spy(self: Passwords, stored: str, secret: str) -> bool:
        seen.append(threading.get_ident())
        return real(self, stored, secret)
    monkeypatch.setattr(Passwords, "verify", spy)
    await world.auth.sign_in("crew", "pw-crew", "10.0.0.7")
    assert seen and loop_thread not in seen


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


@pytest.mark.parametrize("trusted", [False, True])
async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
        tmp_path: Path, trusted: bool) -> None:
    proxy = "10.1.1.1"
    app = create_app(fast_settings(tmp_path, trusted_proxies=(proxy,) if trusted else ()))
    async with app.router.lifespan_context(app):
        await seed(app)
        transport = httpx.ASGITransport(app=app, client=(proxy, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            async def enrol(password: str, forwarded: str) -> int:
                r = await client.post("/api/devices/enrol", headers={
                    "X-Forwarded-For": forwarded},
                    json={"username": "super", "password": password})
                return r.status_code
            for _ in range(app.state.settings.signin_max_failures):
                assert await enrol("wrong", "203.0.113.9") == 401
            # a second person behind the proxy: their own address if the proxy is trusted;
            # otherwise the header is ignored and every request is the proxy's
            assert await enrol("pw-super", "198.51.100.4, 203.0.113.77") == (
                201 if trusted else 429)
