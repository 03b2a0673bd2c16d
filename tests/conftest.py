"""Shared fixtures: a fast-hashing Settings on a temp database and the World (the app with its
lifespan entered, an httpx client, stations, premises, users and enrolled devices), and the
session's PostgreSQL cluster (tests/pg.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pg import Cluster, cluster_or_skip
from world import World, fast_settings, seed

from server.app import create_app
from server.settings import Settings


@pytest.fixture
def engine() -> str:
    """The database the app runs on; a module runs on both with `from engines import engine`
    (tests/engines.py). WATCHBOOK_TEST_ENGINE=postgres runs every World test on PostgreSQL."""
    return os.environ.get("WATCHBOOK_TEST_ENGINE", "sqlite")


@pytest.fixture
def settings(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> Settings:
    """Fast hashing on a temporary SQLite file, or on a fresh schema of the session's
    PostgreSQL cluster when the engine is "postgres" (tests/pg.py)."""
    if engine == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        return fast_settings(tmp_path, database_url=cluster.fresh_url())
    return fast_settings(tmp_path)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            w = World(app, client)
            w.user_ids, w.tokens = await seed(app)
            yield w


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread
    for the rest of the session, which the asyncio tests cannot share."""
    items.sort(key=lambda item: "browser" in item.keywords)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the session (tests/pg.py); skipped outside CI if missing."""
    yield from cluster_or_skip()
