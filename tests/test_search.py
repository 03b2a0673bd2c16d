"""Search on the FTS5 index: ranking, odd input, bounded counts, index-driven filters, and an
index that stays exact through imports, sync pushes, deletes and purges (checked by scan)."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg import Cluster
from world import World, make_premises

from server import transfer
from server.demo import generate_premises
from server.store import engines, records, search
from server.store.database import Database
from server.store.sync import purge_tombstones

STATIONS = [("A01", "Ashby", 52.2, 0.1), ("B02", "Barton", 52.4, 0.3)]


async def _db(tmp_path: Path, docs: list[dict[str, Any]], url: str = "") -> Database:
    """The records on a new SQLite file, or with `url` on PostgreSQL (the same faces)."""
    db: Database = await engines.open_database(tmp_path / "search.db", url, 1)

    def rows(conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO stations (code, name, lat, lon) VALUES (?, ?, ?, ?)",
                         STATIONS)
        records.insert_many(conn, docs)
    await db.write(rows)
    return db


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    """"" for SQLite, else a fresh schema of the session's PostgreSQL cluster (tests/pg.py)."""
    if request.param == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        return cluster.fresh_url()
    return ""


async def _ids(db: Database, q: str, f: search.Filters | None = None, **kw: Any) -> list[str]:
    found = await db.read(lambda c: search.search(c, q, f or search.Filters(), **kw))
    return [d["id"] for d in found.docs]


RANKED = [
    make_premises("addr", "A01", "Alpha Stores", address="1 Mill Road, Ashby",
                  postcode="CB1 9XY", uprn="200000000001", next_review_due="2020-01-01"),
    make_premises("name2", "A01", "Zed Mill House", postcode="CB2 1AA", uprn="200000000002",
                  next_review_due="2020-01-01"),
    make_premises("name1", "A01", "Mill Farm", postcode="CB2 1AB", uprn="200000000003",
                  next_review_due="2021-01-01"),
    make_premises("exact", "B02", "Zulu Works", postcode="CB1 2AB", uprn="123456789012"),
    make_premises("near", "B02", "Aardvark Depot", address="Opposite CB1 2AB",
                  postcode="CB1 2AD", uprn="1234567890123"),
    make_premises("cafe", "B02", "Café Mill", address="Quai, Ashby", postcode="CB3 3CC",
                  uprn="200000000004", risk_level=1),
]


async def test_name_matches_come_before_address_matches(tmp_path: Path, url: str) -> None:
    db = await _db(tmp_path, RANKED, url)
    try:
        assert await _ids(db, "mill") == ["cafe", "name1", "name2", "addr"]
    finally:
        await db.close()


async def test_an_exact_postcode_or_uprn_comes_first(tmp_path: Path, url: str) -> None:
    db = await _db(tmp_path, RANKED, url)
    try:
        assert await _ids(db, "CB1 2AB") == ["exact", "near"]
        assert await _ids(db, "cb12ab") == ["exact"]  # without its space: the postcode only
        assert await _ids(db, "123456789012") == ["exact", "near"]  # the longer UPRN follows
        assert await _ids(db, "12345678901") == ["near", "exact"]   # a prefix: by name
    finally:
        await db.close()


async def test_ranking_holds_past_the_count_cap(tmp_path: Path, url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    monkeypatch.setattr(search, "SORT_LIMIT", 2)  # and past the name sort: index order
    db = await _db(tmp_path, RANKED, url)
    try:
        found = await db.read(lambda c: search.search(c, "mill", search.Filters()))
        assert (found.total, found.capped) == (2, True)
        ids = [d["id"] for d in found.docs]
        assert sorted(ids[:3]) == ["cafe", "name1", "name2"] and ids[3:] == ["addr"]
        second = await _ids(db, "mill", limit=2, offset=2)
        assert second == ids[2:4]
        exact = await db.read(lambda c: search.search(c, "CB1 2AB", search.Filters()))
        assert exact.docs[0]["id"] == "exact"
    finally:
        await db.close()


async def test_words_match_as_prefixes_without_case_or_accents(tmp_path: Path, url: str) -> None:
    db = await _db(tmp_path, RANKED, url)
    try:
        assert await _ids(db, "cafe") == ["cafe"]
        assert await _ids(db, "CAFÉ mi") == ["cafe"]
        assert await _ids(db, "quai ash") == ["cafe"]
        assert await _ids(db, "ill") == []  # a prefix of a word, not any part of it
    finally:
        await db.close()


ODD = ['"', "'", '""', "AND", "OR", "NOT", "NEAR", "NEAR(mill farm)", "mill OR farm",
       "mill NOT farm", "*", "**", "mill*", "-", "-mill", "mill -farm", "^mill", "name:mill",
       "{name}:mill", "tags:r1", "r1", "(", ")", "mill)", "a(b", "\\", "%", "_", "%_%",
       "🔥", "😀 mill", "𞤀", "\x00", "\u200b", "ﬁre", "ß", "İstanbul", "мельница",
       "x" * 200, "mill " * 50, "+", "@", "'; DROP TABLE premises; --", "\"mill\"", "m\"ill"]


async def test_odd_input_is_never_an_error(world: World) -> None:
    for q in ODD:
        r = await world.client.get("/api/premises", params={"q": q}, headers=world.as_("admin"))
        assert r.status_code == 200, (q, r.text)
    found = await world.client.get("/api/premises", params={"q": '"maple" -court*'},
                                   headers=world.as_("admin"))
    assert [p["id"] for p in found.json()["items"]] == ["p1"]  # punctuation is ignored
    for q in ("r2", "tags r2", "s413031"):  # the filter tags are not searchable words
        none = await world.client.get("/api/premises", params={"q": q},
                                      headers=world.as_("admin"))
        assert none.json()["items"] == [], q


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_text_is_a_valid_query(q: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE premises_fts USING fts5(name, address, postcode, uprn, "
                 "tags, tokenize = 'unicode61 remove_diacritics 2')")
    ws = search.words(q)
    if ws:
        for expr in (search.match_all(ws), search.match_name(ws),
                     f"{search.match_all(ws)} NOT {search.match_name(ws)}"):
            conn.execute("SELECT rowid FROM premises_fts WHERE premises_fts MATCH ?", (expr,))


async def test_the_api_says_when_the_total_is_capped(world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    h = world.as_("admin")
    small = (await world.client.get("/api/premises", params={"q": "cb"}, headers=h)).json()
    assert small["total_capped"] is False and small["total"] == len(small["items"])
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    for params in ({"q": "cb"}, {}):
        page = (await world.client.get("/api/premises", params=params, headers=h)).json()
        assert page["total"] == 2 and page["total_capped"] is True, params
        assert len(page["items"]) > 2  # the items are not cut to the count


async def test_search_with_filters_reads_the_index_not_the_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = await _db(tmp_path, RANKED)
    try:
        f = search.Filters(stations=["A01"], risk_level=2, overdue_on="2030-01-01")

        def plans(conn: sqlite3.Connection) -> list[list[str]]:
            """The plan of every statement a search with all the filters runs."""
            ran: list[str] = []
            conn.set_trace_callback(ran.append)  # statements with their values bound
            try:
                search.search(conn, "mill farm", f)
                search.search(conn, "CB2 1AB", f)
                monkeypatch.setattr(search, "COUNT_CAP", 1)
                monkeypatch.setattr(search, "SORT_LIMIT", 1)
                assert search.search(conn, "mill", f).capped
                monkeypatch.undo()
            finally:
                conn.set_trace_callback(None)
            return [[r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql)]
                    for sql in ran if sql.startswith("SELECT")   # not the index's own
                    and "premises_fts_" not in sql and "FROM stations" not in sql]
        steps = await db.read(plans)
        assert steps and any("VIRTUAL TABLE INDEX" in s for plan in steps for s in plan)
        for plan in steps:  # the index, rowid lookups, B-tree indexes: never a table scan
            assert all(s.startswith(("SCAN premises_fts VIRTUAL TABLE", "SEARCH", "USE TEMP",
                                     "LIST SUBQUERY", "MULTI-INDEX", "INDEX", "SCALAR",
                                     "CO-ROUTINE (subquery", "SCAN (subquery"))
                       for s in plan), plan
        assert await _ids(db, "mill", f) == ["name1", "name2", "addr"]
        assert await _ids(db, "mill", search.Filters(overdue_on="2020-06-01")) == [
            "name2", "addr"]
        assert await _ids(db, "mill", search.Filters(stations=["A01"])) == [
            "name1", "name2", "addr"]
        assert await _ids(db, "mill", search.Filters(stations=["B02"], risk_level=1)) == [
            "cafe"]
    finally:
        await db.close()


async def test_filters_narrow_a_search_on_either_engine(tmp_path: Path, url: str) -> None:
    db = await _db(tmp_path, RANKED, url)
    try:
        f = search.Filters(stations=["A01"], risk_level=2, overdue_on="2030-01-01")
        assert await _ids(db, "mill", f) == ["name1", "name2", "addr"]
        assert await _ids(db, "mill", search.Filters(overdue_on="2020-06-01")) == [
            "name2", "addr"]
        assert await _ids(db, "mill", search.Filters(due_before="2020-06-01")) == [
            "name2", "addr"]
        assert await _ids(db, "mill", search.Filters(never_assessed=True)) == ["cafe"]
        assert await _ids(db, "mill", search.Filters(stations=["B02"], risk_level=1)) == [
            "cafe"]
        assert await _ids(db, "mill", search.Filters(stations=[])) == []
        assert await _ids(db, "CB2 1AB", search.Filters(stations=["B02"])) == []
    finally:
        await db.close()


async def test_postgresql_gives_the_answers_sqlite_gives(tmp_path: Path, postgres: Cluster,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         ) -> None:
    """The same 600 generated records on both engines; 80 queries of prefixes of their own
    words (and postcodes, UPRNs), drawn at random, give the same total and, up to SORT_LIMIT
    matches, the same records in the same order (beyond it each tier comes in its engine's
    index order). Paging and a small count cap included."""
    monkeypatch.setattr(search, "COUNT_CAP", 300)
    generated = generate_premises(600, STATION_DICTS[:2], seed=11, today=dt.date(2026, 1, 1))
    generated[0]["name"] = "Café Mill Ætna Straße"
    lite = await _db(tmp_path, generated)
    pg = await _db(tmp_path, generated, postgres.fresh_url())
    vocabulary = sorted({w for d in generated for w in search.words(
        f"{d['name']} {d.get('address', '')} {d.get('postcode', '')} {d.get('uprn', '')}")})
    rng = random.Random(14)
    queries = [" ".join(w[:rng.randint(1, 8)]
                        for w in rng.sample(vocabulary, rng.randint(1, 2))) for _ in range(80)]
    queries += ["cafe", "CAFÉ mi", "ætna", "straße", generated[1]["postcode"],
                generated[1]["postcode"].replace(" ", ""), generated[1]["uprn"]]
    ordered = 0  # queries whose whole order was compared
    try:
        for i, q in enumerate(queries):
            f = search.Filters(stations=[None, ["A01"], ["B02"]][i % 3])
            offset = 7 if i % 4 == 0 else 0
            a, b = [await db.read(lambda c, q=q, f=f, o=offset: search.search(
                c, q, f, limit=400, offset=o)) for db in (lite, pg)]
            assert (a.total, a.capped) == (b.total, b.capped), q
            ids_a, ids_b = [d["id"] for d in a.docs], [d["id"] for d in b.docs]
            if a.total <= search.SORT_LIMIT:
                assert ids_a == ids_b, q
                ordered += bool(ids_a)
            else:
                assert len(ids_a) == len(ids_b), q
        assert ordered >= 20
    finally:
        await lite.close()
        await pg.close()


# -- the index stays exact ------------------------------------------------------------------

def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c)).casefold()


def _tokens(doc: dict[str, Any]) -> list[str]:
    postcode = str(doc.get("postcode") or "")
    text = " ".join([doc["name"], doc.get("address") or "", postcode, postcode.replace(" ", ""),
                     str(doc.get("uprn") or "")])
    return re.findall(r"[^\W_]+", _fold(text))


def _scan(docs: list[tuple[dict[str, Any], list[str]]], q: str, stations: list[str] | None,
          ) -> set[str]:
    """The brute-force answer: every word a prefix of some token of a live record."""
    ws = [_fold(w) for w in search.words(q)]
    return {d["id"] for d, tokens in docs
            if (stations is None or d["station"] in stations)
            and all(any(t.startswith(w) for t in tokens) for w in ws)}


def _assert_index_is_exact(path: str, examples: int = 200, shortest: int = 1) -> None:
    """FTS5's integrity-check (every entry against the rows), one entry per live row, and
    search agreeing with a scan for hypothesis-drawn prefixes of the records' own words."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO premises_fts (premises_fts, rank) VALUES ('integrity-check', 1)")
    live = [(d, _tokens(d)) for d in (records._decode(r[0]) for r in conn.execute(
        "SELECT doc FROM premises WHERE deleted = 0"))]
    indexed = conn.execute("SELECT count(*) FROM premises_fts").fetchone()[0]
    assert indexed == len(live)
    vocabulary = sorted({t for _, tokens in live for t in tokens})

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from(vocabulary), st.integers(shortest, 8)),
                    min_size=1, max_size=3),
           st.sampled_from([None, ["A01"], ["B02", "C03"]]))
    def agree(prefixes: list[tuple[str, int]], stations: list[str] | None) -> None:
        q = " ".join(word[:n] for word, n in prefixes)
        found = search.search(conn, q, search.Filters(stations=stations), limit=10**6)
        assert not found.capped
        assert {d["id"] for d in found.docs} == _scan(live, q, stations), q
        assert found.total == len(found.docs)
    agree()
    conn.close()


STATION_DICTS = [{"code": c, "name": n + " Fire Station", "lat": 52.0, "lon": 0.1,
                  "extra_grounds": []}
                 for c, n in (("A01", "Ashby"), ("B02", "Barton"), ("C03", "Carrow"))]


async def test_an_import_of_5000_premises_keeps_the_index_exact(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "COUNT_CAP", 10**6)
    generated = generate_premises(5_000, STATION_DICTS, seed=9, today=dt.date(2026, 1, 1))
    out = io.StringIO()
    transfer.write_csv(generated, out)
    result = await transfer.import_text(world.db, world.app.state.settings, out.getvalue(),
                                        "csv", service=1)
    assert result.written == 5_000
    _assert_index_is_exact(world.db.path, examples=10, shortest=3)


async def test_imports_pushes_deletes_and_purges_keep_the_index_exact(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "COUNT_CAP", 10**6)  # compare whole match sets
    rng = random.Random(5)
    generated = generate_premises(400, STATION_DICTS, seed=3, today=dt.date(2026, 1, 1))
    out = io.StringIO()
    transfer.write_csv(generated, out)
    settings_ = world.app.state.settings
    result = await transfer.import_text(world.db, settings_, out.getvalue(), "csv", service=1)
    assert result.written == 400
    _assert_index_is_exact(world.db.path)

    # a sync burst: renames, moves, re-postcodes, re-UPRNs, risk changes, deletes
    docs = [records._decode(r[0]) for r in await world.db.execute(
        "SELECT doc FROM premises WHERE id NOT LIKE 'p_'")]
    device = world.tokens["admin"][3:].split("_", 1)[0]
    current = {d["id"]: d for d in docs}
    mutations: list[dict[str, Any]] = []
    for seq, doc in enumerate(rng.sample(docs, 150), start=1):
        field, new = rng.choice([("name", doc["name"] + " Annexe"),
                                 ("address", "Kettle Yard, " + doc["address"]),
                                 ("postcode", "ZZ9 9ZZ"), ("uprn", "9" + doc["uprn"][1:]),
                                 ("station", "C03"), ("risk_level", 1)])
        if seq % 10 == 0:
            mutations.append({"kind": "delete", "device_id": device, "seq": seq,
                              "premises_id": doc["id"], "base_version": doc["version"]})
        else:
            mutations.append({"kind": "update", "device_id": device, "seq": seq,
                              "premises_id": doc["id"], "base_version": doc["version"],
                              "changes": [{"field": field, "old": doc[field], "new": new}]})
        current.pop(doc["id"])
    for i in range(0, len(mutations), 50):
        r = await world.client.post("/api/sync/push", json={"mutations": mutations[i:i + 50]},
                                    headers=world.as_("admin"))
        assert r.status_code == 200, r.text
        assert {x["status"] for x in r.json()["receipts"]} == {"applied"}, r.text
    _assert_index_is_exact(world.db.path)

    # the import again, with names changed: updates in place
    renamed = [{**d, "name": "Renamed " + d["name"]} for d in list(current.values())[:100]]
    out = io.StringIO()
    transfer.write_csv(renamed, out)
    assert (await transfer.import_text(world.db, settings_, out.getvalue(), "csv", service=1)).written == 100
    top = (await world.db.execute("SELECT max(change_seq) FROM premises")).single_value()
    assert await purge_tombstones(world.db, top) == 15
    await world.db.execute_write(  # a REPLACE (delete and insert) by code that writes raw SQL
        "INSERT OR REPLACE INTO premises (id, station, name, risk_level, doc) "
        "VALUES ('p4', 'C03', 'Xylo Quay', 3, "
        "'{\"id\": \"p4\", \"station\": \"C03\", \"name\": \"Xylo Quay\"}')")
    _assert_index_is_exact(world.db.path)
    for q, ids in (("xylo qu", ["p4"]), ("carrow towers", [])):
        page = await world.client.get("/api/premises", params={"q": q},
                                      headers=world.as_("admin"))
        assert [p["id"] for p in page.json()["items"]] == ids, q
