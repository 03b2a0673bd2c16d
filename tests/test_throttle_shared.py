"""The sign-in throttle kept in the database (server/throttle.py SharedThrottle over
server/store/throttle.py) keeps the in-memory rules, on SQLite and on PostgreSQL."""

from __future__ import annotations

from engines import engine  # noqa: F401 (every test here runs on both engines)
from world import World

from server.throttle import SharedThrottle


async def test_the_shared_delay_grows_with_each_failure_and_is_forgotten_after_the_window(
        world: World) -> None:
    clock = [1000.0]
    throttle = SharedThrottle(world.db, per_pair=2, per_account=100, per_address=100,
                              window=60, clock=lambda: clock[0])
    await throttle.fail("k", "a")
    assert await throttle.retry_after("k", "a") == 0
    await throttle.fail("k", "a")
    first = await throttle.retry_after("k", "a")
    await throttle.fail("k", "a")
    assert await throttle.retry_after("k", "a") > first > 0
    clock[0] += 61
    assert await throttle.retry_after("k", "a") == 0


async def test_an_account_over_its_budget_may_be_tried_only_from_addresses_it_knows(
        world: World) -> None:
    clock = [1000.0]
    throttle = SharedThrottle(world.db, per_pair=100, per_account=3, per_address=100,
                              window=60, clock=lambda: clock[0])
    await throttle.succeed("k", "home")
    for n in range(3):
        await throttle.fail("k", f"spray{n}")
    assert await throttle.retry_after("k", "elsewhere") > 0
    assert await throttle.retry_after("k", "elsewhere", known_device=True) == 0
    assert await throttle.retry_after("k", "home") == 0
    await throttle.succeed("k", "spray0")  # a success clears only its own pair
    assert await throttle.retry_after("k", "elsewhere") > 0
