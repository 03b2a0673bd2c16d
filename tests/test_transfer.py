"""CSV and GeoJSON import/export: round trips, whole-file checking, sensitive fields."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from server import demo, transfer
from server.settings import Settings
from server.store import records, stations
from server.store.database import Database
from server.store.migrations import migrate
from server.store.sync import SqliteStore, history
from sync import engine
from sync.protocol import FieldChange, Update

TODAY = dt.date(2025, 6, 1)


def _settings(path: Path) -> Settings:
    return Settings(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1,
                    db_path=path)


async def _open(path: Path, premises: int = 0) -> Database:
    """A migrated database with the 12 demo stations and `premises` demo records."""
    db = await Database(path).open()
    await migrate(db)
    stations = demo.generate_stations(12)
    docs = demo.generate_premises(premises, stations, 1, TODAY)

    def fill(conn: sqlite3.Connection) -> None:
        demo._insert_stations(conn, stations)  # noqa: SLF001
        records.insert_many(conn, docs)
    await db.write(fill)
    return db


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _open(tmp_path / "source.db", premises=150)
    yield db
    await db.close()


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _open(tmp_path / "target.db")
    yield db
    await db.close()


async def _all(db: Database) -> list[dict[str, Any]]:
    rows = await db.execute("SELECT doc FROM premises ORDER BY id")
    return [msgspec.json.decode(r[0]) for r in rows]


def _csv(*rows: str) -> str:
    return "id,station,name,risk_level,assessed_at,hazards\n" + "".join(r + "\n" for r in rows)


@pytest.mark.parametrize("name", ["out.csv", "out.geojson"])
async def test_export_then_import_gives_the_same_records(
        source: Database, target: Database, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert await transfer.export_file(source, path, include_sensitive=True, service=1) == 150
    result = await transfer.import_file(target, _settings(tmp_path), path, service=1)
    assert result.written == 150 and result.skipped == []
    assert await _all(target) == await _all(source)


async def test_export_leaves_out_sensitive_fields_unless_asked(
        source: Database, tmp_path: Path) -> None:
    await transfer.export_file(source, tmp_path / "a.csv", service=1)
    await transfer.export_file(source, tmp_path / "a.geojson", service=1)
    await transfer.export_file(source, tmp_path / "b.csv", include_sensitive=True, service=1)
    header = next(csv.reader(io.StringIO((tmp_path / "a.csv").read_text())))
    props = json.loads((tmp_path / "a.geojson").read_text())["features"][0]["properties"]
    for name in ("key_box", "entry_codes"):
        assert name not in header and name not in props
        assert "Side gate keypad" not in (tmp_path / "a.csv").read_text()
        assert name in next(csv.reader(io.StringIO((tmp_path / "b.csv").read_text())))


async def test_geojson_export_puts_lon_then_lat_in_point_geometry(
        source: Database, tmp_path: Path) -> None:
    await transfer.export_file(source, tmp_path / "a.geojson", service=1)
    data = json.loads((tmp_path / "a.geojson").read_text())
    first = (await _all(source))[0]
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 150
    assert data["features"][0]["geometry"] == {"type": "Point",
                                               "coordinates": [first["lon"], first["lat"]]}


async def test_reimporting_an_unchanged_export_changes_nothing(
        source: Database, tmp_path: Path) -> None:
    before = await _all(source)
    await transfer.export_file(source, tmp_path / "a.csv", service=1)
    result = await transfer.import_file(source, _settings(tmp_path), tmp_path / "a.csv", service=1)
    assert (result.written, result.unchanged) == (0, 150)
    assert await _all(source) == before


async def test_reimport_without_sensitive_fields_keeps_codes_bumps_version_and_audits(
        source: Database, tmp_path: Path) -> None:
    before = await _all(source)
    await transfer.export_file(source, tmp_path / "a.csv", service=1)
    text = (tmp_path / "a.csv").read_text().replace(before[0]["name"], "Renamed Premises", 1)
    result = await transfer.import_text(source, _settings(tmp_path), text, "csv",
                                        by="admin", now="2025-06-02T10:00:00Z", service=1)
    assert (result.written, result.unchanged) == (1, 149)
    after = await _all(source)
    assert [a["key_box"] for a in after] == [b["key_box"] for b in before]
    assert after[0] == {**before[0], "name": "Renamed Premises", "version": before[0]["version"] + 1,
                        "updated_by": "admin", "updated_at": "2025-06-02T10:00:00Z"}
    assert after[1:] == before[1:]
    [entry] = await history(source, before[0]["id"])
    assert entry["kind"] == "import" and entry["user"] == "admin"
    assert entry["before"] == {"name": before[0]["name"]}
    assert entry["after"] == {"name": "Renamed Premises"}


async def test_import_reports_every_bad_row_with_its_file_line_and_field(
        target: Database, tmp_path: Path) -> None:
    text = _csv(
        'a1,WIS,Good one,2,2024-01-01,',
        'a2,WIS,"Name over\ntwo lines",7,2024-01-01,',         # lines 3-4: level out of range
        'a3,XXX,Unknown station,2,2024-01-01,',               # line 5
        'a4,WIS,Bad hazards,2,2024-01-01,not json',           # line 6
        'a5,WIS,Bad hazard type,2,2024-01-01,"[{""id"":""h1"",""type"":""dragons""}]"',
        'a1,WIS,Repeat,2,2024-01-01,',                        # line 8
        'a7,WIS,Bad date,2,1 May 2024,',                      # line 9
    )
    with pytest.raises(transfer.InvalidImport) as caught:
        await transfer.import_text(target, _settings(tmp_path), text, "csv", service=1)
    assert [str(p).split(":")[0] for p in caught.value.problems] == [
        "line 3, field risk_level", "line 5, field station", "line 6, field hazards",
        "line 7, field hazards[0].type", "line 8, field id", "line 9, field assessed_at"]
    assert "unknown station code 'XXX'" in str(caught.value.problems[1])


async def test_invalid_import_writes_nothing(target: Database, tmp_path: Path) -> None:
    text = _csv('a1,WIS,Good,2,2024-01-01,', 'a2,WIS,,2,2024-01-01,')
    with pytest.raises(transfer.InvalidImport) as caught:
        await transfer.import_text(target, _settings(tmp_path), text, "csv", service=1)
    assert str(caught.value.problems[0]) .startswith("line 3, field name:")
    assert await _all(target) == []


async def test_skip_invalid_writes_the_good_rows_and_lists_the_rest(
        target: Database, tmp_path: Path) -> None:
    text = _csv('a1,WIS,Good,2,2024-01-01,', 'a2,NOPE,Bad,2,2024-01-01,',
                'a3,MAR,Also good,4,,')
    result = await transfer.import_text(target, _settings(tmp_path), text, "csv",
                                        skip_invalid=True, service=1)
    assert result.written == 2
    assert [str(p).split(":")[0] for p in result.skipped] == ["line 3, field station"]
    assert [d["id"] for d in await _all(target)] == ["a1", "a3"]


async def test_csv_with_unknown_column_is_rejected_naming_the_column(
        target: Database, tmp_path: Path) -> None:
    text = "id,station,name,colour\na1,WIS,Good,red\n"
    with pytest.raises(transfer.InvalidImport) as caught:
        await transfer.import_text(target, _settings(tmp_path), text, "csv", service=1)
    assert str(caught.value.problems[0]) == "line 1, field colour: unknown column"


async def test_geojson_problems_name_the_feature_index(target: Database, tmp_path: Path) -> None:
    def feature(props: dict[str, Any], coords: list[Any] | None = None) -> dict[str, Any]:
        return {"type": "Feature", "properties": props,
                "geometry": {"type": "Point", "coordinates": coords or [0.16, 52.66]}}
    data = {"type": "FeatureCollection", "features": [
        feature({"id": "g1", "station": "WIS", "name": "Fine"}),
        feature({"id": "g2", "station": "WIS", "name": "Off the map"}, [0.16, 80.0]),
        feature({"id": "g3", "station": "WIS", "name": "Bad", "risk_level": "high"}),
        {"type": "Feature", "properties": {"id": "g4", "station": "WIS", "name": "Line"},
         "geometry": {"type": "LineString", "coordinates": [[0, 52], [1, 52]]}},
    ]}
    with pytest.raises(transfer.InvalidImport) as caught:
        await transfer.import_text(target, _settings(tmp_path), json.dumps(data), "geojson", service=1)
    assert [str(p).split(":")[0] for p in caught.value.problems] == [
        "feature 1, field lat", "feature 2, field risk_level", "feature 3, field geometry"]


async def test_import_computes_review_due_from_the_assessment(
        target: Database, tmp_path: Path) -> None:
    text = ("id,station,name,risk_level,assessed_at,next_review_due\n"
            "a1,WIS,Care home,1,2024-03-01,2099-01-01\n")
    settings = _settings(tmp_path).with_(review_interval_days={1: 100, 2: 200, 3: 300, 4: 400})
    await transfer.import_text(target, settings, text, "csv", service=1)
    [doc] = await _all(target)
    assert doc["next_review_due"] == "2024-06-09" and doc["version"] == 1


async def test_progress_reports_checking_and_writing(target: Database, tmp_path: Path) -> None:
    text = _csv(*(f"a{i},WIS,Premises {i},3,2024-01-01," for i in range(1200)))
    seen: list[tuple[str, int, int]] = []
    await transfer.import_text(target, _settings(tmp_path), text, "csv",
                               progress=lambda *a: seen.append(a), service=1)
    assert ("checking", 500, 1200) in seen and seen[-1] == ("writing", 1200, 1200)


def test_format_comes_from_the_extension_unless_named() -> None:
    assert transfer.format_for("x.CSV") == "csv"
    assert transfer.format_for("x.geojson") == "geojson"
    assert transfer.format_for("x.txt", "csv") == "csv"
    with pytest.raises(ValueError):
        transfer.format_for("x.txt")


async def test_csv_cells_that_look_like_formulas_are_quoted_and_come_back_unchanged(
        source: Database, target: Database, tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://example.invalid","click")'
    await source.write(lambda c: c.execute(
        "UPDATE premises SET doc = json_set(doc, '$.risk_notes', ?) WHERE id = "
        "(SELECT min(id) FROM premises)", (formula,)))
    path = tmp_path / "out.csv"
    await transfer.export_file(source, path, include_sensitive=True, service=1)
    cells = [cell for row in csv.reader(io.StringIO(path.read_text())) for cell in row]
    assert "'" + formula in cells and formula not in cells   # a spreadsheet shows it as text
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    await transfer.import_file(target, _settings(tmp_path), path, service=1)
    assert await _all(target) == await _all(source)           # negative longitudes included


async def test_an_import_stamps_and_audits_a_changed_record_as_an_engine_edit_does(
        source: Database, tmp_path: Path) -> None:
    before = await _all(source)
    first, second = before[0], before[1]
    actor = engine.Actor(1, "sam", "Sam", "supervisor", (second["station"],), "d1")
    edit = Update(device_id="d1", seq=1, premises_id=second["id"],
                  base_version=second["version"],
                  changes=[FieldChange(field="name", old=second["name"], new="Edited")])
    await SqliteStore(source).write(lambda tx: engine.push(
        tx, actor, [edit], "2025-06-02T09:00:00Z", engine.Config()))
    text = (f"id,station,name,risk_level,assessed_at\n{first['id']},{first['station']},"
            f"Imported,{first['risk_level']},{first['assessed_at'] or ''}\n")
    await transfer.import_text(source, _settings(tmp_path), text, "csv", by="admin",
                               now="2025-06-02T10:00:00Z", service=1)
    after = {d["id"]: d for d in await _all(source)}
    imported, edited = after[first["id"]], after[second["id"]]
    assert (imported["version"], imported["updated_at"], imported["updated_by"]) == (
        first["version"] + 1, "2025-06-02T10:00:00Z", "admin")
    assert (edited["version"], edited["updated_at"], edited["updated_by"]) == (
        second["version"] + 1, "2025-06-02T09:00:00Z", "sam")
    [by_import] = await history(source, first["id"])
    [by_engine] = await history(source, second["id"])
    assert set(by_import) == set(by_engine)
    assert (by_import["kind"], by_import["version"], by_import["after"]) == (
        "import", imported["version"], {"name": "Imported"})
    assert (by_engine["kind"], by_engine["version"], by_engine["after"]) == (
        "update", edited["version"], {"name": "Edited"})


async def test_an_import_that_moves_a_record_tells_the_old_station_it_left(
        source: Database, tmp_path: Path) -> None:
    first = (await _all(source))[0]
    other = next(s for s in await source.read(lambda c: stations.codes(c, 1)) if s != first["station"])
    text = f"id,station,name\n{first['id']},{other},{first['name']}\n"
    seq = await SqliteStore(source).read(lambda r: r.max_seq())
    await transfer.import_text(source, _settings(tmp_path), text, "csv", service=1)
    left = await SqliteStore(source).read(lambda r: r.left(seq, r.max_seq(), [first["station"]]))
    assert left == [first["id"]]


async def test_csv_quotes_every_cell_a_spreadsheet_would_run_and_keeps_numbers_numbers(
        source: Database, target: Database, tmp_path: Path) -> None:
    starts = ["\nLF", " =1+1", "＝1+1", "＋1", "－1", "＠SUM(A1)", "\tx", "\rx", "-x", "@x",
              "'=quoted already", "'tis"]
    ids = [r[0] for r in (await source.execute(
        "SELECT id FROM premises ORDER BY id LIMIT ?", (len(starts) + 1,))).rows]

    def plant(conn: sqlite3.Connection) -> None:
        for pid, note in zip(ids, starts, strict=False):
            conn.execute("UPDATE premises SET doc = json_set(doc, '$.risk_notes', ?) "
                         "WHERE id = ?", (note, pid))
        conn.execute("UPDATE premises SET doc = json_set(doc, '$.lon', -0.015, '$.lat', 51.5) "
                     "WHERE id = ?", (ids[-1],))
    await source.write(plant)
    path = tmp_path / "out.csv"
    await transfer.export_file(source, path, include_sensitive=True, service=1)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    notes = {r["id"]: r["risk_notes"] for r in rows}
    for pid, note in zip(ids, starts, strict=False):
        assert notes[pid] == "'" + note, note                 # shown as text, never run
    last = next(r for r in rows if r["id"] == ids[-1])
    assert last["lon"] == "-0.015" and last["lat"] == "51.5"  # numbers stay numbers
    await transfer.import_file(target, _settings(tmp_path), path, service=1)
    assert await _all(target) == await _all(source)           # the quote comes off again
    back = (await target.execute("SELECT doc FROM premises WHERE id = ?", (ids[-1],))).first()
    assert json.loads(back[0])["lon"] == -0.015


async def test_every_problem_of_a_row_is_listed_in_plain_words_not_only_the_first(
        target: Database, tmp_path: Path) -> None:
    text = ("id,station,name,postcode,risk_level,hazards\n"
            'a1,XXX,,NOPE,9,"[{""id"":""h1"",""type"":""dragons""},'
            '{""id"":""h2"",""type"":""lpg""},{""id"":""h3"",""type"":""trolls""}]"\n')
    with pytest.raises(transfer.InvalidImport) as caught:
        await transfer.import_text(target, _settings(tmp_path), text, "csv", service=1)
    assert [str(p) for p in caught.value.problems] == [
        "line 2, field name: Name is required",
        "line 2, field postcode: Postcode is not in the right form: use a UK postcode in "
        "capitals, such as AB1 2CD",
        "line 2, field risk_level: Risk level is too high: 9, at most 4",
        "line 2, field hazards[0].type: Hazard 1 (type): “dragons” is not one of the choices",
        "line 2, field hazards[2].type: Hazard 3 (type): “trolls” is not one of the choices",
        "line 2, field station: unknown station code 'XXX'"]
    assert await _all(target) == []


async def test_postcodes_are_normalised_rather_than_rejected(
        target: Database, tmp_path: Path) -> None:
    text = ("id,station,name,postcode\n"
            "a1,WIS,Lower case,pe15 9zz\na2,WIS,No space,pe159zz\na3,WIS,Spaced, PE15  9ZZ \n")
    await transfer.import_text(target, _settings(tmp_path), text, "csv", service=1)
    assert [d["postcode"] for d in await _all(target)] == ["PE15 9ZZ"] * 3


async def test_every_imported_new_record_has_a_history_entry(
        target: Database, tmp_path: Path) -> None:
    await transfer.import_text(target, _settings(tmp_path), _csv("a1,WIS,New one,2,,"),
                               "csv", by="ada", now="2025-06-02T10:00:00Z", service=1)
    [entry] = await history(target, "a1")
    assert (entry["kind"], entry["user"], entry["before"]) == ("import", "ada", {})
    assert entry["after"]["name"] == "New one" and entry["version"] == 1
