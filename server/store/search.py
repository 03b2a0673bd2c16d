"""Premises search on the FTS5 index `premises_fts` (migration 9): what a person types turned
into a safe FTS5 expression, results in ranked tiers, and a count bounded by COUNT_CAP.

The index is kept exact by SQLite triggers on `premises`, in the same transaction as each write,
whichever code writes premises; this module only reads it. Runs on a sqlite3 connection handed
in by the Database; no HTTP here. Must never scan every match (or every row) for a keystroke.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.store.postgres.compat import is_pg

COUNT_CAP = 1000   # matches counted at most; beyond it the total is "1,000+"
SORT_LIMIT = 200   # matches put in name order within their tier at most (a row read each)
MAX_WORDS = 12     # words of a query used at most
WORD_CHARS = 100   # characters of a word PostgreSQL indexes and matches (a lexeme's bound)
SEARCHED = "{name address postcode uprn}"   # the FTS columns a typed word may match

_WORD = re.compile(r"[^\W_]+")   # runs of letters and digits: what the unicode61 tokenizer keeps
_decode = msgspec.json.decode


@dataclass(frozen=True)
class Filters:
    """What narrows a search besides its words; stations and risk level are index tags."""
    stations: list[str] | None = None
    risk_level: int | None = None
    overdue_on: str | None = None     # next review due before this date (ISO)
    due_before: str | None = None     # the same, for the console's "due soon or overdue"
    never_assessed: bool = False      # no assessment yet: no review date at all


@dataclass
class Found:
    total: int            # the matches, or COUNT_CAP when there are more
    capped: bool          # True: more than `total` premises match
    docs: list[dict[str, Any]] = field(default_factory=list)


def words(q: str) -> list[str]:
    """The words of a query: letters and digits only, so no input is FTS5 syntax."""
    return _WORD.findall(q)[:MAX_WORDS]


def folded(text: str) -> list[str]:
    """The words of `text` as FTS5's unicode61 tokenizer indexes them, for an engine without
    it (PostgreSQL): lower case, accents removed (canonical decomposition, marks dropped),
    runs of letters and digits, each cut to WORD_CHARS."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text.lower())
                   if not unicodedata.combining(c))
    return [w[:WORD_CHARS] for w in _WORD.findall(bare)]


def match_all(ws: list[str]) -> str:
    """Every word, as a prefix, in any searched column. Each word is a quoted FTS5 string of
    letters and digits, so quotes, operators, `*`, `-` and column names in input are inert."""
    return f"{SEARCHED} : (" + " AND ".join(f'"{w}"*' for w in ws) + ")"


def match_name(ws: list[str]) -> str:
    return "name : (" + " AND ".join(f'"{w}"*' for w in ws) + ")"


def station_tag(code: str) -> str:
    """The index tag of a station (the view premises_search writes 's' || hex(station))."""
    return "s" + code.encode().hex()


def _tags(conn: sqlite3.Connection, f: Filters) -> str:
    parts = []
    if f.stations is not None:
        known = {r[0] for r in conn.execute("SELECT code FROM stations")}
        if not known <= set(f.stations):   # all of them in scope: no need to say so
            parts.append("tags : (" + " OR ".join(f'"{station_tag(s)}"' for s in f.stations)
                         + ")")
    if f.risk_level is not None:
        parts.append(f'tags : "r{int(f.risk_level)}"')
    return "".join(" AND " + p for p in parts)


def _dates(f: Filters) -> tuple[str, list[Any]]:
    where, params = "", []  # type: str, list[Any]
    for bound in (f.overdue_on, f.due_before):
        if bound is not None:
            where += " AND p.next_review_due < ?"
            params.append(bound)
    if f.never_assessed:
        where += " AND p.next_review_due IS NULL"
    return where, params


def _stream(conn: sqlite3.Connection, expr: str, f: Filters, limit: int,
            names: bool = False) -> list[tuple[Any, ...]]:
    """Rowids (and name, id) of index matches in index order, the first `limit` only."""
    dates, params = _dates(f)
    cols = ", p.name, p.id" if names else ""
    join = " JOIN premises p ON p.rowid = premises_fts.rowid" if (dates or names) else ""
    return [tuple(r) for r in conn.execute(
        f"SELECT premises_fts.rowid{cols} FROM premises_fts{join} "
        f"WHERE premises_fts MATCH ?{dates} LIMIT ?", [expr, *params, limit])]


def _count(conn: sqlite3.Connection, expr: str, f: Filters, cap: int) -> int:
    """Index matches, counted up to `cap` (inside SQLite: no row reaches Python)."""
    dates, params = _dates(f)
    join = " JOIN premises p ON p.rowid = premises_fts.rowid" if dates else ""
    return int(conn.execute(
        f"SELECT count(*) FROM (SELECT premises_fts.rowid FROM premises_fts{join} "
        f"WHERE premises_fts MATCH ?{dates} LIMIT ?)", [expr, *params, cap]).fetchone()[0])


def exact_key(q: str) -> tuple[list[str], str | None]:
    """The postcodes (with its space, and as typed without) and the UPRN that `q` is exactly."""
    compact = re.sub(r"\s+", "", q).upper()
    if not 5 <= len(compact) <= 8 or not compact.isalnum():
        postcodes = []
    else:
        postcodes = [compact[:-3] + " " + compact[-3:], compact]
    uprn = compact if compact.isdigit() else None
    return postcodes, uprn


def _exact(conn: sqlite3.Connection, q: str, f: Filters) -> list[int]:
    """Live premises whose postcode or UPRN is exactly the query, by name (B-tree lookups)."""
    postcodes, uprn = exact_key(q)
    ors, params = [], []  # type: list[str], list[Any]
    if postcodes:
        ors.append(f"p.postcode IN ({', '.join('?' * len(postcodes))})")
        params.extend(postcodes)
    if uprn:
        ors.append("p.uprn = ?")
        params.append(uprn)
    if not ors:
        return []
    where = "p.deleted = 0 AND (" + " OR ".join(ors) + ")"
    if f.stations is not None:
        where += f" AND p.station IN ({', '.join('?' * len(f.stations))})"
        params.extend(f.stations)
    if f.risk_level is not None:
        where += " AND p.risk_level = ?"
        params.append(f.risk_level)
    dates, dparams = _dates(f)
    return [int(r[0]) for r in conn.execute(
        f"SELECT p.rowid FROM premises p WHERE {where}{dates} ORDER BY p.name, p.id LIMIT ?",
        [*params, *dparams, COUNT_CAP])]


def _docs(conn: sqlite3.Connection, rowids: list[int]) -> list[dict[str, Any]]:
    if not rowids:
        return []
    rows = dict(conn.execute(
        f"SELECT rowid, doc FROM premises WHERE rowid IN ({', '.join('?' * len(rowids))})",
        rowids).fetchall())
    return [_decode(rows[r]) for r in rowids if r in rows]


def search(conn: sqlite3.Connection, q: str, f: Filters, limit: int = 50, offset: int = 0,
           ) -> Found:
    """Live premises matching every word of `q` as a prefix, ranked: exact postcode or UPRN
    first, then premises whose name has every word, then the rest (address, postcode, UPRN).

    Up to SORT_LIMIT matches each tier is ordered by name; beyond it (the person has not
    narrowed the search yet) each tier comes in index order. Beyond COUNT_CAP matches `total`
    is COUNT_CAP with `capped` set. Work is bounded by COUNT_CAP + offset + limit index
    entries and SORT_LIMIT + limit row reads, never the whole match set.
    """
    if is_pg(conn):  # PostgreSQL's form: full-text search (server/store/postgres/search.py)
        from server.store.postgres import search as pg_search  # noqa: PLC0415 (a cycle)
        return pg_search.search(conn.raw, q, f, limit, offset)  # type: ignore[attr-defined]
    ws = words(q)
    if not ws or f.stations == []:
        return listing(conn, f, limit, offset)
    tags = _tags(conn, f)
    every, name = match_all(ws) + tags, match_name(ws) + tags
    rest = f"{match_all(ws)} NOT {match_name(ws)}{tags}"
    exact = _exact(conn, q, f)
    n = _count(conn, every, f, COUNT_CAP + 1)
    total, capped = min(n, COUNT_CAP), n > COUNT_CAP
    if n <= SORT_LIMIT:
        found = _stream(conn, every, f, n, names=True)
        in_rest = {r[0] for r in _stream(conn, rest, f, n)}
        first = set(exact)
        ranked = sorted((r for r in found if r[0] not in first),
                        key=lambda r: (r[0] in in_rest, r[1], r[2]))
        order = exact + [r[0] for r in ranked]
        return Found(total, capped, _docs(conn, order[offset:offset + limit]))
    want = offset + limit
    seen = set(exact)
    order = list(exact)
    for expr in (name, rest):
        if len(order) >= want:
            break
        for (rowid,) in _stream(conn, expr, f, want - len(order) + len(seen)):
            if rowid not in seen:
                seen.add(rowid)
                order.append(rowid)
    return Found(total, capped, _docs(conn, order[offset:want]))


def listing(conn: sqlite3.Connection, f: Filters, limit: int = 50, offset: int = 0) -> Found:
    """Every live premises the filters keep, by name, with the count bounded by COUNT_CAP."""
    if is_pg(conn):
        from server.store.postgres import search as pg_search  # noqa: PLC0415 (a cycle)
        return pg_search.listing(conn.raw, f, limit, offset)  # type: ignore[attr-defined]
    if f.stations == []:
        return Found(0, False)
    where, params = ["p.deleted = 0"], []  # type: list[str], list[Any]
    if f.stations is not None:
        where.append(f"p.station IN ({', '.join('?' * len(f.stations))})")
        params.extend(f.stations)
    if f.risk_level is not None:
        where.append("p.risk_level = ?")
        params.append(f.risk_level)
    dates, dparams = _dates(f)
    clause = " AND ".join(where) + dates
    params += dparams
    n = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM premises p WHERE {clause} LIMIT ?)",
                     [*params, COUNT_CAP + 1]).fetchone()[0]
    rows = conn.execute(
        f"SELECT p.doc FROM premises p WHERE {clause} ORDER BY p.name, p.id LIMIT ? OFFSET ?",
        [*params, limit, offset]).fetchall()
    return Found(min(n, COUNT_CAP), n > COUNT_CAP, [_decode(r[0]) for r in rows])
