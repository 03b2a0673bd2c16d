"""Shared fixtures: a fast-hashing Settings on a temp database and the World (the app with its
lifespan entered, an httpx client, stations, premises, users and enrolled devices)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from world import PREMISES, STATIONS, USERS, World, fast_settings

from server import records
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

            def seed(conn: Any) -> None:
                conn.executemany("INSERT INTO stations (code, name, lat, lon, extra_grounds) "
                                 "VALUES (?, ?, ?, ?, ?)", STATIONS)
                records.insert_many(conn, PREMISES)
            await w.db.write(seed)
            for username, name, role, station in USERS:
                uid = await w.auth.add_user(username, name, role, station, "pw-" + username)
                w.user_ids[username] = uid
                who = await w.auth.principal_for_user(uid)
                _, w.tokens[username] = await w.auth.enrol_device(who, "test device")
            yield w


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread
    for the rest of the session, which the asyncio tests cannot share."""
    items.sort(key=lambda item: "browser" in item.keywords)
