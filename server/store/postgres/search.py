"""Premises search on PostgreSQL: the same answers as server/store/search.py (every word a
prefix; exact postcode or UPRN first, then name matches, then the rest; a count bounded by
COUNT_CAP) from PostgreSQL's full-text search over the `search` column (lower-cased name,
address, postcode with and without its space, UPRN): the GIN index on
to_tsvector('simple', search) of live rows (migration 9) answers `word:*` prefix queries.
Chosen over pg_trgm: prefix-of-a-word is the rule SQLite's FTS5 keeps, a trigram index would
match inside words too and needs an extension (docs/deployment.md). No HTTP here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from server.store import search as base  # its bounds are read at each call (tests set them)
from server.store.search import Filters, Found, exact_key, words

Conn = psycopg.Connection[Any]
_decode = msgspec.json.decode
MATCH = "to_tsvector('simple', p.search) @@ to_tsquery('simple', %s)"
IN_NAME = "to_tsvector('simple', lower(p.name)) @@ to_tsquery('simple', %s)"


def tsquery(ws: list[str]) -> str:
    """Every word as a prefix; words are letters and digits only, so nothing is syntax."""
    return " & ".join(f"{w.lower()}:*" for w in ws)


def _filters(f: Filters) -> tuple[str, list[Any]]:
    where, params = "", []  # type: str, list[Any]
    if f.stations is not None:
        where += " AND p.station = ANY(%s)"
        params.append(list(f.stations))
    if f.risk_level is not None:
        where += " AND p.risk_level = %s"
        params.append(f.risk_level)
    for bound in (f.overdue_on, f.due_before):
        if bound is not None:
            where += " AND p.next_review_due < %s"
            params.append(bound)
    if f.never_assessed:
        where += " AND p.next_review_due IS NULL"
    return where, params


def _exact(conn: Conn, q: str, f: Filters) -> list[str]:
    postcodes, uprn = exact_key(q)
    if not postcodes and not uprn:
        return []
    where, params = _filters(f)
    rows = conn.execute(
        "SELECT p.id FROM premises p WHERE p.deleted = 0 AND (p.postcode = ANY(%s) "
        f"OR p.uprn = %s){where} ORDER BY p.name, p.id LIMIT %s",
        [postcodes, uprn or "", *params, base.COUNT_CAP]).fetchall()
    return [r[0] for r in rows]


def _docs(conn: Conn, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = dict(conn.execute("SELECT id, doc FROM premises WHERE id = ANY(%s)",
                             (ids,)).fetchall())
    return [_decode(rows[i]) for i in ids if i in rows]


def search(conn: Conn, q: str, f: Filters, limit: int = 50, offset: int = 0) -> Found:
    """As server/store/search.py's `search`, with the same bounds on work."""
    ws = words(q)
    if not ws or f.stations == []:
        return listing(conn, f, limit, offset)
    tq = tsquery(ws)
    where, params = _filters(f)
    exact = _exact(conn, q, f)
    n = int(conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM premises p WHERE p.deleted = 0 AND {MATCH}"
        f"{where} LIMIT %s) m", [tq, *params, base.COUNT_CAP + 1]).fetchone()[0])  # type: ignore[index]
    total, capped = min(n, base.COUNT_CAP), n > base.COUNT_CAP
    first = set(exact)
    if n <= base.SORT_LIMIT:
        found = conn.execute(
            f"SELECT p.id, p.name, {IN_NAME} FROM premises p WHERE p.deleted = 0 AND {MATCH}"
            f"{where}", [tq, tq, *params]).fetchall()
        ranked = sorted((r for r in found if r[0] not in first),
                        key=lambda r: (not r[2], r[1], r[0]))
        order = exact + [r[0] for r in ranked]
        return Found(total, capped, _docs(conn, order[offset:offset + limit]))
    want = offset + limit
    seen, order = set(exact), list(exact)
    for tier in (IN_NAME, "NOT " + IN_NAME):
        if len(order) >= want:
            break
        for (pid,) in conn.execute(
                f"SELECT p.id FROM premises p WHERE p.deleted = 0 AND {MATCH} AND {tier}"
                f"{where} LIMIT %s", [tq, tq, *params, want - len(order) + len(seen)]):
            if pid not in seen:
                seen.add(pid)
                order.append(pid)
    return Found(total, capped, _docs(conn, order[offset:want]))


def listing(conn: Conn, f: Filters, limit: int = 50, offset: int = 0) -> Found:
    """Every live premises the filters keep, by name, with the count bounded by base.COUNT_CAP."""
    if f.stations == []:
        return Found(0, False)
    where, params = _filters(f)
    n = int(conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM premises p WHERE p.deleted = 0{where} LIMIT %s) m",
        [*params, base.COUNT_CAP + 1]).fetchone()[0])  # type: ignore[index]
    rows = conn.execute(
        f"SELECT p.doc FROM premises p WHERE p.deleted = 0{where} ORDER BY p.name, p.id "
        "LIMIT %s OFFSET %s", [*params, limit, offset]).fetchall()
    return Found(min(n, base.COUNT_CAP), n > base.COUNT_CAP, [_decode(r[0]) for r in rows])
