"""The sync store on SQLite: `SqliteTx` and `SqliteReader` implement sync.store over a sqlite3
connection handed in by the Database, plus the read functions the console needs (history,
conflicts) and tombstone purging.

Premises rows go through server/store/records.py (one column mapping, and the attachment_refs
index, rewritten only for records whose attachments changed); every push is flushed with one
executemany per table. Must not hold sync rules or HTTP, nor decide what a record becomes
(sync/writer.py does).
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from server.store import records
from server.store.database import Database
from server.store.postgres import sync as pg_sync
from server.store.postgres.compat import is_pg
from sync.protocol import Receipt, receipt_decoder
from sync.store import Batch, Doc, Reader, Tx, bound_page

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def _marks(items: Sequence[Any]) -> str:
    return ", ".join("?" * len(items))


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def ensure_epoch(conn: sqlite3.Connection) -> str:
    """The server epoch that cursors carry; made once per database (a restore or a new
    database gets a new one, and every old cursor resets)."""
    epoch = _meta(conn, "sync_epoch")
    if epoch is None:
        epoch = uuid.uuid4().hex
        conn.execute("INSERT INTO meta(key, value) VALUES ('sync_epoch', ?)", (epoch,))
    return epoch


class SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection):
        super().__init__()
        self.conn = conn
        self._refs: dict[str, frozenset[str]] = {}  # attachment refs as stored, of loaded rows

    def _load_premises(self, premises_id: str) -> Doc | None:
        doc = records.get(self.conn, premises_id)
        self._refs[premises_id] = records.attachment_shas(doc) if doc else frozenset()
        return doc

    def _load_conflict(self, conflict_id: str) -> Doc | None:
        row = self.conn.execute("SELECT doc FROM conflicts WHERE id = ?",
                                (conflict_id,)).fetchone()
        return _decode(row[0]) if row else None

    def _load_open_conflicts(self, premises_id: str) -> list[Doc]:
        rows = self.conn.execute(
            "SELECT doc FROM conflicts WHERE premises_id = ? AND status = 'open'",
            (premises_id,)).fetchall()
        return [_decode(r[0]) for r in rows]

    def _load_writers(self, premises_id: str) -> dict[str, Doc]:
        rows = self.conn.execute("SELECT path, author FROM field_writers WHERE premises_id = ?",
                                 (premises_id,)).fetchall()
        return {r[0]: _decode(r[1]) for r in rows}

    def _load_last_seq(self, device_id: str) -> int:
        row = self.conn.execute("SELECT last_seq FROM sync_devices WHERE device_id = ?",
                                (device_id,)).fetchone()
        return int(row[0]) if row else 0

    def receipt(self, device_id: str, seq: int) -> Receipt | None:
        row = self.conn.execute("SELECT body FROM sync_receipts WHERE device_id = ? AND seq = ?",
                                (device_id, seq)).fetchone()
        return receipt_decoder.decode(row[0]) if row else None

    def open_conflicts_by(self, device_id: str) -> int:
        # ids are `<device>-<seq>-…`: a range of the primary key ('.' sorts just after '-')
        return int(self.conn.execute(
            "SELECT count(*) FROM conflicts WHERE id >= ? AND id < ? AND status = 'open'",
            (device_id + "-", device_id + ".")).fetchone()[0])

    def station_exists(self, code: str) -> bool:
        return self.conn.execute("SELECT 1 FROM stations WHERE code = ? AND retired_at IS NULL",
                                 (code,)).fetchone() is not None

    def blob_available(self, sha256: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?",
                                 (sha256,)).fetchone() is not None

    def _write(self, batch: Batch) -> None:
        c = self.conn
        count = len(batch.premises) + len(batch.conflicts)
        first = records.next_change_seq(c, count) if count else 0
        if batch.premises:
            records.put_rows(c, batch.premises, first)
            refs = {d["id"]: records.attachment_shas(d) for d in batch.premises}
            changed = {pid: shas for pid, shas in refs.items() if self._refs.get(pid) != shas}
            records.put_refs(c, changed)
            self._refs.update(changed)
        if batch.exits:
            seqs = {d["id"]: first + i for i, d in enumerate(batch.premises)}
            c.executemany(
                "INSERT INTO scope_exits (premises_id, station, change_seq) VALUES (?, ?, ?)",
                [(pid, station, seqs[pid]) for pid, station in batch.exits])
        first += len(batch.premises)
        if batch.conflicts:
            c.executemany(
                "INSERT INTO conflicts (id, premises_id, station, status, change_seq, "
                "created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "station = excluded.station, status = excluded.status, "
                "change_seq = excluded.change_seq, doc = excluded.doc",
                [(d["id"], d["premises_id"], d["station"], d["status"], first + i,
                  d["created_at"], _encode(d).decode()) for i, d in enumerate(batch.conflicts)])
        if batch.writers:
            c.executemany(
                "INSERT INTO field_writers (premises_id, path, author) VALUES (?, ?, ?) "
                "ON CONFLICT(premises_id, path) DO UPDATE SET author = excluded.author",
                [(pid, path, _encode(a).decode()) for (pid, path), a in batch.writers.items()])
        if batch.devices:
            c.executemany(
                "INSERT INTO sync_devices (device_id, last_seq) VALUES (?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET last_seq = excluded.last_seq",
                list(batch.devices.items()))
        if batch.acked:
            c.executemany("UPDATE sync_devices SET acked_seq = ? WHERE device_id = ?",
                          [(seq, d) for d, seq in batch.acked.items()])
        if batch.receipts:
            c.executemany("INSERT INTO sync_receipts (device_id, seq, body) VALUES (?, ?, ?)",
                          [(d, r.seq, _encode(r).decode()) for d, r in batch.receipts])
        if batch.audit:
            c.executemany(
                "INSERT INTO audit (premises_id, server_time, entry) VALUES (?, ?, ?)",
                [(a["premises_id"], a["server_time"], _encode(a).decode())
                 for a in batch.audit])


class SqliteReader:
    """A pull page's snapshot: the caller runs it inside one `db.read`."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def epoch(self) -> str:
        return _meta(self.conn, "sync_epoch") or ""

    def horizon(self) -> int:
        return int(_meta(self.conn, "tombstone_horizon") or 0)

    def max_seq(self) -> int:
        return int(_meta(self.conn, "change_seq") or 0)

    def changes(self, after: int, stations: Sequence[str], rows: int, max_bytes: int
                ) -> tuple[list[tuple[int, str, bytes]], bool]:
        """Seqs first from the covering (station, change_seq) indexes (integers only, sorted
        cheaply whatever the scope's share of the table), then the page's docs by rowid."""
        if not stations:
            return [], False
        marks = _marks(stations)
        keys = heapq.merge(*(
            [(seq, kind, rowid) for seq, rowid in self.conn.execute(
                f"SELECT change_seq, rowid FROM {table} WHERE station IN ({marks}) "
                "AND change_seq > ? ORDER BY change_seq LIMIT ?", (*stations, after, rows + 1))]
            for table, kind in (("premises", "p"), ("conflicts", "c"))))
        page = list(itertools.islice(keys, rows + 1))
        docs: dict[tuple[str, int], bytes] = {}
        for table, kind in (("premises", "p"), ("conflicts", "c")):
            ids = [rowid for _, k, rowid in page if k == kind]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                docs.update(((kind, r), d) for r, d in self.conn.execute(
                    f"SELECT rowid, CAST(doc AS BLOB) FROM {table} "
                    f"WHERE rowid IN ({_marks(chunk)})", chunk))
        return bound_page(((seq, kind, docs[(kind, rowid)]) for seq, kind, rowid in page),
                          rows, max_bytes)

    def count_scope(self, stations: Sequence[str]) -> int:
        if not stations:
            return 0
        marks = _marks(stations)
        return int(self.conn.execute(
            f"SELECT (SELECT count(*) FROM premises WHERE station IN ({marks})) + "
            f"(SELECT count(*) FROM conflicts WHERE station IN ({marks}))",
            (*stations, *stations)).fetchone()[0])

    def left(self, after: int, upto: int, stations: Sequence[str]) -> list[str]:
        if not stations:
            return []
        marks = _marks(stations)
        rows = self.conn.execute(
            f"SELECT DISTINCT e.premises_id FROM scope_exits e JOIN premises p "
            f"ON p.id = e.premises_id WHERE e.station IN ({marks}) AND e.change_seq > ? "
            f"AND e.change_seq <= ? AND p.station NOT IN ({marks}) ORDER BY 1",
            (*stations, after, upto, *stations)).fetchall()
        return [r[0] for r in rows]

    def ids_in_stations(self, stations: Sequence[str]) -> list[str]:
        rows = self.conn.execute(
            f"SELECT id FROM premises WHERE station IN ({_marks(stations)}) ORDER BY id",
            tuple(stations)).fetchall()
        return [r[0] for r in rows]


def run_tx(conn: sqlite3.Connection, fn: Callable[[Tx], T]) -> T:
    """Run `fn` over a SqliteTx and flush its writes (inside the caller's transaction)."""
    if is_pg(conn):  # the PostgreSQL form (server/store/postgres/sync.py)
        return pg_sync.run_tx(conn.raw, fn)  # type: ignore[attr-defined]
    tx = SqliteTx(conn)
    result = fn(tx)
    tx.flush()
    return result


class SqliteStore:
    """The async face of the store: one `db.write` per transaction, one `db.read` per snapshot."""

    def __init__(self, db: Database):
        self.db = db

    async def write(self, fn: Callable[[Tx], T]) -> T:
        return await self.db.write(lambda conn: run_tx(conn, fn))

    async def read(self, fn: Callable[[Reader], T]) -> T:
        return await self.db.read(lambda conn: fn(SqliteReader(conn)))


# -- reads for the console --------------------------------------------------------------------

async def history(db: Database, premises_id: str) -> list[dict[str, Any]]:
    """Every audited change of a premises, oldest first: kind, user, device_id, seq,
    client_time, server_time, version, before, after, conflict_ids, resolved_conflict."""
    if is_pg(db):
        return await pg_sync.history(db.pg, premises_id)  # type: ignore[attr-defined]
    rows = await db.execute("SELECT id, entry FROM audit WHERE premises_id = ? ORDER BY id",
                            (premises_id,))
    return [{"id": r[0], **_decode(r[1])} for r in rows]


async def list_conflicts(db: Database, stations: Sequence[str], open_only: bool = True,
                         limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Conflicts on premises of `stations` (open ones only by default), oldest first; each a
    Conflict dict (sync.protocol.Conflict). A page of them with `limit` and `offset`."""
    if is_pg(db):
        return await pg_sync.list_conflicts(db.pg, stations, open_only, limit, offset)  # type: ignore[attr-defined]
    if not stations:
        return []
    where = f"station IN ({_marks(stations)})" + (" AND status = 'open'" if open_only else "")
    rows = await db.execute(f"SELECT doc FROM conflicts WHERE {where} ORDER BY change_seq "
                            "LIMIT ? OFFSET ?",
                            (*stations, -1 if limit is None else limit, offset))
    return [_decode(r[0]) for r in rows]


async def count_open_conflicts(db: Database, stations: Sequence[str]) -> int:
    """How many conflicts are open on premises of `stations`."""
    if is_pg(db):
        return await pg_sync.count_open_conflicts(db.pg, stations)  # type: ignore[attr-defined]
    if not stations:
        return 0
    return int((await db.execute(
        f"SELECT count(*) FROM conflicts WHERE station IN ({_marks(stations)}) "
        "AND status = 'open'", tuple(stations))).single_value())


async def get_conflict(db: Database, conflict_id: str) -> dict[str, Any] | None:
    if is_pg(db):
        return await pg_sync.get_conflict(db.pg, conflict_id)  # type: ignore[attr-defined]
    row = (await db.execute("SELECT doc FROM conflicts WHERE id = ?", (conflict_id,))).first()
    return _decode(row[0]) if row else None


async def tombstone_seq_before(db: Database, before: str) -> int:
    """The newest change number of a tombstone deleted before `before` (ISO time); 0 if none."""
    if is_pg(db):
        return await pg_sync.tombstone_seq_before(db.pg, before)  # type: ignore[attr-defined]
    return int((await db.execute(
        "SELECT coalesce(max(change_seq), 0) FROM premises WHERE deleted = 1 "
        "AND json_extract(doc, '$.updated_at') < ?", (before,))).single_value())


async def purge_tombstones(db: Database, upto_seq: int) -> int:
    """Delete tombstones changed at or before `upto_seq` and raise the horizon: cursors older
    than it are answered with a reset."""
    if is_pg(db):
        return await pg_sync.purge_tombstones(db.pg, upto_seq)  # type: ignore[attr-defined]
    def run(conn: sqlite3.Connection) -> int:
        conn.execute("DELETE FROM attachment_refs WHERE premises_id IN (SELECT id FROM premises "
                     "WHERE deleted = 1 AND change_seq <= ?)", (upto_seq,))
        n = conn.execute("DELETE FROM premises WHERE deleted = 1 AND change_seq <= ?",
                         (upto_seq,)).rowcount
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('tombstone_horizon', ?) ON CONFLICT(key) "
            "DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (upto_seq,))
        return int(n)
    return await db.write(run)
