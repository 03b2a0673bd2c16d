"""Premises rows on PostgreSQL: the same column mapping as server/store/records.py
(`row_values`), the change counter and the `attachment_refs` index kept with every row written.

The change counter is one row (`meta` key `change_seq`) taken FOR UPDATE by the statement that
reserves numbers and held until commit, so change numbers are handed out in commit order (see
`next_change_seq`). Must not decide what a record becomes: changes are made by sync/writer.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import psycopg

from server.store.records import COLUMNS, attachment_shas, row_values, search_text

Conn = psycopg.Connection[Any]
_decode = msgspec.json.decode
REFRESH_PAGE = 2000  # rows read at a time by refresh_words

UPSERT_SQL = (
    f"INSERT INTO premises ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "id")
)


def next_change_seq(conn: Conn, count: int = 1) -> int:
    """Reserve `count` numbers of the server-wide change sequence; returns the first.

    The counter row stays locked until this transaction ends, so the next transaction to
    reserve numbers waits for this one's commit (or rollback) and every number below it
    is committed, or never was, before a higher one is. A pull's snapshot therefore never sees
    a number while a lower one is still in flight: a cursor cannot pass a change that commits
    later. Call it as late in the transaction as possible (the store's flush does): only the
    tail of each write is serialised, not its reads and merges."""
    row = conn.execute(
        "INSERT INTO meta (key, value) VALUES ('change_seq', %s) ON CONFLICT (key) DO UPDATE "
        "SET value = (meta.value::bigint + %s)::text RETURNING value",
        (str(count), count)).fetchone()
    assert row is not None
    return int(row[0]) - count + 1


def put_rows(conn: Conn, docs: Sequence[dict[str, Any]], first_seq: int) -> None:
    """Write premises rows, the i-th with change number `first_seq + i`."""
    with conn.cursor() as cur:
        cur.executemany(UPSERT_SQL, [row_values(d, first_seq + i) for i, d in enumerate(docs)])


def put_refs(conn: Conn, refs: dict[str, frozenset[str]]) -> None:
    """Replace the attachment references of each record in `refs` (premises id -> blobs)."""
    if not refs:
        return
    conn.execute("DELETE FROM attachment_refs WHERE premises_id = ANY(%s)", (list(refs),))
    pairs = [(sha, pid) for pid, shas in refs.items() for sha in sorted(shas)]
    if pairs:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO attachment_refs (sha256, premises_id) VALUES (%s, %s)",
                            pairs)


def insert_many(conn: Conn, docs: Iterable[dict[str, Any]]) -> int:
    """Insert or replace records in bulk, as they are (demo data, test seeds); each gets a
    change number. Everything else writes records through sync/writer.py."""
    docs = list(docs)
    if not docs:
        return 0
    put_rows(conn, docs, next_change_seq(conn, len(docs)))
    put_refs(conn, {d["id"]: attachment_shas(d) for d in docs})
    return len(docs)


def get(conn: Conn, premises_id: str, lock: bool = False) -> dict[str, Any] | None:
    """A record; with `lock`, its row stays locked (FOR UPDATE) until the transaction ends."""
    row = conn.execute("SELECT doc FROM premises WHERE id = %s"
                       + (" FOR UPDATE" if lock else ""), (premises_id,)).fetchone()
    return _decode(row[0]) if row else None


def refresh_words(conn: Conn) -> int:
    """Write each premises row's `search` text as records.search_text makes it now, where it
    differs (an upgrade, a copy from SQLite); a page at a time. Returns the rows changed."""
    last, changed = "", 0
    while True:
        rows = conn.execute("SELECT id, doc, search FROM premises WHERE id > %s ORDER BY id "
                            "LIMIT %s", (last, REFRESH_PAGE)).fetchall()
        if not rows:
            return changed
        stale = [(text, pid) for pid, doc, old in rows
                 if (text := search_text(_decode(doc))) != old]
        if stale:
            with conn.cursor() as cur:
                cur.executemany("UPDATE premises SET search = %s WHERE id = %s", stale)
            changed += len(stale)
        last = rows[-1][0]
