"""Console import and export (/console/import, /console/export): a job found running at start
is reported interrupted, a ready job is written only when confirmed (or discarded), exports
are by station, sensitive fields only when an admin asks, and every export is audited."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from engines import on_both
from test_console import Browser, as_user, csrf_of, post_form

from server import clock
from server.app import create_app
from server.settings import Settings
from server.store import events
from server.store import imports as imports_store

if TYPE_CHECKING:
    from world import World

__all__ = ["as_user"]


async def _upload(client: httpx.AsyncClient, name: str, body: str) -> httpx.Response:
    page = await client.get("/console/import")
    return await client.post("/console/import", data={"csrf": csrf_of(page.text)},
                             files={"file": (name, body, "text/csv")})


async def _settled(client: httpx.AsyncClient, location: str) -> str:
    while True:
        page = (await client.get(location)).text
        if "job-progress" not in page:
            return page
        await asyncio.sleep(0.02)


async def _premises(world: World, pid: str) -> httpx.Response:
    return await world.client.get(f"/api/premises/{pid}", headers=world.as_("admin"))


@on_both
async def test_a_checked_import_writes_nothing_until_the_admin_confirms(
        as_user: Browser, world: World) -> None:
    admin = await as_user("admin")
    body = "id,station,name,postcode\nn1,A01,New Mill,cb1 9zz\nn2,B02,Old Mill,\n"
    job = (await _upload(admin, "two.csv", body)).headers["location"]
    page = await _settled(admin, job)
    assert 'id="preview-created">2<' in page and 'id="preview-changed">0<' in page
    assert "n1 · New Mill · A01" in page
    assert (await _premises(world, "n1")).status_code == 404      # not before confirming
    await admin.post(job + "/confirm", data={"csrf": csrf_of(page)})
    assert "2 premises created or changed, 0 left alone" in await _settled(admin, job)
    created = await _premises(world, "n1")
    assert created.status_code == 200 and created.json()["postcode"] == "CB1 9ZZ"

    renamed = "id,station,name,postcode\nn1,A01,New Mill Renamed,CB1 9ZZ\nn2,B02,Old Mill,\n"
    job = (await _upload(admin, "again.csv", renamed)).headers["location"]
    page = await _settled(admin, job)
    assert 'id="preview-changed">1<' in page and 'id="preview-unchanged">1<' in page
    assert "n1 · New Mill: name" in page
    discarded = await admin.post(job + "/discard", data={"csrf": csrf_of(page)})
    assert discarded.status_code == 303
    assert "Discarded" in await _settled(admin, job)
    await admin.post(job + "/confirm", data={"csrf": csrf_of(page)})
    assert "not waiting for confirmation" in (await admin.get(job)).text
    assert (await _premises(world, "n1")).json()["name"] == "New Mill"


@on_both
async def test_a_job_running_when_the_server_stopped_is_reported_interrupted(
        settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        job_id = await app.state.db.write(lambda c: imports_store.create(
            c, 1, "big.csv", "csv", "id,station,name\n", clock.now()))
    app = create_app(settings)  # the server starts again
    async with app.router.lifespan_context(app):
        job = await app.state.imports.get(job_id)
        assert job["status"] == "interrupted" and "nothing was written" in job["error"]
        assert await app.state.db.read(lambda c: imports_store.file_of(c, job_id)) is None


async def _export(client: httpx.AsyncClient, **fields: str | list[str]) -> httpx.Response:
    page = await client.get("/console/export")
    return await client.post("/console/export", data={"csrf": csrf_of(page.text), **fields})


@on_both
async def test_an_export_by_station_leaves_out_sensitive_fields_unless_an_admin_asks(
        as_user: Browser, world: World) -> None:
    admin = await as_user("admin")
    plain = await _export(admin, station="A01", format="csv")
    assert plain.status_code == 200 and "attachment" in plain.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(plain.text)))
    assert {r["station"] for r in rows} == {"A01"} and "key_box" not in rows[0]
    full = await _export(admin, station=["A01", "B02"], format="geojson", sensitive="yes")
    features = json.loads(full.text)["features"]
    assert {f["properties"]["station"] for f in features} == {"A01", "B02"}
    assert any(f["properties"].get("key_box") == "4512" for f in features)
    logged = await world.db.read(lambda c: events.log(c, events.LogFilter(), 50, 0, 1))
    exports = [e for e in logged if e["kind"] == "export"]
    assert sorted(e["station"] for e in exports) == ["A01", "A01", "B02"]
    assert any("sensitive fields included" in e["detail"] for e in exports)


async def test_a_supervisor_exports_only_their_grounds_and_never_sensitive_fields(
        as_user: Browser, world: World) -> None:
    supervisor = await as_user("super")
    page = (await supervisor.get("/console/export")).text
    assert 'value="A01"' in page and 'value="C03"' not in page and "sensitive" not in page
    ok = await _export(supervisor, station="A01", format="csv")
    assert ok.status_code == 200
    assert (await _export(supervisor, station="C03", format="csv")).status_code == 403
    assert (await _export(supervisor, station="A01", format="csv",
                          sensitive="yes")).status_code == 403
    nothing = await _export(supervisor, format="csv")
    assert nothing.status_code == 422 and "Choose at least one station" in nothing.text


async def test_import_is_for_admins_only(as_user: Browser) -> None:
    supervisor = await as_user("super")
    assert (await supervisor.get("/console/import")).status_code == 403
    r = await post_form(supervisor, "/console/export", "/console/import")
    assert r.status_code == 403


async def test_a_geojson_upload_is_checked_and_previewed_as_a_csv_is(
        as_user: Browser, world: World) -> None:
    admin = await as_user("admin")
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.13, 52.2]},
         "properties": {"id": "g1", "station": "A01", "name": "Geo Mill", "postcode": "cb12ab"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.13, 80.0]},
         "properties": {"id": "g2", "station": "A01", "name": "", "colour": "red"}}]}
    page = await client_upload_and_settle(admin, "sites.geojson", json.dumps(collection))
    assert 'data-status="invalid"' in page
    for problem in ("feature 1, field name: Name is required",
                    "feature 1, field lat: Latitude is too high: 80, at most 61",
                    "feature 1, field colour: Colour is not a field of a premises record"):
        assert problem in page, page[page.find("problems"):][:800]
    del collection["features"][1]
    page = await client_upload_and_settle(admin, "sites.geojson", json.dumps(collection))
    assert 'id="preview-created">1<' in page


async def client_upload_and_settle(client: httpx.AsyncClient, name: str, body: str) -> str:
    uploaded = await _upload(client, name, body)
    assert uploaded.status_code == 303, uploaded.text
    return await _settled(client, uploaded.headers["location"])


async def test_a_file_over_the_import_limit_is_refused_with_413(
        settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings.with_(import_max_bytes=1000))
    async with app.router.lifespan_context(app):
        await app.state.auth.add_user("ada", "Ada Admin", "admin", None, "pw-ada",
                                      check_password=False, service=1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            form = await client.get("/console/signin")
            await client.post("/console/signin", data={
                "csrf": csrf_of(form.text), "username": "ada", "password": "pw-ada"})
            refused = await _upload(client, "big.csv", "id,station,name\n" + "x" * 2000)
            assert refused.status_code == 413 and "larger than 1,000 bytes" in refused.text
            assert await app.state.imports.recent(1) == []
