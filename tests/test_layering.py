"""The house plan, checked by reading the source: sync/ is the shared core and never reaches into
the server, its frameworks or a database; route modules hold no SQL; premises rows are written
in one place, and records are changed only by the one writer (sync/writer.py)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNC = ROOT / "sync"
SERVER = ROOT / "server"
FORBIDDEN = ("server", "starlette", "jinja2",                             # server, frameworks
             "sqlite3", "aiosqlite", "apsw", "psycopg", "psycopg2", "asyncpg")  # drivers
ROUTE_PACKAGES = (SERVER / "api", SERVER / "console", SERVER / "web")  # HTTP: no SQL here
SQL = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|"
                 r"\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\bPRAGMA\b|\bCREATE\s+TABLE\b")
WRITES_PREMISES = re.compile(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|"
                             r"DELETE\s+FROM)\s+premises\b")
EXECUTE = frozenset({"execute", "executemany", "execute_write", "executescript"})
ROW_WRITERS = {"server/store/records.py", "server/store/sync.py",  # put_rows; purge of tombstones
               "server/store/postgres/records.py", "server/store/postgres/sync.py"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _modules(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _strings(path: Path) -> Iterator[str]:
    """Every string literal, f-strings joined with their holes as `?`."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.JoinedStr):
            yield "".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values
                          if isinstance(v, ast.Constant | ast.FormattedValue))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def _calls(path: Path) -> Iterator[tuple[str, int]]:
    """(attribute or function name, line) of every call."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(
                f, ast.Name) else ""
            yield name, node.lineno


def _names(path: Path) -> set[str]:
    """Every name and attribute the module mentions."""
    out: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.alias):
            out.add(node.name.rsplit(".", 1)[-1])
    return out


def test_sync_imports_nothing_from_server_web_frameworks_or_database_drivers() -> None:
    files = _modules(SYNC)
    assert files
    bad = [(f.name, name) for f in files for name in _imports(f)
           if name.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_route_modules_hold_no_sql() -> None:
    files = _modules(*ROUTE_PACKAGES)
    assert len(files) > 5
    queries = [(_name(f), s[:60]) for f in files for s in _strings(f) if SQL.search(s)]
    calls = [(_name(f), f"{name}() line {line}") for f in files for name, line in _calls(f)
             if name in EXECUTE]
    assert queries == [] and calls == []


def test_the_checks_for_sql_see_sql() -> None:
    samples = ["SELECT doc FROM premises WHERE id = ?", "INSERT OR IGNORE INTO t VALUES (1)",
               "UPDATE users SET disabled = 1", "DELETE FROM devices", "PRAGMA user_version"]
    assert all(SQL.search(s) for s in samples)
    assert not SQL.search("Select a station from the list.")
    assert WRITES_PREMISES.search("DELETE FROM premises WHERE deleted = 1")
    assert not WRITES_PREMISES.search("SELECT id FROM premises")
    assert "execute_write" in {n for n, _ in _calls(SERVER / "store" / "accounts.py")}


def test_premises_rows_are_written_only_by_the_store() -> None:
    writers = {_name(f) for f in _modules(SERVER, SYNC)
               if any(WRITES_PREMISES.search(s) for s in _strings(f))}
    assert writers == ROW_WRITERS
    row_api = {"UPSERT_SQL", "put_rows", "row_values"}
    users = {_name(f) for f in _modules(SERVER, SYNC) if _names(f) & row_api}
    assert users == ROW_WRITERS


def test_records_change_only_through_the_one_writer() -> None:
    """`put_premises` (a record into a store transaction) is called by sync/writer.py alone;
    bulk `insert_many` is for demo data (and test seeds) only."""
    put = {_name(f) for f in _modules(SERVER, SYNC)
           if any(name == "put_premises" for name, _ in _calls(f))}
    assert put == {"sync/writer.py"}
    bulk = {_name(f) for f in _modules(SERVER, SYNC)
            if any(name == "insert_many" for name, _ in _calls(f))}
    assert bulk <= {"server/demo.py", "server/store/records.py"}


def test_psycopg_is_used_only_by_the_postgresql_store() -> None:
    users = {_name(f) for f in _modules(SERVER, SYNC)
             if any(n.split(".")[0] in ("psycopg", "psycopg_pool") for n in _imports(f))}
    assert users and users <= {f"server/store/postgres/{m}.py"
                               for m in ("database", "migrations", "records", "sync",
                                         "compat", "search", "gauges", "transfer")}
