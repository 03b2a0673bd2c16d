"""The small world the API tests run in: stations, premises, users with enrolled devices,
and the app with an httpx client. Imported by name (`from world import World`); conftest.py
only holds fixtures, since tests/browser has a conftest of its own."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from server.auth import Auth
from server.settings import Settings
from server.store import records

FAST_HASH = dict(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1)


def fast_hash_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAST_HASH for code that reads its settings from the environment (the CLI)."""
    for name, value in FAST_HASH.items():
        monkeypatch.setenv("WATCHBOOK_" + name.upper(), str(value))


def fast_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(db_path=tmp_path / "test.db", secret_key="test-secret", **FAST_HASH
                    ).with_(**overrides)


def make_premises(pid: str, station: str, name: str, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": pid, "station": station, "name": name, "version": 1,
                           "risk_level": 2, "address": "", "postcode": "", "uprn": "",
                           "hazards": []}
    doc.update(fields)
    return doc


@dataclass
class World:
    app: Starlette
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)   # username -> device token
    user_ids: dict[str, int] = field(default_factory=dict)

    def as_(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    @property
    def db(self) -> Any:
        return self.app.state.db

    @property
    def auth(self) -> Auth:
        return self.app.state.auth  # type: ignore[no-any-return]


STATIONS = [("A01", "Ashby", 52.20, 0.12, '["B02"]'), ("B02", "Barton", 52.40, 0.26, "[]"),
            ("C03", "Carrow", 52.63, 1.30, "[]")]
PREMISES = [
    make_premises("p1", "A01", "Maple Court Care Home", address="1 Mill Road, Ashby",
                  postcode="CB1 2AB", uprn="100010001001", lat=52.201, lon=0.121,
                  use="Care home", next_review_due="2020-01-01",
                  hazards=[{"id": "h1", "type": "oxygen", "location": "Ground floor store",
                            "severity": "high"}], key_box="4512", entry_codes="C1234"),
    make_premises("p2", "A01", "Ashby Engineering Works", address="Unit 4, Fen Lane, Ashby",
                  postcode="CB1 3CD", uprn="100010001002", lat=52.210, lon=0.140,
                  use="Workshop", next_review_due="2099-01-01",
                  hazards=[{"id": "h2", "type": "acetylene", "location": "Rear yard"}]),
    make_premises("p3", "B02", "Barton Grain Store", address="Barton Farm, Barton",
                  postcode="CB2 9ZZ", uprn="100010001003", lat=52.401, lon=0.262,
                  use="Farm", next_review_due="2099-01-01"),
    make_premises("p4", "C03", "Carrow Towers", address="Riverside, Carrow",
                  postcode="NR1 1AA", uprn="100010001004", lat=52.630, lon=1.300,
                  use="High-rise flats", next_review_due="2099-01-01"),
]
USERS = [("crew", "Casey Crew", "crew", "A01"), ("super", "Sam Supervisor", "supervisor", "A01"),
         ("admin", "Ada Admin", "admin", None), ("csuper", "Cal Carrow", "supervisor", "C03")]


async def seed(app: Starlette, device_name: str = "test device"
               ) -> tuple[dict[str, int], dict[str, str]]:
    """Fill a started app's database with STATIONS, PREMISES and USERS, each user with one
    enrolled device; returns (user ids, device tokens) by username."""
    state = app.state

    def rows(conn: Any) -> None:
        conn.executemany("INSERT INTO stations (code, name, lat, lon, extra_grounds) "
                         "VALUES (?, ?, ?, ?, ?)", STATIONS)
        records.insert_many(conn, PREMISES)
    await state.db.write(rows)
    user_ids, tokens = {}, {}
    for username, name, role, station in USERS:
        uid = await state.auth.add_user(username, name, role, station, "pw-" + username,
                                        check_password=False, service=1)
        user_ids[username] = uid
        who = await state.auth.principal_for_user(uid)
        _, tokens[username] = await state.auth.enrol_device(who, device_name)
    return user_ids, tokens


@contextlib.asynccontextmanager
async def console_client(app: Starlette, username: str, password: str
                         ) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of the app's console, signed in as `username`."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        form = await client.get("/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        signed = await client.post("/console/signin", data={
            "csrf": csrf.group(1), "username": username, "password": password})
        assert signed.status_code == 303, signed.text
        yield client
