"""Shared fixtures: a fast-hashing Settings on a temp database and the World (the app with its
lifespan entered, an httpx client, stations, premises, users and enrolled devices), and the
session's PostgreSQL cluster (tests/pg.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pg import Cluster, cluster_or_skip
from world import World, fast_settings, seed

from server.app import create_app
from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
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
