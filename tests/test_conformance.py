"""One protocol conversation, held over plain HTTP with each engine's app (SQLite, then
PostgreSQL), must get the same answers: push, a retry, a gap, a conflict between two devices,
its resolution, pull paging, and a revoked device (issue 14's conformance run). Only what the
protocol promises is compared: statuses, reasons, versions, values, counts and `more`; not
ids, times or cursors, which differ by design."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pg import Cluster
from world import fast_settings, seed

from server.app import create_app
from server.settings import Settings

TIME = "2026-01-01T10:00:00Z"


def _device(token: str) -> str:
    return token[3:].split("_", 1)[0]


def _update(device: str, seq: int, base: int, old: str, new: str) -> dict[str, Any]:
    return {"kind": "update", "device_id": device, "seq": seq, "premises_id": "p1",
            "base_version": base, "client_time": TIME,
            "changes": [{"field": "risk_notes", "old": old, "new": new}]}


def _receipts(response: httpx.Response) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.text
    return [(r["seq"], r["status"], r.get("reason"), r.get("version"))
            for r in response.json()["receipts"]]


async def _conversation(settings: Settings) -> list[Any]:
    app = create_app(settings)
    said: list[Any] = []
    async with app.router.lifespan_context(app):
        _, tokens = await seed(app)
        sup, adm = tokens["super"], tokens["admin"]
        as_ = {name: {"Authorization": f"Bearer {tok}"} for name, tok in
               (("super", sup), ("admin", adm))}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            async def push(who: str, *mutations: dict[str, Any]) -> httpx.Response:
                return await client.post("/api/sync/push", json={"mutations": list(mutations)},
                                         headers=as_[who])

            first = _update(_device(sup), 1, 1, "", "first")
            said.append(("push", _receipts(await push("super", first))))
            said.append(("retry", _receipts(await push("super", first))))
            gap = await push("super", _update(_device(sup), 3, 2, "first", "skipped"))
            said.append(("gap", gap.status_code, _receipts(gap) if gap.status_code == 200
                         else gap.json().get("error")))
            said.append(("next", _receipts(await push(
                "super", _update(_device(sup), 2, 2, "first", "second")))))
            clash = await push("admin", _update(_device(adm), 1, 1, "", "other"))
            said.append(("clash", _receipts(clash)))
            conflict_ids = clash.json()["receipts"][0].get("conflict_ids") or []
            said.append(("conflicts", len(conflict_ids)))
            if conflict_ids:
                said.append(("resolve", _receipts(await push("admin", {
                    "kind": "resolve_conflict", "device_id": _device(adm), "seq": 2,
                    "premises_id": "p1", "base_version": 0, "client_time": TIME,
                    "conflict_id": conflict_ids[0], "choice": "server"}))))
            pages, cursor, records = [], "", {}
            while True:
                page = await client.get("/api/sync/pull", params={"cursor": cursor, "limit": 2},
                                        headers=as_["super"])
                assert page.status_code == 200, page.text
                body = page.json()
                pages.append((len(body["changes"]), body["more"]))
                for change in body["changes"]:
                    if change["type"] == "premises":
                        records[change["record"]["id"]] = (change["record"]["version"],
                                                           change["record"].get("risk_notes"))
                cursor = body["cursor"]
                if not body["more"]:
                    break
            said.append(("pull", pages, sorted(records.items())))
            await app.state.auth.revoke_device(_device(sup), wipe=True, by="admin")
            revoked = await client.get("/api/sync/pull", headers=as_["super"])
            said.append(("revoked", revoked.status_code, revoked.json().get("error"),
                         revoked.json().get("wipe")))
    return said


async def test_postgresql_gives_the_same_answers_as_sqlite_to_one_conversation(
        postgres: Cluster, tmp_path: Path) -> None:
    (tmp_path / "lite").mkdir()
    (tmp_path / "pg").mkdir()
    on_sqlite = await _conversation(fast_settings(tmp_path / "lite"))
    on_postgres = await _conversation(fast_settings(tmp_path / "pg",
                                                    database_url=postgres.fresh_url()))
    assert on_postgres == on_sqlite
    said = dict((entry[0], entry[1:]) for entry in on_sqlite)
    assert said["push"] == said["retry"] == ([(1, "applied", None, 2)],)
    assert said["gap"] == (200, [])  # after a gap nothing is applied, and no receipt says so
    assert said["conflicts"] == (1,)
    assert ("p1", (3, "second")) in said["pull"][1]  # the resolution kept the server's value
    assert said["revoked"][0] == 401 and said["revoked"][1]["code"] == "device_revoked"
