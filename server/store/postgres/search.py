"""Premises search on PostgreSQL: the same answers as server/store/search.py (every word a
prefix; exact postcode or UPRN first, then name matches, then the rest; a count bounded by
COUNT_CAP) in one statement per search, from two word vectors PostgreSQL keeps of each row
(migration 22): `name_words` and `all_words`, made from the `search` column's folded words
(server/store/records.py), each with a GIN index of live rows that answers `word:*` prefixes.
Chosen over pg_trgm: prefix-of-a-word is the rule SQLite's FTS5 keeps, a trigram index would
match inside words too and needs an extension (docs/deployment.md). No HTTP here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from server.store import search as base  # its bounds are read at each call (tests set them)
from server.store.search import Filters, Found, exact_key, folded, words

Conn = psycopg.Connection[Any]
_decode = msgspec.json.decode


def tsquery(ws: list[str]) -> str:
    """Every word as a prefix, folded as the rows' words are. Words are letters and digits
    only, so quoting them is all the escaping a tsquery needs."""
    return " & ".join(f"'{w}':*" for w in folded(" ".join(ws)))


def _filters(f: Filters) -> tuple[str, dict[str, Any]]:
    where, params = "", {}  # type: str, dict[str, Any]
    if f.stations is not None:
        where += " AND p.station = ANY(%(stations)s)"
        params["stations"] = list(f.stations)
    if f.risk_level is not None:
        where += " AND p.risk_level = %(risk_level)s"
        params["risk_level"] = f.risk_level
    for name, bound in (("overdue_on", f.overdue_on), ("due_before", f.due_before)):
        if bound is not None:
            where += f" AND p.next_review_due < %({name})s"
            params[name] = bound
    if f.never_assessed:
        where += " AND p.next_review_due IS NULL"
    return where, params


# The tiers of one search, as one statement. `n` counts the matches up to the cap; with few
# (at most SORT_LIMIT) every match is read and put in name order within its tier; with more,
# each tier is read in index order only as far as the page needs, and the rest tier not at
# all when the name tier fills it. The documents of the page are read last, by id.
_SEARCH = """
WITH ex AS MATERIALIZED ({exact}),
n AS MATERIALIZED (SELECT count(*) AS n FROM (SELECT 1 FROM premises p
      WHERE p.deleted = 0 AND p.all_words @@ %(q)s::tsquery{where} LIMIT %(cap)s + 1) m),
few AS (SELECT p.id, p.name, CASE WHEN p.name_words @@ %(q)s::tsquery THEN 1 ELSE 2 END
               AS tier, 0 AS pos
        FROM premises p
        WHERE (SELECT n FROM n) <= %(sort)s AND p.deleted = 0
          AND p.all_words @@ %(q)s::tsquery{where}),
named AS MATERIALIZED (SELECT t.id, t.name, 1 AS tier, row_number() OVER () AS pos FROM (
        SELECT p.id, p.name FROM premises p
        WHERE (SELECT n FROM n) > %(sort)s AND p.deleted = 0
          AND p.name_words @@ %(q)s::tsquery{where}
        LIMIT %(want)s + (SELECT count(*) FROM ex)) t),
rest AS (SELECT t.id, t.name, 2 AS tier, row_number() OVER () AS pos FROM (
        SELECT p.id, p.name FROM premises p
        WHERE (SELECT n FROM n) > %(sort)s AND p.deleted = 0
          AND p.all_words @@ %(q)s::tsquery AND NOT p.name_words @@ %(q)s::tsquery{where}
        LIMIT greatest(0, %(want)s + (SELECT count(*) FROM ex) - (SELECT count(*) FROM named))
        ) t),
found AS (SELECT DISTINCT ON (id) id, name, tier, pos FROM (
        SELECT * FROM ex UNION ALL SELECT * FROM few UNION ALL SELECT * FROM named
        UNION ALL SELECT * FROM rest) h ORDER BY id, tier),
page AS (SELECT * FROM found ORDER BY tier, pos, name, id OFFSET %(offset)s LIMIT %(limit)s)
SELECT (SELECT n FROM n), p.doc FROM (SELECT 1) one LEFT JOIN page k ON true
LEFT JOIN premises p ON p.id = k.id
ORDER BY k.tier, k.pos, k.name, k.id
"""
_EXACT = ("SELECT p.id, p.name, 0 AS tier, 0::bigint AS pos FROM premises p "
          "WHERE p.deleted = 0 AND (p.postcode = ANY(%(postcodes)s) OR p.uprn = %(uprn)s)"
          "{where} ORDER BY p.name, p.id LIMIT %(cap)s")
_NO_EXACT = "SELECT NULL::text AS id, NULL::text AS name, 0 AS tier, 0::bigint AS pos WHERE false"


def search(conn: Conn, q: str, f: Filters, limit: int = 50, offset: int = 0) -> Found:
    """As server/store/search.py's `search`, with the same bounds on work."""
    tq = tsquery(words(q))
    if not tq or f.stations == []:
        return listing(conn, f, limit, offset)
    where, params = _filters(f)
    postcodes, uprn = exact_key(q)
    exact = _EXACT.format(where=where) if postcodes or uprn else _NO_EXACT
    params.update(q=tq, postcodes=postcodes, uprn=uprn or "", cap=base.COUNT_CAP,
                  sort=base.SORT_LIMIT, want=offset + limit, offset=offset, limit=limit)
    rows = conn.execute(_SEARCH.format(exact=exact, where=where), params).fetchall()
    n = int(rows[0][0])
    return Found(min(n, base.COUNT_CAP), n > base.COUNT_CAP,
                 [_decode(r[1]) for r in rows if r[1] is not None])


def listing(conn: Conn, f: Filters, limit: int = 50, offset: int = 0) -> Found:
    """Every live premises the filters keep, by name, with the count bounded by base.COUNT_CAP."""
    if f.stations == []:
        return Found(0, False)
    where, params = _filters(f)
    params.update(cap=base.COUNT_CAP + 1, limit=limit, offset=offset)
    n = int(conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM premises p WHERE p.deleted = 0{where} "
        "LIMIT %(cap)s) m", params).fetchone()[0])  # type: ignore[index]
    rows = conn.execute(
        f"SELECT p.doc FROM premises p WHERE p.deleted = 0{where} ORDER BY p.name, p.id "
        "LIMIT %(limit)s OFFSET %(offset)s", params).fetchall()
    return Found(min(n, base.COUNT_CAP), n > base.COUNT_CAP, [_decode(r[0]) for r in rows])
