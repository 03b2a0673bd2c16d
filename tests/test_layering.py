"""sync/ is the shared core: it must never reach into the server or its frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = ("server", "starlette", "aiosqlite", "jinja2")
SYNC = Path(__file__).resolve().parent.parent / "sync"


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_sync_imports_nothing_from_server_or_web_frameworks() -> None:
    files = sorted(SYNC.glob("*.py"))
    assert files
    bad = [(f.name, name) for f in files for name in _imports(f)
           if name.split(".")[0] in FORBIDDEN]
    assert bad == []
