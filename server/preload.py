"""The static import graph of the PWA's page modules, for the shell page's
`<link rel="modulepreload">` list: with it the browser asks for every module at once instead of
one level of imports after another (a cold open's waterfall through the service worker).
Reads module text handed in; no files, no HTTP. Dynamic `import()` is not followed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin

# `import ... from '...'`, `export ... from '...'` and a bare `import '...'`.
IMPORT = re.compile(r"""(?:^|[;\s])(?:import|export)\s[^'";(]*?from\s*['"]([^'"]+)['"]"""
                    r"""|(?:^|[;\s])import\s*['"]([^'"]+)['"]""", re.MULTILINE)


def imports(url: str, text: str) -> list[str]:
    """The URL paths the module at `url` imports statically, in the order written."""
    found = [a or b for a, b in IMPORT.findall(text)]
    return [urljoin("http://x" + url, spec).removeprefix("http://x") for spec in found]


def graph(entry: str, text_of: Callable[[str], str | None]) -> list[str]:
    """Every module `entry` imports, directly or not, breadth first (the entry itself left
    out); `text_of` gives a module's source, or None for a module it does not know."""
    seen = {entry}
    order: list[str] = []
    queue = [entry]
    while queue:
        url = queue.pop(0)
        text = text_of(url)
        for dep in imports(url, text or ""):
            if dep not in seen:
                seen.add(dep)
                order.append(dep)
                queue.append(dep)
    return order
