"""Import and export of premises records as CSV and GeoJSON.

Owns the file formats (CSV: one column per record field, nested lists as JSON in the cell;
GeoJSON: a FeatureCollection of Points [lon, lat] with the record as properties) and the import
rules: check the whole file first, report every problem of every row as "line N, field F:
problem" in plain words (CSV file line; GeoJSON "feature N" is `features[N]`; postcodes are
normalised, not refused), write nothing unless all rows pass (or skip the bad ones when asked),
then write everything in one transaction. Sensitive fields stay out of exports
unless asked. A replaced record keeps its stored value of any field the file does not carry
(re-importing an export without sensitive fields never wipes key box codes); a changed one gets
a new version, the importer's stamp and a history (audit) entry, all by the one writer
(sync/writer.py); an identical one is left alone. Must not know HTTP, hold SQL, or write a
record other than through sync/writer.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import msgspec

from server import clock
from server.settings import Settings
from server.store import imports as imports_store
from server.store import records
from server.store import stations as stations_store
from server.store.database import Database
from server.store.sync import run_tx
from sync import writer
from sync.problems import every_problem
from sync.record import (
    SENSITIVE_FIELDS,
    Premises,
    next_review_due,
    normal_postcode,
    to_dict,
)
from sync.store import Tx

FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(Premises))
LIST_FIELDS = frozenset(f.name for f in msgspec.structs.fields(Premises)
                        if f.default_factory is list)
FORMATS = ("csv", "geojson")
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be imported."""

    where: str  # "line 7" or "feature 3"
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}, field {self.field}: {self.message}" if self.field \
            else f"{self.where}: {self.message}"


@dataclass
class ImportResult:
    written: int = 0    # records created or changed
    unchanged: int = 0  # rows identical to the stored record: left alone, version kept
    skipped: list[Problem] = field(default_factory=list)


class InvalidImport(Exception):
    """The file has bad rows and nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = problems


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The format named, or the one the file extension implies."""
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".geojson", ".json"):
        return "geojson"
    raise ValueError(f"cannot tell the format of {Path(path).name}: use --format csv|geojson")


# -- export ---------------------------------------------------------------------------------
def export_fields(include_sensitive: bool = False) -> tuple[str, ...]:
    return tuple(f for f in FIELDS if include_sensitive or f not in SENSITIVE_FIELDS)


def _cell(value: Any) -> str:
    """A value as one CSV cell: numbers as numbers, text guarded against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)           # a negative longitude stays -0.015, shortest round trip
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _guard(str(value))


def csv_cell(value: Any) -> str:
    """A value as one CSV cell, guarded against formula injection (for other CSV exports)."""
    return _cell(value)


# What a spreadsheet (Excel, LibreOffice, Sheets) may run or reinterpret as a formula when a
# cell starts with it: the ASCII and full-width operators, and leading whitespace it trims.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", " ",
                  "\uff1d", "\uff0b", "\uff0d", "\uff20")   # ＝ ＋ － ＠
GUARD = "'"


def _guard(text: str) -> str:
    """Quote a text cell that starts like a formula with a leading apostrophe (shown as text
    by spreadsheets); text that itself starts with one is quoted too, so `_unguard` on import
    gives back exactly what was exported."""
    return GUARD + text if text.startswith((*FORMULA_STARTS, GUARD)) else text


def _unguard(cell: str) -> str:
    if cell.startswith(GUARD) and cell[1:].startswith((*FORMULA_STARTS, GUARD)):
        return cell[1:]
    return cell


def write_csv(docs: Iterable[dict[str, Any]], out: TextIO,
              include_sensitive: bool = False) -> int:
    columns = export_fields(include_sensitive)
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for doc in docs:
        writer.writerow([_cell(doc.get(c)) for c in columns])
        count += 1
    return count


def write_geojson(docs: Iterable[dict[str, Any]], out: TextIO,
                  include_sensitive: bool = False) -> int:
    columns = [c for c in export_fields(include_sensitive) if c not in ("lat", "lon")]
    out.write('{"type":"FeatureCollection","features":[')
    count = 0
    for doc in docs:
        lat, lon = doc.get("lat"), doc.get("lon")
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]}
            if lat is not None and lon is not None else None,
            "properties": {c: doc[c] for c in columns if c in doc},
        }
        out.write(("," if count else "") + "\n" + json.dumps(feature, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


async def export_file(db: Database, path: str | Path, fmt: str | None = None,
                      include_sensitive: bool = False, *, service: int) -> int:
    """Write every live premises of one owning service to `path`; returns how many."""
    fmt = format_for(path, fmt)
    docs = await db.read(lambda c: records.live_docs(c, service))
    with open(path, "w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            return write_csv(docs, out, include_sensitive)
        return write_geojson(docs, out, include_sensitive)


# -- reading --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One row as read: its place in the file, the raw record (None when unreadable), what is
    already known to be wrong with it, and the fields the file supplied."""

    where: str
    doc: dict[str, Any] | None
    problems: tuple[Problem, ...] = ()
    present: frozenset[str] = frozenset()


def _bad(where: str, field_: str | None, message: str) -> Row:
    return Row(where, None, (Problem(where, field_, message),))


def read_csv(text: str) -> Iterator[Row]:
    """One Row per data row; empty cells of optional fields take the field's default."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    present = frozenset(header)
    for name in header:
        if name not in FIELDS:
            yield _bad("line 1", name, "unknown column")
    for name in ("id", "station", "name"):
        if name not in header:
            yield _bad("line 1", name, "required column is missing")
    last_line = reader.line_num
    for cells in reader:
        where = f"line {last_line + 1}"
        last_line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield _bad(where, None, f"has {len(cells)} cells, the header has {len(header)}")
            continue
        doc: dict[str, Any] = {}
        problems: list[Problem] = []
        for name, cell in zip(header, cells, strict=True):
            if name not in FIELDS:
                continue
            cell = _unguard(cell)
            if name in LIST_FIELDS:
                try:
                    doc[name] = json.loads(cell) if cell.strip() else []
                except json.JSONDecodeError as exc:
                    problems.append(Problem(where, name, f"not valid JSON ({exc.msg})"))
            elif cell != "" or name in ("id", "station", "name"):
                doc[name] = cell
        yield Row(where, doc, tuple(problems), present)


def read_geojson(text: str) -> Iterator[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield _bad(f"line {exc.lineno}", None, f"not valid JSON ({exc.msg})")
        return
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        yield _bad("file", None, "not a GeoJSON FeatureCollection")
        return
    for i, feature in enumerate(features):
        where = f"feature {i}"
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            yield _bad(where, "properties", "must be an object")
            continue
        doc = dict(props)
        problems: tuple[Problem, ...] = ()
        if "geometry" in feature:
            doc.pop("lat", None)
            doc.pop("lon", None)
        geometry = feature.get("geometry")
        if geometry is not None:
            coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (not isinstance(geometry, dict) or geometry.get("type") != "Point"
                    or not isinstance(coords, list) or len(coords) < 2
                    or not all(isinstance(c, int | float) for c in coords[:2])):
                problems = (Problem(where, "geometry", "must be a Point [lon, lat]"),)
            else:
                doc["lon"], doc["lat"] = coords[0], coords[1]
        present = set(doc) | ({"lat", "lon"} if "geometry" in feature else set())
        yield Row(where, doc, problems, frozenset(present))


# -- checking -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    """A valid row: the record in canonical form and the fields the file supplied."""

    doc: dict[str, Any]
    present: frozenset[str]


def _row_problems(row: Row, stations: set[str], seen: dict[str, str],
                  foreign: AbstractSet[str] = frozenset()
                  ) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Every problem of one row (sync/problems.py words them), and its record if none."""
    problems = list(row.problems)
    if row.doc is None:
        return None, problems or [Problem(row.where, None, "unreadable")]
    doc = dict(row.doc)
    if isinstance(doc.get("postcode"), str):
        doc["postcode"] = normal_postcode(doc["postcode"])  # pe15 9zz is PE15 9ZZ
    record, found = every_problem(doc)
    problems += [Problem(row.where, path or None, words) for path, words in found]
    bad = {p.field for p in problems}
    station, pid = doc.get("station"), doc.get("id")
    if isinstance(station, str) and station and "station" not in bad \
            and station not in stations:
        problems.append(Problem(row.where, "station", f"unknown station code {station!r}"))
    if isinstance(pid, str) and "id" not in bad:
        if pid in foreign:  # worded as if it were free: another service's ids do not exist
            problems.append(Problem(row.where, "id", f"{pid!r} cannot be used: choose "
                                    "another id"))
        elif pid in seen:
            problems.append(Problem(row.where, "id", f"{pid!r} repeats {seen[pid]}"))
        else:
            seen[pid] = row.where
    return (to_dict(record) if record is not None and not problems else None), problems


def check(rows: Iterable[Row], stations: set[str],
          progress: Progress | None = None, total: int = 0,
          foreign: AbstractSet[str] = frozenset(),
          ) -> tuple[list[Checked], list[Problem]]:
    """Validate every row against the importing service's `stations`; an id in `foreign`
    (held by another owning service) is refused. Returns (valid records, every problem of
    every row, in file order)."""
    valid: list[Checked] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for n, row in enumerate(rows, 1):
        if progress and n % 500 == 0:
            progress("checking", n, total)
        doc, found = _row_problems(row, stations, seen, foreign)
        problems += found
        if doc is not None:
            valid.append(Checked(doc, row.present))
    if progress:
        progress("checking", total, total)
    return valid, problems


def rows_with_problems(problems: Iterable[Problem]) -> int:
    return len({p.where for p in problems})


# The server maintains these: never taken from the file for a stored record.
_STAMPS = frozenset({"version", "next_review_due", "updated_at", "updated_by"})


def _now() -> str:
    return clock.now("seconds")


def merged(row: Checked, old: dict[str, Any], intervals: dict[int, int]
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row over its stored record: (the record the file means: stored values for the fields
    the file does not carry, and the server's stamps; the changes to make, empty when none)."""
    doc = dict(row.doc)
    for name in FIELDS:
        if (name not in row.present or name in _STAMPS) and name in old:
            doc[name] = old[name]
    changes = {n: doc.get(n) for n in FIELDS if n not in _STAMPS and doc.get(n) != old.get(n)}
    due = next_review_due(doc["assessed_at"], doc["risk_level"], intervals)
    if due != old.get("next_review_due") and not {"assessed_at", "risk_level"} & set(changes):
        changes["next_review_due"] = due  # the review intervals changed since
    return doc, changes


@dataclass
class Preview:
    """What an import would do to the records stored now, with a few of each for a person."""

    created: int = 0
    changed: int = 0
    unchanged: int = 0
    created_sample: list[dict[str, Any]] = field(default_factory=list)  # id, name, station
    changed_sample: list[dict[str, Any]] = field(default_factory=list)  # id, name, fields

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def preview(conn: sqlite3.Connection, rows: list[Checked], intervals: dict[int, int],
            sample: int = 20) -> Preview:
    """Created, changed and left alone, by the rules `_write` follows (read-only)."""
    out = Preview()
    for row in rows:
        old = records.get(conn, row.doc["id"])
        if old is None:
            out.created += 1
            if len(out.created_sample) < sample:
                out.created_sample.append({k: row.doc[k] for k in ("id", "name", "station")})
            continue
        _, changes = merged(row, old, intervals)
        if not changes:
            out.unchanged += 1
            continue
        out.changed += 1
        if len(out.changed_sample) < sample:
            out.changed_sample.append({"id": old["id"], "name": old.get("name", ""),
                                       "fields": sorted(changes)})
    return out


def _write(conn: sqlite3.Connection, rows: list[Checked], intervals: dict[int, int],
           by: str, now: str, progress: Progress | None) -> tuple[int, int]:
    """Merge with stored records and write, in chunks, through the one writer (sync/writer.py:
    a new record is stored as it comes, a changed one gets a new version and the importer's
    stamp, each with its audit entry). Runs inside the caller's one transaction; returns
    (written, unchanged)."""
    stamp = writer.Stamp(kind="import", user=by, now=now)
    written = unchanged = 0
    step = 2000

    def chunk(tx: Tx, part: list[Checked]) -> None:
        nonlocal written, unchanged
        for row in part:
            old = tx.premises(row.doc["id"])
            if old is None:
                writer.insert(tx, dict(row.doc), intervals, stamp)
                written += 1
                continue
            _, changes = merged(row, old, intervals)
            if not changes:
                unchanged += 1
                continue
            writer.write(tx, stamp, old, changes, intervals)
            written += 1

    for start in range(0, len(rows), step):
        run_tx(conn, lambda tx: chunk(tx, rows[start:start + step]))  # noqa: B023
        if progress:
            progress("writing", min(start + step, len(rows)), len(rows))
    return written, unchanged


def read_rows(text: str, fmt: str) -> list[Row]:
    return list(read_csv(text) if fmt == "csv" else read_geojson(text))


async def check_text(db: Database, text: str, fmt: str, service: int,
                     progress: Progress | None = None
                     ) -> tuple[list[Checked], list[Problem]]:
    """Read and check a whole file's text against the owning service's stations stored now,
    off the event loop; (valid records, every problem). Ids another service holds are
    refused, so an import never reaches past its own service."""
    stations = set(await db.read(lambda c: stations_store.codes(c, service)))
    rows = await asyncio.to_thread(read_rows, text, fmt)
    ids = [r.doc["id"] for r in rows if r.doc and isinstance(r.doc.get("id"), str)]
    foreign = await db.read(lambda c: imports_store.foreign_ids(c, ids, service))
    return await asyncio.to_thread(check, rows, stations, progress, len(rows), foreign)


Finish = Callable[[sqlite3.Connection, "ImportResult"], None]


async def write_checked(db: Database, settings: Settings, docs: list[Checked],
                        by: str = "import", now: str | None = None,
                        progress: Progress | None = None, skipped: list[Problem] | None = None,
                        finish: Finish | None = None) -> ImportResult:
    """Write checked records in one transaction; `finish(conn, result)` runs inside it (a
    console job records that it is done in the same commit as the records)."""
    stamp = now or _now()

    def run(conn: sqlite3.Connection) -> ImportResult:
        written, unchanged = _write(conn, docs, settings.review_interval_days, by, stamp,
                                    progress) if docs else (0, 0)
        result = ImportResult(written=written, unchanged=unchanged, skipped=skipped or [])
        if finish:
            finish(conn, result)
        return result
    return await db.write(run)


async def import_text(db: Database, settings: Settings, text: str, fmt: str,
                      skip_invalid: bool = False, progress: Progress | None = None,
                      by: str = "import", now: str | None = None, *, service: int
                      ) -> ImportResult:
    """Check and import a whole file's text; raises InvalidImport when rows are bad
    (unless `skip_invalid`, which writes the good rows and lists the bad ones).

    `by` and `now` stamp the records the import changes (`now` defaults to the clock)."""
    docs, problems = await check_text(db, text, fmt, service, progress)
    if problems and not skip_invalid:
        raise InvalidImport(problems)
    if not docs:
        return ImportResult(skipped=problems)
    return await write_checked(db, settings, docs, by, now, progress, problems)


async def import_file(db: Database, settings: Settings, path: str | Path,
                      fmt: str | None = None, skip_invalid: bool = False,
                      progress: Progress | None = None, by: str = "import", *,
                      service: int) -> ImportResult:
    fmt = format_for(path, fmt)
    with open(path, encoding="utf-8-sig", newline="") as f:  # a CR inside a cell stays a CR
        text = f.read()
    return await import_text(db, settings, text, fmt, skip_invalid, progress, by,
                             service=service)
