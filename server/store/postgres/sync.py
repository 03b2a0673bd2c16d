"""The sync store on PostgreSQL: `PgTx` and `PgReader` implement sync.store over a psycopg
connection handed in by PgDatabase, with the same answers as server/store/sync.py on SQLite.

Correct with many processes on one database: a push locks its device's sequence row first
(a retry arriving twice at once is applied once), every record and conflict it reads is
locked FOR UPDATE (merges see the current row; a record not yet created is guarded by an
advisory lock on its id), and change numbers are reserved at flush, the end of the
transaction, from the one counter row (postgres/records.py): a pull cursor never passes a
change still in flight. Must not hold sync rules or HTTP, nor decide what a record becomes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec

from server.store.postgres import records
from server.store.postgres.database import PgDatabase
from server.store.postgres.records import Conn
from server.store.records import attachment_shas
from sync.protocol import Receipt, receipt_decoder
from sync.store import Batch, Doc, Reader, Tx, bound_page

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def _meta(conn: Conn, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
    return str(row[0]) if row else None


def ensure_epoch(conn: Conn) -> str:
    """The server epoch that cursors carry; made once per database, whichever process of
    several starting at once gets there first."""
    conn.execute("INSERT INTO meta (key, value) VALUES ('sync_epoch', %s) "
                 "ON CONFLICT (key) DO NOTHING", (uuid.uuid4().hex,))
    return _meta(conn, "sync_epoch") or ""


class PgTx(Tx):
    def __init__(self, conn: Conn):
        super().__init__()
        self.conn = conn
        self._refs: dict[str, frozenset[str]] = {}  # attachment refs as stored, of loaded rows

    def _load_premises(self, premises_id: str) -> Doc | None:
        doc = records.get(self.conn, premises_id, lock=True)
        if doc is None:  # two pushes creating one id: the second waits and then sees it
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                              ("premises:" + premises_id,))
            doc = records.get(self.conn, premises_id, lock=True)
        self._refs[premises_id] = attachment_shas(doc) if doc else frozenset()
        return doc

    def lock_first(self, premises_ids: Iterable[str]) -> None:
        """Lock the records (FOR UPDATE) in id order, then the ids not yet created (advisory
        locks) in id order: pushes over the same records queue instead of deadlocking, which
        PostgreSQL only notices after deadlock_timeout (1 s) and answers by aborting one."""
        ids = sorted(set(premises_ids))
        if not ids:
            return
        found = {r[0] for r in self.conn.execute(
            "SELECT id FROM premises WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))}
        for pid in ids:
            if pid not in found:
                self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                                  ("premises:" + pid,))

    def _load_conflict(self, conflict_id: str) -> Doc | None:
        row = self.conn.execute("SELECT doc FROM conflicts WHERE id = %s FOR UPDATE",
                                (conflict_id,)).fetchone()
        return _decode(row[0]) if row else None

    def _load_open_conflicts(self, premises_id: str) -> list[Doc]:
        rows = self.conn.execute(
            "SELECT doc FROM conflicts WHERE premises_id = %s AND status = 'open' "
            "ORDER BY change_seq FOR UPDATE", (premises_id,)).fetchall()
        return [_decode(r[0]) for r in rows]

    def _load_writers(self, premises_id: str) -> dict[str, Doc]:
        rows = self.conn.execute(
            "SELECT path, author FROM field_writers WHERE premises_id = %s",
            (premises_id,)).fetchall()
        return {r[0]: _decode(r[1]) for r in rows}

    def _load_last_seq(self, device_id: str) -> int:
        """The device's last applied seq, its row locked until commit: a second push of the
        same device waits here, then sees the first one's seq and receipts."""
        row = self.conn.execute(
            "INSERT INTO sync_devices (device_id, last_seq) VALUES (%s, 0) "
            "ON CONFLICT (device_id) DO UPDATE SET last_seq = sync_devices.last_seq "
            "RETURNING last_seq", (device_id,)).fetchone()
        return int(row[0]) if row else 0

    def receipt(self, device_id: str, seq: int) -> Receipt | None:
        row = self.conn.execute(
            "SELECT body FROM sync_receipts WHERE device_id = %s AND seq = %s",
            (device_id, seq)).fetchone()
        return receipt_decoder.decode(row[0]) if row else None

    def open_conflicts_by(self, device_id: str) -> int:
        # ids are `<device>-<seq>-…`; compared byte by byte, whatever the database's collation
        row = self.conn.execute(
            "SELECT count(*) FROM conflicts WHERE status = 'open' AND starts_with(id, %s)",
            (device_id + "-",)).fetchone()
        return int(row[0]) if row else 0

    def station_exists(self, code: str) -> bool:
        return self.conn.execute("SELECT 1 FROM stations WHERE code = %s AND retired_at IS NULL",
                                 (code,)).fetchone() is not None

    def blob_available(self, sha256: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blobs WHERE sha256 = %s",
                                 (sha256,)).fetchone() is not None

    def _write(self, batch: Batch) -> None:
        c = self.conn
        count = len(batch.premises) + len(batch.conflicts)
        first = records.next_change_seq(c, count) if count else 0  # the counter: held to commit
        with c.cursor() as cur:
            if batch.premises:
                records.put_rows(c, batch.premises, first)
                refs = {d["id"]: attachment_shas(d) for d in batch.premises}
                changed = {pid: s for pid, s in refs.items() if self._refs.get(pid) != s}
                records.put_refs(c, changed)
                self._refs.update(changed)
            if batch.exits:
                seqs = {d["id"]: first + i for i, d in enumerate(batch.premises)}
                cur.executemany(
                    "INSERT INTO scope_exits (premises_id, station, change_seq) "
                    "VALUES (%s, %s, %s)",
                    [(pid, station, seqs[pid]) for pid, station in batch.exits])
            first += len(batch.premises)
            if batch.conflicts:
                cur.executemany(
                    "INSERT INTO conflicts (id, premises_id, station, status, change_seq, "
                    "created_at, doc) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) "
                    "DO UPDATE SET station = excluded.station, status = excluded.status, "
                    "change_seq = excluded.change_seq, doc = excluded.doc",
                    [(d["id"], d["premises_id"], d["station"], d["status"], first + i,
                      d["created_at"], _encode(d).decode())
                     for i, d in enumerate(batch.conflicts)])
            if batch.writers:
                cur.executemany(
                    "INSERT INTO field_writers (premises_id, path, author) VALUES (%s, %s, %s) "
                    "ON CONFLICT (premises_id, path) DO UPDATE SET author = excluded.author",
                    [(pid, path, _encode(a).decode())
                     for (pid, path), a in batch.writers.items()])
            if batch.devices:
                cur.executemany(
                    "INSERT INTO sync_devices (device_id, last_seq) VALUES (%s, %s) "
                    "ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq",
                    list(batch.devices.items()))
            if batch.acked:
                cur.executemany("UPDATE sync_devices SET acked_seq = %s WHERE device_id = %s",
                                [(seq, d) for d, seq in batch.acked.items()])
            if batch.receipts:
                cur.executemany(
                    "INSERT INTO sync_receipts (device_id, seq, body) VALUES (%s, %s, %s)",
                    [(d, r.seq, _encode(r).decode()) for d, r in batch.receipts])
            if batch.audit:
                cur.executemany(
                    "INSERT INTO audit (premises_id, server_time, entry) VALUES (%s, %s, %s)",
                    [(a["premises_id"], a["server_time"], _encode(a).decode())
                     for a in batch.audit])


class PgReader:
    """A pull page's snapshot: the caller runs it inside one `PgDatabase.read`."""

    def __init__(self, conn: Conn):
        self.conn = conn

    def epoch(self) -> str:
        return _meta(self.conn, "sync_epoch") or ""

    def horizon(self) -> int:
        return int(_meta(self.conn, "tombstone_horizon") or 0)

    def max_seq(self) -> int:
        return int(_meta(self.conn, "change_seq") or 0)

    def changes(self, after: int, stations: Sequence[str], rows: int, max_bytes: int
                ) -> tuple[list[tuple[int, str, bytes]], bool]:
        """One query: each table's next `rows + 1` changes from its (station, change_seq)
        index, merged in seq order. Never a prepared statement (`prepare=False`): planned for
        these stations each time, as a prepared one's generic plan after psycopg's fifth run
        walked the whole change index instead and filtered out every other station's rows
        (a pull slowing with the nation's size: docs/performance.md, NATIONAL)."""
        if not stations:
            return [], False
        scope, n = list(stations), rows + 1
        found = self.conn.execute(
            "(SELECT change_seq, 'p', doc FROM premises WHERE station = ANY(%s) "
            " AND change_seq > %s ORDER BY change_seq LIMIT %s) UNION ALL "
            "(SELECT change_seq, 'c', doc FROM conflicts WHERE station = ANY(%s) "
            " AND change_seq > %s ORDER BY change_seq LIMIT %s) ORDER BY 1 LIMIT %s",
            (scope, after, n, scope, after, n, n), prepare=False).fetchall()
        return bound_page(((int(s), k, d.encode()) for s, k, d in found), rows, max_bytes)

    def count_scope(self, stations: Sequence[str]) -> int:
        if not stations:
            return 0
        scope = list(stations)
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM premises WHERE station = ANY(%s)) + "
            "(SELECT count(*) FROM conflicts WHERE station = ANY(%s))", (scope, scope)).fetchone()
        return int(row[0]) if row else 0

    def left(self, after: int, upto: int, stations: Sequence[str]) -> list[str]:
        if not stations:
            return []
        scope = list(stations)
        rows = self.conn.execute(
            "SELECT DISTINCT e.premises_id FROM scope_exits e JOIN premises p "
            "ON p.id = e.premises_id WHERE e.station = ANY(%s) AND e.change_seq > %s "
            "AND e.change_seq <= %s AND NOT p.station = ANY(%s) ORDER BY 1",
            (scope, after, upto, scope)).fetchall()
        return [r[0] for r in rows]

    def ids_in_stations(self, stations: Sequence[str]) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM premises WHERE station = ANY(%s) ORDER BY id",
            (list(stations),)).fetchall()
        return [r[0] for r in rows]


def run_tx(conn: Conn, fn: Callable[[Tx], T]) -> T:
    """Run `fn` over a PgTx and flush its writes (inside the caller's transaction)."""
    tx = PgTx(conn)
    result = fn(tx)
    tx.flush()
    return result


class PgStore:
    """The async face of the store: one `db.write` per transaction (run again from the start
    if PostgreSQL aborts it for a deadlock), one `db.read` per snapshot."""

    def __init__(self, db: PgDatabase):
        self.db = db

    async def write(self, fn: Callable[[Tx], T]) -> T:
        return await self.db.write(lambda conn: run_tx(conn, fn))

    async def read(self, fn: Callable[[Reader], T]) -> T:
        return await self.db.read(lambda conn: fn(PgReader(conn)))


# -- reads and upkeep for the console and the command line ------------------------------------

async def history(db: PgDatabase, premises_id: str) -> list[dict[str, Any]]:
    """Every audited change of a premises, oldest first (as server/store/sync.py's)."""
    rows = await db.read(lambda c: c.execute(
        "SELECT id, entry FROM audit WHERE premises_id = %s ORDER BY id",
        (premises_id,)).fetchall())
    return [{"id": r[0], **_decode(r[1])} for r in rows]


async def list_conflicts(db: PgDatabase, stations: Sequence[str], open_only: bool = True,
                         limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Conflicts on premises of `stations` (open ones only by default), oldest first; a page
    of them with `limit` and `offset`."""
    if not stations:
        return []
    where = "station = ANY(%s)" + (" AND status = 'open'" if open_only else "")
    rows = await db.read(lambda c: c.execute(
        f"SELECT doc FROM conflicts WHERE {where} ORDER BY change_seq LIMIT %s OFFSET %s",
        (list(stations), limit, offset)).fetchall())
    return [_decode(r[0]) for r in rows]


async def count_open_conflicts(db: PgDatabase, stations: Sequence[str]) -> int:
    """How many conflicts are open on premises of `stations`."""
    if not stations:
        return 0
    row = await db.read(lambda c: c.execute(
        "SELECT count(*) FROM conflicts WHERE station = ANY(%s) AND status = 'open'",
        (list(stations),)).fetchone())
    return int(row[0]) if row else 0


async def get_conflict(db: PgDatabase, conflict_id: str) -> dict[str, Any] | None:
    row = await db.read(lambda c: c.execute("SELECT doc FROM conflicts WHERE id = %s",
                                            (conflict_id,)).fetchone())
    return _decode(row[0]) if row else None


async def tombstone_seq_before(db: PgDatabase, before: str) -> int:
    """The newest change number of a tombstone deleted before `before` (ISO time); 0 if none."""
    row = await db.read(lambda c: c.execute(
        "SELECT coalesce(max(change_seq), 0) FROM premises WHERE deleted = 1 "
        "AND doc::jsonb ->> 'updated_at' < %s", (before,)).fetchone())
    return int(row[0]) if row else 0


async def purge_tombstones(db: PgDatabase, upto_seq: int) -> int:
    """Delete tombstones changed at or before `upto_seq` and raise the horizon: cursors older
    than it are answered with a reset."""
    def run(conn: Conn) -> int:
        conn.execute("DELETE FROM attachment_refs WHERE premises_id IN (SELECT id FROM premises "
                     "WHERE deleted = 1 AND change_seq <= %s)", (upto_seq,))
        n = conn.execute("DELETE FROM premises WHERE deleted = 1 AND change_seq <= %s",
                         (upto_seq,)).rowcount
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('tombstone_horizon', %s) ON CONFLICT (key) "
            "DO UPDATE SET value = greatest(meta.value::bigint, excluded.value::bigint)::text",
            (str(upto_seq),))
        return int(n)
    return await db.write(run)
